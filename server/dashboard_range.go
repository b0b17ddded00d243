package server

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/report"
)

// The dashboard's date range. Presets are counted back from today in the
// store's time zone (store.timezone); the counters themselves are per UTC
// day, so a range is a list of UTC dates whose first and last are the
// store's dates.

// rangePreset is one of the date range links.
type rangePreset struct{ Key, Label string }

var rangePresets = []rangePreset{
	{"7d", "Last 7 days"}, {"30d", "Last 30 days"}, {"90d", "Last 90 days"},
	{"this-month", "This month"}, {"last-month", "Last month"},
}

// defaultRange is the range of /dashboard with no parameters, and the one
// shown when the parameters are not valid.
const defaultRange = "30d"

// dashQuery is the dashboard's view: a date range, a breakdown and a store
// (empty: every store).
type dashQuery struct {
	Range    string // a rangePresets key, or "custom"
	From, To string // the resolved range, YYYY-MM-DD (inclusive)
	By       string
	Store    string
}

// apiValues are the /api/report parameters of the same view.
func (q dashQuery) apiValues() url.Values {
	v := url.Values{"from": {q.From}, "to": {q.To}, "by": {q.By}}
	if q.Store != "" {
		v.Set("store", q.Store)
	}
	return v
}

// Link is the dashboard URL of the view with some parameters changed
// ("by", "range", "store"); a custom range keeps its dates.
func (q dashQuery) Link(kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		switch kv[i] {
		case "by":
			q.By = kv[i+1]
		case "range":
			q.Range = kv[i+1]
		case "store":
			q.Store = kv[i+1]
		}
	}
	v := url.Values{"range": {q.Range}, "by": {q.By}}
	if q.Range == "custom" {
		v.Set("from", q.From)
		v.Set("to", q.To)
	}
	if q.Store != "" {
		v.Set("store", q.Store)
	}
	return "/dashboard?" + v.Encode()
}

// CSV is the /api/report CSV export of the view (the dashboard session is
// accepted there).
func (q dashQuery) CSV() string {
	v := q.apiValues()
	v.Set("format", "csv")
	return "/api/report?" + v.Encode()
}

// CSVName is the export's file name.
func (q dashQuery) CSVName() string {
	name := "cartrecovery-" + q.From + "-to-" + q.To + "-by-" + q.By
	if q.Store != "" {
		name += "-" + q.Store
	}
	return name + ".csv"
}

// storeLocation is the store's time zone; UTC when none is configured.
func storeLocation(tz string) *time.Location {
	if tz == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

// resolveRange turns the range parameters into an inclusive range of dates:
// a preset ("7d", "this-month", ...) counted from today in loc, or
// from/to (YYYY-MM-DD; a missing end is today, a missing start 30 days
// before the end). The legacy ?since=Nd is a range of N days. The error
// names the parameter and is meant for the page.
func resolveRange(preset, since, from, to string, now time.Time, loc *time.Location) (string, time.Time, time.Time, error) {
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // the store's date, as the UTC day of that date
	if preset == "" {
		switch {
		case from != "" || to != "":
			preset = "custom"
		case since != "":
			preset = since
		default:
			preset = defaultRange
		}
	}
	switch preset {
	case "custom":
		if from == "" && to == "" {
			return preset, time.Time{}, time.Time{}, fmt.Errorf("Custom range: enter a start date, an end date or both (YYYY-MM-DD).")
		}
		// ParseRange's "today" is the UTC date of the time it is given:
		// noon UTC of the store's date is that date.
		f, t, err := report.ParseRange("", strings.TrimSpace(from), strings.TrimSpace(to), today.Add(12*time.Hour))
		if err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			return preset, f, t, fmt.Errorf("Custom range, %s date: %s.", field, msg)
		}
		return preset, f, t, nil
	case "this-month":
		return preset, time.Date(y, m, 1, 0, 0, 0, 0, time.UTC), today, nil
	case "last-month":
		first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return preset, first.AddDate(0, -1, 0), first.AddDate(0, 0, -1), nil
	}
	n, ok := strings.CutSuffix(preset, "d")
	days, err := strconv.Atoi(n)
	if !ok || err != nil || days < 1 || days > 3660 || n != strconv.Itoa(days) {
		return preset, time.Time{}, time.Time{}, fmt.Errorf("Range %q is not one of %s, nor a custom range.", preset, presetKeys())
	}
	return preset, today.AddDate(0, 0, 1-days), today, nil
}

func presetKeys() string {
	keys := make([]string, len(rangePresets))
	for i, p := range rangePresets {
		keys[i] = p.Key
	}
	return strings.Join(keys, ", ")
}
