package shopify

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cartrecovery/cartrecovery/platform/field"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Sign returns the X-Shopify-Hmac-Sha256 value for body.
func Sign(body []byte, secret string) string {
	return base64.StdEncoding.EncodeToString(field.MAC(body, secret))
}

// Verify checks X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(body,
// secret)) in constant time. An empty secret rejects everything.
func Verify(body []byte, header, secret string) error {
	if secret == "" {
		return fmt.Errorf("platforms.shopify.secret is not configured: %w", recovery.ErrUnauthorized)
	}
	if header == "" {
		return fmt.Errorf("missing X-Shopify-Hmac-Sha256: %w", recovery.ErrUnauthorized)
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil || !hmac.Equal(got, field.MAC(body, secret)) {
		return fmt.Errorf("X-Shopify-Hmac-Sha256 does not match the body: %w", recovery.ErrUnauthorized)
	}
	return nil
}

type shopifyAddress struct {
	FirstName   string `json:"first_name"`
	Phone       string `json:"phone"`
	CountryCode string `json:"country_code"`
}

type shopifyCustomer struct {
	ID             field.ID        `json:"id"`
	Email          string          `json:"email"`
	Phone          string          `json:"phone"`
	FirstName      string          `json:"first_name"`
	DefaultAddress *shopifyAddress `json:"default_address"`
	OrdersCount    *int64          `json:"orders_count"` // API versions before 2024-07; absent: unknown
}

type shopifyLine struct {
	Title             string       `json:"title"`
	PresentmentTitle  string       `json:"presentment_title"`
	Quantity          int64        `json:"quantity"`
	Price             field.Amount `json:"price"`
	SKU               string       `json:"sku"`
	VariantTitle      string       `json:"variant_title"`
	PresentmentVarTit string       `json:"presentment_variant_title"`
	ProductID         field.ID     `json:"product_id"`
}

// shopifyPayload covers the fields cartrecovery reads from checkouts and
// orders (webhook payloads of API 2025-01, as the fixtures are); everything else is ignored.
type shopifyPayload struct {
	ID                       field.ID         `json:"id"`
	Token                    string           `json:"token"`
	CartToken                string           `json:"cart_token"`
	CheckoutToken            string           `json:"checkout_token"`
	CheckoutID               field.ID         `json:"checkout_id"`
	Email                    string           `json:"email"`
	ContactEmail             string           `json:"contact_email"`
	Phone                    string           `json:"phone"`
	SMSMarketingPhone        string           `json:"sms_marketing_phone"`
	BuyerAcceptsMarketing    bool             `json:"buyer_accepts_marketing"`
	BuyerAcceptsSMSMarketing bool             `json:"buyer_accepts_sms_marketing"`
	CustomerLocale           string           `json:"customer_locale"`
	Currency                 string           `json:"currency"`
	PresentmentCurrency      string           `json:"presentment_currency"`
	TotalPrice               field.Amount     `json:"total_price"`
	AbandonedCheckoutURL     string           `json:"abandoned_checkout_url"`
	CreatedAt                string           `json:"created_at"`
	UpdatedAt                string           `json:"updated_at"`
	ProcessedAt              string           `json:"processed_at"`
	Customer                 *shopifyCustomer `json:"customer"`
	BillingAddress           *shopifyAddress  `json:"billing_address"`
	ShippingAddress          *shopifyAddress  `json:"shipping_address"`
	LineItems                []shopifyLine    `json:"line_items"`
	DiscountCodes            []shopifyCode    `json:"discount_codes"` // orders: the codes used
}

type shopifyCode struct {
	Code string `json:"code"`
}

// DeliveryID is the deduplication id of a Shopify delivery.
// X-Shopify-Event-Id names the event, not the delivery: the same event sent
// to a second subscription of the topic has a new webhook id but the same
// event id, so it is the better key when present (per topic); else the
// webhook id.
func DeliveryID(topic, webhookID, eventID string) (string, error) {
	if eventID == "" {
		return webhookID, nil
	}
	var c field.Checker
	c.ID("X-Shopify-Event-Id", eventID)
	if c.Err != nil {
		return "", c.Err
	}
	return "event:" + topic + ":" + eventID, nil
}

// Parse parses a Shopify webhook of topic (X-Shopify-Topic) from shop
// (X-Shopify-Shop-Domain; "default" when empty) with delivery id webhookID
// (X-Shopify-Webhook-Id). Topics other than checkouts/create|update|delete
// and orders/create return an error wrapping recovery.ErrIgnored.
func Parse(topic, shop, webhookID string, body []byte) (recovery.Event, error) {
	var kind recovery.Kind
	switch topic {
	case "checkouts/create", "checkouts/update":
		kind = recovery.CartUpdated
	case "checkouts/delete":
		kind = recovery.CartDeleted
	case "orders/create":
		kind = recovery.OrderCreated
	case "":
		return recovery.Event{}, recovery.Invalid("X-Shopify-Topic", "is required")
	default:
		return recovery.Event{}, fmt.Errorf("topic %q is not used: %w", topic, recovery.ErrIgnored)
	}
	var c field.Checker
	if webhookID == "" {
		c.Fail("X-Shopify-Webhook-Id", "is required")
	}
	c.ID("X-Shopify-Webhook-Id", webhookID)
	if c.Err != nil {
		return recovery.Event{}, c.Err
	}
	var p shopifyPayload
	if !scanShopify(body, &p) {
		// Anything the one-pass reader does not take exactly as
		// encoding/json would: encoding/json decides, and names the field.
		p = shopifyPayload{}
		if err := field.Decode(body, &p); err != nil {
			return recovery.Event{}, err
		}
	}
	if shop == "" {
		shop = "default"
	}
	ev := recovery.Event{ID: webhookID, Platform: Platform, Kind: kind, Store: shop}

	c.ID("token", p.Token)
	c.ID("cart_token", p.CartToken)
	c.ID("checkout_token", p.CheckoutToken)
	c.ID("id", string(p.ID))
	c.ID("checkout_id", string(p.CheckoutID))
	if p.CartToken != "" {
		ev.Refs = append(ev.Refs, "cart_token:"+p.CartToken)
	}
	switch kind {
	case recovery.CartUpdated:
		c.Required("token", p.Token)
		ev.Cart.ID = p.Token
		if p.ID != "" {
			ev.Refs = append(ev.Refs, "checkout_id:"+string(p.ID))
		}
		at := p.UpdatedAt
		if at == "" {
			at = p.CreatedAt
		}
		ev.OccurredAt = shopifyTime(&c, "updated_at", at, true)
		ev.TimeField = "updated_at"
	case recovery.CartDeleted:
		ev.Cart.ID = p.Token
		if p.ID != "" {
			ev.Refs = append(ev.Refs, "checkout_id:"+string(p.ID))
		}
		if p.Token == "" && p.ID == "" && p.CartToken == "" {
			c.Fail("id", "is required (or token, or cart_token)")
		}
		ev.OccurredAt = shopifyTime(&c, "updated_at", p.UpdatedAt, false)
		ev.TimeField = "updated_at"
	case recovery.OrderCreated:
		c.Required("id", string(p.ID))
		ev.Cart.ID = p.CheckoutToken
		if p.CheckoutID != "" {
			ev.Refs = append(ev.Refs, "checkout_id:"+string(p.CheckoutID))
		}
		at := p.CreatedAt
		if at == "" {
			at = p.ProcessedAt
		}
		ev.OccurredAt = shopifyTime(&c, "created_at", at, false)
		ev.TimeField = "created_at"
		total, cur := field.OrderMoney(p.TotalPrice, field.FirstOf(p.PresentmentCurrency, p.Currency))
		ev.Order = recovery.Order{ID: string(p.ID), Total: total, Currency: cur}
		for _, d := range p.DiscountCodes {
			if d.Code != "" && len(ev.Order.Codes) < 8 {
				ev.Order.Codes = append(ev.Order.Codes, d.Code)
			}
		}
	}

	cur := field.FirstOf(p.PresentmentCurrency, p.Currency)
	if kind == recovery.CartUpdated { // an order is never refused over its amounts
		c.Currency("presentment_currency", p.PresentmentCurrency)
		c.Currency("currency", p.Currency)
		c.Decimal("total_price", p.TotalPrice)
	}
	c.URL("abandoned_checkout_url", p.AbandonedCheckoutURL)
	if len(p.LineItems) > field.MaxItems {
		c.Fail("line_items", fmt.Sprintf("has %d items; at most %d", len(p.LineItems), field.MaxItems))
	}
	if kind == recovery.CartUpdated {
		ev.Cart.Currency, ev.Cart.Total, ev.Cart.RecoveryURL = cur, string(p.TotalPrice), p.AbandonedCheckoutURL
		for i, li := range p.LineItems {
			f := fmt.Sprintf("line_items[%d]", i)
			c.Quantity(f+".quantity", li.Quantity)
			c.Decimal(f+".price", li.Price)
			title := field.FirstOf(li.PresentmentTitle, li.Title)
			if v := field.FirstOf(li.PresentmentVarTit, li.VariantTitle); v != "" && !strings.Contains(title, v) {
				title += " - " + v
			}
			c.ID(f+".title", title)
			c.ID(f+".product_id", string(li.ProductID))
			ev.Cart.Items = append(ev.Cart.Items, recovery.Item{SKU: li.SKU, Title: title, Quantity: int(li.Quantity), Price: string(li.Price),
				ProductID: string(li.ProductID)})
		}
	}

	// customer
	cu := recovery.Customer{Locale: p.CustomerLocale, EmailConsent: p.BuyerAcceptsMarketing, SMSConsent: p.BuyerAcceptsSMSMarketing}
	var addrs []*shopifyAddress
	if p.Customer != nil {
		cu.ID, cu.FirstName = string(p.Customer.ID), p.Customer.FirstName
		c.ID("customer.id", cu.ID)
		if n := p.Customer.OrdersCount; n != nil && *n >= 0 {
			cu.Orders, cu.OrdersKnown = int(min(*n, 1<<30)), true
		}
		addrs = append(addrs, p.Customer.DefaultAddress)
	}
	addrs = append(addrs, p.ShippingAddress, p.BillingAddress)
	// the country: billing, else shipping, else the customer's default
	for _, a := range []*shopifyAddress{p.BillingAddress, p.ShippingAddress, addrs[0]} {
		if a != nil && field.IsCountry(a.CountryCode) && cu.Country == "" {
			cu.Country = strings.ToUpper(a.CountryCode)
		}
	}
	cu.Email = field.FirstOf(p.Email, p.ContactEmail)
	phones := []string{p.SMSMarketingPhone, p.Phone}
	if p.Customer != nil {
		cu.Email = field.FirstOf(cu.Email, p.Customer.Email)
		phones = append(phones, p.Customer.Phone)
	}
	for _, a := range addrs {
		if a != nil {
			phones = append(phones, a.Phone)
			cu.FirstName = field.FirstOf(cu.FirstName, a.FirstName)
		}
	}
	for _, ph := range phones {
		if n := field.NormalizePhone(ph); n != "" {
			cu.Phone = n
			break
		}
	}
	// A signed Shopify delivery is not refused for an odd address: the
	// cart is kept and email is skipped for it.
	var ec field.Checker
	if ec.Email("email", cu.Email); ec.Err != nil {
		cu.Email = ""
	}
	c.ID("customer.first_name", cu.FirstName)
	c.ID("customer_locale", cu.Locale)
	ev.Customer = cu
	if c.Err != nil {
		return recovery.Event{}, c.Err
	}
	return ev, nil
}

func shopifyTime(c *field.Checker, name, v string, required bool) time.Time {
	return c.Time(name, v, required)
}

// scanShopify is the fast path of field.Decode(body, p) for Shopify payloads: one
// pass over the body that fills p with the fields shopifyPayload has and
// checks, without building anything, that everything else is well-formed
// JSON. encoding/json reads the body twice (a syntax scan, then the
// decoding, by reflection, of every value it meets) and the 8 KB checkout
// is mostly fields cartrecovery never reads.
//
// It only ever succeeds where decode would, with the same p: it returns
// false at anything it does not handle exactly like encoding/json, and the
// caller then decodes with encoding/json, whose result or error (naming the
// field) stands. That is: malformed JSON or data after the value, a value
// of a type its field does not take, null in place of a line item, a key
// given twice or matched only case-insensitively (encoding/json's folding,
// e.g. "Email" or "tOKEN"), a key with escapes, nesting deeper than
// maxScanDepth. Strings with escapes or invalid UTF-8 are unquoted by
// encoding/json itself; ids and amounts follow field.ID and field.Amount.
func scanShopify(body []byte, p *shopifyPayload) bool {
	s := shopifyScan{b: body}
	if s.peek() != '{' || !s.payload(p) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// maxScanDepth bounds the nesting scanShopify walks; deeper payloads go to
// encoding/json (which allows 10000).
const maxScanDepth = 64

type shopifyScan struct {
	b []byte
	i int
}

var jsonSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// strStop marks the bytes that end the plain run of a JSON string: the
// closing quote, an escape, and control characters (not allowed raw).
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func (s *shopifyScan) ws() {
	b, i := s.b, s.i
	for i < len(b) {
		c := b[i]
		if c > ' ' { // most often: no space at all
			break
		}
		if c == ' ' && i+8 <= len(b) {
			// indentation: up to eight spaces at a time
			if x := binary.LittleEndian.Uint64(b[i:]) ^ 0x2020202020202020; x != 0 {
				i += bits.TrailingZeros64(x) / 8
			} else {
				i += 8
			}
			continue
		}
		if !jsonSpace[c] {
			break
		}
		i++
	}
	s.i = i
}

// peek skips white space and returns the next byte (0 at the end).
func (s *shopifyScan) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads the string starting at s.i (a '"'): b[start:end] is its
// content, esc whether it has escapes.
func (s *shopifyScan) str() (start, end int, esc, ok bool) {
	b := s.b
	start = s.i + 1
	for i := start; i < len(b); i++ {
		// Eight bytes at a time up to the first quote, backslash or
		// control character.
		for i+8 <= len(b) {
			if m := strStops(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		if !strStop[c] {
			continue
		}
		switch c {
		case '"':
			s.i = i + 1
			return start, i, esc, true
		case '\\':
			esc = true
			i++
			if i >= len(b) {
				return 0, 0, false, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return 0, 0, false, false
				}
				i += 4
			default:
				return 0, 0, false, false
			}
		default: // a raw control character
			return 0, 0, false, false
		}
	}
	return 0, 0, false, false
}

// strStops has the high bit set in the bytes of v that strStop marks
// (the lowest one exactly; those above it may be false alarms).
func strStops(v uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	return zero(v^(ones*'"')) | zero(v^(ones*'\\')) | (v-ones*0x20)&^v&highs
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// strValue reads a string value as encoding/json unquotes it.
func (s *shopifyScan) strValue() (string, bool) {
	start, end, esc, ok := s.str()
	if !ok {
		return "", false
	}
	raw := s.b[start:end]
	if !esc && utf8.Valid(raw) {
		return string(raw), true
	}
	// Escapes or invalid UTF-8 (which encoding/json replaces with U+FFFD):
	// rare enough to hand to encoding/json.
	var v string
	if json.Unmarshal(s.b[start-1:end+1], &v) != nil {
		return "", false
	}
	return v, true
}

// num reads a number (JSON's grammar) and returns its text.
func (s *shopifyScan) num() ([]byte, bool) {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return nil, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	n := b[s.i:i]
	s.i = i
	return n, true
}

// lit reads the literal w (true, false, null).
func (s *shopifyScan) lit(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// skip reads any value, checking its syntax, at nesting depth.
func (s *shopifyScan) skip(depth int) bool {
	switch s.peek() {
	case '"':
		_, _, _, ok := s.str()
		return ok
	case '{':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		if s.peek() == '}' {
			s.i++
			return true
		}
		for {
			if s.peek() != '"' {
				return false
			}
			if _, _, _, ok := s.str(); !ok || s.peek() != ':' {
				return false
			}
			s.i++
			if !s.skip(depth + 1) {
				return false
			}
			switch s.peek() {
			case ',':
				s.i++
			case '}':
				s.i++
				return true
			default:
				return false
			}
		}
	case '[':
		if depth >= maxScanDepth {
			return false
		}
		s.i++
		if s.peek() == ']' {
			s.i++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return true
			default:
				return false
			}
		}
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	_, ok := s.num()
	return ok
}

// object reads the object at s.i, calling member with each key and s.i at
// its value; member reads the value, or returns false.
func (s *shopifyScan) object(member func(key []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		start, end, esc, ok := s.str()
		if !ok || esc || s.peek() != ':' {
			return false
		}
		s.i++
		if !member(s.b[start:end]) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}

// other reads the value of a key that is none of the struct's (names, its
// JSON names): skipped, unless encoding/json would match it to one of them
// case-insensitively.
func (s *shopifyScan) other(key []byte, names []string, depth int) bool {
	for _, c := range key {
		if 'A' <= c && c <= 'Z' || c >= utf8.RuneSelf {
			for _, n := range names {
				if foldEqual(key, n) {
					return false
				}
			}
			break
		}
	}
	return s.skip(depth)
}

// foldEqual reports whether encoding/json matches key to the field name
// (lower-case ASCII) case-insensitively: ASCII letters in either case, and
// the two non-ASCII runes whose fold sets hold an ASCII letter, U+017F (s)
// and U+212A (k).
func foldEqual(key []byte, name string) bool {
	j := 0
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			i++
		} else {
			r, n := utf8.DecodeRune(key[i:])
			i += n
			switch r {
			case 0x17F:
				c = 's'
			case 0x212A:
				c = 'k'
			default:
				return false
			}
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if j >= len(name) || name[j] != c {
			return false
		}
		j++
	}
	return j == len(name)
}

// text reads a string field (null leaves it empty).
func (s *shopifyScan) text(dst *string) bool {
	switch s.peek() {
	case 'n':
		return s.lit("null")
	case '"':
		v, ok := s.strValue()
		*dst = v
		return ok
	}
	return false
}

// id reads a field.ID: a string, or an integer that fits a uint64, kept as
// its digits (never through float64).
func (s *shopifyScan) id(dst *field.ID) bool {
	switch c := s.peek(); {
	case c == 'n':
		return s.lit("null")
	case c == '"':
		v, ok := s.strValue()
		*dst = field.ID(v)
		return ok
	case c == '-' || isDigit(c):
		n, ok := s.num()
		if !ok {
			return false
		}
		v := string(n)
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			return false
		}
		*dst = field.ID(v)
		return true
	}
	return false
}

// amount reads an amount: a string (a number is refused, see amount).
func (s *shopifyScan) amount(dst *field.Amount) bool {
	var v string
	ok := s.text(&v)
	*dst = field.Amount(v)
	return ok
}

func (s *shopifyScan) flag(dst *bool) bool {
	switch s.peek() {
	case 't':
		*dst = true
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	return false
}

// optInt reads an integer or null into a pointer, as encoding/json does
// (null leaves it nil).
func (s *shopifyScan) optInt(dst **int64) bool {
	if s.peek() == 'n' {
		return s.lit("null")
	}
	v := new(int64)
	*dst = v
	return s.int(v)
}

func (s *shopifyScan) int(dst *int64) bool {
	switch c := s.peek(); {
	case c == 'n':
		return s.lit("null")
	case c == '-' || isDigit(c):
		n, ok := s.num()
		if !ok {
			return false
		}
		v, err := strconv.ParseInt(string(n), 10, 64)
		*dst = v
		return err == nil
	}
	return false
}

// JSON names of each struct's fields, for the case-insensitive check.
var (
	payloadNames  = jsonNames[shopifyPayload]()
	customerNames = jsonNames[shopifyCustomer]()
	addressNames  = jsonNames[shopifyAddress]()
	lineNames     = jsonNames[shopifyLine]()
	codeNames     = jsonNames[shopifyCode]()
)

func jsonNames[T any]() []string {
	t := field.TypeOf[T]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return names
}

// seen notes field bit; false if it was already set (a key given twice:
// encoding/json's merging of the two values is left to it).
func seen(set *uint32, bit uint) bool {
	if *set&(1<<bit) != 0 {
		return false
	}
	*set |= 1 << bit
	return true
}

func (s *shopifyScan) payload(p *shopifyPayload) bool {
	var set uint32
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return seen(&set, 0) && s.id(&p.ID)
		case "token":
			return seen(&set, 1) && s.text(&p.Token)
		case "cart_token":
			return seen(&set, 2) && s.text(&p.CartToken)
		case "checkout_token":
			return seen(&set, 3) && s.text(&p.CheckoutToken)
		case "checkout_id":
			return seen(&set, 4) && s.id(&p.CheckoutID)
		case "email":
			return seen(&set, 5) && s.text(&p.Email)
		case "contact_email":
			return seen(&set, 6) && s.text(&p.ContactEmail)
		case "phone":
			return seen(&set, 7) && s.text(&p.Phone)
		case "sms_marketing_phone":
			return seen(&set, 8) && s.text(&p.SMSMarketingPhone)
		case "buyer_accepts_marketing":
			return seen(&set, 9) && s.flag(&p.BuyerAcceptsMarketing)
		case "buyer_accepts_sms_marketing":
			return seen(&set, 10) && s.flag(&p.BuyerAcceptsSMSMarketing)
		case "customer_locale":
			return seen(&set, 11) && s.text(&p.CustomerLocale)
		case "currency":
			return seen(&set, 12) && s.text(&p.Currency)
		case "presentment_currency":
			return seen(&set, 13) && s.text(&p.PresentmentCurrency)
		case "total_price":
			return seen(&set, 14) && s.amount(&p.TotalPrice)
		case "abandoned_checkout_url":
			return seen(&set, 15) && s.text(&p.AbandonedCheckoutURL)
		case "created_at":
			return seen(&set, 16) && s.text(&p.CreatedAt)
		case "updated_at":
			return seen(&set, 17) && s.text(&p.UpdatedAt)
		case "processed_at":
			return seen(&set, 18) && s.text(&p.ProcessedAt)
		case "customer":
			return seen(&set, 19) && s.customer(&p.Customer)
		case "billing_address":
			return seen(&set, 20) && s.address(&p.BillingAddress, 2)
		case "shipping_address":
			return seen(&set, 21) && s.address(&p.ShippingAddress, 2)
		case "line_items":
			return seen(&set, 22) && s.lines(&p.LineItems)
		case "discount_codes":
			return seen(&set, 23) && s.codes(&p.DiscountCodes)
		}
		return s.other(key, payloadNames, 1)
	})
}

// nullOr reports whether the next value opens with open (present); a null
// is read and ok, anything else is not ok.
func (s *shopifyScan) nullOr(open byte) (present, ok bool) {
	switch s.peek() {
	case open:
		return true, true
	case 'n':
		return false, s.lit("null")
	}
	return false, false
}

func (s *shopifyScan) customer(dst **shopifyCustomer) bool {
	if present, ok := s.nullOr('{'); !present {
		return ok
	}
	cu := new(shopifyCustomer)
	*dst = cu
	var set uint32
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return seen(&set, 0) && s.id(&cu.ID)
		case "email":
			return seen(&set, 1) && s.text(&cu.Email)
		case "phone":
			return seen(&set, 2) && s.text(&cu.Phone)
		case "first_name":
			return seen(&set, 3) && s.text(&cu.FirstName)
		case "default_address":
			return seen(&set, 4) && s.address(&cu.DefaultAddress, 3)
		case "orders_count":
			return seen(&set, 5) && s.optInt(&cu.OrdersCount)
		}
		return s.other(key, customerNames, 2)
	})
}

// address reads an address object at nesting depth (of its members).
func (s *shopifyScan) address(dst **shopifyAddress, depth int) bool {
	if present, ok := s.nullOr('{'); !present {
		return ok
	}
	a := new(shopifyAddress)
	*dst = a
	var set uint32
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "first_name":
			return seen(&set, 0) && s.text(&a.FirstName)
		case "phone":
			return seen(&set, 1) && s.text(&a.Phone)
		case "country_code":
			return seen(&set, 2) && s.text(&a.CountryCode)
		}
		return s.other(key, addressNames, depth)
	})
}

func (s *shopifyScan) lines(dst *[]shopifyLine) bool { return scanObjects(s, dst, s.line) }

// scanObjects reads an array of objects, each by item; null leaves dst nil
// and [] makes it empty, as encoding/json does.
func scanObjects[T any](s *shopifyScan, dst *[]T, item func(*T) bool) bool {
	if present, ok := s.nullOr('['); !present {
		return ok
	}
	s.i++
	out := []T{} // encoding/json's [] is an empty slice, not nil
	if s.peek() == ']' {
		s.i++
		*dst = out
		return true
	}
	for {
		if s.peek() != '{' { // null would be a zero element: encoding/json's
			return false
		}
		var zero T
		out = append(out, zero)
		if !item(&out[len(out)-1]) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			*dst = out
			return true
		default:
			return false
		}
	}
}

func (s *shopifyScan) line(li *shopifyLine) bool {
	var set uint32
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "title":
			return seen(&set, 0) && s.text(&li.Title)
		case "presentment_title":
			return seen(&set, 1) && s.text(&li.PresentmentTitle)
		case "quantity":
			return seen(&set, 2) && s.int(&li.Quantity)
		case "price":
			return seen(&set, 3) && s.amount(&li.Price)
		case "sku":
			return seen(&set, 4) && s.text(&li.SKU)
		case "variant_title":
			return seen(&set, 5) && s.text(&li.VariantTitle)
		case "presentment_variant_title":
			return seen(&set, 6) && s.text(&li.PresentmentVarTit)
		case "product_id":
			return seen(&set, 7) && s.id(&li.ProductID)
		}
		return s.other(key, lineNames, 3)
	})
}

// codes reads an order's discount_codes: [{"code": ...}, ...].
func (s *shopifyScan) codes(dst *[]shopifyCode) bool {
	return scanObjects(s, dst, func(c *shopifyCode) bool {
		var set uint32
		return s.object(func(key []byte) bool {
			if string(key) == "code" {
				return seen(&set, 0) && s.text(&c.Code)
			}
			return s.other(key, codeNames, 3)
		})
	})
}
