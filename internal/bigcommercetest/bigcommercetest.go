// Package bigcommercetest is a local fake of the two BigCommerce Management
// API calls cartrecovery makes (GET /stores/{hash}/v3/carts/{id} and POST
// /stores/{hash}/v3/carts/{id}/redirect_urls), answering in the shapes of
// BigCommerce's published cart API, with payloads of its own. It checks
// what it receives: the store hash, X-Auth-Token, JSON content type.
package bigcommercetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Hash and Token are the fake store's hash and API token.
const (
	Hash  = "fakestore1"
	Token = "fake-bigcommerce-token"
)

// Cart is what the fake answers for a cart id.
type Cart struct {
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

// Server is a running fake.
type Server struct {
	*httptest.Server
	mu        sync.Mutex
	carts     map[string]Cart
	fail      int // answer 500 to the next fail calls
	calls     []string
	redirects int
}

// Start runs a fake until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{carts: map[string]Cart{}}
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

// Calls returns "METHOD path" of every call received.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// CheckoutURL is the restore link the fake makes for cart id (n-th call).
func CheckoutURL(id string, n int) string {
	return fmt.Sprintf("https://fakestore1.mybigcommerce.com/cart.php?action=loadInCheckout&id=%s&token=t%d", id, n)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("X-Auth-Token") != Token {
		http.Error(w, `{"status":401,"title":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	if s.fail > 0 {
		s.fail--
		http.Error(w, `{"status":500}`, http.StatusInternalServerError)
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
