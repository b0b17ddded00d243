package recovery

import "testing"

// A segment's copies of the cart-level and per-currency counters, and the
// qualified steps of its message and step counters, read back as written.
func TestParseCounterSegments(t *testing.T) {
	cases := []struct {
		field string
		want  Counter
		copy  bool
	}{
		{"tracked@high-value", Counter{Kind: CountTracked, Segment: "high-value"}, true},
		{"abandoned_h@vip", Counter{Kind: CountAbandonedHoldout, Segment: "vip"}, true},
		{"converted_h@new_customers", Counter{Kind: CountConvertedHoldout, Segment: "new_customers"}, true},
		{"credit_click@vip", Counter{Kind: CountCreditClick, Segment: "vip"}, true},
		{"recovered@vip", Counter{Kind: CountRecovered, Segment: "vip"}, true},
		{"revt@vip|EUR", Counter{Kind: CountRevenueTotal, Currency: "EUR", Segment: "vip"}, true},
		{"recc@vip|JPY", Counter{Kind: CountRecoveredIn, Currency: "JPY", Segment: "vip"}, true},
		{"tracked", Counter{Kind: CountTracked}, false},
		{"revt|EUR", Counter{Kind: CountRevenueTotal, Currency: "EUR"}, false},
		{"sent|high-value/first-reminder|email|a", Counter{Kind: CountSent, Step: "high-value/first-reminder", Channel: "email", Variant: "a", Segment: "high-value"}, false},
		{"rev|vip/first|sms|b|EUR", Counter{Kind: CountRevenue, Step: "vip/first", Channel: "sms", Variant: "b", Currency: "EUR", Segment: "vip"}, false},
		{"recovered|vip/first|email|a", Counter{Kind: CountRecoveredBy, Step: "vip/first", Channel: "email", Variant: "a", Segment: "vip"}, false},
		{"reached|high-value/first-reminder|a", Counter{Kind: CountReached, Step: "high-value/first-reminder", Variant: "a", Segment: "high-value"}, false},
		{"codes_issued|vip/second|b", Counter{Kind: CountCodesIssued, Step: "vip/second", Variant: "b", Segment: "vip"}, false},
		{"sent|first-reminder|email|a", Counter{Kind: CountSent, Step: "first-reminder", Channel: "email", Variant: "a"}, false},
	}
	for _, c := range cases {
		got, err := ParseCounter(c.field)
		if err != nil {
			t.Errorf("%s: %v", c.field, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.field, got, c.want)
		}
		if got.SegmentCopy() != c.copy {
			t.Errorf("%s: SegmentCopy %v, want %v", c.field, got.SegmentCopy(), c.copy)
		}
		if f := got.Field(); f != c.field {
			t.Errorf("%s: Field() = %q", c.field, f)
		}
	}
	for _, f := range []string{
		"sent@x|a|email|a",      // message counters name their segment in the step
		"recovered@x|a|email|a", // nor the credited message
		"rev@x|a|email|a|EUR",   // nor its revenue
		"reached@x|a|a",         // nor step counters
		"tracked@Bad Name",      // not a segment name
		"tracked@default",       // the default sequence has no copy
		"tracked@",              // no name
		"orders@x",              // orders is not a segment kind
		"verified_ordered@x",    // nor this one
		"skipr@x|no_email",      // nor skip reasons
		"revt@Bad|EUR",          // not a segment name
		"tracked@x@y",           // two segments
		"tracked@x|EUR",         // a cart count has no currency
	} {
		if c, err := ParseCounter(f); err == nil {
			t.Errorf("%s: parsed as %+v", f, c)
		}
	}
}
