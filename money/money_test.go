package money

import (
	"math"
	"testing"
)

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
		{"1000.00", "JPY", 1000, true, "1000"}, {"1000.5", "JPY", 0, false, ""},
		{"0.5", "KWD", 500, true, "0.500"}, {"1.2345", "KWD", 0, false, ""}, {"12.5", "kwd", 12500, true, "12.500"},
		{"1.2345", "CLF", 12345, true, "1.2345"}, {"10.5", "VES", 1050, true, "10.50"},
		{"1.50", "ZZZ", 150, true, "1.50"}, // unknown: 2 digits (webhooks refuse the code itself)
	} {
		m, ok := ToMinor(tc.in, tc.cur)
		if m != tc.minor || ok != tc.ok {
			t.Errorf("ToMinor(%q,%s) = %d %v, want %d %v", tc.in, tc.cur, m, ok, tc.minor, tc.ok)
		}
		if ok && FromMinor(m, tc.cur) != tc.out {
			t.Errorf("FromMinor(%d,%s) = %q, want %q", m, tc.cur, FromMinor(m, tc.cur), tc.out)
		}
	}
	if got := FromMinor(math.MinInt64, "EUR"); got != "-92233720368547758.08" {
		t.Errorf("FromMinor(MinInt64) = %q", got)
	}
}

func TestDigitsFromCLDR(t *testing.T) {
	for code, want := range map[string]int{
		"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0,
		"KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3, "LYD": 3, "CLF": 4,
		"jpy": 0, "VES": 2, "UYW": 4, "ZZZ": 2, "": 2, "XXX": 2, "EURO": 2,
	} {
		if got := Digits(code); got != want {
			t.Errorf("Digits(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestKnown(t *testing.T) {
	for code, want := range map[string]bool{
		"EUR": true, "USD": true, "JPY": true, "KWD": true, "CHF": true, "eur": true, "VES": true, "SLE": true, "XCG": true,
		"ZZZ": false, "XXX": false, "XTS": false, "": false, "EU": false, "EURO": false, "€": false, "E\x00R": false,
	} {
		if got := Known(code); got != want {
			t.Errorf("Known(%q) = %v, want %v", code, got, want)
		}
	}
}

// Platforms send ISO minor units: where CLDR shows fewer digits (PKR, IDR,
// IQD), the amount keeps its decimals.
func TestISOMinorUnitsWhereCLDRShowsFewer(t *testing.T) {
	for _, tc := range []struct {
		amount, code string
		minor        int64
	}{{"1499.50", "PKR", 149950}, {"15000.25", "IDR", 1500025}, {"1.250", "IQD", 1250}, {"100", "COP", 10000}} {
		got, ok := ToMinor(tc.amount, tc.code)
		if !ok || got != tc.minor {
			t.Errorf("ToMinor(%s %s) = %d %v, want %d", tc.amount, tc.code, got, ok, tc.minor)
		}
		if back := FromMinor(tc.minor, tc.code); back != tc.amount && !(tc.code == "COP" && back == "100.00") {
			t.Errorf("FromMinor(%d %s) = %s", tc.minor, tc.code, back)
		}
	}
}

func TestRound(t *testing.T) {
	for _, tc := range []struct {
		in, cur, want string
		ok            bool
	}{
		{"1234.5", "JPY", "1235", true}, {"1234.49", "JPY", "1234", true}, {"-1234.5", "JPY", "-1235", true},
		{"0.005", "EUR", "0.01", true}, {"0.0049", "EUR", "0.00", true}, {"-0.004", "EUR", "0.00", true},
		{"-2.345", "EUR", "-2.35", true}, {"2.344999", "EUR", "2.34", true}, {"7", "EUR", "7.00", true},
		{"007.10", "EUR", "7.10", true}, {"9.995", "USD", "10.00", true}, {"99.5", "JPY", "100", true},
		{"1.2345", "KWD", "1.235", true}, {"0.5", "kwd", "0.500", true}, {"5.", "EUR", "5.00", true},
		{"123456789012345678901234.565", "EUR", "123456789012345678901234.57", true},
		{"", "EUR", "", false}, {"abc", "EUR", "", false}, {"1e3", "EUR", "", false}, {".5", "EUR", "", false},
		{"+5", "EUR", "", false}, {"1.2.3", "EUR", "", false}, {"--1", "EUR", "", false}, {"1,5", "EUR", "", false},
	} {
		got, ok := Round(tc.in, tc.cur)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Round(%q, %s) = %q %v, want %q %v", tc.in, tc.cur, got, ok, tc.want, tc.ok)
		}
	}
}
