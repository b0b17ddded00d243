package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/clock"
	"github.com/cartrecovery/cartrecovery/internal/smtptest"
	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/internal/twiliotest"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce/bigcommercetest"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
)

// TestAppOnEveryMode runs TestAppFlow and TestAppSegments again on a real 3-master Redis
// Cluster and on a real Sentinel.
func TestAppOnEveryMode(t *testing.T) { testredis.EveryMode(t, "^(TestAppFlow|TestAppSegments)$") }

// appBundle is a running in-process app and what it talks to.
type appBundle struct {
	cfgPath, cfgText string      // the config file and what it held at start
	reloads          chan string // the version after each reload attempt
	base             string
	clock            *clock.Sim
	smtp             *smtptest.Server
	logs             *syncBuffer
}

// startApp builds the whole service from a config file, as serve does, and
// runs it in this process on a free port, on this binary's Redis mode, with
// a simulated clock. It stops when the test ends.
// platformsYAML is the platforms: mapping of the test config: the generic
// and WooCommerce secrets, unless a given entry ("bigcommerce: {...}")
// replaces them.
func platformsYAML(given []string) string {
	out := map[string]string{"generic": `generic: {secret: "generic_app"}`, "woocommerce": `woocommerce: {secret: "woo_app"}`}
	for _, p := range given {
		name, _, _ := strings.Cut(p, ":")
		out[strings.TrimSpace(name)] = p
	}
	var parts []string
	for _, name := range []string{"generic", "woocommerce", "shopify", "bigcommerce"} {
		if out[name] != "" {
			parts = append(parts, out[name])
		}
	}
	return strings.Join(parts, ", ")
}

func startApp(t *testing.T, sequence string, platforms ...string) *appBundle {
	t.Helper()
	return startAppWith(t, sequence, "", platforms...)
}

// startAppWith is startApp with more top-level config (extra: YAML keys
// the base config does not set, such as sms).
func startAppWith(t *testing.T, sequence, extra string, platforms ...string) *appBundle {
	t.Helper()
	templates, _ := filepath.Abs("../../templates")
	return startAppIn(t, appSetup{templates: templates, sequence: sequence, extra: extra, platforms: platforms})
}

// appSetup is what startAppIn varies.
type appSetup struct {
	templates, sequence, extra string
	platforms                  []string
	watch                      bool // reload on a change of the file or the templates
}

func startAppIn(t *testing.T, o appSetup) *appBundle {
	t.Helper()
	templates, sequence, extra, platforms := o.templates, o.sequence, o.extra, o.platforms
	mode, url := testredis.ModeURL(t)
	smtp := smtptest.Start(t)
	cfgPath := filepath.Join(t.TempDir(), "cartrecovery.yaml")
	cfg := fmt.Sprintf(`
http: {addr: "127.0.0.1:0", public_url: "http://127.0.0.1", admin_token: "app-admin-token-0123456789"}
redis: {url: %q, mode: %s, prefix: "app:"}
store: {name: "App Shop", url: "https://shop.example", address: "1 Main St, Town", timezone: "UTC"}
platforms: {%s}
sequence:
%s
rules: {quiet_hours: {start: "", end: ""}}
email: {transport: smtp, from: "App Shop <shop@example.com>", smtp: {host: %q, port: %d, tls: none}}
templates: {dir: %q}
%s
`, url, mode, platformsYAML(platforms), sequence, smtp.Host(), smtp.Port(), templates, extra)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, renderer, err := load(cfgPath)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	b := &appBundle{clock: clock.NewSim(time.Now().UTC().Truncate(time.Second)), smtp: smtp, logs: &syncBuffer{},
		cfgPath: cfgPath, cfgText: cfg, reloads: make(chan string, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runApp(ctx, App{Config: c, Role: "all", Renderer: renderer, Clock: b.clock,
			Log:        slog.New(slog.NewTextHandler(b.logs, nil)),
			Ready:      func(addrs map[string]string) { ready <- addrs["http.addr"] },
			ConfigPath: cfgPath, Watch: o.watch, Reloaded: func(v string) { b.reloads <- v }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("app stopped with %v", err)
		}
		if t.Failed() {
			t.Logf("app log:\n%s", b.logs.String())
		}
	})
	select {
	case addr := <-ready:
		b.base = "http://" + addr
	case err := <-done:
		t.Fatalf("app did not start: %v\n%s", err, b.logs.String())
	}
	return b
}

// post sends a signed generic event dated now on the simulated clock.
func (b *appBundle) post(t *testing.T, typ, id, cart, email, total string) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"type":%q,"occurred_at":%q,"cart":{"id":%q,"currency":"EUR","total":%q,`+
		`"items":[{"title":"Mug","quantity":1,"price":%q}]},"customer":{"email":%q},"order":{"id":"o-%s","total":%q,"currency":"EUR"}}`,
		id, typ, b.clock.Now().Format(time.RFC3339), cart, total, total, email, id, total)
	req, _ := http.NewRequest(http.MethodPost, b.base+"/webhooks/generic", strings.NewReader(body))
	req.Header.Set("X-Cartrecovery-Signature", generic.Sign([]byte(body), "generic_app"))
	do(t, req, http.StatusAccepted)
}

// waitScheduled waits until the cart's next step is step and scheduled
// (the worker has recorded the last one): moving the simulated clock before
// that would leave the relay asleep on it, with nothing due yet.
func (b *appBundle) waitScheduled(t *testing.T, cart string, step int) {
	t.Helper()
	b.waitCart(t, "default", cart, func(step2 int, due *time.Time) bool { return step2 == step && due != nil })
}

// waitCart polls the cart's timeline until ok says so.
func (b *appBundle) waitCart(t *testing.T, store, cart string, ok func(step int, due *time.Time) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, b.base+"/api/carts/"+store+"/"+cart, nil)
		req.Header.Set("Authorization", "Bearer app-admin-token-0123456789")
		var tl struct {
			Step    int        `json:"next_step"`
			NextDue *time.Time `json:"next_due"`
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&tl)
			resp.Body.Close()
			if ok(tl.Step, tl.NextDue) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("cart %s: never in the state waited for (at step %d)", cart, tl.Step)
		}
		time.Sleep(5 * time.Millisecond) // nothing signals a recorded outcome across the HTTP API
	}
}

// report reads /api/report as the dashboard does.
func (b *appBundle) report(t *testing.T) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+"/api/report?since=2d", nil)
	req.Header.Set("Authorization", "Bearer app-admin-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var rep struct {
		Totals map[string]any `json:"totals"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(raw, &rep) != nil {
		t.Fatalf("report: %d %s", resp.StatusCode, raw)
	}
	return rep.Totals
}

// advance moves the simulated clock once the relay sleeps on it.
func (b *appBundle) advance(t *testing.T, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.clock.BlockUntilWaiting(ctx); err != nil {
		t.Fatal("the relay never waited on the clock")
	}
	b.clock.Advance(d)
}

// TestAppFlow is the whole flow in one process, with hours of delays on a
// simulated clock: two carts; one is ordered before its reminder and gets
// none; the other gets both reminders, is then ordered and is credited to
// the last one; the report says so.
func TestAppFlow(t *testing.T) {
	b := startApp(t, `
  - {name: first-reminder, delay: 1h, channels: [email], template: first-reminder}
  - {name: second-reminder, delay: 24h, channels: [email], template: second-reminder}`)
	b.post(t, "cart.updated", "e1", "kept", "kept@example.com", "20.00")
	b.post(t, "cart.updated", "e2", "bought", "bought@example.com", "35.00")
	b.advance(t, 10*time.Minute)
	b.post(t, "order.created", "e3", "bought", "bought@example.com", "35.00")

	b.advance(t, 50*time.Minute) // the first reminder of "kept" is due
	msgs := b.smtp.WaitMessages(t, 1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "kept@example.com" {
		t.Fatalf("first reminder: %+v", msgs)
	}
	b.waitScheduled(t, "kept", 1)
	b.advance(t, 23*time.Hour) // the second one
	msgs = b.smtp.WaitMessages(t, 2, 10*time.Second)
	if len(msgs) != 2 || msgs[1].To[0] != "kept@example.com" {
		t.Fatalf("second reminder: %+v", msgs)
	}
	b.advance(t, 30*time.Minute)
	b.post(t, "order.created", "e4", "kept", "kept@example.com", "20.00")
	tot := b.report(t)
	for k, want := range map[string]float64{"carts": 2, "abandoned": 1, "reminded": 1, "recovered": 1, "orders": 2,
		"converted_before_reminder": 1} {
		if got, _ := tot[k].(float64); got != want {
			t.Errorf("report %s = %v, want %v (totals %v)", k, tot[k], want, tot)
		}
	}
	if rev, _ := tot["recovered_revenue"].(map[string]any); rev["EUR"] != "20.00" {
		t.Errorf("recovered revenue %v", tot["recovered_revenue"])
	}
	if n := b.smtp.Count(); n != 2 {
		t.Errorf("%d messages sent, want 2: none to the customer who had ordered", n)
	}
	if strings.Contains(b.logs.String(), "bought@example.com") {
		t.Error("an address in the log")
	}
}

// TestAppWooCommerce: a WooCommerce block-checkout draft gets its reminder
// with a link back to the order-pay page; the payment (processing) stops
// the next step.
func TestAppWooCommerce(t *testing.T) {
	b := startApp(t, `
  - {name: first-reminder, delay: 1h, channels: [email], template: first-reminder}
  - {name: second-reminder, delay: 24h, channels: [email], template: second-reminder}`)
	raw, err := os.ReadFile("../../platform/woocommerce/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	post := func(topic, status string) {
		t.Helper()
		body := strings.Replace(string(raw), `"status": "processing"`, `"status": "`+status+`"`, 1)
		body = strings.Replace(body, `"date_modified_gmt": "2017-03-22T19:28:08"`,
			`"date_modified_gmt": "`+b.clock.Now().UTC().Format("2006-01-02T15:04:05")+`"`, 1)
		req, _ := http.NewRequest(http.MethodPost, b.base+"/webhooks/woocommerce", strings.NewReader(body))
		req.Header.Set("X-WC-Webhook-Topic", topic)
		req.Header.Set("X-WC-Webhook-Source", "https://shop.example/")
		req.Header.Set("X-WC-Webhook-Signature", woocommerce.Sign([]byte(body), "woo_app"))
		do(t, req, http.StatusAccepted)
	}
	post("order.updated", "checkout-draft")
	b.advance(t, time.Hour)
	msgs := b.smtp.WaitMessages(t, 1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "john.doe@example.com" {
		t.Fatalf("reminder: %+v", msgs)
	}
	link := regexp.MustCompile(`http://127\.0\.0\.1/r/[A-Za-z0-9_-]+`).FindString(string(msgs[0].Data))
	if link == "" {
		t.Fatalf("no click-through link in:\n%s", msgs[0].Data)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(b.base + strings.TrimPrefix(link, "http://127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "https://shop.example/checkout/order-pay/727/?pay_for_order=true&key=wc_order_58d2d042d1d"; resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("the link leads to %d %q, want the order-pay page", resp.StatusCode, resp.Header.Get("Location"))
	}
	b.waitCart(t, "shop.example", "727", func(step int, due *time.Time) bool { return step == 1 && due != nil })
	b.advance(t, time.Minute)
	post("order.updated", "processing")
	// the payment took the cart off the schedule: a day later nothing is due
	b.waitCart(t, "shop.example", "727", func(_ int, due *time.Time) bool { return due == nil })
	b.advance(t, 24*time.Hour)
	b.advance(t, time.Minute) // the relay has looked at the new time and slept again
	if n := b.smtp.Count(); n != 1 {
		t.Fatalf("%d messages: the paid order got its second reminder", n)
	}
}

// TestAppBigCommerce: BigCommerce's webhooks name the cart only. At the
// reminder's time the worker asks the store (a local fake of its API) for
// the cart's content and email, and for a restore link; a cart the store no
// longer has gets nothing; store/cart/converted stops the next step.
func TestAppBigCommerce(t *testing.T) {
	fake := bigcommercetest.Start(t)
	b := startApp(t, `
  - {name: first-reminder, delay: 1h, channels: [email], template: first-reminder}
  - {name: second-reminder, delay: 24h, channels: [email], template: second-reminder}`,
		fmt.Sprintf(`bigcommerce: {client_secret: "bc_app", store_hash: %q, access_token: %q, api_url: %q}`,
			bigcommercetest.Hash, bigcommercetest.Token, fake.URL))
	fake.SetCart("bc-1", &bigcommercetest.Cart{Email: "bea@example.com", Currency: "EUR", Total: "139.75",
		Items: []bigcommercetest.Item{{Name: "Openhouse No. 3", SKU: "OH-3", Quantity: 5, Price: "27.95"}}})
	post := func(n int, scope, data string) {
		t.Helper()
		postBigCommerce(t, b.base, "bc_app", b.clock.Now(), n, scope, data, http.StatusAccepted)
	}
	post(1, "store/cart/created", `{"type":"cart","id":"bc-1"}`)
	post(2, "store/cart/created", `{"type":"cart","id":"bc-gone"}`) // converted, its webhook lost
	b.advance(t, time.Hour)
	msgs := b.smtp.WaitMessages(t, 1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "bea@example.com" || !strings.Contains(string(msgs[0].Data), "Openhouse No. 3") {
		t.Fatalf("reminder: %+v", msgs)
	}
	link := regexp.MustCompile(`http://127\.0\.0\.1/r/[A-Za-z0-9_-]+`).FindString(string(msgs[0].Data))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(b.base + strings.TrimPrefix(link, "http://127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := bigcommercetest.CheckoutURL("bc-1", 1); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("the link leads to %d %q, want the store's restore link %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	b.waitCart(t, bigcommercetest.Hash, "bc-1", func(step int, due *time.Time) bool { return step == 1 && due != nil })
	b.waitCart(t, bigcommercetest.Hash, "bc-gone", func(step int, due *time.Time) bool { return step == 1 })
	b.advance(t, time.Minute)
	post(3, "store/cart/converted", `{"type":"cart","id":"bc-1","orderId":252}`)
	b.waitCart(t, bigcommercetest.Hash, "bc-1", func(_ int, due *time.Time) bool { return due == nil })
	b.advance(t, 24*time.Hour)
	b.advance(t, time.Minute)
	if n := b.smtp.Count(); n != 1 {
		t.Fatalf("%d messages, want 1: none to the cart the store no longer had, none after the conversion", n)
	}
}

// BigCommerce without a lost order: store/order/created names the order
// only; the worker finds its cart through the API and stops it. A cart
// whose order webhooks were all lost is stopped by the check before its
// send. The one reminder that goes out carries a unique code added to the
// store's bulk-coupon promotion before the send.
func TestAppBigCommerceOrders(t *testing.T) {
	fake := bigcommercetest.Start(t)
	b := startApp(t, `
  - {name: first-reminder, delay: 1h, channels: [email], template: first-reminder,
     discount: {type: unique, percent: 15, expires_after: 48h, prefix: "BC-", label: "15% off"}}`,
		fmt.Sprintf(`bigcommerce: {client_secret: "bc_app", store_hash: %q, access_token: %q, api_url: %q, promotion_id: %q}`,
			bigcommercetest.Hash, bigcommercetest.Token, fake.URL, bigcommercetest.PromotionID),
		`generic: {secret: ""}`, `woocommerce: {secret: ""}`)
	for _, id := range []string{"bc-1", "bc-2", "bc-3"} {
		fake.SetCart(id, &bigcommercetest.Cart{Email: id + "@example.com", Currency: "EUR", Total: "27.95",
			Items: []bigcommercetest.Item{{Name: "Openhouse No. 3", SKU: "OH-3", Quantity: 1, Price: "27.95"}}})
	}
	post := func(n int, scope, data string, want int) {
		t.Helper()
		postBigCommerce(t, b.base, "bc_app", b.clock.Now(), n, scope, data, want)
	}
	post(1, "store/cart/created", `{"type":"cart","id":"bc-1"}`, http.StatusAccepted)
	post(2, "store/cart/created", `{"type":"cart","id":"bc-2"}`, http.StatusAccepted)
	post(3, "store/cart/created", `{"type":"cart","id":"bc-3"}`, http.StatusAccepted)
	b.advance(t, 10*time.Minute)

	// bc-1: ordered; only store/order/created comes (twice)
	fake.AddOrder(bigcommercetest.Order{ID: 300, CartID: "bc-1", Email: "bc-1@example.com", Total: "27.95", Currency: "EUR",
		StatusID: 11, Created: b.clock.Now()})
	post(4, "store/order/created", `{"type":"order","id":300}`, http.StatusAccepted)
	post(4, "store/order/created", `{"type":"order","id":300}`, http.StatusOK) // a redelivery
	b.waitCart(t, bigcommercetest.Hash, "bc-1", func(_ int, due *time.Time) bool { return due == nil })
	// bc-3: an incomplete order (failed payment) does not stop its cart
	fake.AddOrder(bigcommercetest.Order{ID: 302, CartID: "bc-3", Email: "bc-3@example.com", Total: "27.95", Currency: "EUR",
		StatusID: 0, Created: b.clock.Now()})
	post(5, "store/order/created", `{"type":"order","id":302}`, http.StatusAccepted)
	// bc-2: ordered; no webhook at all
	fake.AddOrder(bigcommercetest.Order{ID: 301, CartID: "bc-2", Email: "bc-2@example.com", Total: "27.95", Currency: "EUR",
		StatusID: 10, Created: b.clock.Now()})

	b.advance(t, time.Hour)
	msgs := b.smtp.WaitMessages(t, 1, 10*time.Second)
	// bc-3's code, and bc-2's: made before the order check, which comes
	// last before the claim (it was never sent)
	codes := fake.Codes()
	carried := 0
	for _, c := range codes {
		if strings.Contains(string(msgs[0].Data), c.Code) && c.MaxUses == 1 && c.MaxUsesPerCustomer == 1 {
			carried++
		}
	}
	if len(msgs) != 1 || msgs[0].To[0] != "bc-3@example.com" || len(codes) != 2 || carried != 1 {
		t.Fatalf("reminders to %v; codes in the promotion %+v", recipients(msgs), codes)
	}
	b.waitCart(t, bigcommercetest.Hash, "bc-2", func(_ int, due *time.Time) bool { return due == nil })
	b.advance(t, time.Minute)
	if n := b.smtp.Count(); n != 1 {
		t.Fatalf("%d messages, want only bc-3's", n)
	}
	rep := b.report(t)
	if rep["orders"] != 2.0 || rep["verified_ordered"] != 1.0 || rep["codes_issued"] != 2.0 {
		t.Fatalf("report totals %v; want orders 2, verified_ordered 1, codes_issued 2", rep)
	}
}

func recipients(msgs []smtptest.Received) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.To...)
	}
	return out
}

// Twilio posts delivery receipts only where it can reach: a public https
// address.
func TestStatusURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://recover.example":       "https://recover.example/webhooks/twilio/status",
		"https://recover.example/":      "https://recover.example/webhooks/twilio/status",
		"https://recover.example/carts": "https://recover.example/carts/webhooks/twilio/status",
		"http://recover.example":        "",
		"https://localhost:8080":        "",
		"https://127.0.0.1":             "",
		"https://10.0.0.5":              "",
		"https://[::1]:8443":            "",
		"http://localhost:8080":         "",
		"::not a url":                   "",
	} {
		if got := statusURL(in); got != want {
			t.Errorf("statusURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A Spanish customer in Madrid gets her reminders in Spanish, with euros
// written the Spanish way, and her STOP reply, signed by Twilio, stops the
// next SMS step; HELP gets the shop's answer.
func TestAppSpanishCustomerAndSTOP(t *testing.T) {
	tw := twiliotest.Start(t)
	b := startAppWith(t, `
  - {name: first-reminder, delay: 1h, channels: [email, sms], template: first-reminder}
  - {name: second-reminder, delay: 24h, channels: [email, sms], template: second-reminder}`,
		fmt.Sprintf(`sms: {transport: twilio, help_text: "App Shop: recordatorios de carrito. STOP para darte de baja.", twilio: {account_sid: %q, auth_token: %q, from: "+15005550006", base_url: %q}}`,
			twiliotest.AccountSID, twiliotest.AuthToken, tw.URL()))
	body := fmt.Sprintf(`{"id":"es-1","type":"cart.updated","occurred_at":%q,"cart":{"id":"c-es","currency":"EUR","total":"1234.5",`+
		`"items":[{"title":"Cafetera","quantity":1,"price":"1234.5"}]},"customer":{"email":"lucia@example.es","phone":"+34600111222",`+
		`"first_name":"Lucía","locale":"es-ES","timezone":"Europe/Madrid","email_consent":true,"sms_consent":true}}`,
		b.clock.Now().Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, b.base+"/webhooks/generic", strings.NewReader(body))
	req.Header.Set("X-Cartrecovery-Signature", generic.Sign([]byte(body), "generic_app"))
	do(t, req, http.StatusAccepted)

	b.advance(t, time.Hour)
	mails := b.smtp.WaitMessages(t, 1, 10*time.Second)
	texts := tw.WaitMessages(t, 1, 10*time.Second)
	hdr, text, _, err := mails[0].Parsed()
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(hdr.Get("Subject"))
	if err != nil || !strings.Contains(subject, "Lucía") || !strings.Contains(subject, "carrito") || !strings.Contains(text, "1.234,50\u00a0€") {
		t.Fatalf("not in Spanish with euros the Spanish way: subject %q (%v)\n%s", subject, err, text)
	}
	if sms := texts[0].Body; !strings.HasPrefix(sms, "App Shop") || !strings.HasSuffix(sms, "Responde STOP para darte de baja") {
		t.Fatalf("sms %q: want the shop's name and the Spanish opt-out line", sms)
	}

	// she replies STOP, then HELP, as Twilio posts them
	reply := func(word string) string {
		t.Helper()
		form := map[string]string{"From": "+34600111222", "To": "+15005550006", "Body": word, "MessageSid": "SM1", "AccountSid": twiliotest.AccountSID}
		v := url.Values{}
		for k, x := range form {
			v.Set(k, x)
		}
		req, _ := http.NewRequest(http.MethodPost, b.base+"/webhooks/twilio/inbound", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Sign(twiliotest.AuthToken, "http://127.0.0.1/webhooks/twilio/inbound", form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", word, resp.StatusCode, out)
		}
		return string(out)
	}
	reply(" Stop ")
	if help := reply("HELP"); !strings.Contains(help, "<Message>App Shop: recordatorios de carrito. STOP para darte de baja.</Message>") {
		t.Fatalf("HELP answered %s", help)
	}
	b.waitCart(t, "default", "c-es", func(step int, due *time.Time) bool { return step == 1 && due != nil })
	b.advance(t, 24*time.Hour)
	b.smtp.WaitMessages(t, 2, 10*time.Second)
	b.waitCart(t, "default", "c-es", func(step int, due *time.Time) bool { return step == 2 })
	if n := len(tw.Messages()); n != 1 {
		t.Fatalf("%d SMS: the second went out after STOP", n)
	}
}
