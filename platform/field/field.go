// Package field holds what the platforms' webhook parsers share: strict
// JSON decoding whose errors name the field, the checks of ids, amounts,
// currencies, addresses and times, and the HMAC their signatures use.
package field

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	e164RE     = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
)

// MaxItems is the most line items a cart may have.
const MaxItems = 500

const (
	maxQuantity = 100000
	maxIDLen    = 200
)

// Decode unmarshals body strictly enough: one JSON value, numbers kept as
// json.Number, errors naming the field.
func Decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return recovery.Invalid("body", "unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return recovery.Invalid("body", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return recovery.Invalid(field, fmt.Sprintf("must be %s, not a JSON %s", kindName(te.Type.String()), te.Value))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return recovery.Invalid("body", "empty or truncated JSON")
	}
	return recovery.Invalid("body", err.Error())
}

func kindName(goType string) string {
	switch {
	case strings.Contains(goType, "field.ID"):
		return "a string or integer id"
	case strings.Contains(goType, "field.Amount"):
		return "a decimal string like \"59.90\""
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map"), strings.Contains(goType, "."):
		return "an object"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	}
	return "a " + goType
}

// ID accepts an id given as a JSON string or integer, never through
// float64: Shopify ids exceed 2^53.
type ID string

func (f *ID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = ID(s)
		return nil
	}
	s := string(b)
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return &json.UnmarshalTypeError{Value: "number " + s, Type: typeOfID}
	}
	*f = ID(s)
	return nil
}

// Amount is a decimal string; a JSON number is refused so that no amount
// ever passes through float64.
type Amount string

func (a *Amount) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = ""
		return nil
	}
	if len(b) == 0 || b[0] != '"' {
		return &json.UnmarshalTypeError{Value: "number", Type: typeOfAmount}
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*a = Amount(s)
	return nil
}

var (
	typeOfID     = TypeOf[ID]()
	typeOfAmount = TypeOf[Amount]()
)

// Checker collects the first field error.
type Checker struct{ Err error }

// Fail records the error of field, unless one was recorded before.
func (c *Checker) Fail(field, msg string) {
	if c.Err == nil {
		c.Err = recovery.Invalid(field, msg)
	}
}

// Required: v must not be blank.
func (c *Checker) Required(field, v string) {
	if strings.TrimSpace(v) == "" {
		c.Fail(field, "is required")
	}
}

// ID: v is short, without control or invalid characters.
func (c *Checker) ID(field, v string) {
	if len(v) > maxIDLen {
		c.Fail(field, fmt.Sprintf("is longer than %d characters", maxIDLen))
		return
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			c.Fail(field, "contains control or invalid characters")
			return
		}
	}
}

// Decimal checks an amount: a decimal string, never negative (cart
// totals, prices and order totals are what the customer pays).
func (c *Checker) Decimal(field string, v Amount) {
	switch {
	case v == "":
	case !fitsDecimal(string(v)):
		c.Fail(field, "must be a decimal string like \"59.90\"")
	case strings.HasPrefix(string(v), "-"):
		c.Fail(field, fmt.Sprintf("%s is negative; amounts must be 0 or more", v))
	}
}

// OrderMoney returns an order's total and currency for the revenue
// counters, or two empty strings when either is unusable (malformed,
// negative, not ISO 4217). An order is never refused over its amounts: it
// must stop its cart's reminders; it is then counted without revenue.
func OrderMoney(total Amount, currency string) (string, string) {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	var c Checker
	c.Decimal("total", total)
	c.Currency("currency", currency)
	if c.Err != nil || total == "" || currency == "" {
		return "", ""
	}
	return string(total), currency
}

// Currency checks a code against ISO 4217 (golang.org/x/text/currency).
func (c *Checker) Currency(field, v string) {
	switch {
	case v == "":
	case !currencyRE.MatchString(v):
		c.Fail(field, "must be a 3-letter ISO 4217 code like \"EUR\"")
	case !money.Known(v):
		c.Fail(field, fmt.Sprintf("%q is not an ISO 4217 currency code", v))
	}
}

// Quantity: q is between 1 and 100000.
func (c *Checker) Quantity(field string, q int64) {
	switch {
	case q < 0:
		c.Fail(field, fmt.Sprintf("%d is negative; must be between 1 and %d", q, maxQuantity))
	case q < 1 || q > maxQuantity:
		c.Fail(field, fmt.Sprintf("must be between 1 and %d", maxQuantity))
	}
}

// URL: v is empty or an absolute http(s) URL.
func (c *Checker) URL(field, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 2048 {
		c.Fail(field, "must be an absolute http(s) URL")
	}
}

// Email: v is empty or a plain address.
func (c *Checker) Email(field, v string) {
	if v == "" {
		return
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || len(v) > 254 {
		c.Fail(field, "must be a plain email address like ana@example.com")
	}
}

// Phone: v is empty or E.164.
func (c *Checker) Phone(field, v string) {
	if v != "" && !e164RE.MatchString(v) {
		c.Fail(field, "must be an E.164 number like +34600000000")
	}
}

// Timezone: v is empty or an IANA zone.
func (c *Checker) Timezone(field, v string) {
	if v == "" {
		return
	}
	if _, err := time.LoadLocation(v); err != nil || strings.ContainsAny(v, " \\") {
		c.Fail(field, "must be an IANA time zone like Europe/Madrid")
	}
}

// Time reads an RFC 3339 time (UTC); zero when empty or invalid.
func (c *Checker) Time(field, v string, required bool) time.Time {
	if v == "" {
		if required {
			c.Fail(field, "is required (RFC 3339, e.g. 2026-11-22T10:00:00Z)")
		}
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		c.Fail(field, "must be an RFC 3339 time like 2026-11-22T10:00:00Z")
		return time.Time{}
	}
	return t.UTC()
}

// NormalizePhone keeps a phone only if it is (or trivially becomes) E.164.
func NormalizePhone(p string) string {
	p = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' {
			return -1
		}
		return r
	}, strings.TrimSpace(p))
	if e164RE.MatchString(p) {
		return p
	}
	return ""
}

// TypeOf is the reflect.Type of T.
func TypeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }

// IsCountry: two ASCII letters (an ISO 3166-1 alpha-2 code).
func IsCountry(v string) bool {
	return len(v) == 2 && isLetter(v[0]) && isLetter(v[1])
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// FirstOf is the first of vs that is not empty.
func FirstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// BodyString reads the top-level string field name of a JSON object body
// (a store named in the body, before its signature is checked): "" when
// the field is absent or null; ok is false when the body is not a JSON
// object or the field is not a string.
func BodyString(body []byte, name string) (v string, ok bool) {
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&fields); err != nil {
		return "", false
	}
	raw, present := fields[name]
	if present && json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

// fitsDecimal: a decimal as platforms send amounts (money.Decimal that Fits).
func fitsDecimal(s string) bool {
	d, ok := money.ParseDecimal(s)
	return ok && d.Fits()
}
