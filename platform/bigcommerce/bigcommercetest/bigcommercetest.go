// Package bigcommercetest is a local fake of the BigCommerce Management API
// calls cartrecovery makes, answering in the shapes of BigCommerce's
// published API descriptions, with payloads of its own:
//
//   - GET /stores/{hash}/v3/carts/{id} and POST .../v3/carts/{id}/redirect_urls
//     (a cart's content, a link that restores it);
//   - POST /stores/{hash}/v3/promotions/{promotion_id}/codes and GET
//     .../codes?code= (unique coupon codes added to a bulk coupon promotion);
//   - GET /stores/{hash}/v2/orders?cart_id=, GET .../v2/orders/{id} and GET
//     .../v2/orders/{id}/coupons (whether a cart became an order).
//
// It checks what it receives: the store hash, X-Auth-Token, the JSON
// content type of POSTs, Accept: application/json on v2 calls, and the
// fields of a new code.
package bigcommercetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hash and Token are the fake store's hash and API token.
const (
	Hash  = "fakestore1"
	Token = "fake-bigcommerce-token"
)

// PromotionID is the fake store's bulk coupon promotion, which codes can be
// added to.
const PromotionID = "7"

// Cart is what the fake answers for a cart id.
type Cart struct {
	Locale   string // the storefront's ("" leaves it out)
	Email    string
	Currency string
	Total    string // cart_amount, sent as a JSON number
	Items    []Item
}

// Item is a physical line item.
type Item struct {
	Name, SKU string
	Quantity  int
	Price     string // sale_price, sent as a JSON number
}

// Code is a coupon code added to PromotionID, with the limits it was given.
type Code struct {
	Code               string
	MaxUses            int
	MaxUsesPerCustomer int
}

// Order is an order of the fake store.
type Order struct {
	ID       int64
	CartID   string // the cart it came from; "" for an order made otherwise
	Email    string // billing_address.email
	Total    string // total_inc_tax, a decimal string such as "69.8400"
	Currency string // currency_code and default_currency_code
	StatusID int    // 0 Incomplete, 5 Cancelled, 6 Declined, 7 Awaiting Payment, 10 Completed, ...
	Created  time.Time
	Codes    []string // coupon codes the order used
	// NumericTotal sends total_inc_tax as a JSON number instead of a string.
	NumericTotal bool
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	mu        sync.Mutex
	carts     map[string]Cart
	fail      int // answer 500 to the next fail calls
	calls     []string
	redirects int
	// promotions holds each promotion's codes, in the order they came.
	promotions map[string][]Code
	codeIDs    int
	dupStatus  int
	orders     map[int64]Order
}

// Start runs a fake until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{carts: map[string]Cart{}, promotions: map[string][]Code{PromotionID: nil},
		dupStatus: http.StatusUnprocessableEntity, orders: map[int64]Order{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetCart makes the store hold cart id (nil: not found).
func (s *Server) SetCart(id string, c *Cart) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c == nil {
		delete(s.carts, id)
		return
	}
	s.carts[id] = *c
}

// FailNext answers 500 to the next n calls.
func (s *Server) FailNext(n int) { s.mu.Lock(); s.fail = n; s.mu.Unlock() }

// Calls returns "METHOD path" of every call received, followed by
// "?query" when the call had one.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// Codes returns the codes added to PromotionID, oldest first.
func (s *Server) Codes() []Code {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Code(nil), s.promotions[PromotionID]...)
}

// AddCode gives promotion (made if needed) a code, as the merchant would in
// the control panel. Codes are unique in the store: PromotionID cannot
// then take the same code.
func (s *Server) AddCode(promotion, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.promotions[promotion] = append(s.promotions[promotion], Code{Code: code})
}

// SetDuplicateStatus sets the status a code the store already has is
// answered with: 422 (the default) or 409. BigCommerce's API description
// documents neither.
func (s *Server) SetDuplicateStatus(status int) { s.mu.Lock(); s.dupStatus = status; s.mu.Unlock() }

// AddOrder makes the store hold o (replacing an order of the same id).
func (s *Server) AddOrder(o Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.Codes = slices.Clone(o.Codes)
	s.orders[o.ID] = o
}

// CheckoutURL is the restore link the fake makes for cart id (n-th call).
func CheckoutURL(id string, n int) string {
	return fmt.Sprintf("https://fakestore1.mybigcommerce.com/cart.php?action=loadInCheckout&id=%s&token=t%d", id, n)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	s.calls = append(s.calls, call)
	if r.Header.Get("X-Auth-Token") != Token {
		http.Error(w, `{"status":401,"title":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if s.fail > 0 {
		s.fail--
		http.Error(w, `{"status":500}`, http.StatusInternalServerError)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/stores/"+Hash+"/v3/promotions/"); ok {
		s.promotion(w, r, rest)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/stores/"+Hash+"/v2/orders"); ok && (rest == "" || rest[0] == '/') {
		s.order(w, r, strings.TrimPrefix(rest, "/"))
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/stores/"+Hash+"/v3/carts/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	id, action, _ := strings.Cut(rest, "/")
	c, found := s.carts[id]
	if !found {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"status":404,"title":"Cart not found"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && action == "":
		items := make([]string, 0, len(c.Items))
		for _, it := range c.Items {
			b, _ := json.Marshal(map[string]any{"name": it.Name, "sku": it.SKU, "quantity": it.Quantity})
			items = append(items, strings.TrimSuffix(string(b), "}")+`,"sale_price":`+it.Price+`,"list_price":`+it.Price+`}`)
		}
		if c.Locale != "" {
			fmt.Fprintf(w, `{"data":{"id":%q,"locale":%q,"customer_id":0,"email":%q,"currency":{"code":%q},"cart_amount":%s,"base_amount":%s,`+
				`"line_items":{"physical_items":[%s],"digital_items":[],"custom_items":[],"gift_certificates":[]}},"meta":{}}`,
				id, c.Locale, c.Email, c.Currency, c.Total, c.Total, strings.Join(items, ","))
			return
		}
		fmt.Fprintf(w, `{"data":{"id":%q,"customer_id":0,"email":%q,"currency":{"code":%q},"cart_amount":%s,"base_amount":%s,`+
			`"line_items":{"physical_items":[%s],"digital_items":[],"custom_items":[],"gift_certificates":[]}},"meta":{}}`,
			id, c.Email, c.Currency, c.Total, c.Total, strings.Join(items, ","))
	case r.Method == http.MethodPost && action == "redirect_urls":
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, `{"status":422}`, http.StatusUnprocessableEntity)
			return
		}
		s.redirects++
		fmt.Fprintf(w, `{"data":{"cart_url":"https://fakestore1.mybigcommerce.com/cart.php?action=load&id=%s&token=t%d","checkout_url":%q,"embedded_checkout_url":""},"meta":{}}`,
			id, s.redirects, CheckoutURL(id, s.redirects))
	default:
		http.NotFound(w, r)
	}
}

// v3Error answers status with a v3 error list.
func v3Error(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"status": status, "title": title}}})
	_, _ = w.Write(b)
}

var codeRE = regexp.MustCompile(`^[a-zA-Z0-9_ -]{1,50}$`)

// promotion serves /v3/promotions/{id}/codes.
func (s *Server) promotion(w http.ResponseWriter, r *http.Request, rest string) {
	id, sub, _ := strings.Cut(rest, "/")
	if sub != "codes" {
		v3Error(w, http.StatusNotFound, "Not found")
		return
	}
	codes, found := s.promotions[id]
	if !found {
		v3Error(w, http.StatusNotFound, "Promotion "+id+" not found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		want := r.URL.Query().Get("code")
		data := []map[string]any{}
		for i, c := range codes {
			if want == "" || strings.EqualFold(c.Code, want) {
				data = append(data, codeJSON(i+1, c))
			}
		}
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(map[string]any{"data": data, "meta": map[string]any{"pagination": map[string]any{
			"total": len(data), "count": len(data), "per_page": 50, "current_page": 1, "total_pages": 1}}})
		_, _ = w.Write(b)
	case http.MethodPost:
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			v3Error(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
			return
		}
		c, msg := parseCode(r)
		if msg != "" {
			v3Error(w, http.StatusUnprocessableEntity, msg)
			return
		}
		for _, cs := range s.promotions {
			for _, have := range cs {
				if strings.EqualFold(have.Code, c.Code) {
					v3Error(w, s.dupStatus, "The coupon code "+c.Code+" already exists")
					return
				}
			}
		}
		s.promotions[id] = append(codes, c)
		s.codeIDs++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		b, _ := json.Marshal(map[string]any{"data": codeJSON(s.codeIDs, c), "meta": map[string]any{}})
		_, _ = w.Write(b)
	default:
		v3Error(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}

func codeJSON(id int, c Code) map[string]any {
	return map[string]any{"id": id, "code": c.Code, "current_uses": 0, "max_uses": c.MaxUses,
		"max_uses_per_customer": c.MaxUsesPerCustomer, "created": "2026-03-01T09:30:00+00:00"}
}

// parseCode reads a new code's body: code (1-50 of a-z A-Z 0-9 _ - space),
// max_uses and max_uses_per_customer (integers ≥ 0, both required here:
// cartrecovery always sets them), nothing else. msg says what is wrong.
func parseCode(r *http.Request) (c Code, msg string) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return c, "The request body is not a JSON object"
	}
	for k := range body {
		if k != "code" && k != "max_uses" && k != "max_uses_per_customer" {
			return c, "Unknown field " + k
		}
	}
	if err := json.Unmarshal(body["code"], &c.Code); err != nil || !codeRE.MatchString(c.Code) {
		return c, "code must be 1 to 50 letters, digits, spaces, underscores or hyphens"
	}
	for name, dst := range map[string]*int{"max_uses": &c.MaxUses, "max_uses_per_customer": &c.MaxUsesPerCustomer} {
		raw := bytes.TrimSpace(body[name])
		n, err := strconv.Atoi(string(raw))
		if err != nil || n < 0 {
			return c, name + " must be an integer of 0 or more"
		}
		*dst = n
	}
	return c, ""
}

var statusNames = map[int]string{0: "Incomplete", 1: "Pending", 2: "Shipped", 3: "Partially Shipped", 4: "Refunded",
	5: "Cancelled", 6: "Declined", 7: "Awaiting Payment", 8: "Awaiting Pickup", 9: "Awaiting Shipment", 10: "Completed",
	11: "Awaiting Fulfillment", 12: "Manual Verification Required", 13: "Disputed", 14: "Partially Refunded"}

// v2Error answers status with a v2 error list.
func v2Error(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal([]map[string]any{{"status": status, "message": msg}})
	_, _ = w.Write(b)
}

// order serves /v2/orders, /v2/orders/{id} and /v2/orders/{id}/coupons.
func (s *Server) order(w http.ResponseWriter, r *http.Request, rest string) {
	if r.Method != http.MethodGet {
		v2Error(w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		v2Error(w, http.StatusNotAcceptable, "Accept must be application/json")
		return
	}
	if rest == "" {
		cart := r.URL.Query().Get("cart_id")
		var list []any
		for _, id := range slices.Sorted(maps.Keys(s.orders)) {
			if o := s.orders[id]; !r.URL.Query().Has("cart_id") || o.CartID == cart {
				list = append(list, s.orderJSON(o))
			}
		}
		if len(list) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, list)
		return
	}
	idText, sub, _ := strings.Cut(rest, "/")
	id, err := strconv.ParseInt(idText, 10, 64)
	o, found := s.orders[id]
	if err != nil || !found {
		v2Error(w, http.StatusNotFound, "The requested resource was not found.")
		return
	}
	switch sub {
	case "":
		writeJSON(w, s.orderJSON(o))
	case "coupons":
		if len(o.Codes) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		list := make([]any, 0, len(o.Codes))
		for i, c := range o.Codes {
			list = append(list, map[string]any{"id": i + 1, "coupon_id": 100 + i, "order_id": o.ID, "code": c,
				"amount": "10.0000", "type": 1, "discount": 10})
		}
		writeJSON(w, list)
	default:
		v2Error(w, http.StatusNotFound, "The requested resource was not found.")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(v)
	_, _ = w.Write(b)
}

func (s *Server) orderJSON(o Order) map[string]any {
	var total any = o.Total
	if o.NumericTotal {
		total = json.Number(o.Total)
	}
	return map[string]any{
		"id": o.ID, "customer_id": 0, "cart_id": o.CartID,
		"date_created":  o.Created.UTC().Format(time.RFC1123Z),
		"date_modified": o.Created.UTC().Format(time.RFC1123Z),
		"status_id":     o.StatusID, "status": statusNames[o.StatusID],
		"total_inc_tax": total, "total_ex_tax": total,
		"currency_code": o.Currency, "default_currency_code": o.Currency, "currency_exchange_rate": "1.0000000000",
		"payment_status": "", "items_total": 1,
		"billing_address": map[string]any{"first_name": "Test", "last_name": "Shopper", "email": o.Email},
		"coupons": map[string]any{"url": fmt.Sprintf("https://api.bigcommerce.com/stores/%s/v2/orders/%d/coupons", Hash, o.ID),
			"resource": fmt.Sprintf("/orders/%d/coupons", o.ID)},
	}
}
