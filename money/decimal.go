package money

import (
	"math/big"
	"strings"
)

// Decimal is an amount as platforms and the configuration write it: an
// optional minus, digits, and optionally a point and more digits. No plus
// sign, exponent, fraction bar or hex, which big.Rat alone would read
// ("1e9", "1/3", "0x10"). Every amount that comes from outside is parsed
// here, once.
type Decimal struct {
	Neg         bool
	Whole, Frac string // the digits before and after the point
}

// ParseDecimal parses s as a Decimal; ok is false for anything else
// (spaces included).
func ParseDecimal(s string) (d Decimal, ok bool) {
	d.Neg = strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, point := strings.Cut(s, ".")
	if whole == "" || !digits(whole) || !digits(frac) || (point && frac == "") {
		return Decimal{}, false
	}
	d.Whole, d.Frac = whole, frac
	return d, true
}

// Fits reports whether d has at most 15 digits before the point and 6
// after it: the amounts platforms send (any currency's minor units then
// fit an int64).
func (d Decimal) Fits() bool { return len(d.Whole) <= 15 && len(d.Frac) <= 6 }

// Rat is d's value.
func (d Decimal) Rat() *big.Rat {
	s := d.Whole
	if d.Frac != "" {
		s += "." + d.Frac
	}
	if d.Neg {
		s = "-" + s
	}
	r, _ := new(big.Rat).SetString(s)
	return r
}

// IsAmount reports whether s is a Decimal that is not negative and Fits:
// how the platforms' APIs write an amount or a percentage.
func IsAmount(s string) bool {
	d, ok := ParseDecimal(s)
	return ok && !d.Neg && d.Fits()
}
