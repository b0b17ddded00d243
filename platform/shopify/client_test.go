package shopify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/shopify/shopifytest"
	"github.com/cartrecovery/cartrecovery/recovery"
)

func start(t *testing.T) (*shopifytest.Server, *shopify.Client) {
	t.Helper()
	s := shopifytest.Start(t)
	return s, shopify.NewClient(s.URL, shopifytest.Shop, shopifytest.Token)
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	c := shopify.NewClient("", "shop-a.myshopify.com", "tok")
	if c.APIURL != "https://shop-a.myshopify.com" || c.Store() != "shop-a.myshopify.com" || c.HTTP.Timeout != 10*time.Second {
		t.Fatalf("NewClient defaults: %+v", c)
	}
	if c := shopify.NewClient("http://127.0.0.1:9/", "s", "t"); c.APIURL != "http://127.0.0.1:9" {
		t.Fatalf("trailing slash kept: %q", c.APIURL)
	}
}

func TestRegisterCode(t *testing.T) {
	t.Parallel()
	expiry := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name                   string
		req                    recovery.CodeRequest
		title, percent, amount string
	}{
		{"percent", recovery.CodeRequest{Code: "CR-ABC", Label: "10% off", Percent: "10"}, "10% off CR-ABC", "0.1", ""},
		{"fractional percent", recovery.CodeRequest{Code: "CR-DEF", Percent: "12.5"}, "CR-DEF", "0.125", ""},
		{"small percent", recovery.CodeRequest{Code: "CR-GHI", Percent: "0.5"}, "CR-GHI", "0.005", ""},
		{"whole order", recovery.CodeRequest{Code: "CR-JKL", Percent: "100"}, "CR-JKL", "1", ""},
		{"amount", recovery.CodeRequest{Code: "CR-MNO", Label: "Gift", Amount: "5.00", Currency: "EUR"}, "Gift CR-MNO", "", "5.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, c := start(t)
			tc.req.Store, tc.req.Cart, tc.req.ExpiresAt = shopifytest.Shop, "c1", expiry
			before := time.Now().Truncate(time.Second)
			if err := c.RegisterCode(context.Background(), tc.req); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			codes := s.Codes()
			if len(codes) != 1 {
				t.Fatalf("codes registered: %+v", codes)
			}
			got := codes[0]
			if got.Code != tc.req.Code || got.Title != tc.title || got.Percentage != tc.percent || got.Amount != tc.amount {
				t.Errorf("registered %+v, want code %s title %q percentage %q amount %q", got, tc.req.Code, tc.title, tc.percent, tc.amount)
			}
			if !got.EndsAt.Equal(expiry) || got.StartsAt.Before(before) || got.StartsAt.After(after) {
				t.Errorf("registered from %s to %s, want from now (%s) to %s", got.StartsAt, got.EndsAt, before, expiry)
			}
			if got.UsageLimit != 1 || !got.OncePerCustomer {
				t.Errorf("usage limit %d, once per customer %v: want single use", got.UsageLimit, got.OncePerCustomer)
			}
		})
	}
}

func TestRegisterCodeAgainIsIdempotent(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	r := recovery.CodeRequest{Store: shopifytest.Shop, Code: "CR-SAME", Percent: "15", ExpiresAt: time.Now().Add(time.Hour)}
	for i := range 2 {
		if err := c.RegisterCode(context.Background(), r); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if n := len(s.Codes()); n != 1 || s.Calls() != 2 {
		t.Fatalf("%d codes after %d calls, want 1 after 2", n, s.Calls())
	}
}

func TestRegisterCodeErrors(t *testing.T) {
	t.Parallel()
	ok := recovery.CodeRequest{Store: shopifytest.Shop, Code: "CR-ERR", Percent: "10", ExpiresAt: time.Now().Add(time.Hour)}
	for _, tc := range []struct {
		name   string
		edit   func(*recovery.CodeRequest, *shopify.Client, *shopifytest.Server)
		calls  int
		substr string
	}{
		{"neither percent nor amount", func(r *recovery.CodeRequest, _ *shopify.Client, _ *shopifytest.Server) { r.Percent = "" }, 0, "exactly one"},
		{"both percent and amount", func(r *recovery.CodeRequest, _ *shopify.Client, _ *shopifytest.Server) { r.Amount = "5" }, 0, "exactly one"},
		{"percent not a decimal", func(r *recovery.CodeRequest, _ *shopify.Client, _ *shopifytest.Server) { r.Percent = "1e1" }, 0, "percent"},
		{"percent zero", func(r *recovery.CodeRequest, _ *shopify.Client, _ *shopifytest.Server) { r.Percent = "0" }, 0, "percent"},
		{"percent above 100", func(r *recovery.CodeRequest, _ *shopify.Client, _ *shopifytest.Server) { r.Percent = "150" }, 0, "percent"},
		{"amount zero", func(r *recovery.CodeRequest, _ *shopify.Client, _ *shopifytest.Server) {
			r.Percent, r.Amount = "", "0.00"
		}, 0, "amount"},
		{"another store", func(r *recovery.CodeRequest, _ *shopify.Client, _ *shopifytest.Server) {
			r.Store = "other.myshopify.com"
		}, 0, "other.myshopify.com"},
		{"code too long (userError)", func(r *recovery.CodeRequest, _ *shopify.Client, _ *shopifytest.Server) {
			r.Code = strings.Repeat("X", 256)
		}, 1, "TOO_LONG"},
		{"expired (userError)", func(r *recovery.CodeRequest, _ *shopify.Client, _ *shopifytest.Server) {
			r.ExpiresAt = time.Now().Add(-time.Hour)
		}, 1, "endsAt"},
		{"503", func(_ *recovery.CodeRequest, _ *shopify.Client, s *shopifytest.Server) { s.FailNext(1) }, 1, "HTTP 503"},
		{"wrong token", func(_ *recovery.CodeRequest, c *shopify.Client, _ *shopifytest.Server) {
			c.Tokens = shopify.Static("shpat_wrong_secret")
		}, 1, "write_discounts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, c := start(t)
			r := ok
			tc.edit(&r, c, s)
			err := c.RegisterCode(context.Background(), r)
			if err == nil || !strings.Contains(err.Error(), tc.substr) || !strings.HasPrefix(err.Error(), "shopify: discountCodeBasicCreate") {
				t.Fatalf("err = %v, want one containing %q", err, tc.substr)
			}
			if strings.Contains(err.Error(), token(c)) {
				t.Errorf("the token is in the error: %v", err)
			}
			if s.Calls() != tc.calls || len(s.Codes()) != 0 {
				t.Errorf("%d calls, %d codes; want %d calls, no code", s.Calls(), len(s.Codes()), tc.calls)
			}
		})
	}
}

// TestTopLevelErrors: answers the fake does not give (GraphQL errors with
// HTTP 200, scope refusals) come from a stub with Shopify's shapes.
func TestTopLevelErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		status     int
		orders     bool
		want       []string
	}{
		{"throttled", `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],"extensions":{"cost":{"requestedQueryCost":10}}}`,
			200, false, []string{"THROTTLED: Throttled"}},
		{"access denied", `{"errors":[{"message":"Access denied for discountCodeBasicCreate field. Required access: ` + "`write_discounts`" + ` access scope.","extensions":{"code":"ACCESS_DENIED"}}],"data":{"discountCodeBasicCreate":null}}`,
			200, false, []string{"ACCESS_DENIED", "write_discounts"}},
		{"forbidden", `{"errors":"[API] This action requires merchant approval for read_orders scope."}`, 403, true, []string{"HTTP 403", "read_orders"}},
		{"rate limited", `{"errors":"Exceeded 2 calls per second"}`, 429, true, []string{"HTTP 429"}},
		{"no data", `{"data":null}`, 200, true, []string{"no data"}},
		{"not json", `<html>`, 200, false, []string{"shopify: discountCodeBasicCreate"}},
		{"other userError", `{"data":{"discountCodeBasicCreate":{"codeDiscountNode":null,"userErrors":[{"field":["basicCodeDiscount","code"],"code":"TAKEN","message":"taken"},{"field":["basicCodeDiscount","title"],"code":"TOO_LONG","message":"Title is too long"}]}}}`,
			200, false, []string{"refused", "basicCodeDiscount.title TOO_LONG: Title is too long"}},
		{"TAKEN on another field", `{"data":{"discountCodeBasicCreate":{"codeDiscountNode":null,"userErrors":[{"field":["basicCodeDiscount","title"],"code":"TAKEN","message":"Title taken"}]}}}`,
			200, false, []string{"TAKEN"}},
		{"created without node", `{"data":{"discountCodeBasicCreate":{"codeDiscountNode":null,"userErrors":[]}}}`, 200, false, []string{"no discount"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			c := shopify.NewClient(srv.URL, shopifytest.Shop, "shpat_secret")
			var err error
			if tc.orders {
				_, _, err = c.OrderSince(context.Background(), cart("a@example.com"), time.Now())
			} else {
				err = c.RegisterCode(context.Background(), recovery.CodeRequest{Code: "CR-X", Percent: "10", ExpiresAt: time.Now().Add(time.Hour)})
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "shpat_secret") {
				t.Errorf("the token is in the error: %v", err)
			}
		})
	}
}

func cart(email string) recovery.CartState {
	return recovery.CartState{Store: shopifytest.Shop, ID: "c1", Platform: "shopify",
		Customer: recovery.Customer{Email: email}}
}

func TestOrderSince(t *testing.T) {
	t.Parallel()
	since := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	const email = "ann@example.com"
	order := shopifytest.Order{ID: 5551, Email: email, CreatedAt: since.Add(2 * time.Hour), Total: "59.90", Currency: "EUR", Codes: []string{"CR-ABC"}}
	with := func(f func(*shopifytest.Order)) shopifytest.Order { o := order; f(&o); return o }
	want := recovery.Order{ID: "5551", Total: "59.90", Currency: "EUR", Codes: []string{"CR-ABC"}, At: since.Add(2 * time.Hour)}
	for _, tc := range []struct {
		name   string
		email  string
		orders []shopifytest.Order
		want   *recovery.Order
	}{
		{"ordered after since", "  Ann@Example.com ", []shopifytest.Order{order}, &want},
		{"ordered at since", email, []shopifytest.Order{with(func(o *shopifytest.Order) { o.CreatedAt = since })},
			&recovery.Order{ID: "5551", Total: "59.90", Currency: "EUR", Codes: []string{"CR-ABC"}, At: since}},
		{"ordered before since", email, []shopifytest.Order{with(func(o *shopifytest.Order) { o.CreatedAt = since.Add(-time.Second) })}, nil},
		{"cancelled", email, []shopifytest.Order{with(func(o *shopifytest.Order) { o.Cancelled = true })}, nil},
		{"test order", email, []shopifytest.Order{with(func(o *shopifytest.Order) { o.Test = true })}, nil},
		{"another email", email, []shopifytest.Order{with(func(o *shopifytest.Order) { o.Email = "bob@example.com" })}, nil},
		{"earliest counting order", email, []shopifytest.Order{
			with(func(o *shopifytest.Order) { o.ID, o.CreatedAt = 7, since.Add(3*time.Hour) }),
			with(func(o *shopifytest.Order) { o.ID, o.CreatedAt, o.Test = 6, since.Add(time.Minute), true }),
			order,
			with(func(o *shopifytest.Order) { o.ID, o.CreatedAt, o.Cancelled = 8, since.Add(time.Hour), true }),
		}, &want},
		{"no codes", email, []shopifytest.Order{with(func(o *shopifytest.Order) { o.Codes = nil })},
			&recovery.Order{ID: "5551", Total: "59.90", Currency: "EUR", Codes: []string{}, At: since.Add(2 * time.Hour)}},
		{"nothing", email, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, c := start(t)
			for _, o := range tc.orders {
				s.AddOrder(o)
			}
			got, ok, err := c.OrderSince(context.Background(), cart(tc.email), since)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.want != nil) {
				t.Fatalf("ok = %v (%+v), want %v", ok, got, tc.want != nil)
			}
			if tc.want != nil && !equalOrder(got, *tc.want) {
				t.Errorf("order = %+v, want %+v", got, *tc.want)
			}
			if q := s.Queries(); len(q) != 1 || q[0] != `email:"ann@example.com" AND created_at:>='2025-03-01T12:00:00Z'` {
				t.Errorf("queries sent: %q", q)
			}
		})
	}
}

func equalOrder(a, b recovery.Order) bool {
	if a.ID != b.ID || a.Total != b.Total || a.Currency != b.Currency || !a.At.Equal(b.At) || len(a.Codes) != len(b.Codes) {
		return false
	}
	for i := range a.Codes {
		if a.Codes[i] != b.Codes[i] {
			return false
		}
	}
	return true
}

func TestOrderSinceWithoutEmailAsksNothing(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	s.AddOrder(shopifytest.Order{ID: 1, CreatedAt: time.Now(), Total: "1.00", Currency: "EUR"})
	_, ok, err := c.OrderSince(context.Background(), cart("  "), time.Now().Add(-time.Hour))
	if ok || err != nil || s.Calls() != 0 {
		t.Fatalf("ok %v, err %v, %d calls: want false, nil, none", ok, err, s.Calls())
	}
}

func TestOrderSinceEscapesEmail(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	email := `"odd\"name"@example.com`
	since := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s.AddOrder(shopifytest.Order{ID: 42, Email: email, CreatedAt: since.Add(time.Minute), Total: "10.00", Currency: "USD"})
	s.AddOrder(shopifytest.Order{ID: 43, Email: "name@example.com", CreatedAt: since.Add(time.Minute), Total: "10.00", Currency: "USD"})
	o, ok, err := c.OrderSince(context.Background(), cart(email), since)
	if err != nil || !ok || o.ID != "42" {
		t.Fatalf("order %+v, ok %v, err %v: want order 42", o, ok, err)
	}
	if q := s.Queries(); len(q) != 1 || q[0] != `email:"\"odd\\\"name\"@example.com" AND created_at:>='2025-03-01T12:00:00Z'` {
		t.Errorf("queries sent: %q", q)
	}
}

// TestOrderSinceDoesNotTrustTheFilter: an order the search should have
// left out (before since, to the second) does not count.
func TestOrderSinceDoesNotTrustTheFilter(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"data":{"orders":{"nodes":[`+
			`{"id":"gid://shopify/Order/1","name":"#1001","createdAt":"2025-03-01T11:59:59Z","cancelledAt":null,"test":false,"totalPriceSet":{"shopMoney":{"amount":"5.00","currencyCode":"EUR"}},"discountCodes":[]},`+
			`{"id":"gid://shopify/Order/2","name":"#1002","createdAt":"2025-03-01T12:00:00Z","cancelledAt":null,"test":false,"totalPriceSet":{"shopMoney":{"amount":"12345678901234.99","currencyCode":"EUR"}},"discountCodes":["A"]}]}}}`)
	}))
	t.Cleanup(srv.Close)
	c := shopify.NewClient(srv.URL, shopifytest.Shop, "t")
	o, ok, err := c.OrderSince(context.Background(), cart("a@example.com"), time.Date(2025, 3, 1, 12, 0, 0, 300e6, time.UTC))
	if err != nil || !ok || o.ID != "2" || o.Total != "12345678901234.99" {
		t.Fatalf("order %+v, ok %v, err %v: want order 2 with its total as text", o, ok, err)
	}
}

func TestOrderSinceErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		edit  func(*shopify.Client, *shopifytest.Server)
		store string
		want  string
		calls int
	}{
		{"503", func(_ *shopify.Client, s *shopifytest.Server) { s.FailNext(1) }, shopifytest.Shop, "HTTP 503", 1},
		{"wrong token", func(c *shopify.Client, _ *shopifytest.Server) { c.Tokens = shopify.Static("shpat_wrong_secret") }, shopifytest.Shop, "read_orders", 1},
		{"another store", func(*shopify.Client, *shopifytest.Server) {}, "other.myshopify.com", "other.myshopify.com", 0},
		{"cancelled context", nil, shopifytest.Shop, "context canceled", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, c := start(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.edit != nil {
				tc.edit(c, s)
			} else {
				cancel()
			}
			cs := cart("a@example.com")
			cs.Store = tc.store
			_, ok, err := c.OrderSince(ctx, cs, time.Now())
			if ok || err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "shopify: orders") {
				t.Fatalf("ok %v, err %v: want an error containing %q", ok, err, tc.want)
			}
			if strings.Contains(err.Error(), token(c)) {
				t.Errorf("the token is in the error: %v", err)
			}
			if s.Calls() != tc.calls {
				t.Errorf("%d calls, want %d", s.Calls(), tc.calls)
			}
		})
	}
}

// TestFakeChecks: the fake refuses what Shopify refuses.
func TestFakeChecks(t *testing.T) {
	t.Parallel()
	s := shopifytest.Start(t)
	for _, tc := range []struct {
		name, method, path, ctype, token, body string
		status                                 int
		want                                   string
	}{
		{"GET", "GET", shopifytest.Path, "", shopifytest.Token, "", 405, ""},
		{"other version", "POST", "/admin/api/2024-01/graphql.json", "application/json", shopifytest.Token, `{"query":"{shop{name}}"}`, 404, ""},
		{"no token", "POST", shopifytest.Path, "application/json", "", `{"query":"{shop{name}}"}`, 401, "Invalid API key or access token"},
		{"form body", "POST", shopifytest.Path, "application/x-www-form-urlencoded", shopifytest.Token, `query=x`, 400, "Required parameter"},
		{"unknown input field", "POST", shopifytest.Path, "application/json", shopifytest.Token,
			`{"query":"mutation M($input: DiscountCodeBasicInput!) { discountCodeBasicCreate(basicCodeDiscount: $input) { userErrors { code } } }","variables":{"input":{"code":"A","customerEligibility":{"all":true}}}}`,
			200, `unknown field \"customerEligibility\"`},
		{"percentage as a string", "POST", shopifytest.Path, "application/json", shopifytest.Token,
			`{"query":"mutation M($input: DiscountCodeBasicInput!) { discountCodeBasicCreate(basicCodeDiscount: $input) { userErrors { code } } }","variables":{"input":{"code":"A","title":"A","startsAt":"2025-01-01T00:00:00Z","endsAt":"2025-01-02T00:00:00Z","usageLimit":1,"appliesOncePerCustomer":true,"context":{"all":"ALL"},"customerGets":{"value":{"percentage":"0.1"},"items":{"all":true}}}}}`,
			200, "Could not coerce"},
		{"multi-use code", "POST", shopifytest.Path, "application/json", shopifytest.Token,
			`{"query":"mutation M($input: DiscountCodeBasicInput!) { discountCodeBasicCreate(basicCodeDiscount: $input) { userErrors { code } } }","variables":{"input":{"code":"A","title":"A","startsAt":"2025-01-01T00:00:00Z","endsAt":"2025-01-02T00:00:00Z","appliesOncePerCustomer":true,"context":{"all":"ALL"},"customerGets":{"value":{"percentage":1.5},"items":{"all":true}}}}}`,
			200, `"usageLimit"`},
		{"other search", "POST", shopifytest.Path, "application/json", shopifytest.Token,
			`{"query":"query Q($q: String!) { orders(first: 10, query: $q) { nodes { id } } }","variables":{"q":"email:a@example.com"}}`,
			200, "unsupported search"},
	} {
		req, _ := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		req.Header.Set("X-Shopify-Access-Token", tc.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: HTTP %d %s, want %d with %q", tc.name, resp.StatusCode, b, tc.status, tc.want)
		}
	}
	if len(s.Codes()) != 0 {
		t.Errorf("codes registered: %+v", s.Codes())
	}
}

// token is the token c sends now.
func token(c *shopify.Client) string {
	t, _ := c.Tokens.Token(context.Background())
	return t
}
