// Package money converts decimal amount strings to and from integer minor
// units per ISO 4217 currency. Amounts never pass through float64.
package money

import (
	"math/big"
	"strings"
)

// nonDefault lists currencies whose minor unit is not 2 digits.
var nonDefault = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "XOF": 0, "XAF": 0, "UGX": 0, "PYG": 0, "RWF": 0, "KMF": 0, "GNF": 0, "VUV": 0, "XPF": 0, "DJF": 0, "BIF": 0,
	"BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

// Digits is the number of minor-unit digits of currency (2 when unknown).
func Digits(currency string) int {
	if d, ok := nonDefault[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// ToMinor converts a decimal string to minor units of currency. ok is false
// for a malformed amount or one with more decimals than the currency has.
func ToMinor(amount, currency string) (int64, bool) {
	a := strings.TrimSpace(amount)
	neg := strings.HasPrefix(a, "-")
	a = strings.TrimPrefix(a, "-")
	whole, frac, _ := strings.Cut(a, ".")
	d := Digits(currency)
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

// FromMinor formats minor units of currency as a decimal string: 5990 EUR →
// "59.90", 1000 JPY → "1000".
func FromMinor(minor int64, currency string) string {
	d := Digits(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := new(big.Int).SetInt64(minor).String()
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

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
