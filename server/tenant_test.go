package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/server"
	"github.com/cartrecovery/cartrecovery/tenant"
)

// storesEnv is a server with two stores configured on their own, each with
// its own secrets, and no catch-all.
func storesEnv(t *testing.T, strict bool) *env {
	t.Helper()
	rdb := testredis.Client(t)
	store := redis.NewStore(rdb, redis.Options{Prefix: "t:", Policies: recovery.NamedSequence([]string{"first"}, []time.Duration{time.Hour}...)})
	links := link.New([]byte("0123456789abcdef0123456789abcdef"))
	shop := func(name string) recovery.Shop {
		return recovery.Shop{Name: name, URL: "https://" + strings.ToLower(name) + ".example", AllowedHosts: []string{"checkout.local"}}
	}
	pb := recovery.Playbook{Steps: []recovery.Step{{Name: "first", Delay: time.Hour}}}
	s := &server.Server{Store: store, Links: links, Tenants: tenant.NewLive(tenant.New(tenant.Set{
		Default: &tenant.Tenant{Playbook: pb, Shop: shop("Top"),
			Secrets: map[string]string{"shopify": "top-shopify", "generic": "top-generic", "woocommerce": "top-woo", "bigcommerce": "top-bc"}},
		Stores: map[string]*tenant.Tenant{
			"a.myshopify.com": {Playbook: pb, Shop: shop("A"), Secrets: map[string]string{"shopify": "secret-a"}},
			"b.myshopify.com": {Playbook: pb, Shop: shop("B"), Secrets: map[string]string{"shopify": "secret-b"}},
			"woo-a.example":   {Playbook: pb, Shop: shop("WA"), Secrets: map[string]string{"woocommerce": "woo-a"}},
			"hash1":           {Playbook: pb, Shop: shop("BC"), Secrets: map[string]string{"bigcommerce": "bc-1"}},
			"gen-a":           {Playbook: pb, Shop: shop("GA"), Secrets: map[string]string{"generic": "gen-a"}},
		},
		Strict: strict})),
		Ready: func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil))}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, rdb: rdb, store: store, url: ts.URL, links: links}
}

// TestSecretsPerStore: every platform's webhook is verified with the
// secret of the store it names; another store's signature, or the top
// level's, is refused (401) and changes nothing; a store not configured
// gets 404 naming it when stores are listed without a catch-all, and the
// top level's secrets otherwise.
func TestSecretsPerStore(t *testing.T) {
	now := time.Now().UTC()
	checkout := fixture(t, "checkouts_create.json")
	shopify := func(shop, secret string) (string, map[string]string, []byte) {
		return "/webhooks/shopify", map[string]string{"X-Shopify-Topic": "checkouts/create", "X-Shopify-Webhook-Id": "w-" + shop + secret,
			"X-Shopify-Shop-Domain": shop, "X-Shopify-Hmac-Sha256": shopify.Sign(checkout, secret)}, checkout
	}
	woo := func(source, secret string) (string, map[string]string, []byte) {
		body := wooOrder(t, "pending", now)
		h := wooHeaders(body, "order.updated", secret)
		h["X-WC-Webhook-Source"] = source
		return "/webhooks/woocommerce", h, body
	}
	bc := func(hash, secret string) (string, map[string]string, []byte) {
		body := []byte(fmt.Sprintf(`{"created_at":%d,"store_id":"1","producer":"stores/%s","scope":"store/cart/created","hash":"x","data":{"type":"cart","id":"bc-%s"}}`,
			now.Unix(), hash, secret))
		ts := strconv.FormatInt(now.Unix(), 10)
		return "/webhooks/bigcommerce", map[string]string{"webhook-id": "m-" + hash + secret, "webhook-timestamp": ts,
			"webhook-signature": bigcommerce.Sign("m-"+hash+secret, ts, body, secret)}, body
	}
	gen := func(store, secret string) (string, map[string]string, []byte) {
		body := []byte(strings.Replace(string(genericBody("g-"+store+secret, "cart.updated", "c-"+secret, now)), `"type"`, `"store":"`+store+`","type"`, 1))
		return "/webhooks/generic", map[string]string{"X-Cartrecovery-Signature": generic.Sign(body, secret)}, body
	}
	type call func() (string, map[string]string, []byte)
	cases := []struct {
		name   string
		strict bool
		req    call
		want   int
	}{
		{"shopify own secret", true, func() (string, map[string]string, []byte) { return shopify("a.myshopify.com", "secret-a") }, 202},
		{"shopify other store's secret", true, func() (string, map[string]string, []byte) { return shopify("a.myshopify.com", "secret-b") }, 401},
		{"shopify top-level secret for a store with its own", true, func() (string, map[string]string, []byte) { return shopify("b.myshopify.com", "top-shopify") }, 401},
		{"shopify store not configured", true, func() (string, map[string]string, []byte) { return shopify("c.myshopify.com", "secret-a") }, 404},
		{"shopify store not listed, no strict: top level", false, func() (string, map[string]string, []byte) { return shopify("c.myshopify.com", "top-shopify") }, 202},
		{"woocommerce own secret", true, func() (string, map[string]string, []byte) { return woo("https://woo-a.example/", "woo-a") }, 202},
		{"woocommerce top-level secret", true, func() (string, map[string]string, []byte) { return woo("https://woo-a.example/", "top-woo") }, 401},
		{"woocommerce store not configured", true, func() (string, map[string]string, []byte) { return woo("https://woo-b.example/", "woo-a") }, 404},
		{"bigcommerce own secret", true, func() (string, map[string]string, []byte) { return bc("hash1", "bc-1") }, 202},
		{"bigcommerce top-level secret", true, func() (string, map[string]string, []byte) { return bc("hash1", "top-bc") }, 401},
		{"bigcommerce store not configured", true, func() (string, map[string]string, []byte) { return bc("hash2", "bc-1") }, 404},
		{"generic own secret", true, func() (string, map[string]string, []byte) { return gen("gen-a", "gen-a") }, 202},
		{"generic another store's secret", true, func() (string, map[string]string, []byte) { return gen("gen-a", "top-generic") }, 401},
		{"generic store not configured", true, func() (string, map[string]string, []byte) { return gen("gen-b", "gen-a") }, 404},
		{"generic default store refused when strict", true, func() (string, map[string]string, []byte) { return gen("default", "top-generic") }, 404},
		{"generic default store, not strict", false, func() (string, map[string]string, []byte) { return gen("default", "top-generic") }, 202},
		// a field of the wrong type must not make the store unreadable and
		// the default's secret accepted for a store that has its own
		{"generic store with a producer number, top-level secret", true, func() (string, map[string]string, []byte) {
			body := []byte(strings.Replace(string(genericBody("gx", "cart.updated", "cx", now)), `"type"`, `"store":"gen-a","producer":1,"type"`, 1))
			return "/webhooks/generic", map[string]string{"X-Cartrecovery-Signature": generic.Sign(body, "top-generic")}, body
		}, 401},
		{"bigcommerce producer with a store number, top-level secret", true, func() (string, map[string]string, []byte) {
			body := []byte(fmt.Sprintf(`{"store":1,"created_at":%d,"store_id":"1","producer":"stores/hash1","scope":"store/cart/created","hash":"x","data":{"type":"cart","id":"bc-x"}}`, now.Unix()))
			ts := strconv.FormatInt(now.Unix(), 10)
			return "/webhooks/bigcommerce", map[string]string{"webhook-id": "mx", "webhook-timestamp": ts,
				"webhook-signature": bigcommerce.Sign("mx", ts, body, "top-bc")}, body
		}, 401},
		{"generic store not a string, stores listed", true, func() (string, map[string]string, []byte) {
			body := []byte(strings.Replace(string(genericBody("gy", "cart.updated", "cy", now)), `"type"`, `"store":7,"type"`, 1))
			return "/webhooks/generic", map[string]string{"X-Cartrecovery-Signature": generic.Sign(body, "top-generic")}, body
		}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := storesEnv(t, c.strict)
			before := e.dump()
			path, h, body := c.req()
			r := e.post(path, h, body)
			if r.Code != c.want {
				t.Fatalf("%d %v, want %d", r.Code, r.Body, c.want)
			}
			switch c.want {
			case http.StatusNotFound:
				if msg := r.Body["error"]; !strings.Contains(msg, "is not configured here") {
					t.Errorf("404 without a clear message: %v", r.Body)
				}
				fallthrough
			case http.StatusUnauthorized, http.StatusBadRequest:
				if after := e.dump(); after != before {
					t.Errorf("a refused webhook changed Redis:\n%s", after)
				}
			}
		})
	}
}

// TestSegmentUpdateRoundTrips: choosing a segment costs nothing in Redis:
// an update in a segment is still one script, also when this update would
// choose another segment than the one the cart keeps, and when the choice
// depends on whether the customer ordered before (the script reads it).
func TestSegmentUpdateRoundTrips(t *testing.T) {
	for _, c := range []struct {
		name  string
		when  recovery.Condition
		total string // of the measured update
		want  []string
	}{
		{"total", recovery.Condition{MinTotal: "50"}, "59.90", []string{"evalsha"}},
		{"the cart keeps its segment", recovery.Condition{MinTotal: "50"}, "10.00", []string{"evalsha"}},
		{"returning customer", recovery.Condition{Customer: recovery.CustomerReturning}, "59.90", []string{"evalsha"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rdb := testredis.Client(t)
			seg := recovery.Segment{Name: "big", When: c.when, Holdout: -1,
				Steps: []recovery.Step{{Name: "first", Delay: 30 * time.Minute}}}
			pb := recovery.Playbook{Steps: []recovery.Step{{Name: "first", Delay: time.Hour}}, Segments: []recovery.Segment{seg}}
			store := redis.NewStore(rdb, redis.Options{Prefix: "t:", Policies: recovery.PlaybooksOf(map[string]recovery.Playbook{"": pb})})
			s := &server.Server{Store: store, Links: link.New([]byte("0123456789abcdef0123456789abcdef")),
				Tenants: tenant.One(&tenant.Tenant{Secrets: map[string]string{"generic": genericSecret},
					Shop: recovery.Shop{Name: "T", URL: "https://shop.example"}, Playbook: pb}, tenant.Rules{}),
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			ts := httptest.NewServer(s.Handler())
			t.Cleanup(ts.Close)
			e := &env{t: t, rdb: rdb, store: store, url: ts.URL}
			t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
			for i := range 3 {
				b := genericBody(fmt.Sprint("w", i), "cart.updated", "c1", t0.Add(time.Duration(i)*time.Second))
				e.post("/webhooks/generic", genericHeaders(b), b)
			}
			cs, ok, err := store.Load(context.Background(), "default", "c1")
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			wantSeg := "big"
			if c.when.Customer != "" {
				wantSeg = "" // ana@ never ordered
			}
			if cs.Segment != wantSeg {
				t.Fatalf("cart in segment %q, want %q", cs.Segment, wantSeg)
			}
			cnt := &counter{}
			e.rdb.AddHook(cnt)
			b := []byte(strings.ReplaceAll(string(genericBody("w9", "cart.updated", "c1", t0.Add(time.Minute))), "59.90", c.total))
			if r := e.post("/webhooks/generic", genericHeaders(b), b); r.Code != 202 {
				t.Fatalf("%+v", r)
			}
			cnt.mu.Lock()
			cmds := fmt.Sprint(cnt.cmds)
			cnt.mu.Unlock()
			if cmds != fmt.Sprint(c.want) {
				t.Fatalf("an update sent %v to Redis, want %v", cmds, c.want)
			}
			// scheduled with the kept segment's delay: activity + 30m
			if due, ok, err := store.NextDue(context.Background(), "default", "c1"); err != nil || !ok ||
				!due.Equal(t0.Add(time.Minute).Add(map[bool]time.Duration{true: 30 * time.Minute, false: time.Hour}[wantSeg == "big"]).UTC()) {
				t.Errorf("next due %v %v %v", due, ok, err)
			}
		})
	}
}

// TestClickAppliesTheCodeSent: a link keeps the static code its message
// offered, so a reload that changes the step's code does not change what
// the click applies; a link saved without one uses the step's code now.
func TestClickAppliesTheCodeSent(t *testing.T) {
	const tok = "0123456789abcdef-token"
	e, s := adminEnv(t, tok)
	ctx := context.Background()
	body := fixture(t, "checkouts_create.json")
	e.post("/webhooks/shopify", shopifyHeaders("checkouts/create", "w1", body), body)
	m := recovery.MessageKey{Store: "test.myshopify.com", Cart: "123123123", Step: 1, Channel: "email"}
	var sent, old [8]byte
	sent[0], old[0] = 1, 2
	if err := e.store.SaveLink(ctx, sent, m, "COMEBACK10"); err != nil { // as the worker saves it
		t.Fatal(err)
	}
	if err := e.store.SaveLink(ctx, old, m, ""); err != nil { // as an earlier release saved it
		t.Fatal(err)
	}
	// a reload: a new snapshot whose step has another code
	cur := s.Tenants.Load()
	def := *cur.Default
	def.Playbook.Steps = append([]recovery.Step(nil), def.Playbook.Steps...)
	def.Playbook.Steps[1].Discount = recovery.Discount{Code: "NEWCODE", Label: "15% off"}
	s.Tenants.Store(tenant.New(tenant.Set{Default: &def, Rules: cur.Rules}))
	for _, c := range []struct {
		id   [8]byte
		want string
	}{{sent, "/discount/COMEBACK10?"}, {old, "/discount/NEWCODE?"}} {
		code, _, h := get(t, e.url+"/r/"+e.links.ShortToken(c.id, time.Now().Add(time.Hour)), "")
		if code != http.StatusFound || !strings.Contains(h.Get("Location"), c.want) {
			t.Errorf("link %d: %d %q, want %s", c.id[0], code, h.Get("Location"), c.want)
		}
	}
}
