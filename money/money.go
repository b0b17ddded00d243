// Package money converts decimal amount strings to and from integer minor
// units per ISO 4217 currency. Amounts never pass through float64.
//
// Which codes exist and how many minor-unit digits each has come from
// golang.org/x/text/currency (CLDR's standard rounding), not from a table of
// our own — with one deliberate exception: for 23 currencies CLDR's display
// digits are fewer than ISO 4217's minor unit (IDR, COP, PKR, IQD...: 0),
// while platforms send their amounts in ISO minor units ("1499.50" PKR).
// Those keep their ISO minor unit (isoMinor), so no amount a platform sends
// loses its decimals and no stored revenue changes scale.
package money

import (
	"math/big"
	"strings"

	"golang.org/x/text/currency"
)

// newer lists ISO 4217 codes introduced after the CLDR release that
// golang.org/x/text/currency carries (CLDR 32, 2017), with their ISO minor
// units. It only fills that gap: every code x/text knows comes from x/text.
var newer = map[string]int{
	"MRU": 2, // Mauritania, 2018 (MRO)
	"STN": 2, // São Tomé and Príncipe, 2018 (STD)
	"VES": 2, // Venezuela, 2018 (VEF)
	"UYW": 4, // Uruguay, unidad previsional, 2018
	"VED": 2, // Venezuela, 2021
	"SLE": 2, // Sierra Leone, 2022 (SLL)
	"ZWG": 2, // Zimbabwe gold, 2024
	"XCG": 2, // Caribbean guilder, 2025 (ANG)
}

// isoMinor are the ISO 4217 minor units of the currencies whose CLDR
// standard digits are fewer (see the package comment).
var isoMinor = map[string]int{
	"AFN": 2, "ALL": 2, "AMD": 2, "COP": 2, "GYD": 2, "IDR": 2, "IQD": 3, "IRR": 2,
	"KPW": 2, "LAK": 2, "LBP": 2, "MGA": 2, "MMK": 2, "MNT": 2, "MUR": 2, "PKR": 2,
	"RSD": 2, "SLL": 2, "SOS": 2, "SYP": 2, "TZS": 2, "UZS": 2, "YER": 2,
}

// notCurrency are ISO 4217 codes that name no money a cart can be priced in.
var notCurrency = map[string]bool{"XXX": true, "XTS": true}

// Known reports whether code is an ISO 4217 currency code (letters in any
// case) that a price can be given in: "ZZZ", "XXX" (no currency) and "XTS"
// (testing) are not.
func Known(code string) bool {
	code = strings.ToUpper(code)
	if len(code) != 3 || notCurrency[code] {
		return false
	}
	if _, ok := newer[code]; ok {
		return true
	}
	_, err := currency.ParseISO(code)
	return err == nil
}

// Digits is the number of minor-unit digits of currency (2 when unknown):
// EUR 2, JPY 0, KWD 3.
func Digits(code string) int {
	code = strings.ToUpper(code)
	if d, ok := newer[code]; ok {
		return d
	}
	if d, ok := isoMinor[code]; ok {
		return d
	}
	u, err := currency.ParseISO(code)
	if err != nil || notCurrency[code] {
		return 2
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// ToMinor converts a decimal string to minor units of currency code. ok is false
// for a malformed amount or one with more decimals than the currency has.
func ToMinor(amount, code string) (int64, bool) {
	a := strings.TrimSpace(amount)
	neg := strings.HasPrefix(a, "-")
	a = strings.TrimPrefix(a, "-")
	whole, frac, _ := strings.Cut(a, ".")
	d := Digits(code)
	if whole == "" || !digits(whole) || !digits(frac) || len(whole) > 15 {
		return 0, false
	}
	if len(frac) > d {
		if strings.Trim(frac[d:], "0") != "" {
			return 0, false
		}
		frac = frac[:d]
	}
	frac += strings.Repeat("0", d-len(frac))
	n, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok || !n.IsInt64() {
		return 0, false
	}
	if neg {
		return -n.Int64(), true
	}
	return n.Int64(), true
}

// FromMinor formats minor units of currency code as a decimal string: 5990 EUR →
// "59.90", 1000 JPY → "1000".
func FromMinor(minor int64, code string) string {
	d := Digits(code)
	neg := minor < 0
	s := new(big.Int).Abs(new(big.Int).SetInt64(minor)).String()
	if d > 0 {
		if len(s) <= d {
			s = strings.Repeat("0", d-len(s)+1) + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Round rounds a decimal string to the minor-unit digits of currency code,
// half away from zero, and returns it in canonical form (no leading zeros,
// exactly Digits(code) decimals): "1234.5" JPY → "1235", "0.005" EUR →
// "0.01", "-2.345" EUR → "-2.35", "7" EUR → "7.00". An amount that rounds to
// zero loses its sign. ok is false when amount is not a plain decimal
// ([-]digits[.digits], no exponent, no sign other than a leading minus).
// Any length is accepted: the arithmetic is on big integers, never floats.
func Round(amount, code string) (string, bool) {
	a := strings.TrimSpace(amount)
	neg := strings.HasPrefix(a, "-")
	a = strings.TrimPrefix(a, "-")
	whole, frac, _ := strings.Cut(a, ".")
	if whole == "" || !digits(whole) || !digits(frac) {
		return "", false
	}
	d := Digits(code)
	up := false
	if len(frac) > d {
		up = frac[d] >= '5'
		frac = frac[:d]
	}
	frac += strings.Repeat("0", d-len(frac))
	n, _ := new(big.Int).SetString(whole+frac, 10)
	if up {
		n.Add(n, big.NewInt(1))
	}
	s := n.String()
	if d > 0 {
		if len(s) <= d {
			s = strings.Repeat("0", d-len(s)+1) + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if neg && n.Sign() != 0 {
		s = "-" + s
	}
	return s, true
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
