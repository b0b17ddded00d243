package money

import (
	"math/big"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		in             string
		ok, fits, amnt bool
		rat            string
	}{
		{"59.90", true, true, true, "59.9"},
		{"0", true, true, true, "0"},
		{"-2.5", true, true, false, "-2.5"},
		{"123456789012345.123456", true, true, true, "123456789012345.123456"},
		{"1234567890123456", true, false, false, ""},
		{"1.1234567", true, false, false, ""},
		{"1.", false, false, false, ""},
		{".5", false, false, false, ""},
		{"+1", false, false, false, ""},
		{"1e3", false, false, false, ""},
		{"1/3", false, false, false, ""},
		{"0x10", false, false, false, ""},
		{" 1", false, false, false, ""},
		{"1,5", false, false, false, ""},
		{"--1", false, false, false, ""},
		{"", false, false, false, ""},
		{"١٢", false, false, false, ""}, // Arabic-Indic digits
	} {
		d, ok := ParseDecimal(c.in)
		if ok != c.ok || (ok && d.Fits() != c.fits) || IsAmount(c.in) != c.amnt {
			t.Errorf("%q: ok %v fits %v amount %v, want %v %v %v", c.in, ok, d.Fits(), IsAmount(c.in), c.ok, c.fits, c.amnt)
		}
		if want, _ := new(big.Rat).SetString(c.rat); ok && c.rat != "" && d.Rat().Cmp(want) != 0 {
			t.Errorf("%q: %s, want %s", c.in, d.Rat(), c.rat)
		}
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"59.90", "-0.5", "1e3", "1.", "007"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseDecimal(s)
		if !ok {
			return
		}
		// what parses is what big.Rat reads the same way, and writes back
		r := d.Rat()
		if r == nil {
			t.Fatalf("%q parsed but has no value", s)
		}
		back, ok := ParseDecimal(r.FloatString(len(d.Frac)))
		if !ok || back.Rat().Cmp(r) != 0 {
			t.Fatalf("%q: %s does not read back", s, r.FloatString(len(d.Frac)))
		}
	})
}
