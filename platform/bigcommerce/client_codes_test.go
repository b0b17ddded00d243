package bigcommerce_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce/bigcommercetest"
	"github.com/cartrecovery/cartrecovery/recovery"
)

func codesClient(t *testing.T) (*bigcommercetest.Server, *bigcommerce.Client) {
	fake := bigcommercetest.Start(t)
	c := bigcommerce.NewClient(fake.URL, bigcommercetest.Hash, bigcommercetest.Token)
	c.PromotionID = bigcommercetest.PromotionID
	return fake, c
}

func TestRegisterCode(t *testing.T) {
	t.Parallel()
	req := func(code string) recovery.CodeRequest {
		return recovery.CodeRequest{Store: bigcommercetest.Hash, Cart: "c-1", Email: "ana@example.com", Code: code,
			Percent: "10", ExpiresAt: time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)}
	}
	one := func(code string) []bigcommercetest.Code {
		return []bigcommercetest.Code{{Code: code, MaxUses: 1, MaxUsesPerCustomer: 1}}
	}
	for _, tc := range []struct {
		name      string
		setup     func(*bigcommercetest.Server, *bigcommerce.Client)
		codes     []string // registered in turn; every one must give wantErr
		wantErr   string   // "" for success, else a part of the error
		wantCodes []bigcommercetest.Code
		noCall    bool
	}{
		{name: "registered single use, per customer", codes: []string{"CR-ABC234XYZ"}, wantCodes: one("CR-ABC234XYZ")},
		{name: "every character BigCommerce takes", codes: []string{"spring sale_2-X"}, wantCodes: one("spring sale_2-X")},
		{name: "fifty characters", codes: []string{strings.Repeat("A", 50)}, wantCodes: one(strings.Repeat("A", 50))},
		{name: "same code twice, 422", codes: []string{"CR-TWICE", "CR-TWICE"}, wantCodes: one("CR-TWICE")},
		{name: "same code twice, 409", codes: []string{"CR-TWICE", "CR-TWICE"}, wantCodes: one("CR-TWICE"),
			setup: func(f *bigcommercetest.Server, _ *bigcommerce.Client) { f.SetDuplicateStatus(http.StatusConflict) }},
		{name: "code held by another promotion", codes: []string{"CR-OTHER"}, wantErr: "HTTP 422",
			setup: func(f *bigcommercetest.Server, _ *bigcommerce.Client) { f.AddCode("8", "CR-OTHER") }},
		{name: "code held by another promotion, 409", codes: []string{"CR-OTHER"}, wantErr: "HTTP 409",
			setup: func(f *bigcommercetest.Server, _ *bigcommerce.Client) {
				f.AddCode("8", "CR-OTHER")
				f.SetDuplicateStatus(http.StatusConflict)
			}},
		{name: "no promotion id", codes: []string{"CR-A"}, wantErr: "platforms.bigcommerce.promotion_id", noCall: true,
			setup: func(_ *bigcommercetest.Server, c *bigcommerce.Client) { c.PromotionID = "" }},
		{name: "unknown promotion", codes: []string{"CR-A"}, wantErr: "HTTP 404",
			setup: func(_ *bigcommercetest.Server, c *bigcommerce.Client) { c.PromotionID = "99" }},
		{name: "slash", codes: []string{"CR/../A"}, wantErr: "characters", noCall: true},
		{name: "punctuation", codes: []string{"CR-A!"}, wantErr: "characters", noCall: true},
		{name: "not ASCII", codes: []string{"CR-Ä"}, wantErr: "characters", noCall: true},
		{name: "empty", codes: []string{""}, wantErr: "characters", noCall: true},
		{name: "51 characters", codes: []string{strings.Repeat("A", 51)}, wantErr: "characters", noCall: true},
		{name: "HTTP 500", codes: []string{"CR-A"}, wantErr: "HTTP 500",
			setup: func(f *bigcommercetest.Server, _ *bigcommerce.Client) { f.FailNext(1) }},
		{name: "wrong token", codes: []string{"CR-A"}, wantErr: "HTTP 401",
			setup: func(_ *bigcommercetest.Server, c *bigcommerce.Client) { c.Token = "wrong" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, c := codesClient(t)
			if tc.setup != nil {
				tc.setup(fake, c)
			}
			for i, code := range tc.codes {
				err := c.RegisterCode(context.Background(), req(code))
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatalf("attempt %d: %v", i+1, err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Fatalf("attempt %d: %v, want an error with %q", i+1, err, tc.wantErr)
				case err != nil && strings.Contains(err.Error(), c.Token) && c.Token != "":
					t.Fatalf("the token is in the error: %v", err)
				}
			}
			if got := fake.Codes(); !slices.Equal(got, tc.wantCodes) {
				t.Errorf("codes %+v, want %+v", got, tc.wantCodes)
			}
			calls := fake.Calls()
			if tc.noCall && len(calls) != 0 {
				t.Errorf("calls %q, want none", calls)
			}
			if !tc.noCall && (len(calls) == 0 || calls[0] != "POST /stores/"+bigcommercetest.Hash+"/v3/promotions/"+c.PromotionID+"/codes") {
				t.Errorf("calls %q", calls)
			}
		})
	}
}

func TestOrderSince(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 5, 21, 40, 32, 0, time.UTC)
	order := func(id int64, cart string, status int, codes ...string) bigcommercetest.Order {
		return bigcommercetest.Order{ID: id, CartID: cart, Email: "ana@example.com", Total: "69.8400", Currency: "EUR",
			StatusID: status, Created: at, Codes: codes}
	}
	for _, tc := range []struct {
		name    string
		orders  []bigcommercetest.Order
		setup   func(*bigcommercetest.Server, *bigcommerce.Client)
		cart    string
		want    recovery.Order
		ok      bool
		wantErr bool
	}{
		{name: "no order (204)", orders: []bigcommercetest.Order{order(100, "c-other", 10)}},
		{name: "incomplete", orders: []bigcommercetest.Order{order(101, "c-1", 0)}},
		{name: "cancelled", orders: []bigcommercetest.Order{order(101, "c-1", 5)}},
		{name: "declined", orders: []bigcommercetest.Order{order(101, "c-1", 6)}},
		{name: "awaiting payment, with codes", orders: []bigcommercetest.Order{order(101, "c-1", 7, "CR-ABC234", "WELCOME")}, ok: true,
			want: recovery.Order{ID: "101", Total: "69.8400", Currency: "EUR", At: at, Codes: []string{"CR-ABC234", "WELCOME"}}},
		{name: "completed, no codes (204)", orders: []bigcommercetest.Order{order(101, "c-1", 10)}, ok: true,
			want: recovery.Order{ID: "101", Total: "69.8400", Currency: "EUR", At: at}},
		{name: "total sent as a number", ok: true,
			orders: []bigcommercetest.Order{{ID: 102, CartID: "c-1", Total: "69.84", Currency: "USD", StatusID: 10, Created: at, NumericTotal: true}},
			want:   recovery.Order{ID: "102", Total: "69.84", Currency: "USD", At: at}},
		{name: "declined, then completed", orders: []bigcommercetest.Order{order(101, "c-1", 6), order(102, "c-1", 11, "CR-X")}, ok: true,
			want: recovery.Order{ID: "102", Total: "69.8400", Currency: "EUR", At: at, Codes: []string{"CR-X"}}},
		{name: "HTTP 500", orders: []bigcommercetest.Order{order(101, "c-1", 10)}, wantErr: true,
			setup: func(f *bigcommercetest.Server, _ *bigcommerce.Client) { f.FailNext(1) }},
		{name: "404 on the list is an error, not no order", orders: []bigcommercetest.Order{order(101, "c-1", 10)}, wantErr: true,
			setup: func(_ *bigcommercetest.Server, c *bigcommerce.Client) { c.StoreHash = "otherstore" }},
		{name: "no cart id", cart: "-", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, c := codesClient(t)
			for _, o := range tc.orders {
				fake.AddOrder(o)
			}
			if tc.setup != nil {
				tc.setup(fake, c)
			}
			cs := recovery.CartState{Store: bigcommercetest.Hash, ID: "c-1", Created: at.Add(-time.Hour)}
			if tc.cart == "-" {
				cs.ID = ""
			}
			got, ok, err := c.OrderSince(context.Background(), cs, cs.Created)
			if tc.wantErr {
				if err == nil || errors.Is(err, recovery.ErrNotFound) {
					t.Fatalf("%+v %v %v, want an error", got, ok, err)
				}
				return
			}
			if err != nil || ok != tc.ok || got.ID != tc.want.ID || got.Total != tc.want.Total || got.Currency != tc.want.Currency ||
				!got.At.Equal(tc.want.At) || !slices.Equal(got.Codes, tc.want.Codes) {
				t.Fatalf("%+v %v %v, want %+v %v", got, ok, err, tc.want, tc.ok)
			}
			if calls := fake.Calls(); len(calls) == 0 || calls[0] != "GET /stores/"+bigcommercetest.Hash+"/v2/orders?cart_id=c-1" {
				t.Errorf("calls %q", calls)
			}
		})
	}
}

func TestOrder(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 5, 21, 40, 32, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		id         string
		status     int
		placed     bool
		codes      []string
		wantErr    error // nil: success; errAny: any error
		wantNoCall bool
	}{
		{name: "completed", id: "218", status: 10, placed: true, codes: []string{"CR-ABC234"}},
		{name: "awaiting payment", id: "218", status: 7, placed: true},
		{name: "incomplete", id: "218", status: 0},
		{name: "declined", id: "218", status: 6},
		{name: "unknown order", id: "219", wantErr: recovery.ErrNotFound},
		{name: "not a number", id: "../carts/c-1", wantErr: errAny, wantNoCall: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, c := codesClient(t)
			fake.AddOrder(bigcommercetest.Order{ID: 218, CartID: "c-1", Email: " bea@example.com", Total: "139.7500", Currency: "EUR",
				StatusID: tc.status, Created: at, Codes: tc.codes})
			cart, o, email, placed, err := c.Order(context.Background(), tc.id)
			if tc.wantErr != nil {
				if err == nil || tc.wantErr != errAny && !errors.Is(err, tc.wantErr) {
					t.Fatalf("%v, want %v", err, tc.wantErr)
				}
				if tc.wantNoCall && len(fake.Calls()) != 0 {
					t.Fatalf("calls %q", fake.Calls())
				}
				return
			}
			if err != nil || cart != "c-1" || email != "bea@example.com" || placed != tc.placed || o.ID != "218" ||
				o.Total != "139.7500" || o.Currency != "EUR" || !o.At.Equal(at) || !slices.Equal(o.Codes, tc.codes) {
				t.Fatalf("%q %+v %q %v %v", cart, o, email, placed, err)
			}
		})
	}
}

var errAny = errors.New("any error")

// The fake refuses code bodies that BigCommerce would refuse or that
// cartrecovery must never send, so the client tests above mean something.
func TestFakeChecksCodeBodies(t *testing.T) {
	t.Parallel()
	fake := bigcommercetest.Start(t)
	url := fake.URL + "/stores/" + bigcommercetest.Hash + "/v3/promotions/" + bigcommercetest.PromotionID + "/codes"
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"good", "application/json", `{"code":"CR-A","max_uses":1,"max_uses_per_customer":1}`, http.StatusCreated},
		{"no content type", "", `{"code":"CR-B","max_uses":1,"max_uses_per_customer":1}`, http.StatusUnsupportedMediaType},
		{"no max_uses", "application/json", `{"code":"CR-C","max_uses_per_customer":1}`, http.StatusUnprocessableEntity},
		{"max_uses as text", "application/json", `{"code":"CR-D","max_uses":"1","max_uses_per_customer":1}`, http.StatusUnprocessableEntity},
		{"max_uses not whole", "application/json", `{"code":"CR-E","max_uses":1.5,"max_uses_per_customer":1}`, http.StatusUnprocessableEntity},
		{"no code", "application/json", `{"max_uses":1,"max_uses_per_customer":1}`, http.StatusUnprocessableEntity},
		{"code with a dot", "application/json", `{"code":"CR.F","max_uses":1,"max_uses_per_customer":1}`, http.StatusUnprocessableEntity},
		{"unknown field", "application/json", `{"code":"CR-G","max_uses":1,"max_uses_per_customer":1,"percent":10}`, http.StatusUnprocessableEntity},
		{"duplicate", "application/json", `{"code":"cr-a","max_uses":1,"max_uses_per_customer":1}`, http.StatusUnprocessableEntity},
	} {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Auth-Token", bigcommercetest.Token)
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if got := fake.Codes(); len(got) != 1 || got[0].Code != "CR-A" {
		t.Errorf("codes %+v", got)
	}
}

// The client is what the worker's CodeRegistrar and OrderChecker ask for
// (declared here: the test does not import the worker).
var _ interface {
	Store() string
	RegisterCode(context.Context, recovery.CodeRequest) error
	OrderSince(context.Context, recovery.CartState, time.Time) (recovery.Order, bool, error)
} = (*bigcommerce.Client)(nil)
