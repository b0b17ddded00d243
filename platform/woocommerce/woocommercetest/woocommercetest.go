// Package woocommercetest is a local fake of the two WooCommerce REST API
// (wc/v3) calls cartrecovery makes: POST /wp-json/wc/v3/coupons and
// GET /wp-json/wc/v3/orders/{id}. It answers in the shapes of WooCommerce's
// published API, with payloads of its own, and it checks what it receives
// the way WooCommerce (and the WordPress REST server under it) would:
//
//   - HTTP Basic credentials Key:Secret, else 401 with WooCommerce's error
//     JSON (an unknown key is an unauthenticated request; a known key with
//     a wrong secret is "Consumer secret is invalid.");
//   - only the two routes exist (else 404 rest_no_route), and an order id
//     is digits, as WooCommerce's route pattern wants;
//   - a POST is application/json (WordPress reads any other body as a form,
//     and the coupon's code is then missing) and valid JSON;
//   - a coupon has a code, a discount_type WooCommerce knows, an amount
//     that is a decimal string, emails that are addresses, and is refused
//     as woocommerce_rest_coupon_code_already_exists when its code exists
//     (compared lower-cased: WooCommerce stores codes in lower case);
//   - the coupon's expiry is read as WooCommerce reads it: from
//     date_expires, exact when it carries "Z" or an offset and in the
//     shop's timezone (SiteZone) when it does not; date_expires_gmt must
//     parse but is otherwise ignored, as WooCommerce ignores it on write
//     (WC_Coupon has no set_date_expires_gmt, and the coupon controller
//     only calls setters that exist).
//
// It is stricter than WooCommerce in two places, so that a client bug
// fails a test instead of reaching a shop: an amount that is not a decimal
// string is refused (WooCommerce stores 0), and a coupon field the fake
// does not model is refused (WooCommerce ignores unknown fields, so a
// misspelt usage_limit would be silently dropped).
package woocommercetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/money"
)

// Key and Secret are the fake shop's REST API consumer key and secret.
const (
	Key    = "ck_fake"
	Secret = "cs_fake"
)

// SiteZone is the fake shop's WordPress timezone (UTC-3, no daylight
// saving): a date WooCommerce is sent without a zone is read in it, and
// the dates without _gmt it answers are in it.
var SiteZone = time.FixedZone("UTC-3", -3*60*60)

// Coupon is a coupon the fake created, as WooCommerce stored it.
type Coupon struct {
	ID                int64
	Code              string // lower-cased, as WooCommerce stores it
	DiscountType      string
	Amount            string // as sent
	UsageLimit        int
	UsageLimitPerUser int
	IndividualUse     bool
	ExpiresGMT        time.Time // UTC; zero when the coupon never expires
	Emails            []string  // email_restrictions, lower-cased as WooCommerce stores them
	Description       string
}

// Order is what the fake answers for an order id.
type Order struct {
	ID       int64
	Status   string // processing, pending, checkout-draft, ...
	Total    string // sent as a JSON string, as WooCommerce does
	Currency string
	Codes    []string // coupon_lines codes, sent lower-cased as WooCommerce stores them
	Created  time.Time
	Paid     time.Time // zero: date_paid is null
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	coupons []Coupon
	codes   map[string]bool // lower-cased codes
	orders  map[int64]Order
	fail    int // answer 503 to the next fail calls
	calls   []string
	// refuse: coupons restricted to these emails are answered 500, this
	// many times each
	refuse  map[string]int
	refused []string // the emails of the coupons refused, in order
}

// Start runs a fake until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{codes: map[string]bool{}, orders: map[int64]Order{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetOrder makes the shop hold o (replacing an order of the same id).
func (s *Server) SetOrder(o Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.Codes = append([]string(nil), o.Codes...)
	s.orders[o.ID] = o
}

// RefuseCoupons answers 500 to the next n coupons restricted to email
// (other calls go on as usual): a shop that fails one customer's codes.
func (s *Server) RefuseCoupons(email string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse == nil {
		s.refuse = map[string]int{}
	}
	s.refuse[strings.ToLower(email)] = n
}

// Refused returns the emails of the coupons refused by RefuseCoupons.
func (s *Server) Refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refused...)
}

// FailNext answers 503 to the next n calls, whatever they are.
func (s *Server) FailNext(n int) { s.mu.Lock(); s.fail = n; s.mu.Unlock() }

// Calls returns "METHOD path" of every call received (without the query).
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Coupons returns the coupons created, oldest first.
func (s *Server) Coupons() []Coupon {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Coupon, len(s.coupons))
	for i, c := range s.coupons {
		c.Emails = append([]string(nil), c.Emails...)
		out[i] = c
	}
	return out
}

const (
	couponsPath = "/wp-json/wc/v3/coupons"
	ordersPath  = "/wp-json/wc/v3/orders/"
	wcTime      = "2006-01-02T15:04:05"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	if s.fail > 0 {
		s.fail--
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>\n"))
		return
	}
	id, isOrder := strings.CutPrefix(r.URL.Path, ordersPath)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == couponsPath:
		if !s.authorized(w, r, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.") {
			return
		}
		s.createCoupon(w, r)
	case r.Method == http.MethodGet && isOrder && orderIDRE.MatchString(id):
		if !s.authorized(w, r, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.") {
			return
		}
		s.getOrder(w, r, id)
	default:
		wpError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.", nil)
	}
}

var orderIDRE = regexp.MustCompile(`^[0-9]+$`)

// authorized checks HTTP Basic credentials as WooCommerce does: an unknown
// key leaves the request unauthenticated (the route's permission error);
// a known key with another secret is an authentication error.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, code, msg string) bool {
	key, secret, ok := r.BasicAuth()
	switch {
	case !ok || key != Key:
		wpError(w, http.StatusUnauthorized, code, msg, nil)
		return false
	case secret != Secret:
		wpError(w, http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Consumer secret is invalid.", nil)
		return false
	}
	return true
}

// couponIn is what the fake models of a coupon create body.
type couponIn struct {
	Code              *string  `json:"code"`
	DiscountType      *string  `json:"discount_type"`
	Amount            *string  `json:"amount"`
	IndividualUse     *bool    `json:"individual_use"`
	UsageLimit        *int     `json:"usage_limit"`
	UsageLimitPerUser *int     `json:"usage_limit_per_user"`
	DateExpires       *string  `json:"date_expires"`
	DateExpiresGMT    *string  `json:"date_expires_gmt"`
	EmailRestrictions []string `json:"email_restrictions"`
	Description       *string  `json:"description"`
}

var (
	// WC_Data::set_date_prop: an ISO 8601 time with "Z" or an offset is
	// exact; without one it is in the site's timezone.
	isoRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(Z|[+-]\d{2}:\d{2})?$`)
)

func (s *Server) createCoupon(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && !strings.HasPrefix(ct, "application/json;") {
		// WordPress parses the body as a form: nothing it needs is there
		wpError(w, http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): code", map[string]any{"params": []string{"code"}})
		return
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var in couponIn
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			invalidParam(w, te.Field, fmt.Sprintf("%s is not of type %s.", te.Field, te.Type))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			invalidParam(w, f, fmt.Sprintf("%s is not a coupon field woocommercetest models (WooCommerce would ignore it).", f))
		default:
			wpError(w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.", nil)
		}
		return
	}
	if in.Code == nil {
		wpError(w, http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): code", map[string]any{"params": []string{"code"}})
		return
	}
	code := strings.ToLower(strings.TrimSpace(*in.Code))
	if code == "" {
		wpError(w, http.StatusBadRequest, "woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty.", nil)
		return
	}
	c := Coupon{Code: code, DiscountType: "fixed_cart"}
	if in.DiscountType != nil {
		c.DiscountType = *in.DiscountType
	}
	switch c.DiscountType {
	case "percent", "fixed_cart", "fixed_product":
	default:
		invalidParam(w, "discount_type", "discount_type is not one of percent, fixed_cart, and fixed_product.")
		return
	}
	if in.Amount != nil {
		c.Amount = *in.Amount
	}
	if !money.IsAmount(c.Amount) {
		invalidParam(w, "amount", "amount must be a decimal string like \"10.00\" (woocommercetest; WooCommerce would store 0).")
		return
	}
	if amt, _ := new(big.Rat).SetString(c.Amount); c.DiscountType == "percent" && amt.Cmp(big.NewRat(100, 1)) > 0 {
		wpError(w, http.StatusBadRequest, "coupon_invalid_amount", "Invalid discount amount.", nil)
		return
	}
	if in.DateExpires != nil && *in.DateExpires != "" {
		t, ok := siteTime(*in.DateExpires)
		if !ok {
			invalidParam(w, "date_expires", "date_expires is not a date-time like 2026-11-22T10:00:00Z.")
			return
		}
		c.ExpiresGMT = t
	}
	if in.DateExpiresGMT != nil && *in.DateExpiresGMT != "" {
		if _, ok := siteTime(*in.DateExpiresGMT); !ok {
			invalidParam(w, "date_expires_gmt", "date_expires_gmt is not a date-time like 2026-11-22T10:00:00.")
			return
		}
	}
	for _, e := range in.EmailRestrictions {
		e = strings.ToLower(strings.TrimSpace(e))
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || a.Name != "" {
			wpError(w, http.StatusBadRequest, "coupon_invalid_email_address", "Invalid email address restriction.", nil)
			return
		}
		c.Emails = append(c.Emails, e)
	}
	if s.codes[code] {
		wpError(w, http.StatusBadRequest, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists", nil)
		return
	}
	for _, e := range c.Emails {
		if s.refuse[e] > 0 {
			s.refuse[e]--
			s.refused = append(s.refused, e)
			wpError(w, http.StatusInternalServerError, "woocommerce_rest_cannot_create", "Database error.", nil)
			return
		}
	}
	if in.IndividualUse != nil {
		c.IndividualUse = *in.IndividualUse
	}
	if in.UsageLimit != nil {
		c.UsageLimit = max(*in.UsageLimit, -*in.UsageLimit) // absint
	}
	if in.UsageLimitPerUser != nil {
		c.UsageLimitPerUser = max(*in.UsageLimitPerUser, -*in.UsageLimitPerUser)
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	c.ID = int64(700 + len(s.coupons))
	s.codes[code] = true
	s.coupons = append(s.coupons, c)

	now := time.Now().UTC().Truncate(time.Second)
	amount, _ := new(big.Rat).SetString(c.Amount)
	emails := c.Emails
	if emails == nil {
		emails = []string{}
	}
	link := func(p string) []map[string]string { return []map[string]string{{"href": s.URL + p}} }
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": c.ID, "code": c.Code, "amount": amount.FloatString(2), "status": "publish",
		"date_created": local(now), "date_created_gmt": gmt(now), "date_modified": local(now), "date_modified_gmt": gmt(now),
		"discount_type": c.DiscountType, "description": c.Description,
		"date_expires": local(c.ExpiresGMT), "date_expires_gmt": gmt(c.ExpiresGMT),
		"usage_count": 0, "individual_use": c.IndividualUse, "product_ids": []int{}, "excluded_product_ids": []int{},
		"usage_limit": nullIfZero(c.UsageLimit), "usage_limit_per_user": nullIfZero(c.UsageLimitPerUser),
		"limit_usage_to_x_items": nil, "free_shipping": false, "product_categories": []int{},
		"excluded_product_categories": []int{}, "exclude_sale_items": false, "minimum_amount": "0.00",
		"maximum_amount": "0.00", "email_restrictions": emails, "used_by": []string{}, "meta_data": []any{},
		"_links": map[string]any{"self": link(fmt.Sprintf("%s/%d", couponsPath, c.ID)), "collection": link(couponsPath)},
	})
}

// siteTime reads a date as WooCommerce's set_date_prop does: exact with a
// zone, in SiteZone without one (also "2006-01-02 15:04:05" and a bare
// date, which PHP's strtotime reads).
func siteTime(v string) (time.Time, bool) {
	if m := isoRE.FindStringSubmatch(v); m != nil {
		if m[2] != "" {
			t, err := time.Parse(time.RFC3339, v)
			return t.UTC(), err == nil
		}
		t, err := time.ParseInLocation(wcTime, m[1], SiteZone)
		return t.UTC(), err == nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, SiteZone); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request, id string) {
	n, err := strconv.ParseInt(id, 10, 64)
	o, found := s.orders[n]
	if err != nil || !found {
		wpError(w, http.StatusNotFound, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.", nil)
		return
	}
	total := o.Total
	if total == "" {
		total = "0.00"
	}
	lines := []map[string]any{}
	for i, c := range o.Codes {
		lines = append(lines, map[string]any{"id": 900 + i, "code": strings.ToLower(c), "discount": "0.00", "discount_tax": "0.00", "meta_data": []any{}})
	}
	modified := o.Created
	if o.Paid.After(modified) {
		modified = o.Paid
	}
	var completed time.Time
	if o.Status == "completed" {
		completed = modified
	}
	key := fmt.Sprintf("wc_order_fake%d", o.ID)
	address := map[string]string{"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "",
		"city": "", "state": "", "postcode": "", "country": ""}
	billing := map[string]string{"email": "", "phone": ""}
	for k, v := range address {
		billing[k] = v
	}
	open := o.Status == "pending" || o.Status == "failed" || o.Status == "checkout-draft"
	body := map[string]any{
		"id": o.ID, "parent_id": 0, "number": strconv.FormatInt(o.ID, 10), "order_key": key, "created_via": "checkout",
		"version": "9.4.0", "status": o.Status, "currency": o.Currency,
		"date_created": local(o.Created), "date_created_gmt": gmt(o.Created),
		"date_modified": local(modified), "date_modified_gmt": gmt(modified),
		"discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "0.00", "shipping_tax": "0.00", "cart_tax": "0.00",
		"total": total, "total_tax": "0.00", "prices_include_tax": false, "customer_id": 0, "customer_ip_address": "",
		"customer_user_agent": "", "customer_note": "", "billing": billing, "shipping": address,
		"payment_method": "bacs", "payment_method_title": "Direct bank transfer", "transaction_id": "",
		"date_paid": local(o.Paid), "date_paid_gmt": gmt(o.Paid),
		"date_completed": local(completed), "date_completed_gmt": gmt(completed),
		"cart_hash": "", "meta_data": []any{}, "line_items": []any{}, "tax_lines": []any{}, "shipping_lines": []any{},
		"fee_lines": []any{}, "coupon_lines": lines, "refunds": []any{},
		"payment_url": fmt.Sprintf("%s/checkout/order-pay/%d/?pay_for_order=true&key=%s", s.URL, o.ID, key),
		"is_editable": open, "needs_payment": open, "needs_processing": true,
		"_links": map[string]any{"self": []map[string]string{{"href": fmt.Sprintf("%s%s%d", s.URL, ordersPath, o.ID)}}},
	}
	// _fields: WordPress sends only the top-level fields asked for
	if f := r.URL.Query().Get("_fields"); f != "" {
		keep := map[string]bool{}
		for _, k := range strings.Split(f, ",") {
			k, _, _ = strings.Cut(strings.TrimSpace(k), ".")
			keep[k] = true
		}
		for k := range body {
			if !keep[k] {
				delete(body, k)
			}
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// local and gmt format a time as WooCommerce's date fields do: the site's
// time, or UTC, without a zone; null when zero.
func local(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(SiteZone).Format(wcTime)
}

func gmt(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(wcTime)
}

func nullIfZero(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func invalidParam(w http.ResponseWriter, field, msg string) {
	wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+field,
		map[string]any{"params": map[string]string{field: msg}})
}

// wpError answers WordPress's REST error JSON.
func wpError(w http.ResponseWriter, status int, code, msg string, extra map[string]any) {
	data := map[string]any{"status": status}
	for k, v := range extra {
		data[k] = v
	}
	writeJSON(w, status, map[string]any{"code": code, "message": msg, "data": data})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
