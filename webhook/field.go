package webhook

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
	decimalRE  = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,6})?$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	e164RE     = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
)

const (
	maxItems    = 500
	maxQuantity = 100000
	maxIDLen    = 200
)

// decode unmarshals body strictly enough: one JSON value, numbers kept as
// json.Number, errors naming the field.
func decode(body []byte, v any) error {
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
	case strings.Contains(goType, "flexID"):
		return "a string or integer id"
	case strings.Contains(goType, "amount"):
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

// flexID accepts an id given as a JSON string or integer, never through
// float64: Shopify ids exceed 2^53.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	s := string(b)
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return &json.UnmarshalTypeError{Value: "number " + s, Type: typeOfFlexID}
	}
	*f = flexID(s)
	return nil
}

// amount is a decimal string; a JSON number is refused so that no amount
// ever passes through float64.
type amount string

func (a *amount) UnmarshalJSON(b []byte) error {
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
	*a = amount(s)
	return nil
}

var (
	typeOfFlexID = reflectTypeOf[flexID]()
	typeOfAmount = reflectTypeOf[amount]()
)

// checker collects the first field error.
type checker struct{ err error }

func (c *checker) fail(field, msg string) {
	if c.err == nil {
		c.err = recovery.Invalid(field, msg)
	}
}

func (c *checker) required(field, v string) {
	if strings.TrimSpace(v) == "" {
		c.fail(field, "is required")
	}
}

func (c *checker) id(field, v string) {
	if len(v) > maxIDLen {
		c.fail(field, fmt.Sprintf("is longer than %d characters", maxIDLen))
		return
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			c.fail(field, "contains control or invalid characters")
			return
		}
	}
}

// decimal checks an amount: a decimal string, never negative (cart
// totals, prices and order totals are what the customer pays).
func (c *checker) decimal(field string, v amount) {
	switch {
	case v == "":
	case !decimalRE.MatchString(string(v)):
		c.fail(field, "must be a decimal string like \"59.90\"")
	case strings.HasPrefix(string(v), "-"):
		c.fail(field, fmt.Sprintf("%s is negative; amounts must be 0 or more", v))
	}
}

// orderMoney returns an order's total and currency for the revenue
// counters, or two empty strings when either is unusable (malformed,
// negative, not ISO 4217). An order is never refused over its amounts: it
// must stop its cart's reminders; it is then counted without revenue.
func orderMoney(total amount, currency string) (string, string) {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	var c checker
	c.decimal("total", total)
	c.currency("currency", currency)
	if c.err != nil || total == "" || currency == "" {
		return "", ""
	}
	return string(total), currency
}

// currency checks a code against ISO 4217 (golang.org/x/text/currency).
func (c *checker) currency(field, v string) {
	switch {
	case v == "":
	case !currencyRE.MatchString(v):
		c.fail(field, "must be a 3-letter ISO 4217 code like \"EUR\"")
	case !money.Known(v):
		c.fail(field, fmt.Sprintf("%q is not an ISO 4217 currency code", v))
	}
}

func (c *checker) quantity(field string, q int64) {
	switch {
	case q < 0:
		c.fail(field, fmt.Sprintf("%d is negative; must be between 1 and %d", q, maxQuantity))
	case q < 1 || q > maxQuantity:
		c.fail(field, fmt.Sprintf("must be between 1 and %d", maxQuantity))
	}
}

func (c *checker) url(field, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 2048 {
		c.fail(field, "must be an absolute http(s) URL")
	}
}

func (c *checker) email(field, v string) {
	if v == "" {
		return
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || len(v) > 254 {
		c.fail(field, "must be a plain email address like ana@example.com")
	}
}

func (c *checker) phone(field, v string) {
	if v != "" && !e164RE.MatchString(v) {
		c.fail(field, "must be an E.164 number like +34600000000")
	}
}

func (c *checker) timezone(field, v string) {
	if v == "" {
		return
	}
	if _, err := time.LoadLocation(v); err != nil || strings.ContainsAny(v, " \\") {
		c.fail(field, "must be an IANA time zone like Europe/Madrid")
	}
}

func (c *checker) time(field, v string, required bool) time.Time {
	if v == "" {
		if required {
			c.fail(field, "is required (RFC 3339, e.g. 2026-11-22T10:00:00Z)")
		}
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		c.fail(field, "must be an RFC 3339 time like 2026-11-22T10:00:00Z")
		return time.Time{}
	}
	return t.UTC()
}

// normalizePhone keeps a phone only if it is (or trivially becomes) E.164.
func normalizePhone(p string) string {
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

func reflectTypeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }
