package report

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

var now = time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)

func TestParseRange(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	cases := []struct {
		since, from, to string
		wantFrom        string
		wantTo          string
		err             string
	}{
		{"", "", "", "2026-10-27", "2026-11-25", ""},
		{"30d", "", "", "2026-10-27", "2026-11-25", ""},
		{"1d", "", "", "2026-11-25", "2026-11-25", ""},
		{"7d", "", "", "2026-11-19", "2026-11-25", ""},
		{"48h", "", "", "2026-11-24", "2026-11-25", ""},
		{"25h", "", "", "2026-11-24", "2026-11-25", ""},
		{"", "2026-11-01", "2026-11-10", "2026-11-01", "2026-11-10", ""},
		{"", "2026-11-01", "", "2026-11-01", "2026-11-25", ""},
		{"", "", "2026-11-10", "2026-10-12", "2026-11-10", ""},
		{"0d", "", "", "", "", "since:"},
		{"-3d", "", "", "", "", "since:"},
		{"3w", "", "", "", "", "since:"},
		{"d", "", "", "", "", "since:"},
		{"99999d", "", "", "", "", "since:"},
		{"7d", "2026-11-01", "", "", "", "since:"},
		{"", "2026-13-01", "", "", "", "from:"},
		{"", "", "yesterday", "", "", "to:"},
		{"", "2026-11-10", "2026-11-01", "", "", "to:"},
		{"", "2000-01-01", "2026-11-01", "", "", "from:"},
	}
	for _, c := range cases {
		f, to, err := ParseRange(c.since, c.from, c.to, now)
		name := c.since + "|" + c.from + "|" + c.to
		if c.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.err) {
				t.Errorf("%s: err %v, want prefix %q", name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !f.Equal(day(c.wantFrom)) || !to.Equal(day(c.wantTo)) {
			t.Errorf("%s: %s..%s, want %s..%s", name, f.Format(time.DateOnly), to.Format(time.DateOnly), c.wantFrom, c.wantTo)
		}
	}
}

// sample counters as the Lua scripts write them: store → day → field.
func sample() map[string]map[string]map[string]int64 {
	return map[string]map[string]map[string]int64{
		"a.myshopify.com": {
			"2026-11-24": {
				"tracked": 120, "abandoned": 100, "reminded": 90, "orders": 40,
				// step first is an A/B test: variants a and b
				"sent|first|email|a": 45, "sent|first|email|b": 45, "sent|second|email|a": 50, "sent|second|sms|a": 20,
				"reached|first|a": 45, "reached|first|b": 45, "reached|second|a": 50,
				"failed|second|sms|a": 2, "unknown|second|sms|a": 1, "skipped|second|sms|a": 28,
				"skipr|no_sms_consent": 20, "skipr|no_phone": 8, "skipr|quiet_hours": 5,
				"clicked|first|email|a": 5, "clicked|first|email|b": 7, "clicked|second|sms|a": 3, "clicked_carts": 13,
				"recovered": 30, "recovered|first|email|a": 6, "recovered|first|email|b": 12, "recovered|second|sms|a": 12, "credit_click": 4,
				"rev|first|email|a|EUR": 60000, "rev|first|email|b|EUR": 120000, "rev|second|sms|a|USD": 5999,
				"revt|EUR": 180000, "revt|USD": 5999, "recc|EUR": 18, "recc|USD": 1, "recovered_clicked": 9,
				"converted_before": 6, "converted_late": 4,
				"tracked_h": 60, "abandoned_h": 50, "converted_h": 5,
				"verified_ordered": 3, "codes_issued|second|a": 50, "codes_redeemed|second|a": 7,
				"delivered|second|sms|a": 15, "undelivered|second|sms|a": 3,
			},
		},
		"b.example": {
			"2026-11-20": {"tracked": 10, "abandoned": 8, "reminded": 8, "sent|first|email|a": 8, "reached|first|a": 8,
				"recovered": 1, "recovered|first|email|a": 1, "rev|first|email|a|EUR": 1000, "revt|EUR": 1000, "recc|EUR": 1},
			// outside the range: ignored
			"2026-10-01": {"tracked": 999, "abandoned": 999, "recovered": 999},
			// an unknown field from a newer version: ignored
			"2026-11-21": {"future|x": 7},
		},
	}
}

func counters(from, to string) map[string]map[string]map[recovery.Counter]int64 {
	// Build reads what it is given: the store hands it only the range's
	// days, parsed (what does not parse is left out), so the test does the
	// same.
	out := map[string]map[string]map[recovery.Counter]int64{}
	for s, days := range sample() {
		out[s] = map[string]map[recovery.Counter]int64{}
		for d, fields := range days {
			if d < from || d > to {
				continue
			}
			out[s][d] = map[recovery.Counter]int64{}
			for f, n := range fields {
				if c, err := recovery.ParseCounter(f); err == nil {
					out[s][d][c] += n
				}
			}
		}
	}
	return out
}

func query(by string) Query {
	f, _ := time.Parse(time.DateOnly, "2026-11-19")
	t, _ := time.Parse(time.DateOnly, "2026-11-25")
	return Query{From: f, To: t, By: by, Steps: []string{"first", "second", "third"}}
}

func TestBuildTotalsAndLift(t *testing.T) {
	r, err := Build(counters("2026-11-19", "2026-11-25"), query("step"))
	if err != nil {
		t.Fatal(err)
	}
	tt := r.Totals
	if tt.Carts != 130 || tt.Abandoned != 108 || tt.Reminded != 98 || tt.Recovered != 31 || tt.Clicked != 13 ||
		tt.RecoveredAfterClick != 9 || tt.ConvertedBeforeReminder != 6 || tt.ConvertedAfterWindow != 4 || tt.Orders != 40 {
		t.Fatalf("totals %+v", tt)
	}
	if tt.RecoveryRate != 0.287 { // 31/108 = 0.28703…
		t.Errorf("recovery rate %v", tt.RecoveryRate)
	}
	if tt.RecoveredRevenue["EUR"] != "1810.00" || tt.RecoveredRevenue["USD"] != "59.99" || len(tt.RecoveredRevenue) != 2 {
		t.Errorf("revenue %v", tt.RecoveredRevenue)
	}
	h := r.Holdout
	if h.Carts != 60 || h.Abandoned != 50 || h.Converted != 5 || h.ConversionRate != 0.1 {
		t.Fatalf("holdout %+v", h)
	}
	// lift = p1 - p2 with se = sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)
	p1, p2 := 31.0/108, 0.1
	se := math.Sqrt(p1*(1-p1)/108 + p2*(1-p2)/50)
	want := []float64{0.287 - 0.1, p1 - p2 - 1.96*se, p1 - p2 + 1.96*se}
	got := []*float64{h.Lift, h.LiftLow, h.LiftHigh}
	for i := range want {
		if got[i] == nil || math.Abs(*got[i]-want[i]) > 0.0002 {
			t.Errorf("lift[%d] = %v, want %.4f", i, got[i], want[i])
		}
	}
	if *h.LiftLow > *h.Lift || *h.Lift > *h.LiftHigh {
		t.Errorf("CI does not contain the lift: %v %v %v", *h.LiftLow, *h.Lift, *h.LiftHigh)
	}
}

func TestBuildNoHoldoutHasNoLift(t *testing.T) {
	c := counters("2026-11-19", "2026-11-25")
	delete(c["a.myshopify.com"]["2026-11-24"], recovery.Counter{Kind: recovery.CountAbandonedHoldout})
	r, err := Build(c, query("step"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Holdout.Lift != nil || r.Holdout.LiftLow != nil {
		t.Errorf("lift without holdout abandonment: %+v", r.Holdout)
	}
	r, _ = Build(nil, query("step"))
	if r.Totals.RecoveryRate != 0 || r.Holdout.Lift != nil || len(r.Rows) != 3 {
		t.Errorf("empty report %+v", r)
	}
}

func TestBuildRowsByDimension(t *testing.T) {
	type want struct {
		key                   string
		sent, rec, clk, fails int64
	}
	cases := map[string][]want{
		"step":    {{"first", 98, 19, 12, 0}, {"second", 70, 12, 3, 2}, {"third", 0, 0, 0, 0}},
		"channel": {{"email", 148, 19, 12, 0}, {"sms", 20, 12, 3, 2}},
		"variant": {{"first/a", 53, 7, 5, 0}, {"first/b", 45, 12, 7, 0}, {"second/a", 70, 12, 3, 2}},
		"store":   {{"a.myshopify.com", 160, 30, 15, 2}, {"b.example", 8, 1, 0, 0}},
	}
	for by, rows := range cases {
		r, err := Build(counters("2026-11-19", "2026-11-25"), query(by))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Rows) != len(rows) {
			t.Errorf("by %s: %d rows %+v", by, len(r.Rows), r.Rows)
			continue
		}
		for i, w := range rows {
			g := r.Rows[i]
			if g.Key != w.key || g.Sent != w.sent || g.Recovered != w.rec || g.Clicked != w.clk || g.Failed != w.fails {
				t.Errorf("by %s row %d: %+v, want %+v", by, i, g, w)
			}
		}
	}
	r, _ := Build(counters("2026-11-19", "2026-11-25"), query("day"))
	if len(r.Rows) != 7 || r.Rows[0].Key != "2026-11-19" || r.Rows[6].Key != "2026-11-25" {
		t.Fatalf("by day rows %+v", r.Rows)
	}
	if r.Rows[1].Sent != 8 || r.Rows[5].Sent != 160 || r.Rows[5].RecoveredRevenue["USD"] != "59.99" {
		t.Errorf("by day: %+v / %+v", r.Rows[1], r.Rows[5])
	}
	// the rows add up to the totals whatever the breakdown
	for _, by := range Dimensions {
		r, _ := Build(counters("2026-11-19", "2026-11-25"), query(by))
		var rec int64
		for _, row := range r.Rows {
			rec += row.Recovered
		}
		if rec != r.Totals.Recovered {
			t.Errorf("by %s: rows recover %d, totals %d", by, rec, r.Totals.Recovered)
		}
	}
}

func TestBuildStoreFilterAndBadDimension(t *testing.T) {
	q := query("step")
	q.Stores = []string{"b.example"}
	r, err := Build(counters("2026-11-19", "2026-11-25"), q)
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Carts != 10 || r.Totals.Recovered != 1 || r.Holdout.Carts != 0 {
		t.Errorf("filtered totals %+v", r.Totals)
	}
	if _, err := Build(nil, query("country")); err == nil || !strings.HasPrefix(err.Error(), "by:") {
		t.Errorf("bad by: %v", err)
	}
}

func TestDaily(t *testing.T) {
	pts := Daily(counters("2026-11-19", "2026-11-25"), query("day"))
	if len(pts) != 7 {
		t.Fatalf("%d points", len(pts))
	}
	p := pts[5]
	if p.Day != "2026-11-24" || p.Abandoned != 100 || p.Recovered != 30 || p.RecoveryRate != 0.3 ||
		p.RevenueMinor("EUR") != 180000 || p.Revenue["USD"] != "59.99" {
		t.Errorf("point %+v", p)
	}
	if pts[0].RecoveryRate != 0 || pts[0].Abandoned != 0 {
		t.Errorf("empty day %+v", pts[0])
	}
}

// The table is for a terminal: compare it with a golden file (update with
// CARTRECOVERY_UPDATE_GOLDEN=1) and check that its columns line up.
func TestWriteTableGolden(t *testing.T) {
	r, _ := Build(counters("2026-11-19", "2026-11-25"), query("step"))
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "by-step.txt")
	if os.Getenv("CARTRECOVERY_UPDATE_GOLDEN") != "" {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("table differs from %s:\n%s", golden, b.String())
	}
	// in the per-step table, numbers end under the end of their header
	lines := strings.Split(b.String(), "\n")
	var table []string
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "step ") {
			table = lines[i : i+4]
		}
	}
	if len(table) != 4 {
		t.Fatalf("no step table in\n%s", b.String())
	}
	col := strings.Index(table[0], "sent") + len("sent")
	for _, l := range table[1:] {
		if l[col-1] == ' ' || l[col] != ' ' {
			t.Errorf("column sent not aligned at %d in %q", col, l)
		}
	}
	if !strings.Contains(b.String(), "holdout: 60 carts, 50 abandoned, 5 converted (10.0%); lift +18.7 pts (95% CI") {
		t.Errorf("holdout line missing:\n%s", b.String())
	}
}

func TestWriteCSV(t *testing.T) {
	r, _ := Build(counters("2026-11-19", "2026-11-25"), query("channel"))
	var b bytes.Buffer
	if err := WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"channel", "sent", "failed", "skipped", "clicked", "recovered", "recovered_revenue", "unknown", "codes_issued", "codes_redeemed", "delivered", "undelivered", "reached"},
		// reached is per step: by channel, 0
		{"email", "148", "0", "0", "12", "19", "1810.00 EUR", "0", "0", "0", "0", "0", "0"},
		{"sms", "20", "2", "28", "3", "12", "59.99 USD", "1", "0", "0", "15", "3", "0"},
		// codes are per step: by channel, in the totals only
		{"total", "168", "2", "28", "15", "31", "1810.00 EUR, 59.99 USD", "1", "50", "7", "15", "3", "0"},
	}
	if len(recs) != len(want) {
		t.Fatalf("csv %v", recs)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("line %d: %v, want %v", i, recs[i], want[i])
		}
	}
	// by step, reached is the last column, summed in the total row
	r, _ = Build(counters("2026-11-19", "2026-11-25"), query("step"))
	b.Reset()
	if err := WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	recs, _ = csv.NewReader(&b).ReadAll()
	got := []string{}
	for _, rec := range recs {
		got = append(got, rec[0]+"="+rec[len(rec)-1])
	}
	if strings.Join(got, " ") != "step=reached first=98 second=50 third=0 total=148" {
		t.Errorf("reached column: %v", got)
	}
}
