package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/server"
	"github.com/cartrecovery/cartrecovery/tenant"
	"github.com/cartrecovery/cartrecovery/worker"
)

// clock is the injected time of a test server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuf collects a server's logs, safe for the handler goroutines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

const adminToken = "0123456789abcdef-token"

// secure is a server with an admin token, sessions in Redis, an injected
// clock and captured logs, driven in process so each request can come from
// its own client address.
type secure struct {
	*env
	s     *server.Server
	h     http.Handler
	clock *clock
	logs  *logBuf
}

func newSecure(t *testing.T, opts ...func(*server.Server)) *secure {
	t.Helper()
	e := newEnv(t)
	c := &clock{t: time.Now()}
	logs := &logBuf{}
	s := &server.Server{Store: e.store, Links: e.links, AdminToken: adminToken,
		SessionTTL: 2 * time.Hour, Now: c.Now,
		Tenants: e.tenants(tenant.Tenant{Playbook: recovery.Playbook{Steps: []recovery.Step{{Name: "first-reminder", Delay: time.Hour, Channels: []recovery.Channel{"email"}}}},
			Secrets: map[string]string{"generic": genericSecret, "shopify": shopifySecret},
			Shop:    recovery.Shop{Name: "Test Shop", URL: "https://shop.example", AllowedHosts: []string{"cdn.test"}}}),
		Ready: func(context.Context) error { return nil },
		Log:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range opts {
		f(s)
	}
	return &secure{env: e, s: s, h: s.Handler(), clock: c, logs: logs}
}

// do serves one request from client (an "ip:port"); body is nil, a form
// (url.Values) or raw bytes.
func (x *secure) do(method, target, client string, body any, header map[string]string) *http.Response {
	var req *http.Request
	switch b := body.(type) {
	case url.Values:
		req = httptest.NewRequest(method, target, strings.NewReader(b.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case []byte:
		req = httptest.NewRequest(method, target, bytes.NewReader(b))
	default:
		req = httptest.NewRequest(method, target, nil)
	}
	req.RemoteAddr = client
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	x.h.ServeHTTP(w, req)
	return w.Result()
}

func (x *secure) login(t *testing.T, client string) *http.Cookie {
	t.Helper()
	resp := x.do("POST", "/dashboard/login", client, url.Values{"token": {x.s.AdminToken}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "cartrecovery_session" && c.Value != "" {
			return c
		}
	}
	t.Fatal("login set no session cookie")
	return nil
}

// report asks /api/report with a cookie value and returns the status.
func (x *secure) report(cookie, client string) int {
	return x.do("GET", "/api/report?since=7d", client, nil, map[string]string{"Cookie": "cartrecovery_session=" + cookie}).StatusCode
}

const me = "198.51.100.7:40000"

func TestSessionExpiresWithTheClock(t *testing.T) {
	x := newSecure(t)
	c := x.login(t, me)
	if c.MaxAge < int((2*time.Hour).Seconds())-1 || c.MaxAge > int((2*time.Hour).Seconds()) || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v", c)
	}
	if strings.Contains(c.Value, adminToken) {
		t.Fatal("the cookie carries the admin token")
	}
	keys, _ := x.rdb.Keys(context.Background(), "t:session:*").Result()
	if len(keys) != 1 {
		t.Fatalf("session keys %v", keys)
	}
	if ttl := x.rdb.TTL(context.Background(), keys[0]).Val(); ttl <= time.Hour || ttl > 2*time.Hour {
		t.Fatalf("session key TTL %v, want the session TTL", ttl)
	}
	tests := []struct {
		advance time.Duration
		want    int
	}{
		{0, 200},
		{2*time.Hour - 2*time.Second, 200},
		{2 * time.Second, 401}, // the cookie's own expiry, though the Redis key lives on
	}
	for _, tc := range tests {
		x.clock.Add(tc.advance)
		if got := x.report(c.Value, me); got != tc.want {
			t.Fatalf("after +%v: %d, want %d", tc.advance, got, tc.want)
		}
	}
	// a session does not count as a failed authentication
	if strings.Contains(x.logs.String(), "admin authentication failed") {
		t.Fatalf("expired cookie logged as a failure:\n%s", x.logs)
	}
}

func TestLogoutEndsTheSessionOnTheServer(t *testing.T) {
	x := newSecure(t)
	c := x.login(t, me)
	other := x.login(t, me) // a second browser stays signed in
	resp := x.do("GET", "/dashboard", me, nil, map[string]string{"Cookie": "cartrecovery_session=" + c.Value})
	if page := readAll(resp); !strings.Contains(page, "Sign out") {
		t.Fatalf("not signed in: %s", page)
	}
	resp = x.do("POST", "/dashboard/logout", me, nil, map[string]string{"Cookie": "cartrecovery_session=" + c.Value})
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Fatalf("logout: %d %v", resp.StatusCode, resp.Cookies())
	}
	// the old cookie, replayed
	if got := x.report(c.Value, me); got != 401 {
		t.Fatalf("replayed cookie after logout: %d", got)
	}
	resp = x.do("GET", "/dashboard", me, nil, map[string]string{"Cookie": "cartrecovery_session=" + c.Value})
	if page := readAll(resp); strings.Contains(page, "Sign out") || !strings.Contains(page, `id="token"`) {
		t.Fatalf("replayed cookie shows the dashboard: %s", page)
	}
	if got := x.report(other.Value, me); got != 200 {
		t.Fatalf("the other session: %d", got)
	}
}

func TestTamperedSessionCookie(t *testing.T) {
	x := newSecure(t)
	c := x.login(t, me)
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		t.Fatalf("cookie format %q", c.Value)
	}
	flip := func(s string) string { // one bit of a middle character
		i := len(s) / 2
		c := s[i] ^ 1
		if c == '.' || c == '/' {
			c = s[i] ^ 2
		}
		return s[:i] + string(c) + s[i+1:]
	}
	far := fmt.Sprint(time.Now().Add(1000 * time.Hour).Unix())
	other := newSecure(t, func(s *server.Server) { s.AdminToken = "another-admin-token-0123" })
	tests := map[string]string{
		"signature changed":      parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"id changed":             flip(parts[0]) + "." + parts[1] + "." + parts[2],
		"expiry extended":        parts[0] + "." + far + "." + parts[2],
		"no signature":           parts[0] + "." + parts[1],
		"signature dropped":      parts[0] + "." + parts[1] + ".",
		"empty":                  "",
		"old fixed-hash cookie":  fmt.Sprintf("%064x", 0),
		"signed by other token":  other.login(t, me).Value,
		"extra part":             c.Value + ".x",
		"id only":                parts[0],
		"signature as base64std": parts[0] + "." + parts[1] + "." + strings.ReplaceAll(parts[2], "-", "+") + "=",
	}
	for name, v := range tests {
		if got := x.report(v, me); got != 401 {
			t.Errorf("%s: %d, want 401", name, got)
		}
	}
	if got := x.report(c.Value, me); got != 200 {
		t.Fatalf("the untouched cookie: %d", got)
	}
}

func TestAdminRateLimit(t *testing.T) {
	x := newSecure(t)
	const attacker, neighbour = "203.0.113.9:5000", "192.0.2.1:6000"
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	for i := 1; i <= 5; i++ {
		var resp *http.Response
		if i%2 == 0 { // failures of both kinds count together
			resp = x.do("POST", "/dashboard/login", attacker, url.Values{"token": {fmt.Sprintf("guess-%d", i)}}, nil)
		} else {
			resp = x.do("GET", "/api/report", attacker, nil, bearer(fmt.Sprintf("guess-%d", i)))
		}
		if resp.StatusCode != 401 {
			t.Fatalf("attempt %d: %d, want 401", i, resp.StatusCode)
		}
	}
	x.clock.Add(20 * time.Second)
	for _, tc := range []struct {
		name string
		resp *http.Response
	}{
		{"6th bearer, even the right one", x.do("GET", "/api/report", attacker, nil, bearer(adminToken))},
		{"6th login, even the right one", x.do("POST", "/dashboard/login", attacker, url.Values{"token": {adminToken}}, nil)},
		{"6th bearer, wrong", x.do("GET", "/api/carts/default/c1", attacker, nil, bearer("guess-6"))},
	} {
		if tc.resp.StatusCode != http.StatusTooManyRequests || tc.resp.Header.Get("Retry-After") != "40" {
			t.Errorf("%s: %d Retry-After %q, want 429 and 40", tc.name, tc.resp.StatusCode, tc.resp.Header.Get("Retry-After"))
		}
	}
	if resp := x.do("GET", "/api/report", neighbour, nil, bearer(adminToken)); resp.StatusCode != 200 {
		t.Fatalf("good attempt from another address: %d", resp.StatusCode)
	}
	if c := x.login(t, neighbour); c == nil {
		t.Fatal("no login from another address")
	}
	// the window ends: the address may try again
	x.clock.Add(40 * time.Second)
	if resp := x.do("GET", "/api/report", attacker, nil, bearer(adminToken)); resp.StatusCode != 200 {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}
	logs := x.logs.String()
	if strings.Count(logs, "admin authentication failed") != 5 || !strings.Contains(logs, "client=203.0.113.0/24") ||
		!strings.Contains(logs, "admin authentication rate limited") {
		t.Fatalf("failures not logged as expected:\n%s", logs)
	}
	for _, secret := range []string{"guess-", adminToken, "203.0.113.9"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestFrameProtectionOnEveryHTMLPage(t *testing.T) {
	x := newSecure(t)
	disabled := newSecure(t, func(s *server.Server) { s.AdminToken = "" })
	c := x.login(t, me)
	cookie := map[string]string{"Cookie": "cartrecovery_session=" + c.Value}
	unsub := worker.UnsubscribeToken(x.links, "default", "email", "ana@example.com")
	limited := newSecure(t)
	for range 5 {
		limited.do("POST", "/dashboard/login", me, url.Values{"token": {"nope"}}, nil)
	}
	tests := []struct {
		name string
		resp *http.Response
		code int
	}{
		{"login page", x.do("GET", "/dashboard", me, nil, nil), 200},
		{"failed login", x.do("POST", "/dashboard/login", "192.0.2.50:1", url.Values{"token": {"nope"}}, nil), 401},
		{"rate-limited login", limited.do("POST", "/dashboard/login", me, url.Values{"token": {adminToken}}, nil), 429},
		{"dashboard", x.do("GET", "/dashboard", me, nil, cookie), 200},
		{"dashboard disabled", disabled.do("GET", "/dashboard", me, nil, nil), 404},
		{"unsubscribe confirm", x.do("GET", "/unsubscribe/"+unsub, me, nil, nil), 200},
		{"unsubscribed", x.do("POST", "/unsubscribe/"+unsub, me, url.Values{"confirm": {"1"}}, nil), 200},
		{"unsubscribe bad link", x.do("GET", "/unsubscribe/xyz", me, nil, nil), 400},
		{"click bad link", x.do("GET", "/r/not-a-token", me, nil, nil), 404},
		{"click expired link", x.do("GET", "/r/"+x.links.ShortToken([8]byte{1}, time.Now().Add(-time.Minute)), me, nil, nil), 404},
	}
	for _, tc := range tests {
		h := tc.resp.Header
		if tc.resp.StatusCode != tc.code || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q, want %d HTML", tc.name, tc.resp.StatusCode, h.Get("Content-Type"), tc.code)
		}
		csp := h.Values("Content-Security-Policy")
		if len(csp) != 1 || !strings.Contains(csp[0], "frame-ancestors 'none'") || !strings.Contains(csp[0], "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", tc.name, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: X-Frame-Options %q", tc.name, h.Get("X-Frame-Options"))
		}
	}
	// JSON answers carry the frame headers too
	resp := x.do("GET", "/api/report", me, nil, nil)
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("API answer: %v", resp.Header)
	}
}

func TestOpsListenerSeparate(t *testing.T) {
	x := newSecure(t, func(s *server.Server) { s.OpsSeparate = true })
	ops := x.s.OpsHandler()
	b := genericBody("e1", "cart.updated", "c1", time.Now())
	if resp := x.do("POST", "/webhooks/generic", me, b, genericHeaders(b)); resp.StatusCode != 202 {
		t.Fatalf("webhook: %d %s", resp.StatusCode, readAll(resp))
	}
	serve := func(h http.Handler, path string) (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Code, w.Body.String()
	}
	tests := []struct {
		name    string
		h       http.Handler
		path    string
		code    int
		bodyHas string
	}{
		{"main has no metrics", x.h, "/metrics", 404, ""},
		{"main liveness", x.h, "/healthz", 200, "ok"},
		{"main readiness", x.h, "/readyz", 200, "ready"},
		{"ops metrics", ops, "/metrics", 200, `cartrecovery_webhooks_total{platform="generic",result="accepted"} 1`},
		{"ops liveness", ops, "/healthz", 200, "ok"},
		{"ops readiness", ops, "/readyz", 200, "ready"},
		{"ops has no dashboard", ops, "/dashboard", 404, ""},
		{"ops has no report", ops, "/api/report", 404, ""},
	}
	for _, tc := range tests {
		code, body := serve(tc.h, tc.path)
		if code != tc.code || !strings.Contains(body, tc.bodyHas) {
			t.Errorf("%s: %d %.200s", tc.name, code, body)
		}
	}
}

func TestForeignURLsAreRefused(t *testing.T) {
	x := newSecure(t)
	ctx := context.Background()
	base := map[string]any{"id": "e1", "type": "cart.updated", "occurred_at": time.Now().UTC().Format(time.RFC3339),
		"customer": map[string]any{"email": "ana@example.com"}}
	cart := func(recoveryURL string, items ...map[string]any) []byte {
		ev := map[string]any{}
		for k, v := range base {
			ev[k] = v
		}
		ev["cart"] = map[string]any{"id": "c1", "currency": "EUR", "total": "10.00", "recovery_url": recoveryURL, "items": items}
		b, _ := json.Marshal(ev)
		return b
	}
	item := func(u, img string) map[string]any {
		return map[string]any{"title": "Tee", "quantity": 1, "price": "10.00", "url": u, "image_url": img}
	}
	ok := item("https://shop.example/p/tee", "https://cdn.test/tee.png")
	tests := []struct {
		name  string
		body  []byte
		field string
	}{
		{"foreign recovery_url", cart("https://evil.com/cart"), "cart.recovery_url: "},
		{"look-alike recovery_url", cart("https://shop.example.evil.com/cart"), "cart.recovery_url: "},
		{"userinfo recovery_url", cart("https://shop.example@evil.com/cart"), "cart.recovery_url: "},
		{"http recovery_url", cart("http://shop.example/cart"), "cart.recovery_url: "},
		{"javascript recovery_url", cart("javascript:alert(1)"), "cart.recovery_url"},
		{"foreign item url", cart("https://shop.example/c", ok, ok, item("https://evil.com/p", "")), "cart.items[2].url: "},
		{"foreign image", cart("", ok, item("", "https://evil.com/x.png")), "cart.items[1].image_url: "},
	}
	before := x.dump()
	for _, tc := range tests {
		resp := x.do("POST", "/webhooks/generic", me, tc.body, genericHeaders(tc.body))
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != 400 || !strings.Contains(body["error"], tc.field) {
			t.Errorf("%s: %d %v, want 400 naming %s", tc.name, resp.StatusCode, body, tc.field)
		}
	}
	if after := x.dump(); after != before {
		t.Fatalf("refused webhooks changed Redis:\n%s", after)
	}
	if _, found, err := x.store.Load(ctx, "default", "c1"); err != nil || found {
		t.Fatalf("the cart exists after refused webhooks: %v %v", found, err)
	}
	// allowed: the store's host, a subdomain, store.allowed_hosts, no URL
	good := cart("https://www.shop.example/cart/c1?key=k", ok, item("", ""))
	if resp := x.do("POST", "/webhooks/generic", me, good, genericHeaders(good)); resp.StatusCode != 202 {
		t.Fatalf("allowed URLs: %d %s", resp.StatusCode, readAll(resp))
	}
	// an order is never refused over a URL: it must stop the cart
	order := []byte(fmt.Sprintf(`{"id":"o-e","type":"order.created","occurred_at":%q,"cart":{"id":"c1","recovery_url":"https://evil.com/"},"order":{"id":"o1","cart_id":"c1","total":"10.00","currency":"EUR"},"customer":{"email":"ana@example.com"}}`,
		time.Now().UTC().Format(time.RFC3339)))
	if resp := x.do("POST", "/webhooks/generic", me, order, genericHeaders(order)); resp.StatusCode != 202 {
		t.Fatalf("order with a foreign URL: %d %s", resp.StatusCode, readAll(resp))
	}
}

func TestShopifyURLPolicy(t *testing.T) {
	x := newSecure(t, func(s *server.Server) { s.Tenants.Load().Default.Shop.AllowedHosts = nil })
	ctx := context.Background()
	raw := fixture(t, "checkouts_create.json")
	for _, tc := range []struct {
		name, url string
		code      int
	}{
		{"sample's checkout.local host", "https://checkout.local/548380009/checkouts/123123123/recover?key=k", 400},
		{"another shop", "https://other.myshopify.com/548380009/checkouts/123123123/recover?key=k", 400},
		{"the shop's own domain", "https://test.myshopify.com/548380009/checkouts/123123123/recover?key=k", 202},
	} {
		body := []byte(strings.Replace(string(raw), "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token", tc.url, 1))
		resp := x.do("POST", "/webhooks/shopify", me, body, shopifyHeaders("checkouts/create", "w-"+tc.name, body))
		page := readAll(resp)
		if resp.StatusCode != tc.code || (tc.code == 400 && !strings.Contains(page, "abandoned_checkout_url")) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, page)
		}
	}
	if c, ok, _ := x.store.Load(ctx, "test.myshopify.com", "123123123"); !ok || !strings.HasPrefix(c.Cart.RecoveryURL, "https://test.myshopify.com/") {
		t.Fatalf("cart %+v", c.Cart)
	}
}

// A cart recorded before the policy (or under a wider one) keeps its URL in
// Redis; the click goes to store.url instead, and the log does not carry the
// URL's query.
func TestClickWithStoredForeignURL(t *testing.T) {
	x := newSecure(t)
	ctx := context.Background()
	for id, u := range map[string]string{"old": "https://evil.com/cart?key=secret-key", "good": "https://shop.example/cart/good?key=k"} {
		if _, err := x.store.Ingest(ctx, recovery.Event{ID: "e-" + id, Platform: "generic", Kind: recovery.CartUpdated, Store: "default",
			OccurredAt: time.Now().Add(-time.Minute), Cart: recovery.Cart{ID: id, RecoveryURL: u}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ cart, want string }{
		{"old", "https://shop.example"},
		{"good", "https://shop.example/cart/good?key=k"},
	} {
		lid, err := x.store.NewLink(ctx, recovery.MessageKey{Store: "default", Cart: tc.cart, Step: 0, Channel: "email"})
		if err != nil {
			t.Fatal(err)
		}
		resp := x.do("GET", "/r/"+x.links.ShortToken(lid, time.Now().Add(time.Hour)), me, nil, nil)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tc.want {
			t.Errorf("%s: %d %q, want %q", tc.cart, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
	}
	logs := x.logs.String()
	if !strings.Contains(logs, "recovery URL refused") || !strings.Contains(logs, "https://evil.com/cart") || strings.Contains(logs, "secret-key") {
		t.Fatalf("logs:\n%s", logs)
	}
}

func readAll(resp *http.Response) string {
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}
