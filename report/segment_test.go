package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// segmented are the counters of two segments, vip and new-customers, and
// the default sequence, as the scripts write them: every cart-level and
// revenue counter once (plain), and a second time for the carts of a
// segment (kind@segment); the steps of a segment by their qualified name.
//
// By hand, per segment (store s, 2026-11-24, then store t, 2026-11-23):
//
//	                carts abandoned reminded clicked recovered revenue           holdout carts/abandoned/converted
//	default           50      40       35       8       10     500.00 EUR        20/16/2
//	vip             30+5    25+5       20       6      9+2     900.00+20.00 EUR, 12.00 USD  10/8/1
//	new-customers     20      15       14       3        4      80.00 EUR         0/0/0
//	total            105      85       69      17       25    1500.00 EUR, 12.00 USD        30/24/3
func segmented() map[string]map[string]map[string]int64 {
	return map[string]map[string]map[string]int64{
		"s": {"2026-11-24": {
			"tracked": 100, "tracked@vip": 30, "tracked@new-customers": 20,
			"abandoned": 80, "abandoned@vip": 25, "abandoned@new-customers": 15,
			"reminded": 69, "reminded@vip": 20, "reminded@new-customers": 14,
			"clicked_carts": 17, "clicked_carts@vip": 6, "clicked_carts@new-customers": 3,
			"recovered": 23, "recovered@vip": 9, "recovered@new-customers": 4,
			"recovered_clicked": 12, "recovered_clicked@vip": 5, "recovered_clicked@new-customers": 2,
			"credit_click": 3, "credit_click@vip": 2,
			"converted_before": 7, "converted_before@vip": 4, "converted_late": 2, "converted_late@new-customers": 1,
			"tracked_h": 30, "tracked_h@vip": 10, "abandoned_h": 24, "abandoned_h@vip": 8, "converted_h": 3, "converted_h@vip": 1,
			"revt|EUR": 148000, "revt@vip|EUR": 90000, "revt@new-customers|EUR": 8000, "revt|USD": 1200, "revt@vip|USD": 1200,
			"recc|EUR": 22, "recc@vip|EUR": 8, "recc@new-customers|EUR": 4, "recc|USD": 1, "recc@vip|USD": 1,
			"orders": 40, "verified_ordered": 1, "skipr|no_phone": 14,
			// the default sequence
			"sent|first|email|a": 35, "reached|first|a": 35, "clicked|first|email|a": 8,
			"recovered|first|email|a": 10, "rev|first|email|a|EUR": 50000,
			// vip, an A/B test of its first step
			"sent|vip/first|email|a": 20, "sent|vip/first|sms|a": 5, "sent|vip/first|email|b": 10,
			"reached|vip/first|a": 20, "reached|vip/first|b": 10, "failed|vip/first|sms|a": 1, "clicked|vip/first|email|a": 6,
			"recovered|vip/first|email|a": 6, "recovered|vip/first|sms|a": 3,
			"rev|vip/first|email|a|EUR": 90000, "rev|vip/first|sms|a|USD": 1200, "codes_issued|vip/first|a": 20,
			// new-customers
			"sent|new-customers/welcome|email|a": 14, "reached|new-customers/welcome|a": 14, "skipped|new-customers/welcome|sms|a": 14,
			"recovered|new-customers/welcome|email|a": 4, "rev|new-customers/welcome|email|a|EUR": 8000,
		}},
		"t": {"2026-11-23": {
			"tracked": 5, "tracked@vip": 5, "abandoned": 5, "abandoned@vip": 5, "recovered": 2, "recovered@vip": 2,
			"revt|EUR": 2000, "revt@vip|EUR": 2000, "recc|EUR": 2, "recc@vip|EUR": 2,
			"sent|vip/first|email|a": 5, "reached|vip/first|a": 5, "recovered|vip/first|email|a": 2, "rev|vip/first|email|a|EUR": 2000,
		}},
	}
}

func segQuery(by string, segments ...string) Query {
	q := query(by)
	q.Steps = []string{"first", "vip/first", "new-customers/welcome"}
	q.Segments = segments
	return q
}

func TestSegmentsTotalsNotDoubleCounted(t *testing.T) {
	r, err := Build(parsed(t, segmented()), segQuery("step"))
	if err != nil {
		t.Fatal(err)
	}
	tt := r.Totals
	got := []int64{tt.Carts, tt.Abandoned, tt.Reminded, tt.Clicked, tt.Recovered, tt.RecoveredAfterClick, tt.CreditedByClick,
		tt.ConvertedBeforeReminder, tt.ConvertedAfterWindow, tt.Orders, tt.VerifiedOrdered, tt.CodesIssued}
	want := []int64{105, 85, 69, 17, 25, 12, 3, 7, 2, 40, 1, 20}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("totals %v, want %v", got, want)
			break
		}
	}
	if tt.RecoveryRate != 0.2941 { // 25/85
		t.Errorf("recovery rate %v", tt.RecoveryRate)
	}
	if tt.RecoveredRevenue["EUR"] != "1500.00" || tt.RecoveredRevenue["USD"] != "12.00" || len(tt.RecoveredRevenue) != 2 {
		t.Errorf("revenue %v", tt.RecoveredRevenue)
	}
	// 150000 / 24 = 6250; 1200 / 1
	if a := tt.AverageRecoveredOrder; a["EUR"] != "62.50" || a["USD"] != "12.00" || len(a) != 2 {
		t.Errorf("average recovered order %v", a)
	}
	if h := r.Holdout; h.Carts != 30 || h.Abandoned != 24 || h.Converted != 3 || h.ConversionRate != 0.125 {
		t.Errorf("holdout %+v", h)
	}
	// the rows of every breakdown add up to the totals
	for _, by := range Dimensions {
		r, err := Build(parsed(t, segmented()), segQuery(by))
		if err != nil {
			t.Fatal(err)
		}
		var rec, sent int64
		for _, row := range r.Rows {
			rec, sent = rec+row.Recovered, sent+row.Sent
		}
		if rec != 25 || sent != 89 {
			t.Errorf("by %s: rows recover %d and send %d, want 25 and 89", by, rec, sent)
		}
	}
	pts := Daily(parsed(t, segmented()), segQuery("day"))
	if p := pts[5]; p.Day != "2026-11-24" || p.Abandoned != 80 || p.Recovered != 23 || p.RevenueMinor("EUR") != 148000 || p.RevenueMinor("USD") != 1200 {
		t.Errorf("daily point %+v", p)
	}
	if p := pts[4]; p.Day != "2026-11-23" || p.Abandoned != 5 || p.RevenueMinor("EUR") != 2000 {
		t.Errorf("daily point %+v", p)
	}
}

func TestSegmentRows(t *testing.T) {
	type want struct {
		key                                          string
		sent, failed, skipped, clicked, rec, reached int64
		issued                                       int64
		revenue                                      string
	}
	cases := []struct {
		name string
		q    Query
		rows []want
	}{
		{"by segment, by name", segQuery("segment"), []want{
			{"default", 35, 0, 0, 8, 10, 35, 0, "500.00 EUR"},
			{"new-customers", 14, 0, 14, 0, 4, 14, 0, "80.00 EUR"},
			{"vip", 40, 1, 0, 6, 11, 35, 20, "920.00 EUR, 12.00 USD"},
		}},
		{"by segment, configured order", segQuery("segment", "vip", "new-customers", "dormant"), []want{
			{"default", 35, 0, 0, 8, 10, 35, 0, "500.00 EUR"},
			{"vip", 40, 1, 0, 6, 11, 35, 20, "920.00 EUR, 12.00 USD"},
			{"new-customers", 14, 0, 14, 0, 4, 14, 0, "80.00 EUR"},
			{"dormant", 0, 0, 0, 0, 0, 0, 0, "-"},
		}},
		{"by segment, default placed", segQuery("segment", "vip", "default"), []want{
			{"vip", 40, 1, 0, 6, 11, 35, 20, "920.00 EUR, 12.00 USD"},
			{"default", 35, 0, 0, 8, 10, 35, 0, "500.00 EUR"},
			{"new-customers", 14, 0, 14, 0, 4, 14, 0, "80.00 EUR"},
		}},
		{"by step, qualified names in config order", segQuery("step"), []want{
			{"first", 35, 0, 0, 8, 10, 35, 0, "500.00 EUR"},
			{"vip/first", 40, 1, 0, 6, 11, 35, 20, "920.00 EUR, 12.00 USD"},
			{"new-customers/welcome", 14, 0, 14, 0, 4, 14, 0, "80.00 EUR"},
		}},
		{"by variant", segQuery("variant"), []want{
			{"first/a", 35, 0, 0, 8, 10, 35, 0, "500.00 EUR"},
			{"new-customers/welcome/a", 14, 0, 14, 0, 4, 14, 0, "80.00 EUR"},
			{"vip/first/a", 30, 1, 0, 6, 11, 25, 20, "920.00 EUR, 12.00 USD"},
			{"vip/first/b", 10, 0, 0, 0, 0, 10, 0, "-"},
		}},
		{"by segment, one store", func() Query { q := segQuery("segment"); q.Stores = []string{"t"}; return q }(), []want{
			{"default", 0, 0, 0, 0, 0, 0, 0, "-"},
			{"vip", 5, 0, 0, 0, 2, 5, 0, "20.00 EUR"},
		}},
	}
	for _, c := range cases {
		r, err := Build(parsed(t, segmented()), c.q)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Rows) != len(c.rows) {
			t.Errorf("%s: rows %+v", c.name, r.Rows)
			continue
		}
		for i, w := range c.rows {
			g := r.Rows[i]
			got := want{g.Key, g.Sent, g.Failed, g.Skipped, g.Clicked, g.Recovered, g.Reached, g.CodesIssued, revenueText(g.RecoveredRevenue)}
			if got != w {
				t.Errorf("%s: row %d %+v, want %+v", c.name, i, got, w)
			}
		}
	}
	// the A/B test of a segment's step is named by its qualified name
	r, _ := Build(parsed(t, segmented()), segQuery("step"))
	if len(r.Experiments) != 1 || r.Experiments[0].Step != "vip/first" || r.Experiments[0].Variants[1].Reached != 10 {
		t.Errorf("experiments %+v", r.Experiments)
	}
	// without segment counters, by segment is one row: the default sequence
	r, _ = Build(counters("2026-11-19", "2026-11-25"), query("segment"))
	if len(r.Rows) != 1 || r.Rows[0].Key != recovery.DefaultSegment || r.Rows[0].Sent != 168 || r.Rows[0].Recovered != 31 || r.Rows[0].Reached != 148 {
		t.Errorf("by segment without segments: %+v", r.Rows)
	}
}

func TestSegmentSummaries(t *testing.T) {
	type want struct {
		key                                            string
		carts, abandoned, reminded, clicked, recovered int64
		rate                                           float64
		revenue                                        string
		hCarts, hAbandoned, hConverted                 int64
		lift                                           bool
	}
	def := want{"default", 50, 40, 35, 8, 10, 0.25, "500.00 EUR", 20, 16, 2, true}
	vip := want{"vip", 35, 30, 20, 6, 11, 0.3667, "920.00 EUR, 12.00 USD", 10, 8, 1, true}
	nc := want{"new-customers", 20, 15, 14, 3, 4, 0.2667, "80.00 EUR", 0, 0, 0, false}
	cases := []struct {
		name string
		q    Query
		want []want
	}{
		{"by name", segQuery("step"), []want{def, nc, vip}},
		{"configured order", segQuery("channel", "vip", "new-customers", "dormant"),
			[]want{def, vip, nc, {"dormant", 0, 0, 0, 0, 0, 0, "-", 0, 0, 0, false}}},
		{"default placed", segQuery("segment", "vip", "default"), []want{vip, def, nc}},
		{"one store", func() Query { q := segQuery("day"); q.Stores = []string{"t"}; return q }(), []want{
			{"default", 0, 0, 0, 0, 0, 0, "-", 0, 0, 0, false},
			{"vip", 5, 5, 0, 0, 2, 0.4, "20.00 EUR", 0, 0, 0, false},
		}},
	}
	for _, c := range cases {
		r, err := Build(parsed(t, segmented()), c.q)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Segments) != len(c.want) {
			t.Errorf("%s: segments %+v", c.name, r.Segments)
			continue
		}
		for i, w := range c.want {
			s := r.Segments[i]
			h := s.Holdout
			got := want{s.Key, s.Carts, s.Abandoned, s.Reminded, s.Clicked, s.Recovered, s.RecoveryRate, revenueText(s.RecoveredRevenue),
				h.Carts, h.Abandoned, h.Converted, h.Lift != nil}
			if got != w {
				t.Errorf("%s: segment %d %+v, want %+v", c.name, i, got, w)
			}
			if (h.Lift == nil) != (h.LiftLow == nil) || (h.Lift == nil) != (h.LiftHigh == nil) {
				t.Errorf("%s: %s: lift %v, interval %v to %v", c.name, s.Key, h.Lift, h.LiftLow, h.LiftHigh)
			}
		}
		// the default sequence is the totals less every segment
		tot := Holdout{Carts: r.Totals.Carts, Abandoned: r.Totals.Abandoned, Converted: r.Totals.Recovered}
		hold := r.Holdout
		for _, s := range r.Segments {
			if s.Key != recovery.DefaultSegment {
				tot.Carts, tot.Abandoned, tot.Converted = tot.Carts-s.Carts, tot.Abandoned-s.Abandoned, tot.Converted-s.Recovered
				hold.Carts, hold.Abandoned, hold.Converted = hold.Carts-s.Holdout.Carts, hold.Abandoned-s.Holdout.Abandoned, hold.Converted-s.Holdout.Converted
			}
		}
		for _, s := range r.Segments {
			if s.Key == recovery.DefaultSegment && (s.Carts != tot.Carts || s.Abandoned != tot.Abandoned || s.Recovered != tot.Converted ||
				s.Holdout.Carts != hold.Carts || s.Holdout.Abandoned != hold.Abandoned || s.Holdout.Converted != hold.Converted) {
				t.Errorf("%s: default %+v, want the totals less the segments: %+v, holdout %+v", c.name, s, tot, hold)
			}
		}
	}
}

// The lift of each segment over its own holdout group follows the formula
// of the overall lift.
func TestSegmentLift(t *testing.T) {
	r, err := Build(parsed(t, segmented()), segQuery("step"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, rec, ab int64, h Holdout) {
		t.Helper()
		p1, p2 := float64(rec)/float64(ab), float64(h.Converted)/float64(h.Abandoned)
		se := math.Sqrt(p1*(1-p1)/float64(ab) + p2*(1-p2)/float64(h.Abandoned))
		want := []float64{p1 - p2, p1 - p2 - 1.96*se, p1 - p2 + 1.96*se}
		got := []*float64{h.Lift, h.LiftLow, h.LiftHigh}
		for i := range want {
			if got[i] == nil || math.Abs(*got[i]-want[i]) > 0.0002 {
				t.Errorf("%s: lift[%d] = %v, want %.4f", name, i, got[i], want[i])
			}
		}
		if h.ConversionRate != round(p2) {
			t.Errorf("%s: conversion rate %v, want %.4f", name, h.ConversionRate, p2)
		}
	}
	check("overall", r.Totals.Recovered, r.Totals.Abandoned, r.Holdout)
	for _, s := range r.Segments {
		if s.Holdout.Abandoned > 0 {
			check(s.Key, s.Recovered, s.Abandoned, s.Holdout)
		}
	}
	// default: 10/40 − 2/16 = 0.125; vip: 11/30 − 1/8 = 0.2417
	if l := r.Segments[0].Holdout.Lift; l == nil || *l != 0.125 {
		t.Errorf("default lift %v", l)
	}
	if l := r.Segments[2].Holdout.Lift; l == nil || *l != 0.2417 {
		t.Errorf("vip lift %v", l)
	}
	// a rate above 1 (recoveries of carts abandoned before the range)
	// leaves the interval finite: the report stays valid JSON
	h := Holdout{Carts: 4, Abandoned: 4, Converted: 1}
	h.measure(5, 2)
	if h.Lift == nil || math.IsNaN(*h.LiftLow) || math.IsNaN(*h.LiftHigh) {
		t.Errorf("rate above 1: %v %v %v", h.Lift, h.LiftLow, h.LiftHigh)
	}
	h = Holdout{Carts: 4}
	h.measure(5, 2)
	if h.Lift != nil || h.ConversionRate != 0 {
		t.Errorf("no holdout abandonment: %+v", h)
	}
}

func TestSegmentsJSONAndTable(t *testing.T) {
	// no segment counter: "segments": [] and the table of before
	for _, c := range []map[string]map[string]map[recovery.Counter]int64{nil, counters("2026-11-19", "2026-11-25")} {
		r, _ := Build(c, query("step"))
		b, _ := json.Marshal(r)
		if !strings.Contains(string(b), `"segments":[]`) {
			t.Errorf("no empty segments in %s", b)
		}
		var w bytes.Buffer
		_ = WriteTable(&w, r)
		if strings.Contains(w.String(), "by segment") {
			t.Errorf("segment section without segments:\n%s", w.String())
		}
	}
	r, _ := Build(parsed(t, segmented()), segQuery("step"))
	b, _ := json.Marshal(r.Segments[1])
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"key", "carts", "abandoned", "reminded", "clicked", "recovered", "recovery_rate", "recovered_revenue", "holdout"} {
		if _, ok := m[k]; !ok {
			t.Errorf("segment has no %q: %s", k, b)
		}
	}
	h := m["holdout"].(map[string]any)
	for _, k := range []string{"carts", "abandoned", "converted", "conversion_rate", "lift", "lift_ci95_low", "lift_ci95_high"} {
		if v, ok := h[k]; !ok || strings.HasPrefix(k, "lift") && v != nil {
			t.Errorf("holdout of new-customers: %q is %v (present %v): %s", k, v, ok, b)
		}
	}
	var w strings.Builder
	if err := WriteTable(&w, r); err != nil {
		t.Fatal(err)
	}
	section := "\nby segment (carts; recovery rate = recovered ÷ abandoned; lift vs the segment's holdout, 95% CI)\n" +
		"  segment        carts  abandoned  reminded  recovered   rate        recovered revenue  holdout lift         95% CI\n" +
		"  default           50         40        35         10  25.0%               500.00 EUR     +12.5 pts  -8.5 to +33.5\n" +
		"  new-customers     20         15        14          4  26.7%                80.00 EUR             -              -\n" +
		// 11/30 − 1/8 ± 1.96·√(0.3667·0.6333/30 + 0.125·0.875/8)
		"  vip               35         30        20         11  36.7%    920.00 EUR, 12.00 USD     +24.2 pts  -4.5 to +52.8\n"
	if !strings.Contains(w.String(), section) {
		t.Errorf("no segment section %q in\n%s", section, w.String())
	}
	// the A/B test of a segment's step is named by its qualified name
	if !strings.Contains(w.String(), "\nvip/first: ") || strings.Contains(w.String(), "\nfirst: ") {
		t.Errorf("no vip/first experiment in\n%s", w.String())
	}
}
