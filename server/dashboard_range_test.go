package server

import (
	"strings"
	"testing"
	"time"
)

// The presets count from today in the store's time zone: at 23:30 UTC on
// the last day of a month it is already the next month in Madrid, not yet
// in New York.
func TestDashboardRangeInTheStoresTimeZone(t *testing.T) {
	now := time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC)
	madrid, _ := time.LoadLocation("Europe/Madrid")
	newYork, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		preset, from, to string
		loc              *time.Location
		want             [2]string
	}{
		{"7d", "", "", time.UTC, [2]string{"2026-03-25", "2026-03-31"}},
		{"7d", "", "", madrid, [2]string{"2026-03-26", "2026-04-01"}},
		{"this-month", "", "", madrid, [2]string{"2026-04-01", "2026-04-01"}},
		{"this-month", "", "", newYork, [2]string{"2026-03-01", "2026-03-31"}},
		{"last-month", "", "", madrid, [2]string{"2026-03-01", "2026-03-31"}},
		{"last-month", "", "", newYork, [2]string{"2026-02-01", "2026-02-28"}},
		{"90d", "", "", time.UTC, [2]string{"2026-01-01", "2026-03-31"}},
		{"custom", "2026-02-03", "2026-02-10", madrid, [2]string{"2026-02-03", "2026-02-10"}},
		{"custom", "2026-03-30", "", madrid, [2]string{"2026-03-30", "2026-04-01"}}, // to: today there
		{"", "", "", time.UTC, [2]string{"2026-03-02", "2026-03-31"}},               // the default, 30 days
	} {
		_, f, to, err := resolveRange(c.preset, "", c.from, c.to, now, c.loc)
		got := [2]string{f.Format(time.DateOnly), to.Format(time.DateOnly)}
		if err != nil || got != c.want {
			t.Errorf("%s %s..%s in %s: %v %v, want %v", c.preset, c.from, c.to, c.loc, got, err, c.want)
		}
	}
	// the legacy ?since=7d is the 7d preset
	if p, f, _, err := resolveRange("", "7d", "", "", now, time.UTC); err != nil || p != "7d" || f.Format(time.DateOnly) != "2026-03-25" {
		t.Errorf("since=7d: %s %v %v", p, f, err)
	}
	for _, bad := range [][3]string{{"custom", "2026-02-30", ""}, {"custom", "2026-03-10", "2026-03-01"}, {"custom", "", ""},
		{"yesterday", "", ""}, {"0d", "", ""}, {"07d", "", ""}, {"custom", "1990-01-01", "2026-01-01"}} {
		if _, _, _, err := resolveRange(bad[0], "", bad[1], bad[2], now, time.UTC); err == nil {
			t.Errorf("%v: no error", bad)
		} else if !strings.HasSuffix(err.Error(), ".") {
			t.Errorf("%v: %q is not a sentence for the page", bad, err)
		}
	}
}

func TestChartScale(t *testing.T) {
	for _, c := range []struct {
		peak      float64
		integer   bool
		step, top float64
	}{
		{0, true, 1, 1}, {3, true, 1, 3}, {15, true, 5, 15}, {17, true, 5, 20}, {0.533, false, 0.2, 0.6},
		{299.5, false, 100, 300}, {1234, false, 500, 1500}, {0.004, false, 0.001, 0.004},
	} {
		step, top := niceScale(c.peak, 4, c.integer)
		if diff(step, c.step) > 1e-9 || diff(top, c.top) > 1e-9 {
			t.Errorf("niceScale(%v): %v %v, want %v %v", c.peak, step, top, c.step, c.top)
		}
	}
	for v, want := range map[float64]string{0: "0", 2.5: "2.5", 0.30000000000000004: "0.3", 12500: "12\u202f500", 1000: "1000"} {
		if got := tickNumber(v); got != want {
			t.Errorf("tickNumber(%v) = %q, want %q", v, got, want)
		}
	}
	if got := tickPercent(0.6000000000000001); got != "60%" {
		t.Errorf("tickPercent: %q", got)
	}
	// a rate chart with a day without a rate: the line breaks there
	c := layoutChart("r", "rate", "rate", []string{"2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"},
		[]chartSeries{{name: "r", values: []dayValue{{0.5, true}, {0, false}, {0.25, true}, {0.3, true}}, text: percent}}, tickPercent, false)
	if len(c.Views) != 2 || strings.Count(c.Views[0].Series[0].Path, "M") != 2 || len(c.Views[0].Series[0].Points) != 3 {
		t.Errorf("chart %+v", c.Views)
	}
	if l := c.Views[0].YTicks; l[0].Label != "0%" || l[len(l)-1].Label != "60%" || l[len(l)-1].At != wideChart.Top {
		t.Errorf("y ticks %+v", l)
	}
	if x := c.Views[0].XTicks; len(x) != 4 || x[0].Label != "Mar 1" {
		t.Errorf("x ticks %+v", x)
	}
}

func diff(a, b float64) float64 {
	if a > b {
		return a - b
	}
	return b - a
}
