// Package woocommerce is everything cartrecovery knows about WooCommerce:
// its order webhooks (Parse, Verify, the creation ping) and the shop's REST
// API (wc/v3), which the worker calls right before a reminder goes out: it registers the reminder's
// unique discount code as a coupon, and asks whether the cart's checkout
// has become a placed order (its webhook may have been lost: WooCommerce
// never retries a delivery).
//
// A WooCommerce cart is an order: the worker knows it by the order id
// WooCommerce webhooks carry (an open checkout is an order in
// checkout-draft, pending or failed), and its store by the shop's host
// (StoreID).
package woocommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Platform is the platform name of WooCommerce events and carts.
const Platform = "woocommerce"

// Client calls one WooCommerce shop's REST API.
//
// It authenticates with HTTP Basic (consumer key and secret), which
// WooCommerce only reads on requests it sees as HTTPS (is_ssl()); over
// plain http it expects OAuth 1.0a signatures, which this client does not
// make, and would answer 401. So URL must be https in production (the
// config layer enforces it); tests use http://127.0.0.1 against
// woocommercetest. The key needs Read/Write permission (coupons are
// written).
type Client struct {
	URL    string // platforms.woocommerce.url, the shop's address "https://shop.example" (trailing / trimmed)
	Key    string // platforms.woocommerce.consumer_key ("ck_…")
	Secret string // platforms.woocommerce.consumer_secret ("cs_…"); secret: never in an error
	HTTP   *http.Client
}

// NewClient returns a client with a 10 s timeout per call that does not
// follow redirects: a redirected POST would arrive as a GET, and Go drops
// the credentials when the host changes, so a shop that redirects (http to
// https, www to bare host) is reported with where it points instead.
func NewClient(shopURL, key, secret string) *Client {
	return &Client{URL: strings.TrimRight(strings.TrimSpace(shopURL), "/"), Key: key, Secret: secret,
		HTTP: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
}

// Store is the store id this shop's webhooks are recorded under
// (StoreID of the shop's address: "shop.example", or
// "shop.example_8443" with a port); "" when URL is not a usable address.
func (c *Client) Store() string {
	s, err := StoreID(c.URL)
	if err != nil {
		return ""
	}
	return s
}

const (
	apiPath = "/wp-json/wc/v3"
	gmtTime = "2006-01-02T15:04:05" // date_*_gmt: UTC without a zone
	maxBody = 4 << 20
	msgClip = 200
)

// coupon is the body of POST /coupons, with only what a reminder's code
// needs.
type coupon struct {
	Code              string   `json:"code"`
	DiscountType      string   `json:"discount_type"`
	Amount            string   `json:"amount"`
	IndividualUse     bool     `json:"individual_use"`
	UsageLimit        int      `json:"usage_limit"`
	UsageLimitPerUser int      `json:"usage_limit_per_user"`
	DateExpires       string   `json:"date_expires"`
	DateExpiresGMT    string   `json:"date_expires_gmt"`
	EmailRestrictions []string `json:"email_restrictions,omitempty"`
	Description       string   `json:"description"`
}

// RegisterCode creates the code as a WooCommerce coupon (POST
// /wp-json/wc/v3/coupons): a percent or fixed_cart discount, usable once in
// all (usage_limit 1) and once per customer, alone (individual_use), until
// r.ExpiresAt, and only by r.Email when it is set (WooCommerce checks the
// billing email at checkout). Its description names the cart, for the
// shop's staff.
//
// The expiry is sent as date_expires with an explicit "Z": WooCommerce's
// coupon controller only writes fields that have a setter on WC_Coupon,
// and there is no set_date_expires_gmt, so date_expires_gmt alone is
// silently dropped (a code that never expires); a date_expires without a
// zone would be read in the shop's timezone. date_expires_gmt is sent too,
// with the same instant, in case a version starts reading it.
//
// A code WooCommerce already has (400 woocommerce_rest_coupon_code_already_exists,
// compared case-insensitively) was registered by an earlier attempt of
// ours, whose answer was lost: that succeeds, so retries are idempotent.
// r.Currency is not sent: a WooCommerce shop has one currency, the one its
// orders (our carts) are in. Nor is r.StartsAt: a WooCommerce coupon has no
// start and works from its creation.
func (c *Client) RegisterCode(ctx context.Context, r recovery.CodeRequest) error {
	body := coupon{Code: r.Code, IndividualUse: true, UsageLimit: 1, UsageLimitPerUser: 1,
		Description: "cartrecovery: cart " + r.Cart}
	if r.Label != "" {
		body.Description = r.Label + " (" + body.Description + ")"
	}
	switch {
	case strings.TrimSpace(r.Code) == "":
		return fmt.Errorf("woocommerce: register code: %w", recovery.Invalid("code", "is required"))
	case r.Percent != "" && r.Amount != "":
		return fmt.Errorf("woocommerce: register code %s: %w", r.Code, recovery.Invalid("discount", "has both percent and amount; a code is one or the other"))
	case r.Percent != "":
		body.DiscountType, body.Amount = "percent", r.Percent
	case r.Amount != "":
		body.DiscountType, body.Amount = "fixed_cart", r.Amount
	default:
		return fmt.Errorf("woocommerce: register code %s: %w", r.Code, recovery.Invalid("discount", "percent or amount is required"))
	}
	if !money.IsAmount(body.Amount) {
		field := "amount"
		if body.DiscountType == "percent" {
			field = "percent"
		}
		return fmt.Errorf("woocommerce: register code %s: %w", r.Code, recovery.Invalid(field, "must be a decimal string like \"10\" or \"5.50\""))
	}
	if r.ExpiresAt.IsZero() {
		return fmt.Errorf("woocommerce: register code %s: %w", r.Code, recovery.Invalid("expires_at", "is required: a unique code must end"))
	}
	exp := r.ExpiresAt.UTC()
	body.DateExpires, body.DateExpiresGMT = exp.Format(gmtTime)+"Z", exp.Format(gmtTime)
	if r.Email != "" {
		body.EmailRestrictions = []string{r.Email}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("woocommerce: register code %s: %w", r.Code, err)
	}
	const call = "POST /wp-json/wc/v3/coupons"
	resp, err := c.do(ctx, http.MethodPost, "/coupons", nil, b)
	if err != nil {
		return fmt.Errorf("woocommerce: %s: %w", call, err)
	}
	switch {
	case resp.status == http.StatusCreated:
		return nil
	case resp.status == http.StatusBadRequest && resp.code == "woocommerce_rest_coupon_code_already_exists":
		return nil
	}
	return fmt.Errorf("woocommerce: %s (code %s): %s", call, r.Code, c.describe(resp))
}

// order is what OrderSince reads of GET /orders/{id}.
type order struct {
	ID             json.Number     `json:"id"`
	Status         string          `json:"status"`
	Currency       string          `json:"currency"`
	Total          json.RawMessage `json:"total"` // a string in WooCommerce; a number accepted
	DateCreatedGMT *string         `json:"date_created_gmt"`
	DatePaidGMT    *string         `json:"date_paid_gmt"`
	CouponLines    []struct {
		Code string `json:"code"`
	} `json:"coupon_lines"`
}

// orderFields is asked with _fields (WordPress core, since 4.9.8) so the
// shop sends these rather than the whole order with its line items.
const orderFields = "id,status,currency,total,date_created_gmt,date_paid_gmt,coupon_lines"

// placed are the statuses of an order that was placed: paid (processing,
// completed) or awaiting payment confirmation (on-hold, e.g. bank
// transfer).
var placed = map[string]bool{"processing": true, "on-hold": true, "completed": true}

// OrderSince reports whether the cart's checkout has been placed: for
// WooCommerce the cart IS the order (cs.ID is its order id), so it reads
// GET /wp-json/wc/v3/orders/{cs.ID} and since is not used. Statuses
// processing, on-hold and completed are an order (ok); checkout-draft,
// pending and failed are the open checkout, and cancelled, refunded and
// trash are not a purchase to stop reminders for: both are ok false.
//
// An order WooCommerce does not have (404 woocommerce_rest_shop_order_invalid_id:
// deleted for good, or a checkout draft WooCommerce's daily job removed)
// is ok false with no error: nothing was ordered there to stop the
// reminder for. Any other 404 (no WooCommerce REST route at URL, a
// WordPress without pretty permalinks, a wrong URL) is an error, so that a
// misconfigured shop does not silently turn the check off.
//
// The order's total is kept as WooCommerce's decimal text (never through
// float64) and dropped with the currency when either is unusable, as
// webhooks do; Codes are coupon_lines' codes as WooCommerce reports them,
// which is lower-cased (WooCommerce stores codes in lower case); At is
// date_paid_gmt, else date_created_gmt.
func (c *Client) OrderSince(ctx context.Context, cs recovery.CartState, since time.Time) (recovery.Order, bool, error) {
	if store := c.Store(); cs.Store != "" && cs.Store != store {
		// another shop's order of the same number would stop this cart
		return recovery.Order{}, false, fmt.Errorf("woocommerce: cart %s is of store %q; this client answers for %q",
			recovery.Clip(cs.ID, 40), recovery.Clip(cs.Store, 100), store)
	}
	if n, err := strconv.ParseUint(cs.ID, 10, 63); err != nil || n == 0 {
		return recovery.Order{}, false, fmt.Errorf("woocommerce: cart %q: %w", recovery.Clip(cs.ID, 40),
			recovery.Invalid("cart.id", "must be a WooCommerce order id (a positive integer)"))
	}
	call := "GET /wp-json/wc/v3/orders/" + cs.ID
	resp, err := c.do(ctx, http.MethodGet, "/orders/"+cs.ID, url.Values{"_fields": {orderFields}}, nil)
	if err != nil {
		return recovery.Order{}, false, fmt.Errorf("woocommerce: %s: %w", call, err)
	}
	switch {
	case resp.status == http.StatusNotFound && resp.code == "woocommerce_rest_shop_order_invalid_id":
		return recovery.Order{}, false, nil
	case resp.status != http.StatusOK:
		return recovery.Order{}, false, fmt.Errorf("woocommerce: %s: %s", call, c.describe(resp))
	}
	var o order
	if err := json.Unmarshal(resp.body, &o); err != nil {
		return recovery.Order{}, false, fmt.Errorf("woocommerce: %s: not an order: %w", call, err)
	}
	if o.ID.String() != cs.ID {
		return recovery.Order{}, false, fmt.Errorf("woocommerce: %s: the answer is order %q", call, recovery.Clip(o.ID.String(), 40))
	}
	if !placed[o.Status] {
		return recovery.Order{}, false, nil
	}
	out := recovery.Order{ID: cs.ID, At: gmt(o.DatePaidGMT)}
	if out.At.IsZero() {
		out.At = gmt(o.DateCreatedGMT)
	}
	total, cur := amountText(o.Total), strings.ToUpper(strings.TrimSpace(o.Currency))
	if money.IsAmount(total) && money.Known(cur) {
		out.Total, out.Currency = total, cur
	}
	for _, l := range o.CouponLines {
		if l.Code != "" {
			out.Codes = append(out.Codes, l.Code)
		}
	}
	return out, true, nil
}

// amountText is a JSON string's content, or a JSON number's text.
func amountText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// gmt reads a date_*_gmt value; zero when absent (null) or malformed.
func gmt(v *string) time.Time {
	if v == nil {
		return time.Time{}
	}
	t, err := time.Parse(gmtTime, *v)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// response is a WooCommerce answer: its status, body, and for errors the
// code and message of WordPress's error JSON ({"code", "message", "data":
// {"status"}}).
type response struct {
	status        int
	body          []byte
	code, message string
	location      string
}

// do sends one call to {URL}/wp-json/wc/v3{path}. err is a transport
// failure only; every HTTP answer is returned for the caller to judge.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := c.URL + apiPath + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return response{}, fmt.Errorf("platforms.woocommerce.url %q: %w", recovery.Clip(c.URL, 100), urlCause(err))
	}
	req.SetBasicAuth(c.Key, c.Secret)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		// the credentials travel in a header: a transport error has none
		return response{}, urlCause(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return response{}, fmt.Errorf("read the answer (HTTP %d): %w", res.StatusCode, err)
	}
	r := response{status: res.StatusCode, body: b, location: res.Header.Get("Location")}
	if res.StatusCode/100 != 2 {
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) == nil {
			r.code, r.message = e.Code, e.Message
		}
	}
	return r, nil
}

// urlCause drops the *url.Error around err: the caller's message names
// the call already. errors.Is(err, context.DeadlineExceeded) still holds.
func urlCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// describe says what a failed answer means, for an error.
func (c *Client) describe(r response) string {
	s := fmt.Sprintf("HTTP %d", r.status)
	if r.code != "" {
		s += " " + recovery.Clip(r.code, 80)
	}
	if r.message != "" {
		s += ": " + recovery.Clip(r.message, msgClip)
	}
	switch {
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		s += " (the shop refused platforms.woocommerce.consumer_key/consumer_secret: a wrong key or secret, " +
			"a key without Read/Write permission, or a shop that does not see the request as HTTPS or strips the Authorization header)"
	case r.status/100 == 3:
		s += fmt.Sprintf(" (redirected to %q: set platforms.woocommerce.url to the shop's own address)", recovery.Clip(r.location, 200))
	case r.code == "rest_no_route" || r.status == http.StatusNotFound && r.code == "":
		s += " (no WooCommerce REST API at platforms.woocommerce.url: is WooCommerce active, and are WordPress permalinks other than Plain?)"
	case r.code == "" && len(r.body) > 0:
		s += ": " + recovery.Clip(strings.Join(strings.Fields(string(r.body)), " "), msgClip)
	}
	return c.redact(s)
}

// redact removes the credentials from text quoted from outside (a shop or
// a proxy could echo them).
func (c *Client) redact(s string) string {
	for _, secret := range []string{c.Secret, c.Key} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}
