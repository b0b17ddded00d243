package generic_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/recovery"
)

const secret = "generic-shop-secret"

// shop is a receiving shop as the package doc asks it to be: it checks the
// signature with its own secret, then answers status.
type shop struct {
	mu     sync.Mutex
	hits   int // requests received, signed or not
	bodies []map[string]any
	events []string
}

func (s *shop) start(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits++
		s.mu.Unlock()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := generic.Verify(body, r.Header.Get("X-Cartrecovery-Signature"), secret); err != nil {
			http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, m)
		s.events = append(s.events, r.Header.Get("X-Cartrecovery-Event"))
		s.mu.Unlock()
		w.WriteHeader(status)
		if status >= 400 {
			_, _ = io.WriteString(w, strings.Repeat("the shop's error ", 50))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRegisterCode(t *testing.T) {
	t.Parallel()
	expires := time.Date(2026, 3, 8, 13, 0, 0, 0, time.FixedZone("CET", 3600))
	percent := recovery.CodeRequest{Store: "default", Cart: "c-1", Email: "ana@example.com", Code: "CR-7K3M9QX2PA",
		Label: "10% off", Percent: "10", ExpiresAt: expires}
	amount := recovery.CodeRequest{Store: "shop-2", Cart: "c-2", Code: "CR-AMOUNT", Label: "5 € off",
		Amount: "5.00", Currency: "EUR", ExpiresAt: expires}
	for _, tc := range []struct {
		name    string
		req     recovery.CodeRequest
		status  int    // the shop's answer
		secret  string // the client's; "" means the shop's
		wantErr string // "" for success, else a part of the error
		want    map[string]any
	}{
		{name: "percent", req: percent, status: http.StatusCreated, want: map[string]any{
			"code": "CR-7K3M9QX2PA", "percent": "10", "expires_at": "2026-03-08T12:00:00Z", "cart_id": "c-1",
			"store": "default", "email": "ana@example.com", "label": "10% off"}},
		{name: "amount, no email", req: amount, status: http.StatusOK, want: map[string]any{
			"code": "CR-AMOUNT", "amount": "5.00", "currency": "EUR", "expires_at": "2026-03-08T12:00:00Z", "cart_id": "c-2",
			"store": "shop-2", "label": "5 € off"}},
		{name: "409: the shop has it", req: percent, status: http.StatusConflict},
		{name: "500", req: percent, status: http.StatusInternalServerError, wantErr: "HTTP 500: the shop's error"},
		{name: "wrong secret", req: percent, status: http.StatusOK, secret: "not-the-shop's", wantErr: "HTTP 401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var s shop
			srv := s.start(t, tc.status)
			key := secret
			if tc.secret != "" {
				key = tc.secret
			}
			c := generic.NewClient(srv.URL+"/discounts?token=shop-token", key)
			if c.Store() != "" {
				t.Fatalf("store %q, want every store", c.Store())
			}
			err := c.RegisterCode(context.Background(), tc.req)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("%v, want error %q", err, tc.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "shop-token") || strings.Contains(err.Error(), key) || len(err.Error()) > 400) {
				t.Fatalf("the error holds the URL's token, the secret or the whole answer: %v", err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if tc.want != nil && (len(s.bodies) != 1 || !maps.Equal(s.bodies[0], tc.want) || s.events[0] != "discount.create") {
				t.Fatalf("the shop got %v %q, want %v", s.bodies, s.events, tc.want)
			}
		})
	}
}

// Requests that cannot make a usable code never reach the shop.
func TestRegisterCodeRefused(t *testing.T) {
	t.Parallel()
	var s shop
	srv := s.start(t, http.StatusOK)
	good := recovery.CodeRequest{Store: "default", Cart: "c-1", Code: "CR-A", Percent: "10", ExpiresAt: time.Now().Add(time.Hour)}
	for name, tc := range map[string]struct {
		url, secret string
		edit        func(*recovery.CodeRequest)
	}{
		"no URL":                  {"", secret, nil},
		"no secret":               {srv.URL, "", nil},
		"no code":                 {srv.URL, secret, func(r *recovery.CodeRequest) { r.Code = "" }},
		"no expiry":               {srv.URL, secret, func(r *recovery.CodeRequest) { r.ExpiresAt = time.Time{} }},
		"neither percent nor off": {srv.URL, secret, func(r *recovery.CodeRequest) { r.Percent = "" }},
		"both":                    {srv.URL, secret, func(r *recovery.CodeRequest) { r.Amount, r.Currency = "5", "EUR" }},
		"amount, no currency":     {srv.URL, secret, func(r *recovery.CodeRequest) { r.Percent, r.Amount = "", "5" }},
	} {
		r := good
		if tc.edit != nil {
			tc.edit(&r)
		}
		if err := generic.NewClient(tc.url, tc.secret).RegisterCode(context.Background(), r); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hits != 0 {
		t.Fatalf("the shop got %d requests", s.hits)
	}
}

// The client is what the worker's Platform and CodeRegistrar ask for.
var _ interface {
	Store() string
	RegisterCode(context.Context, recovery.CodeRequest) error
} = (*generic.Client)(nil)
