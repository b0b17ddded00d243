package money

import "testing"

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in, cur string
		minor   int64
		ok      bool
		out     string
	}{
		{"59.90", "EUR", 5990, true, "59.90"}, {"59.9", "EUR", 5990, true, "59.90"}, {"59", "USD", 5900, true, "59.00"},
		{"0.05", "EUR", 5, true, "0.05"}, {"1000", "JPY", 1000, true, "1000"}, {"1.234", "KWD", 1234, true, "1.234"},
		{"-3.50", "EUR", -350, true, "-3.50"}, {"59.900", "EUR", 5990, true, "59.90"}, {"59.901", "EUR", 0, false, ""},
		{"abc", "EUR", 0, false, ""}, {"", "EUR", 0, false, ""}, {"1e3", "EUR", 0, false, ""},
		{"999999999999999", "EUR", 99999999999999900, true, "999999999999999.00"},
	} {
		m, ok := ToMinor(tc.in, tc.cur)
		if m != tc.minor || ok != tc.ok {
			t.Errorf("ToMinor(%q,%s) = %d %v, want %d %v", tc.in, tc.cur, m, ok, tc.minor, tc.ok)
		}
		if ok && FromMinor(m, tc.cur) != tc.out {
			t.Errorf("FromMinor(%d,%s) = %q, want %q", m, tc.cur, FromMinor(m, tc.cur), tc.out)
		}
	}
}
