package render

import (
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/money"
)

var funcs = map[string]any{
	"money": Money,
	"date":  Date,
}

var symbols = map[string]string{
	"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "INR": "₹", "BRL": "R$", "MXN": "MX$",
}

// Money formats a decimal string amount in currency without floats:
// Money("1234.5", "USD") = "$1,234.50", Money("59.9", "CHF") = "59.90 CHF",
// Money("1000", "JPY") = "¥1,000". An amount that is not a decimal, or has
// more decimals than the currency allows, is returned as given (with the
// code) rather than rounded.
func Money(amount, currency string) string {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	a := strings.TrimSpace(amount)
	neg := strings.HasPrefix(a, "-")
	a = strings.TrimPrefix(a, "-")
	whole, frac, _ := strings.Cut(a, ".")
	digits := money.Digits(currency)
	if whole == "" || !allDigits(whole) || !allDigits(frac) || len(frac) > digits && strings.TrimRight(frac[digits:], "0") != "" {
		return strings.TrimSpace(amount + " " + currency)
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	frac = (frac + strings.Repeat("0", digits))[:digits]
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	num := b.String()
	if digits > 0 {
		num += "." + frac
	}
	sign := ""
	if neg && strings.Trim(whole+frac, "0") != "" {
		sign = "-"
	}
	if sym, ok := symbols[currency]; ok {
		return sign + sym + num
	}
	if currency == "" {
		return sign + num
	}
	return sign + num + " " + currency
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Date formats t with a Go layout in UTC ("2 Jan 2006" when layout is empty).
func Date(layout string, t time.Time) string {
	if layout == "" {
		layout = "2 Jan 2006"
	}
	return t.UTC().Format(layout)
}
