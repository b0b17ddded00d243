package woocommerce_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce/woocommercetest"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// The capabilities the worker uses.
var _ interface {
	platform.Client
	platform.CodeRegistrar
	platform.OrderChecker
} = (*woocommerce.Client)(nil)

// expiry is a code's end with a sub-second part: WooCommerce keeps seconds.
var expiry = time.Date(2026, 11, 29, 21, 30, 15, 500_000_000, time.FixedZone("CET", 3600))

func start(t *testing.T) (*woocommercetest.Server, *woocommerce.Client) {
	t.Helper()
	fake := woocommercetest.Start(t)
	return fake, woocommerce.NewClient(fake.URL+"/", woocommercetest.Key, woocommercetest.Secret)
}

func TestRegisterCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		req      recovery.CodeRequest
		wantType string
		wantAmt  string
		emails   []string
		desc     string
	}{
		{"percent for one customer", recovery.CodeRequest{Store: "127.0.0.1", Cart: "4711", Email: "ana@example.com",
			Code: "CR-7K3M9QX2PZ", Label: "10% off", Percent: "10", ExpiresAt: expiry},
			"percent", "10", []string{"ana@example.com"}, "10% off (cartrecovery: cart 4711)"},
		{"fixed cart amount", recovery.CodeRequest{Cart: "4712", Email: "bo@example.com", Code: "CR-ABCDEFGHJK",
			Amount: "5.50", Currency: "EUR", ExpiresAt: expiry},
			"fixed_cart", "5.50", []string{"bo@example.com"}, "cartrecovery: cart 4712"},
		{"no email: not restricted", recovery.CodeRequest{Cart: "4713", Code: "CR-MNPQRSTUVW", Percent: "12.5", ExpiresAt: expiry},
			"percent", "12.5", nil, "cartrecovery: cart 4713"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, c := start(t)
			if err := c.RegisterCode(context.Background(), tc.req); err != nil {
				t.Fatal(err)
			}
			got := fake.Coupons()
			if len(got) != 1 {
				t.Fatalf("coupons = %+v, want 1", got)
			}
			cp := got[0]
			switch {
			case cp.Code != strings.ToLower(tc.req.Code):
				t.Errorf("code = %q", cp.Code)
			case cp.DiscountType != tc.wantType || cp.Amount != tc.wantAmt:
				t.Errorf("discount = %s %s, want %s %s", cp.DiscountType, cp.Amount, tc.wantType, tc.wantAmt)
			case cp.UsageLimit != 1 || cp.UsageLimitPerUser != 1 || !cp.IndividualUse:
				t.Errorf("limits = %d/%d individual %v, want 1/1 true", cp.UsageLimit, cp.UsageLimitPerUser, cp.IndividualUse)
			case !cp.ExpiresGMT.Equal(expiry.Truncate(time.Second)):
				t.Errorf("expires = %s, want %s", cp.ExpiresGMT, expiry.UTC().Truncate(time.Second))
			case !slices.Equal(cp.Emails, tc.emails):
				t.Errorf("emails = %q, want %q", cp.Emails, tc.emails)
			case cp.Description != tc.desc:
				t.Errorf("description = %q, want %q", cp.Description, tc.desc)
			}
			if calls := fake.Calls(); !slices.Equal(calls, []string{"POST /wp-json/wc/v3/coupons"}) {
				t.Errorf("calls = %q", calls)
			}
		})
	}
}

// An earlier attempt registered the code and its answer was lost: the
// retry is told the code exists, which succeeds.
func TestRegisterCodeTwiceSucceeds(t *testing.T) {
	t.Parallel()
	fake, c := start(t)
	r := recovery.CodeRequest{Cart: "4711", Email: "ana@example.com", Code: "CR-7K3M9QX2PZ", Percent: "10", ExpiresAt: expiry}
	for i := range 2 {
		if err := c.RegisterCode(context.Background(), r); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if n := len(fake.Coupons()); n != 1 {
		t.Errorf("%d coupons, want 1", n)
	}
	if n := len(fake.Calls()); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

func TestRegisterCodeErrors(t *testing.T) {
	t.Parallel()
	valid := recovery.CodeRequest{Cart: "4711", Email: "ana@example.com", Code: "CR-7K3M9QX2PZ", Percent: "10", ExpiresAt: expiry}
	for _, tc := range []struct {
		name        string
		key, secret string
		fail        int
		edit        func(*recovery.CodeRequest)
		want        []string // in the error
		calls       int
		invalid     bool // wraps recovery.ErrInvalid
	}{
		{name: "shop unavailable", fail: 1, want: []string{"woocommerce", "coupons", "HTTP 503", "Service Unavailable"}, calls: 1},
		{name: "wrong key", key: "ck_wrongwrongwrong", secret: woocommercetest.Secret,
			want: []string{"HTTP 401", "woocommerce_rest_cannot_create", "Read/Write permission"}, calls: 1},
		{name: "wrong secret", key: woocommercetest.Key, secret: "cs_wrongwrongwrong",
			want: []string{"HTTP 401", "Consumer secret is invalid", "Read/Write permission"}, calls: 1},
		{name: "percent over 100", edit: func(r *recovery.CodeRequest) { r.Percent = "150" },
			want: []string{"HTTP 400", "coupon_invalid_amount", "Invalid discount amount", "CR-7K3M9QX2PZ"}, calls: 1},
		{name: "not an email", edit: func(r *recovery.CodeRequest) { r.Email = "ana at example" },
			want: []string{"HTTP 400", "coupon_invalid_email_address"}, calls: 1},
		{name: "no expiry", edit: func(r *recovery.CodeRequest) { r.ExpiresAt = time.Time{} }, want: []string{"expires_at"}, invalid: true},
		{name: "no discount", edit: func(r *recovery.CodeRequest) { r.Percent = "" }, want: []string{"percent or amount"}, invalid: true},
		{name: "both discounts", edit: func(r *recovery.CodeRequest) { r.Amount = "5" }, want: []string{"both"}, invalid: true},
		{name: "amount not decimal", edit: func(r *recovery.CodeRequest) { r.Percent, r.Amount = "", "5,50" }, want: []string{"amount"}, invalid: true},
		{name: "no code", edit: func(r *recovery.CodeRequest) { r.Code = " " }, want: []string{"code"}, invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := woocommercetest.Start(t)
			fake.FailNext(tc.fail)
			key, secret := woocommercetest.Key, woocommercetest.Secret
			if tc.key != "" {
				key, secret = tc.key, tc.secret
			}
			r := valid
			if tc.edit != nil {
				tc.edit(&r)
			}
			err := woocommerce.NewClient(fake.URL, key, secret).RegisterCode(context.Background(), r)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes the credentials", err)
			}
			if errors.Is(err, recovery.ErrInvalid) != tc.invalid {
				t.Errorf("errors.Is(%v, ErrInvalid) = %v", err, !tc.invalid)
			}
			if n := len(fake.Calls()); n != tc.calls {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
			if n := len(fake.Coupons()); n != 0 {
				t.Errorf("%d coupons created", n)
			}
		})
	}
}

func TestOrderSince(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 22, 9, 58, 1, 0, time.UTC)
	paid := created.Add(3 * time.Minute)
	for _, tc := range []struct {
		status string
		paid   time.Time
		found  bool
		at     time.Time
	}{
		{"processing", paid, true, paid},
		{"on-hold", time.Time{}, true, created}, // bank transfer: not paid yet
		{"completed", paid, true, paid},
		{"pending", time.Time{}, false, time.Time{}},
		{"checkout-draft", time.Time{}, false, time.Time{}},
		{"failed", time.Time{}, false, time.Time{}},
		{"cancelled", time.Time{}, false, time.Time{}},
		{"refunded", paid, false, time.Time{}},
	} {
		t.Run(tc.status, func(t *testing.T) {
			t.Parallel()
			fake, c := start(t)
			fake.SetOrder(woocommercetest.Order{ID: 4711, Status: tc.status, Total: "59.90", Currency: "EUR",
				Codes: []string{"CR-7K3M9QX2PZ", "welcome5"}, Created: created, Paid: tc.paid})
			cs := recovery.CartState{Store: c.Store(), ID: "4711", Platform: "woocommerce"}
			o, ok, err := c.OrderSince(context.Background(), cs, created.Add(-time.Hour))
			if err != nil || ok != tc.found {
				t.Fatalf("OrderSince = %+v, %v, %v; want found %v", o, ok, err, tc.found)
			}
			want := recovery.Order{}
			if tc.found {
				// WooCommerce reports codes lower-cased
				want = recovery.Order{ID: "4711", Total: "59.90", Currency: "EUR", Codes: []string{"cr-7k3m9qx2pz", "welcome5"}, At: tc.at}
			}
			if o.ID != want.ID || o.Total != want.Total || o.Currency != want.Currency || !slices.Equal(o.Codes, want.Codes) ||
				!o.At.Equal(want.At) || o.At.Location() != time.UTC {
				t.Errorf("order = %+v, want %+v", o, want)
			}
			if calls := fake.Calls(); !slices.Equal(calls, []string{"GET /wp-json/wc/v3/orders/4711"}) {
				t.Errorf("calls = %q", calls)
			}
		})
	}
}

func TestOrderSinceNoOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		base      string // appended to the fake's URL
		key       string
		fail      int
		cart      recovery.CartState
		want      []string // empty: ok false without an error
		noRequest bool
	}{
		// deleted for good, or a draft WooCommerce's daily job removed
		{name: "order gone", cart: recovery.CartState{ID: "999"}},
		{name: "no WooCommerce route at the URL", base: "/blog", cart: recovery.CartState{ID: "4711"},
			want: []string{"HTTP 404 rest_no_route", "no WooCommerce REST API"}},
		{name: "shop unavailable", fail: 1, cart: recovery.CartState{ID: "4711"}, want: []string{"orders/4711", "HTTP 503"}},
		{name: "wrong key", key: "ck_wrongwrongwrong", cart: recovery.CartState{ID: "4711"},
			want: []string{"HTTP 401", "woocommerce_rest_cannot_view", "Read/Write permission"}},
		{name: "cart of another store", cart: recovery.CartState{Store: "other.example", ID: "4711"},
			want: []string{"other.example"}, noRequest: true},
		{name: "not an order id", cart: recovery.CartState{ID: "4711/../../coupons"}, want: []string{"cart.id"}, noRequest: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := woocommercetest.Start(t)
			fake.SetOrder(woocommercetest.Order{ID: 4711, Status: "processing", Total: "10.00", Currency: "USD", Created: expiry})
			fake.FailNext(tc.fail)
			key := woocommercetest.Key
			if tc.key != "" {
				key = tc.key
			}
			c := woocommerce.NewClient(fake.URL+tc.base, key, woocommercetest.Secret)
			o, ok, err := c.OrderSince(ctx, tc.cart, time.Time{})
			if ok || o.ID != "" {
				t.Errorf("found %+v", o)
			}
			switch {
			case len(tc.want) == 0 && err != nil:
				t.Errorf("error %v, want none", err)
			case len(tc.want) > 0 && err == nil:
				t.Errorf("no error")
			}
			if err != nil {
				t.Log(err)
			}
			for _, w := range tc.want {
				if err != nil && !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if err != nil && (strings.Contains(err.Error(), key) || strings.Contains(err.Error(), woocommercetest.Secret)) {
				t.Errorf("error %q quotes the credentials", err)
			}
			if n := len(fake.Calls()); (n == 0) != tc.noRequest {
				t.Errorf("%d calls", n)
			}
		})
	}
}

// Shops that answer outside what woocommercetest models: a total sent as a
// JSON number, a redirect, a 404 page that is not WooCommerce's.
func TestOrderSinceOddAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		body   string
		total  string
		want   string // in the error; "" for none
	}{
		{"total as a number", 200, nil,
			`{"id":4711,"status":"completed","currency":"usd","total":1234.50,"date_created_gmt":"2026-11-22T10:00:00","date_paid_gmt":null,"coupon_lines":[]}`,
			"1234.50", ""},
		{"malformed total: no money, still an order", 200, nil,
			`{"id":4711,"status":"processing","currency":"USD","total":"12,50","date_created_gmt":"2026-11-22T10:00:00","coupon_lines":[]}`,
			"", ""},
		{"redirect not followed", 301, map[string]string{"Location": "https://www.shop.example/wp-json/wc/v3/orders/4711"}, "",
			"", `HTTP 301 (redirected to "https://www.shop.example/wp-json/wc/v3/orders/4711"`},
		{"a 404 page that is not WooCommerce's", 404, map[string]string{"Content-Type": "text/html"}, "<html>Not Found</html>",
			"", "HTTP 404 (no WooCommerce REST API"},
		{"another order answered", 200, nil, `{"id":4712,"status":"processing"}`, "", `the answer is order "4712"`},
		{"not JSON", 200, nil, `<html>maintenance</html>`, "", "not an order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if k, s, ok := r.BasicAuth(); !ok || k != "ck_x1234" || s != "cs_y1234" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			c := woocommerce.NewClient(srv.URL, "ck_x1234", "cs_y1234")
			o, ok, err := c.OrderSince(context.Background(), recovery.CartState{ID: "4711"}, time.Time{})
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || ok {
					t.Fatalf("OrderSince = %+v, %v, %v; want an error saying %q", o, ok, err, tc.want)
				}
				return
			}
			if err != nil || !ok {
				t.Fatalf("OrderSince = %+v, %v, %v", o, ok, err)
			}
			if o.Total != tc.total || (tc.total != "" && o.Currency != "USD") || (tc.total == "" && o.Currency != "") {
				t.Errorf("money = %q %q, want %q", o.Total, o.Currency, tc.total)
			}
			if want := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC); !o.At.Equal(want) {
				t.Errorf("at = %s, want %s", o.At, want)
			}
		})
	}
}

// The client answers for the store its shop's webhooks are recorded under.
func TestStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want string }{
		{"https://Shop.Example:8443/", "shop.example_8443"},
		{"https://shop.example", "shop.example"},
		{"https://shop.example/wordpress/", "shop.example"},
		{"shop.example", ""},
		{"", ""},
	} {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			c := woocommerce.NewClient(tc.url, "k", "s")
			if got := c.Store(); got != tc.want {
				t.Errorf("Store() = %q, want %q", got, tc.want)
			}
			if wh, err := woocommerce.StoreID(tc.url); tc.want != "" && (err != nil || wh != c.Store()) {
				t.Errorf("woocommerce.StoreID = %q, %v; client %q", wh, err, c.Store())
			}
		})
	}
	if c := woocommerce.NewClient("https://shop.example/", "k", "s"); c.URL != "https://shop.example" {
		t.Errorf("URL = %q, want the trailing / trimmed", c.URL)
	}
}

// A WooCommerce order id with a fake listening on 127.0.0.1: the store of
// carts is the fake's host and port.
func TestOrderSinceStoreOfFake(t *testing.T) {
	t.Parallel()
	fake, c := start(t)
	fake.SetOrder(woocommercetest.Order{ID: 5, Status: "completed", Total: "1.00", Currency: "JPY", Created: expiry})
	store, err := woocommerce.StoreID(fake.URL + "/")
	if err != nil || store != c.Store() || !strings.HasPrefix(store, "127.0.0.1_") {
		t.Fatalf("store %q (%v), client %q", store, err, c.Store())
	}
	if _, ok, err := c.OrderSince(context.Background(), recovery.CartState{Store: store, ID: "5"}, time.Time{}); !ok || err != nil {
		t.Errorf("OrderSince = %v, %v", ok, err)
	}
}
