package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/server"
	"github.com/cartrecovery/cartrecovery/tenant"
	"github.com/cartrecovery/cartrecovery/worker"
)

func TestMain(m *testing.M) { testredis.Main(m) }

const (
	shopifySecret = "shpss_test"
	genericSecret = "generic-test"
	wooSecret     = "woo-test"
)

type env struct {
	t     *testing.T
	rdb   *goredis.Client
	store *redis.Store
	url   string
	links *link.Signer
	// policy is the store's (o.Policies' for every store): the servers of
	// the env serve tenants with its playbook and rules
	policy *recovery.Policy
}

// tenants is a snapshot serving t for every store, with the env's rules,
// and its playbook unless t has one.
func (e *env) tenants(t tenant.Tenant) *tenant.Live {
	p := e.policy
	if len(t.Playbook.Steps) == 0 && len(t.Playbook.Segments) == 0 {
		t.Playbook = p.Playbook
	}
	return tenant.One(&t, tenant.Rules{HoldoutPercent: p.HoldoutPercent, Window: p.Window, Cooldown: p.Cooldown, MaxCartAge: p.MaxCartAge})
}

func newEnv(t *testing.T, opts ...func(*redis.Options)) *env {
	t.Helper()
	rdb := testredis.Client(t)
	o := redis.Options{Prefix: "t:", Policies: recovery.NamedSequence([]string{"first-reminder", "second-reminder"}, []time.Duration{time.Hour, 24 * time.Hour}...)}
	for _, f := range opts {
		f(&o)
	}
	store := redis.NewStore(rdb, o)
	links := link.New([]byte("0123456789abcdef0123456789abcdef"))
	e := &env{t: t, rdb: rdb, store: store, links: links, policy: o.Policies.Policy("")}
	s := &server.Server{Store: store, Links: links, Tenants: e.tenants(tenant.Tenant{
		Secrets: map[string]string{"shopify": shopifySecret, "generic": genericSecret, "woocommerce": wooSecret, "bigcommerce": "bc-test"},
		Shop:    recovery.Shop{Name: "Test Shop", URL: "https://shop.example", AllowedHosts: []string{"checkout.local"}}}),
		Ready: func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil))}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

type reply struct {
	Code int
	Body map[string]string
}

func (e *env) post(path string, header map[string]string, body []byte) reply {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(string(body)))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reply
	r.Code = resp.StatusCode
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r.Body); err != nil {
		e.t.Fatalf("reply is not JSON: %q", raw)
	}
	return r
}

// wooOrder is WooCommerce's documented order with a status and a
// modification time.
func wooOrder(t *testing.T, status string, modified time.Time) []byte {
	t.Helper()
	b, err := os.ReadFile("../platform/woocommerce/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `"status": "processing"`, `"status": "`+status+`"`, 1)
	s = strings.Replace(s, `"date_modified_gmt": "2017-03-22T19:28:08"`, `"date_modified_gmt": "`+modified.UTC().Format("2006-01-02T15:04:05")+`"`, 1)
	return []byte(s)
}

func bcHeaders(body []byte, at time.Time) map[string]string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return map[string]string{"webhook-id": "m1", "webhook-timestamp": ts, "webhook-signature": bigcommerce.Sign("m1", ts, body, "bc-test")}
}

func wooHeaders(body []byte, topic, secret string) map[string]string {
	return map[string]string{"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Source": "https://woo.example/",
		"X-WC-Webhook-Signature": woocommerce.Sign(body, secret), "Content-Type": "application/json",
		"X-WC-Webhook-Delivery-ID": strconv.FormatInt(time.Now().UnixNano(), 10)}
}

// WooCommerce end to end through the endpoint: the creation ping, an open
// order scheduled with its order-pay link, created and updated of the same
// change as one event, payment ending the sequence, other topics ignored.
func TestWooCommerceWebhooks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := e.dump()
	if r := e.post("/webhooks/woocommerce", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte("webhook_id=7")); r.Code != 200 || r.Body["status"] != "ok" {
		t.Fatalf("ping: %+v", r)
	}
	if after := e.dump(); after != before {
		t.Fatalf("the ping changed Redis:\n%s", after)
	}
	at := time.Now().Add(-time.Minute)
	open := wooOrder(t, "checkout-draft", at)
	if r := e.post("/webhooks/woocommerce", wooHeaders(open, "order.updated", wooSecret), open); r.Code != 202 || r.Body["status"] != "accepted" {
		t.Fatalf("draft: %+v", r)
	}
	pending := wooOrder(t, "pending", at)
	if r := e.post("/webhooks/woocommerce", wooHeaders(pending, "order.created", wooSecret), pending); r.Code != 202 {
		t.Fatalf("pending: %+v", r)
	}
	// WooCommerce sends order.updated beside order.created for the same change
	if r := e.post("/webhooks/woocommerce", wooHeaders(pending, "order.updated", wooSecret), pending); r.Code != 200 || r.Body["status"] != "duplicate" {
		t.Fatalf("the same change twice: %+v", r)
	}
	c, ok, _ := e.store.Load(ctx, "woo.example", "727")
	if !ok || c.State != recovery.StateActive || c.Cart.RecoveryURL != "https://woo.example/checkout/order-pay/727/?pay_for_order=true&key=wc_order_58d2d042d1d" {
		t.Fatalf("cart %+v", c)
	}
	if _, ok, _ := e.store.NextDue(ctx, "woo.example", "727"); !ok {
		t.Fatal("open order not scheduled")
	}
	if r := e.post("/webhooks/woocommerce", wooHeaders(pending, "coupon.created", wooSecret), pending); r.Code != 202 || r.Body["status"] != "ignored" {
		t.Fatalf("other topic: %+v", r)
	}
	paid := wooOrder(t, "processing", at.Add(30*time.Second))
	if r := e.post("/webhooks/woocommerce", wooHeaders(paid, "order.updated", wooSecret), paid); r.Code != 202 {
		t.Fatalf("processing: %+v", r)
	}
	if c, _, _ := e.store.Load(ctx, "woo.example", "727"); c.State != recovery.StateOrdered || c.OrderTotal != "29.35" {
		t.Fatalf("after payment: %+v", c)
	}
	if _, ok, _ := e.store.NextDue(ctx, "woo.example", "727"); ok {
		t.Fatal("a paid order is still scheduled")
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../platform/shopify/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func shopifyHeaders(topic, id string, body []byte) map[string]string {
	return map[string]string{"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": id,
		"X-Shopify-Shop-Domain": "test.myshopify.com", "X-Shopify-Hmac-Sha256": shopify.Sign(body, shopifySecret)}
}

func genericBody(id, typ, cart string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"type":%q,"occurred_at":%q,"cart":{"id":%q,"currency":"EUR","total":"59.90","items":[{"title":"Tee","quantity":2,"price":"29.95"}]},"customer":{"email":"ana@example.com","email_consent":true},"order":{"id":"o1","total":"59.90","currency":"EUR"}}`,
		id, typ, at.UTC().Format(time.RFC3339), cart))
}

func genericHeaders(body []byte) map[string]string {
	return map[string]string{"X-Cartrecovery-Signature": generic.Sign(body, genericSecret)}
}

// dump returns every key and value in the test's database, to prove a
// rejected request changed nothing.
func (e *env) dump() string {
	ctx := context.Background()
	keys, _ := e.rdb.Keys(ctx, "*").Result()
	var b strings.Builder
	for _, k := range keys {
		v, _ := e.rdb.Dump(ctx, k).Result()
		fmt.Fprintf(&b, "%s=%x\n", k, v)
	}
	return b.String()
}

func TestShopifyFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := fixture(t, "checkouts_create.json")
	if r := e.post("/webhooks/shopify", shopifyHeaders("checkouts/create", "w1", body), body); r.Code != 202 || r.Body["status"] != "accepted" {
		t.Fatalf("create: %+v", r)
	}
	if r := e.post("/webhooks/shopify", shopifyHeaders("checkouts/create", "w1", body), body); r.Code != 200 || r.Body["status"] != "duplicate" {
		t.Fatalf("redelivery: %+v", r)
	}
	// the same event delivered to a second subscription: new webhook id,
	// same X-Shopify-Event-Id
	h := shopifyHeaders("checkouts/create", "w1b", body)
	h["X-Shopify-Event-Id"] = "evt-1"
	if r := e.post("/webhooks/shopify", h, body); r.Code != 202 || r.Body["status"] == "duplicate" {
		t.Fatalf("first with event id: %+v", r)
	}
	h["X-Shopify-Webhook-Id"] = "w1c"
	if r := e.post("/webhooks/shopify", h, body); r.Code != 200 || r.Body["status"] != "duplicate" {
		t.Fatalf("same event id, new webhook id: %+v", r)
	}
	h["X-Shopify-Event-Id"] = strings.Repeat("9", 201)
	if r := e.post("/webhooks/shopify", h, body); r.Code != 400 || !strings.Contains(r.Body["error"], "X-Shopify-Event-Id") {
		t.Fatalf("bad event id: %+v", r)
	}
	c, ok, err := e.store.Load(ctx, "test.myshopify.com", "123123123")
	if err != nil || !ok || c.State != recovery.StateActive || c.Cart.Total != "421.88" {
		t.Fatalf("cart: %+v %v %v", c, ok, err)
	}
	if _, ok, _ := e.store.NextDue(ctx, "test.myshopify.com", "123123123"); !ok {
		t.Fatal("cart not scheduled")
	}
	// checkouts/delete carries only id and cart_token
	del := fixture(t, "checkouts_delete.json")
	if r := e.post("/webhooks/shopify", shopifyHeaders("checkouts/delete", "w2", del), del); r.Code != 202 || r.Body["status"] != "accepted" {
		t.Fatalf("delete: %+v", r)
	}
	if c, _, _ := e.store.Load(ctx, "test.myshopify.com", "123123123"); c.State != recovery.StateDeleted {
		t.Fatalf("state after delete %q", c.State)
	}
	// unknown topics are acknowledged and ignored
	cart := fixture(t, "carts_create.json")
	if r := e.post("/webhooks/shopify", shopifyHeaders("carts/create", "w3", cart), cart); r.Code != 202 || r.Body["status"] != "ignored" {
		t.Fatalf("carts/create: %+v", r)
	}
}

func TestShopifyOrderStopsCheckoutByCartToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := fixture(t, "checkouts_create.json")
	e.post("/webhooks/shopify", shopifyHeaders("checkouts/create", "w1", body), body)
	// the sample order has no checkout_token; give it the checkout's cart_token
	var order map[string]any
	_ = json.Unmarshal(fixture(t, "orders_create.json"), &order)
	order["cart_token"] = "eeafa272cebfd4b22385bc4b645e762c"
	ob, _ := json.Marshal(order)
	if r := e.post("/webhooks/shopify", shopifyHeaders("orders/create", "w2", ob), ob); r.Code != 202 {
		t.Fatalf("order: %+v", r)
	}
	c, _, _ := e.store.Load(ctx, "test.myshopify.com", "123123123")
	if c.State != recovery.StateOrdered {
		t.Fatalf("state %q after order", c.State)
	}
	if _, ok, _ := e.store.NextDue(ctx, "test.myshopify.com", "123123123"); ok {
		t.Fatal("ordered cart still scheduled")
	}
	// a checkouts/update that arrives after the order does not revive it
	upd := []byte(strings.Replace(string(fixture(t, "checkouts_update.json")), "2021-12-31T19:00:00-05:00", "2022-01-01T19:00:00-05:00", -1))
	if r := e.post("/webhooks/shopify", shopifyHeaders("checkouts/update", "w3", upd), upd); r.Code != 202 || r.Body["status"] != "ignored" {
		t.Fatalf("late update: %+v", r)
	}
	if c, _, _ := e.store.Load(ctx, "test.myshopify.com", "123123123"); c.State != recovery.StateOrdered {
		t.Fatalf("late update revived the cart: %q", c.State)
	}
}

func TestGenericStaleAndOutOfOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	b := genericBody("e2", "cart.updated", "c1", t0)
	if r := e.post("/webhooks/generic", genericHeaders(b), b); r.Code != 202 {
		t.Fatalf("update: %+v", r)
	}
	old := genericBody("e1", "cart.updated", "c1", t0.Add(-time.Minute))
	if r := e.post("/webhooks/generic", genericHeaders(old), old); r.Code != 202 || r.Body["status"] != "ignored" {
		t.Fatalf("stale update: %+v", r)
	}
	if d, _, _ := e.store.NextDue(ctx, "default", "c1"); !d.Equal(t0.Add(time.Hour)) {
		t.Fatalf("stale update moved the schedule to %v", d)
	}
	// order first, then the cart's create: the cart is never scheduled
	o := genericBody("e3", "order.created", "c2", t0)
	e.post("/webhooks/generic", genericHeaders(o), o)
	late := genericBody("e4", "cart.updated", "c2", t0.Add(-time.Second))
	if r := e.post("/webhooks/generic", genericHeaders(late), late); r.Body["status"] != "ignored" {
		t.Fatalf("create after order: %+v", r)
	}
	if _, ok, _ := e.store.NextDue(ctx, "default", "c2"); ok {
		t.Fatal("cart created after its order was scheduled")
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	good := genericBody("e1", "cart.updated", "c1", time.Now())
	shop := fixture(t, "checkouts_create.json")
	woo := wooOrder(t, "pending", time.Now())
	bc := []byte(`{"scope":"store/cart/created","store_id":"1","data":{"type":"cart","id":"c-1"},"hash":"h1","created_at":1795770000,"producer":"stores/abc123"}`)
	bcNoProducer := []byte(`{"scope":"store/cart/created","data":{"type":"cart","id":"c-1"},"hash":"h2"}`)
	big := make([]byte, server.MaxBody+1)
	for i := range big {
		big[i] = ' '
	}
	tests := []struct {
		name   string
		path   string
		header map[string]string
		body   []byte
		code   int
		errHas string
	}{
		{"generic no signature", "/webhooks/generic", nil, good, 401, ""},
		{"generic wrong signature", "/webhooks/generic", map[string]string{"X-Cartrecovery-Signature": generic.Sign(good, "other")}, good, 401, ""},
		{"generic signature of other body", "/webhooks/generic", genericHeaders([]byte("{}")), good, 401, ""},
		{"generic malformed json", "/webhooks/generic", genericHeaders([]byte(`{"id":`)), []byte(`{"id":`), 400, "body"},
		{"generic missing cart id", "/webhooks/generic", genericHeaders([]byte(`{"id":"x","type":"cart.updated","occurred_at":"2026-11-22T10:00:00Z","cart":{}}`)),
			[]byte(`{"id":"x","type":"cart.updated","occurred_at":"2026-11-22T10:00:00Z","cart":{}}`), 400, "cart.id"},
		{"generic float amount", "/webhooks/generic", genericHeaders([]byte(`{"id":"x","type":"cart.updated","occurred_at":"2026-11-22T10:00:00Z","cart":{"id":"c","total":59.9}}`)),
			[]byte(`{"id":"x","type":"cart.updated","occurred_at":"2026-11-22T10:00:00Z","cart":{"id":"c","total":59.9}}`), 400, "cart.total"},
		{"body over 1 MiB", "/webhooks/generic", genericHeaders(big), big, 413, ""},
		{"shopify bad hmac", "/webhooks/shopify", map[string]string{"X-Shopify-Topic": "checkouts/create", "X-Shopify-Webhook-Id": "w", "X-Shopify-Hmac-Sha256": "AAAA"}, shop, 401, ""},
		{"shopify missing webhook id", "/webhooks/shopify", map[string]string{"X-Shopify-Topic": "checkouts/create", "X-Shopify-Hmac-Sha256": shopify.Sign(shop, shopifySecret)}, shop, 400, "X-Shopify-Webhook-Id"},
		{"shopify bad shop domain", "/webhooks/shopify", map[string]string{"X-Shopify-Topic": "checkouts/create", "X-Shopify-Webhook-Id": "w", "X-Shopify-Shop-Domain": "a/b", "X-Shopify-Hmac-Sha256": shopify.Sign(shop, shopifySecret)}, shop, 400, "X-Shopify-Shop-Domain"},
		{"woocommerce unsigned order", "/webhooks/woocommerce", map[string]string{"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Source": "https://woo.example/"}, woo, 401, ""},
		{"woocommerce wrong signature", "/webhooks/woocommerce", wooHeaders(woo, "order.updated", "other"), woo, 401, ""},
		{"woocommerce unsigned ping with more", "/webhooks/woocommerce", nil, []byte("webhook_id=1&x=2"), 401, ""},
		{"woocommerce bad source", "/webhooks/woocommerce", map[string]string{"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Source": "ftp://woo.example/",
			"X-WC-Webhook-Signature": woocommerce.Sign(woo, wooSecret)}, woo, 400, "X-WC-Webhook-Source"},
		{"bigcommerce unsigned", "/webhooks/bigcommerce", map[string]string{"webhook-id": "m1", "webhook-timestamp": strconv.FormatInt(time.Now().Unix(), 10)}, bc, 401, ""},
		{"bigcommerce replayed an hour later", "/webhooks/bigcommerce", bcHeaders(bc, time.Now().Add(-time.Hour)), bc, 401, "webhook-timestamp"},
		{"bigcommerce signed by another secret", "/webhooks/bigcommerce", map[string]string{"webhook-id": "m1", "webhook-timestamp": strconv.FormatInt(time.Now().Unix(), 10),
			"webhook-signature": bigcommerce.Sign("m1", strconv.FormatInt(time.Now().Unix(), 10), bc, "other")}, bc, 401, ""},
		{"bigcommerce no producer", "/webhooks/bigcommerce", bcHeaders(bcNoProducer, time.Now()), bcNoProducer, 400, "producer"},
		{"unknown platform", "/webhooks/magento", nil, good, 404, "(supported: shopify, woocommerce, bigcommerce, generic)"},
		{"unknown path", "/nope", nil, good, 404, ""},
	}
	before := e.dump()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(tc.path, tc.header, tc.body)
			if r.Code != tc.code || r.Body["error"] == "" {
				t.Fatalf("got %d %v, want %d with an error", r.Code, r.Body, tc.code)
			}
			if !strings.Contains(r.Body["error"], tc.errHas) {
				t.Fatalf("error %q does not name %q", r.Body["error"], tc.errHas)
			}
		})
	}
	if after := e.dump(); after != before {
		t.Fatalf("rejected requests changed Redis:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestUnsubscribe(t *testing.T) {
	e := newEnv(t)
	tok := worker.UnsubscribeToken(e.links, "default", "email", "ana@example.com")
	resp, err := http.Get(e.url + "/unsubscribe/" + tok)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<form method=\"post\"") {
		t.Fatalf("confirm page: %d %s", resp.StatusCode, page)
	}
	if sup, _ := e.store.Suppressed(context.Background(), "default", "email", recovery.ContactHash("ana@example.com")); sup {
		t.Fatal("GET unsubscribed (mail scanners follow links)")
	}
	// RFC 8058 one-click
	resp, err = http.PostForm(e.url+"/unsubscribe/"+tok, url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click: %d", resp.StatusCode)
	}
	if sup, _ := e.store.Suppressed(context.Background(), "default", "email", recovery.ContactHash("ana@example.com")); !sup {
		t.Fatal("not unsubscribed")
	}
	resp, _ = http.Get(e.url + "/unsubscribe/" + tok[:len(tok)-3] + "xyz")
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(page), "https://shop.example") {
		t.Fatalf("tampered token: %d %s", resp.StatusCode, page)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready"} {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		var b map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&b)
		resp.Body.Close()
		if resp.StatusCode != 200 || b["status"] != want {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, b)
		}
	}
	good := genericBody("e1", "cart.updated", "c1", time.Now())
	e.post("/webhooks/generic", genericHeaders(good), good)
	resp, _ := http.Get(e.url + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `cartrecovery_webhooks_total{platform="generic",result="accepted"} 1`) {
		t.Fatalf("metrics missing the webhook counter:\n%s", m)
	}
}

// counter counts the commands and pipelines a client sends.
type counter struct {
	mu   sync.Mutex
	cmds []string
}

func (c *counter) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (c *counter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		c.mu.Lock()
		c.cmds = append(c.cmds, cmd.Name())
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.mu.Lock()
		c.cmds = append(c.cmds, "pipeline")
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

// TestUpdateIsOneRoundTrip: a cart update costs one Redis command from the
// service (one EVALSHA), whatever the cart's history.
func TestUpdateIsOneRoundTrip(t *testing.T) {
	e := newEnv(t)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := 0; i < 3; i++ { // warm: the scripts are loaded, the cart exists
		b := genericBody(fmt.Sprint("w", i), "cart.updated", "c1", t0.Add(time.Duration(i)*time.Second))
		e.post("/webhooks/generic", genericHeaders(b), b)
	}
	c := &counter{}
	e.rdb.AddHook(c)
	b := genericBody("w9", "cart.updated", "c1", t0.Add(time.Minute))
	if r := e.post("/webhooks/generic", genericHeaders(b), b); r.Code != 202 {
		t.Fatalf("%+v", r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cmds) != 1 || c.cmds[0] != "evalsha" {
		t.Fatalf("an update sent %v to Redis, want exactly one evalsha", c.cmds)
	}
}

func TestReadyzWhenRedisIsDown(t *testing.T) {
	down := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	store := redis.NewStore(down, redis.Options{Prefix: "t:", Policies: recovery.SequenceOf(time.Hour)})
	s := &server.Server{Store: store, Links: link.New([]byte("0123456789abcdef0123456789abcdef")),
		Tenants: tenant.One(&tenant.Tenant{Secrets: map[string]string{"generic": genericSecret},
			Playbook: recovery.Playbook{Steps: []recovery.Step{{Delay: time.Hour}}}}, tenant.Rules{}),
		Ready: func(ctx context.Context) error { return down.Ping(ctx).Err() },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil))}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz %d", resp.StatusCode)
	}
	// a webhook that cannot be recorded is not acknowledged: 503, so the
	// platform retries
	b := genericBody("x", "cart.updated", "c1", time.Now())
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/webhooks/generic", strings.NewReader(string(b)))
	req.Header.Set("X-Cartrecovery-Signature", generic.Sign(b, genericSecret))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("webhook with Redis down: %d, want 503", resp.StatusCode)
	}
}

func adminEnv(t *testing.T, token string, opts ...func(*redis.Options)) (*env, *server.Server) {
	t.Helper()
	e := newEnv(t, opts...)
	st := []recovery.Step{{Name: "first-reminder", Delay: time.Hour, Channels: []recovery.Channel{"email"}},
		{Name: "second-reminder", Delay: 24 * time.Hour, Channels: []recovery.Channel{"email"}, Discount: recovery.Discount{Code: "COMEBACK10"}}}
	s := &server.Server{Store: e.store, Links: e.links, AdminToken: token, Tenants: e.tenants(tenant.Tenant{
		Playbook: recovery.Playbook{Steps: st}, Secrets: map[string]string{"generic": genericSecret, "shopify": shopifySecret},
		Shop: recovery.Shop{Name: "Test Shop", URL: "https://shop.example", AllowedHosts: []string{"checkout.local"}}}),
		Ready: func(ctx context.Context) error { return nil },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil))}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e, s
}

func get(t *testing.T, url, token string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func TestClickThrough(t *testing.T) {
	e, _ := adminEnv(t, "")
	ctx := context.Background()
	body := fixture(t, "checkouts_create.json")
	e.post("/webhooks/shopify", shopifyHeaders("checkouts/create", "w1", body), body)
	mk := func(step int) string {
		id, err := e.store.NewLink(ctx, recovery.MessageKey{Store: "test.myshopify.com", Cart: "123123123", Step: step, Channel: "email"})
		if err != nil {
			t.Fatal(err)
		}
		return e.links.ShortToken(id, time.Now().Add(time.Hour))
	}
	code, _, h := get(t, e.url+"/r/"+mk(0), "")
	if code != http.StatusFound || h.Get("Location") != "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token" {
		t.Fatalf("step 1 click: %d %q", code, h.Get("Location"))
	}
	// a step with a discount goes through Shopify's discount URL
	code, _, h = get(t, e.url+"/r/"+mk(1), "")
	want := "https://checkout.local/discount/COMEBACK10?redirect=%2F548380009%2Fcheckouts%2F123123123%2Frecover%3Fkey%3Dexample-secret-token"
	if code != http.StatusFound || h.Get("Location") != want {
		t.Fatalf("discount click: %d %q", code, h.Get("Location"))
	}
	c, _, _ := e.store.Load(ctx, "test.myshopify.com", "123123123")
	if len(c.Clicks) != 2 || c.Clicks[recovery.Slot{Step: 0, Channel: "email"}].IsZero() {
		t.Fatalf("clicks %v", c.Clicks)
	}
	// a unique code made for the cart's step is applied once registered
	uc, _, err := e.store.CodeFor(ctx, c, 0, "a", "BACK-", 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, h = get(t, e.url+"/r/"+mk(0), ""); strings.Contains(h.Get("Location"), "/discount/") {
		t.Fatalf("a code not registered with Shopify was applied: %d %q", code, h.Get("Location"))
	}
	if ok, err := e.store.CodeRegistered(ctx, c, 0, "a", uc); err != nil || !ok {
		t.Fatalf("registered: %v %v", ok, err)
	}
	code, _, h = get(t, e.url+"/r/"+mk(0), "")
	if want := "https://checkout.local/discount/" + uc.Code + "?redirect="; code != http.StatusFound || !strings.HasPrefix(h.Get("Location"), want) {
		t.Fatalf("unique code click: %d %q, want %s…", code, h.Get("Location"), want)
	}
	tok := mk(0)
	for name, bad := range map[string]string{
		"tampered": tok[:5] + strings.Map(func(r rune) rune { return r ^ 1 }, tok[5:6]) + tok[6:],
		"garbage":  "not-a-token",
		"expired":  e.links.ShortToken([8]byte{1}, time.Now().Add(-time.Minute)),
	} {
		code, page, _ := get(t, e.url+"/r/"+bad, "")
		if code != http.StatusNotFound || !strings.Contains(string(page), `href="https://shop.example"`) || strings.Contains(string(page), "error") {
			t.Errorf("%s: %d %s", name, code, page)
		}
	}
}

func TestAdminAuth(t *testing.T) {
	e, _ := adminEnv(t, "")
	if code, body, _ := get(t, e.url+"/api/report", "anything"); code != 404 || !strings.Contains(string(body), "admin_token") {
		t.Fatalf("no token configured: %d %s", code, body)
	}
	e, _ = adminEnv(t, "0123456789abcdef-token")
	for _, tok := range []string{"", "wrong", "0123456789abcdef-toke"} {
		if code, _, _ := get(t, e.url+"/api/report", tok); code != 401 {
			t.Fatalf("token %q: %d", tok, code)
		}
	}
	if code, _, _ := get(t, e.url+"/api/report", "0123456789abcdef-token"); code != 200 {
		t.Fatalf("right token: %d", code)
	}
	for _, q := range []string{"since=abc", "by=color", "from=2026-13-01", "from=2026-11-10&to=2026-11-01"} {
		code, body, _ := get(t, e.url+"/api/report?"+q, "0123456789abcdef-token")
		if code != 400 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
}

func TestReportAndTimelineAPI(t *testing.T) {
	tok := "0123456789abcdef-token"
	e, _ := adminEnv(t, tok)
	ctx := context.Background()
	b := genericBody("e1", "cart.updated", "c1", time.Now().Add(-2*time.Hour))
	e.post("/webhooks/generic", genericHeaders(b), b)
	c, _, _ := e.store.Load(ctx, "default", "c1")
	if r, _ := e.store.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "email"}, c.Gen, c.Email(), ""); r != recovery.ClaimOK {
		t.Fatal(r)
	}
	_ = e.store.Finish(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "email"}, "", recovery.OutcomeSent, "")
	_ = e.store.Advance(ctx, "default", "c1", "", 0)
	o := genericBody("e2", "order.created", "c1", time.Now())
	e.post("/webhooks/generic", genericHeaders(o), o)

	code, body, _ := get(t, e.url+"/api/report?since=7d&by=step", tok)
	var rep struct {
		From, To, By string
		Totals       map[string]any
		Rows         []map[string]any
	}
	if err := json.Unmarshal(body, &rep); code != 200 || err != nil {
		t.Fatalf("%d %v %s", code, err, body)
	}
	for _, k := range []string{"carts", "abandoned", "reminded", "recovered", "recovery_rate", "recovered_revenue"} {
		if _, ok := rep.Totals[k]; !ok {
			t.Errorf("totals lack %q: %s", k, body)
		}
	}
	if rep.By != "step" || rep.Totals["recovered"] != 1.0 || rep.Totals["recovery_rate"] != 1.0 ||
		rep.Totals["recovered_revenue"].(map[string]any)["EUR"] != "59.90" || rep.Rows[0]["key"] != "first-reminder" || rep.Rows[0]["sent"] != 1.0 {
		t.Fatalf("report %s", body)
	}
	code, body, h := get(t, e.url+"/api/report?since=7d&by=channel&format=csv", tok)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(string(body), "email,1,0,0,0,1,59.90 EUR,0") {
		t.Fatalf("csv %d %s", code, body)
	}
	code, body, _ = get(t, e.url+"/api/carts/default/c1", tok)
	var tl server.Timeline
	if err := json.Unmarshal(body, &tl); code != 200 || err != nil {
		t.Fatalf("%d %v %s", code, err, body)
	}
	types := []string{}
	for _, ev := range tl.Events {
		types = append(types, ev.Type)
	}
	if tl.Outcome != "recovered|first-reminder|email|a" || strings.Join(types, ",") != "cart.last_activity,cart.abandoned,cart.first_seen,message.sent,order.created" {
		t.Fatalf("timeline %s", body)
	}
	if code, _, _ := get(t, e.url+"/api/carts/default/nope", tok); code != 404 {
		t.Fatalf("unknown cart: %d", code)
	}
}

// A click on a variant's link is counted under that variant and redirects
// through that variant's discount.
func TestClickThroughVariant(t *testing.T) {
	const tok = "0123456789abcdef-token"
	e, s := adminEnv(t, tok)
	s.Tenants.Load().Default.Playbook.Steps[0].Variants = []recovery.Variant{{Name: "b", Template: "last-chance", Weight: 50, Discount: recovery.Discount{Code: "BTEST"}}}
	ctx := context.Background()
	body := fixture(t, "checkouts_create.json")
	e.post("/webhooks/shopify", shopifyHeaders("checkouts/create", "w1", body), body)
	id, err := e.store.NewLink(ctx, recovery.MessageKey{Store: "test.myshopify.com", Cart: "123123123", Step: 0, Channel: "email", Variant: "b"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, h := get(t, e.url+"/r/"+e.links.ShortToken(id, time.Now().Add(time.Hour)), "")
	if code != http.StatusFound || !strings.Contains(h.Get("Location"), "/discount/BTEST?redirect=") {
		t.Fatalf("variant click: %d %q", code, h.Get("Location"))
	}
	day := time.Now().UTC().Format(time.DateOnly)
	c, err := e.store.Counters(ctx, []string{"test.myshopify.com"}, []string{day})
	if err != nil {
		t.Fatal(err)
	}
	f := c["test.myshopify.com"][day]
	clicked := func(v string) int64 {
		return f[recovery.Counter{Kind: recovery.CountClicked, Step: "first-reminder", Channel: "email", Variant: v}]
	}
	if clicked("b") != 1 || clicked("a") != 0 {
		t.Errorf("counters %v", f)
	}
	// the timeline names the variant of a step that has variants
	cs, _, _ := e.store.Load(ctx, "test.myshopify.com", "123123123")
	if r, _ := e.store.Claim(ctx, recovery.MessageKey{Store: "test.myshopify.com", Cart: "123123123", Step: 0, Channel: "email"}, cs.Gen, cs.Email(), ""); r != recovery.ClaimOK {
		t.Fatal(r)
	}
	_ = e.store.Finish(ctx, recovery.MessageKey{Store: "test.myshopify.com", Cart: "123123123", Step: 0, Channel: "email"}, "", recovery.OutcomeSent, "")
	_, body, _ = get(t, e.url+"/api/carts/test.myshopify.com/123123123", tok)
	want := "0:email (variant " + s.Tenants.Load().Default.Playbook.Steps[0].PickVariant("test.myshopify.com", "123123123").Name + ")"
	if !strings.Contains(string(body), want) {
		t.Errorf("timeline lacks %q: %s", want, body)
	}
}
