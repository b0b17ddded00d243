package bigcommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// ErrNoCart: the store no longer has the cart (converted into an order,
// deleted, or expired). It wraps recovery.ErrNotFound.
var ErrNoCart = fmt.Errorf("the store no longer has this cart: %w", recovery.ErrNotFound)

// ErrNoOrder: the store has no order of that id. It wraps
// recovery.ErrNotFound.
var ErrNoOrder = fmt.Errorf("the store has no such order: %w", recovery.ErrNotFound)

// Client calls BigCommerce's Management API for one store.
type Client struct {
	BaseURL   string // platforms.bigcommerce.api_url, "https://api.bigcommerce.com"
	StoreHash string // platforms.bigcommerce.store_hash
	Token     string // platforms.bigcommerce.access_token (X-Auth-Token); secret
	// PromotionID is platforms.bigcommerce.promotion_id: a coupon promotion
	// (redemption_type COUPON, coupon_type BULK) the merchant made, which
	// sets the discount, its end date and its conditions. RegisterCode adds
	// codes to it. Empty: unique codes cannot be registered.
	PromotionID string
	HTTP        *http.Client
}

// NewClient returns a client with a 10 s timeout per call.
func NewClient(baseURL, storeHash, token string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), StoreHash: storeHash, Token: token,
		HTTP: &http.Client{Timeout: 10 * time.Second}}
}

type cartResponse struct {
	Data struct {
		ID         string      `json:"id"`
		Email      string      `json:"email"`
		CustomerID json.Number `json:"customer_id"`
		Currency   struct {
			Code string `json:"code"`
		} `json:"currency"`
		CartAmount json.Number `json:"cart_amount"`
		Locale     string      `json:"locale"` // the storefront's, e.g. es-MX
		LineItems  struct {
			Physical []lineItem `json:"physical_items"`
			Digital  []lineItem `json:"digital_items"`
			Custom   []lineItem `json:"custom_items"`
		} `json:"line_items"`
	} `json:"data"`
}

type lineItem struct {
	Name      string      `json:"name"`
	SKU       string      `json:"sku"`
	Quantity  int         `json:"quantity"`
	SalePrice json.Number `json:"sale_price"`
	ListPrice json.Number `json:"list_price"`
	ImageURL  string      `json:"image_url"`
	URL       string      `json:"url"`
}

// Cart fetches a cart's content and its shopper (GET /v3/carts/{id}).
// Amounts are kept as the decimal text BigCommerce sends. ErrNoCart when
// the store answers 404.
func (c *Client) Cart(ctx context.Context, id string) (recovery.Cart, recovery.Customer, error) {
	var r cartResponse
	if err := c.call(ctx, http.MethodGet, "/v3/carts/"+url.PathEscape(id), nil, &r); err != nil {
		return recovery.Cart{}, recovery.Customer{}, err
	}
	d := r.Data
	cart := recovery.Cart{ID: id, Currency: d.Currency.Code, Total: decimal(d.CartAmount)}
	for _, group := range [][]lineItem{d.LineItems.Physical, d.LineItems.Digital, d.LineItems.Custom} {
		for _, li := range group {
			price := decimal(li.SalePrice)
			if price == "" {
				price = decimal(li.ListPrice)
			}
			cart.Items = append(cart.Items, recovery.Item{SKU: li.SKU, Title: li.Name, Quantity: li.Quantity, Price: price,
				ImageURL: li.ImageURL, URL: li.URL})
		}
	}
	cu := recovery.Customer{Email: strings.TrimSpace(d.Email)}
	if l := strings.TrimSpace(d.Locale); len(l) <= 35 {
		cu.Locale = l
	}
	if n := d.CustomerID.String(); n != "" && n != "0" {
		cu.ID = n
	}
	return cart, cu, nil
}

// decimal keeps an amount's text when it is a plain decimal, else drops it.
func decimal(n json.Number) string {
	if money.IsAmount(n.String()) {
		return n.String()
	}
	return ""
}

// RecoveryURL creates a link that restores the cart in the shopper's
// browser and takes them to checkout (POST /v3/carts/{id}/redirect_urls:
// single use, valid 30 days).
func (c *Client) RecoveryURL(ctx context.Context, id string) (string, error) {
	var r struct {
		Data struct {
			CartURL     string `json:"cart_url"`
			CheckoutURL string `json:"checkout_url"`
		} `json:"data"`
	}
	if err := c.call(ctx, http.MethodPost, "/v3/carts/"+url.PathEscape(id)+"/redirect_urls", []byte("{}"), &r); err != nil {
		return "", err
	}
	u := r.Data.CheckoutURL
	if u == "" {
		u = r.Data.CartURL
	}
	if p, err := url.Parse(u); err != nil || p.Scheme != "https" && p.Scheme != "http" || p.Host == "" {
		return "", fmt.Errorf("bigcommerce: redirect_urls of cart %s: no usable URL", id)
	}
	return u, nil
}

// call makes a cart call: 404 means the cart is gone (ErrNoCart), another
// non-2xx answer is an error, and a 2xx body is decoded into out.
func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	status, b, err := c.send(ctx, method, path, body)
	switch {
	case err != nil:
		return err
	case status == http.StatusNotFound:
		return ErrNoCart
	case status/100 != 2:
		return fmt.Errorf("bigcommerce: %s %s: HTTP %d", method, path, status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("bigcommerce: %s %s: %w", method, path, err)
	}
	return nil
}

// send makes one Management API call (path under /stores/{hash}, with its
// query) and returns the status and body, whatever the status: what a 404
// or a 204 means differs per call. An error only when no answer was read.
func (c *Client) send(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+"/stores/"+url.PathEscape(c.StoreHash)+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Auth-Token", c.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		// the url.Error's text would repeat the URL; the path is enough
		return 0, nil, fmt.Errorf("bigcommerce: %s %s: %w", method, path, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("bigcommerce: %s %s: read: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

// Store is the store hash the client answers for (a cart of another store
// is sent as its webhooks described it).
func (c *Client) Store() string { return c.StoreHash }

// MaxCodeLength is the longest coupon code BigCommerce accepts.
const MaxCodeLength = 50

// ValidCode reports whether BigCommerce accepts code: 1 to 50 characters
// of a-z A-Z 0-9 _ - and space.
func ValidCode(code string) bool {
	if code == "" || len(code) > MaxCodeLength {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == ' ') {
			return false
		}
	}
	return true
}

// RegisterCode adds r.Code to the promotion PromotionID, usable once, by
// one customer (POST /v3/promotions/{promotion_id}/codes with max_uses 1
// and max_uses_per_customer 1).
//
// A BigCommerce code has no discount and no expiry of its own: the
// promotion's discount, end date and conditions apply to all its codes.
// r.Percent, r.Amount, r.Currency and r.ExpiresAt are the promotion's
// business and are not sent; the merchant sets the promotion up to match
// the step's discount, and an end date (if any) that outlives the codes.
// Nor can a code be limited to r.Email.
//
// A code BigCommerce already has is success when the promotion lists it: an
// earlier attempt of ours made it, so retries are idempotent. BigCommerce's
// description gives no answer for a duplicate code (only 201); a 409 or a
// 422 is therefore checked by looking the code up in the promotion (GET
// /v3/promotions/{promotion_id}/codes?code=...) rather than by reading the
// answer's text. A code held by another promotion is an error: it would
// not give this discount.
func (c *Client) RegisterCode(ctx context.Context, r recovery.CodeRequest) error {
	if c.PromotionID == "" {
		return errors.New("bigcommerce: platforms.bigcommerce.promotion_id is not set: unique codes need a coupon promotion (coupon_type BULK) to add them to")
	}
	if !ValidCode(r.Code) {
		return fmt.Errorf("bigcommerce: code %q: BigCommerce takes 1 to %d characters of a-z A-Z 0-9 _ - and space", recovery.Clip(r.Code, 60), MaxCodeLength)
	}
	body, err := json.Marshal(struct {
		Code               string `json:"code"`
		MaxUses            int    `json:"max_uses"`
		MaxUsesPerCustomer int    `json:"max_uses_per_customer"`
	}{r.Code, 1, 1})
	if err != nil {
		return err
	}
	path := "/v3/promotions/" + url.PathEscape(c.PromotionID) + "/codes"
	status, b, err := c.send(ctx, http.MethodPost, path, body)
	switch {
	case err != nil:
		return err
	case status/100 == 2:
		return nil
	case status == http.StatusNotFound:
		return fmt.Errorf("bigcommerce: POST %s: HTTP 404: no promotion %s (platforms.bigcommerce.promotion_id): %s",
			path, c.PromotionID, recovery.Clip(string(b), 200))
	case status == http.StatusConflict || status == http.StatusUnprocessableEntity:
		has, lerr := c.promotionHasCode(ctx, r.Code)
		switch {
		case lerr != nil:
			return fmt.Errorf("bigcommerce: POST %s: HTTP %d (%s), and looking the code up failed: %w",
				path, status, recovery.Clip(string(b), 200), lerr)
		case has:
			return nil // made by an earlier attempt
		}
		return fmt.Errorf("bigcommerce: POST %s: HTTP %d: %s", path, status, recovery.Clip(string(b), 200))
	}
	return fmt.Errorf("bigcommerce: POST %s: HTTP %d: %s", path, status, recovery.Clip(string(b), 200))
}

// promotionHasCode reports whether the promotion lists code.
func (c *Client) promotionHasCode(ctx context.Context, code string) (bool, error) {
	path := "/v3/promotions/" + url.PathEscape(c.PromotionID) + "/codes?" + url.Values{"code": {code}}.Encode()
	status, b, err := c.send(ctx, http.MethodGet, path, nil)
	switch {
	case err != nil:
		return false, err
	case status != http.StatusOK:
		return false, fmt.Errorf("bigcommerce: GET %s: HTTP %d", path, status)
	}
	var r struct {
		Data []struct {
			Code string `json:"code"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return false, fmt.Errorf("bigcommerce: GET %s: %w", path, err)
	}
	for _, d := range r.Data {
		// the filter may match more than the code itself
		if strings.EqualFold(d.Code, code) {
			return true, nil
		}
	}
	return false, nil
}

// Order status ids that are no order: the checkout was not completed, or
// the order was cancelled or its payment declined.
const (
	statusIncomplete = 0
	statusCancelled  = 5
	statusDeclined   = 6
)

// Placed reports whether an order of status id counts as placed: any status
// but 0 Incomplete, 5 Cancelled and 6 Declined (7 Awaiting Payment counts:
// the shopper has ordered).
func Placed(statusID int) bool {
	return statusID != statusIncomplete && statusID != statusCancelled && statusID != statusDeclined
}

// order is the part of a v2 order the worker reads.
type order struct {
	ID          json.Number `json:"id"`
	CartID      string      `json:"cart_id"`
	StatusID    int         `json:"status_id"`
	TotalIncTax json.Number `json:"total_inc_tax"` // a decimal string; a number is taken too
	// DefaultCurrency is the transactional currency (what the shopper pays
	// in, and the order's amounts are in); Currency the display currency.
	DefaultCurrency string `json:"default_currency_code"`
	Currency        string `json:"currency_code"`
	DateCreated     string `json:"date_created"` // RFC 2822, UTC
	Billing         struct {
		Email string `json:"email"`
	} `json:"billing_address"`
}

var orderIDRE = regexp.MustCompile(`^[0-9]{1,19}$`)

// recovery turns o into an Order (without its codes).
func (o order) recovery() (recovery.Order, error) {
	id := o.ID.String()
	if !orderIDRE.MatchString(id) {
		return recovery.Order{}, fmt.Errorf("bigcommerce: order id %q is not a number", recovery.Clip(id, 40))
	}
	ro := recovery.Order{ID: id, Total: decimal(o.TotalIncTax), Currency: o.DefaultCurrency}
	if ro.Currency == "" {
		ro.Currency = o.Currency
	}
	// An unreadable date leaves At zero: that an order exists matters more.
	for _, layout := range []string{time.RFC1123Z, time.RFC1123} {
		if t, err := time.Parse(layout, strings.TrimSpace(o.DateCreated)); err == nil {
			ro.At = t.UTC()
			break
		}
	}
	return ro, nil
}

// OrderSince reports the first order placed from the cart's checkout (GET
// /v2/orders?cart_id=...; 204 No Content is an empty list). Orders that are
// incomplete, cancelled or declined do not count. The order's coupon codes
// are read too (GET /v2/orders/{id}/coupons). An order carries the id of
// the cart it came from, and BigCommerce deletes a cart once it becomes an
// order, so since is not needed to tell this cart's orders apart.
func (c *Client) OrderSince(ctx context.Context, cs recovery.CartState, since time.Time) (recovery.Order, bool, error) {
	if cs.ID == "" {
		// an empty cart_id filter would list every order of the store
		return recovery.Order{}, false, errors.New("bigcommerce: orders of a cart without an id")
	}
	path := "/v2/orders?" + url.Values{"cart_id": {cs.ID}}.Encode()
	status, b, err := c.send(ctx, http.MethodGet, path, nil)
	switch {
	case err != nil:
		return recovery.Order{}, false, err
	case status == http.StatusNoContent:
		return recovery.Order{}, false, nil
	case status != http.StatusOK:
		return recovery.Order{}, false, fmt.Errorf("bigcommerce: GET %s: HTTP %d: %s", path, status, recovery.Clip(string(b), 200))
	}
	var list []order
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &list); err != nil {
			return recovery.Order{}, false, fmt.Errorf("bigcommerce: GET %s: %w", path, err)
		}
	}
	for _, o := range list {
		if !Placed(o.StatusID) {
			continue
		}
		if o.CartID != "" && o.CartID != cs.ID {
			continue // not this cart's (a filter the API ignored)
		}
		ro, err := o.recovery()
		if err != nil {
			return recovery.Order{}, false, err
		}
		if ro.Codes, err = c.orderCodes(ctx, ro.ID); err != nil {
			return recovery.Order{}, false, err
		}
		return ro, true, nil
	}
	return recovery.Order{}, false, nil
}

// orderCodes lists the coupon codes an order used (GET
// /v2/orders/{id}/coupons; 204 or 404: none).
func (c *Client) orderCodes(ctx context.Context, id string) ([]string, error) {
	path := "/v2/orders/" + url.PathEscape(id) + "/coupons"
	status, b, err := c.send(ctx, http.MethodGet, path, nil)
	switch {
	case err != nil:
		return nil, err
	case status == http.StatusNoContent || status == http.StatusNotFound:
		return nil, nil
	case status != http.StatusOK:
		return nil, fmt.Errorf("bigcommerce: GET %s: HTTP %d: %s", path, status, recovery.Clip(string(b), 200))
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	var coupons []struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(b, &coupons); err != nil {
		return nil, fmt.Errorf("bigcommerce: GET %s: %w", path, err)
	}
	var codes []string
	for _, cp := range coupons {
		if cp.Code != "" {
			codes = append(codes, cp.Code)
		}
	}
	return codes, nil
}

// Order reads an order (GET /v2/orders/{id}), for store/order/created
// webhooks, which carry the order id only: the cart it came from, the
// billing email, the order (with its coupon codes when placed), and
// whether it counts as placed (see Placed). ErrNoOrder when the store
// answers 404.
func (c *Client) Order(ctx context.Context, orderID string) (cartID string, o recovery.Order, email string, placed bool, err error) {
	if !orderIDRE.MatchString(orderID) {
		return "", recovery.Order{}, "", false, fmt.Errorf("bigcommerce: order id %q is not a number", recovery.Clip(orderID, 40))
	}
	path := "/v2/orders/" + orderID
	status, b, err := c.send(ctx, http.MethodGet, path, nil)
	switch {
	case err != nil:
		return "", recovery.Order{}, "", false, err
	case status == http.StatusNotFound:
		return "", recovery.Order{}, "", false, ErrNoOrder
	case status != http.StatusOK:
		return "", recovery.Order{}, "", false, fmt.Errorf("bigcommerce: GET %s: HTTP %d: %s", path, status, recovery.Clip(string(b), 200))
	}
	var bo order
	if err := json.Unmarshal(b, &bo); err != nil {
		return "", recovery.Order{}, "", false, fmt.Errorf("bigcommerce: GET %s: %w", path, err)
	}
	if o, err = bo.recovery(); err != nil {
		return "", recovery.Order{}, "", false, err
	}
	placed = Placed(bo.StatusID)
	if placed {
		if o.Codes, err = c.orderCodes(ctx, o.ID); err != nil {
			return "", recovery.Order{}, "", false, err
		}
	}
	return bo.CartID, o, strings.TrimSpace(bo.Billing.Email), placed, nil
}
