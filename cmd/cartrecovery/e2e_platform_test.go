package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce/bigcommercetest"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce/woocommercetest"
)

// TestEndToEndPlatforms runs the built binary against fakes of WooCommerce
// and BigCommerce that answer like them and record what they receive, the
// way a shop connects: each platform's webhooks, and its API for cart
// content, unique codes and the check before each send. In real time: the
// first step is due 2s after a cart's last activity, the second 5s after.
//
//	woo-101 checkout-draft → a reminder with a unique coupon registered
//	        first (single use, the customer's email, the expiry) and the
//	        order-pay link → processing → no second step
//	woo-102 pending; the shop refuses its first coupon → no reminder until
//	        the retry registers one (asynq's backoff, 30s)
//	woo-103 pending; paid, its webhook lost → the check with the shop
//	        stops it: no reminder
//	bc-1    created → fetched from the store (a de-DE storefront) →
//	        reminder in German with a code added to the bulk promotion →
//	        converted → no second step
func TestEndToEndPlatforms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	smtp := smtptest.Start(t)
	woo := woocommercetest.Start(t)
	bc := bigcommercetest.Start(t)
	templates, _ := filepath.Abs("../../templates")
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`
http: {addr: %q, public_url: "http://%s", admin_token: "e2e-admin-token-0123456789"}
redis: {url: %q, prefix: "e2ep:"}
store: {name: "E2E Shop", url: "https://shop.example", address: "1 Main St, Town", allowed_hosts: ["127.0.0.1"]}
platforms:
  woocommerce: {secret: "woo_e2e", url: %q, consumer_key: %q, consumer_secret: %q}
  bigcommerce: {client_secret: "bc_e2e", store_hash: %q, access_token: %q, api_url: %q, promotion_id: %q}
sequence:
  - {name: first-reminder, delay: 2s, channels: [email], template: first-reminder,
     discount: {type: unique, percent: 10, expires_after: 48h, prefix: "E2E-", label: "10%% off"}}
  - {name: second-reminder, delay: 5s, channels: [email], template: second-reminder}
rules: {quiet_hours: {start: "", end: ""}, cooldown: 0s}
email: {transport: smtp, from: "E2E Shop <shop@example.com>", smtp: {host: %q, port: %d, tls: none}}
templates: {dir: %q}
`, addr, addr, testredis.URL(t), woo.URL, woocommercetest.Key, woocommercetest.Secret,
		bigcommercetest.Hash, bigcommercetest.Token, bc.URL, bigcommercetest.PromotionID, smtp.Host(), smtp.Port(), templates)
	cfgPath := filepath.Join(dir, "cartrecovery.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	var logs syncBuffer
	base := "http://" + addr
	startService(t, bin, cfgPath, base, &logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})
	for _, secret := range []string{"woo_e2e", "bc_e2e", woocommercetest.Secret, bigcommercetest.Token} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows the secret %q", secret)
		}
	}

	raw, err := os.ReadFile("../../platform/woocommerce/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	postWoo := func(id int, email, status string) {
		t.Helper()
		body := strings.Replace(string(raw), `"id": 727,`, fmt.Sprintf(`"id": %d,`, id), 1)
		body = strings.Replace(body, `"status": "processing"`, `"status": "`+status+`"`, 1)
		body = strings.Replace(body, `"john.doe@example.com"`, strconv.Quote(email), -1)
		body = strings.Replace(body, `"date_modified_gmt": "2017-03-22T19:28:08"`,
			`"date_modified_gmt": "`+time.Now().UTC().Format("2006-01-02T15:04:05")+`"`, 1)
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/woocommerce", strings.NewReader(body))
		req.Header.Set("X-WC-Webhook-Topic", "order.updated")
		req.Header.Set("X-WC-Webhook-Source", woo.URL+"/")
		req.Header.Set("X-WC-Webhook-Signature", woocommerce.Sign([]byte(body), "woo_e2e"))
		do(t, req, http.StatusAccepted)
	}
	postBC := func(n int, scope, data string) {
		t.Helper()
		postBigCommerce(t, base, "bc_e2e", time.Now(), n, scope, data, http.StatusAccepted)
	}

	start := time.Now()
	woo.SetOrder(woocommercetest.Order{ID: 101, Status: "checkout-draft", Total: "29.35", Currency: "USD", Created: start})
	woo.SetOrder(woocommercetest.Order{ID: 102, Status: "pending", Total: "29.35", Currency: "USD", Created: start})
	woo.RefuseCoupons("woo-102@example.com", 1)
	// paid at the shop; its processing webhook never comes
	woo.SetOrder(woocommercetest.Order{ID: 103, Status: "processing", Total: "29.35", Currency: "USD", Created: start, Paid: start})
	bc.SetCart("bc-1", &bigcommercetest.Cart{Locale: "de-DE", Email: "bea@example.com", Currency: "EUR", Total: "27.95",
		Items: []bigcommercetest.Item{{Name: "Openhouse No. 3", SKU: "OH-3", Quantity: 1, Price: "27.95"}}})
	postWoo(101, "woo-101@example.com", "checkout-draft")
	postWoo(102, "woo-102@example.com", "pending")
	postWoo(103, "woo-103@example.com", "pending")
	postBC(1, "store/cart/created", `{"type":"cart","id":"bc-1"}`)

	// The first step of woo-101 and bc-1; woo-102 waits for its coupon.
	msgs := smtp.WaitMessages(t, 2, 30*time.Second)
	byTo := map[string]smtptest.Received{}
	for _, m := range msgs {
		byTo[m.To[0]] = m
	}
	m101, ok101 := byTo["woo-101@example.com"]
	mbc, okbc := byTo["bea@example.com"]
	if !ok101 || !okbc || len(byTo) != 2 {
		t.Fatalf("first reminders to %v; want woo-101 and bea (bc-1)", recipients(msgs))
	}
	// woo-103's coupon was made too (the order check comes right before
	// the claim, after the code), restricted to its email, never sent
	couponFor := func(email string) woocommercetest.Coupon {
		t.Helper()
		var found []woocommercetest.Coupon
		for _, c := range woo.Coupons() {
			if len(c.Emails) == 1 && c.Emails[0] == email {
				found = append(found, c)
			}
		}
		if len(found) != 1 {
			t.Fatalf("coupons for %s: %+v (all: %+v)", email, found, woo.Coupons())
		}
		return found[0]
	}
	cp := couponFor("woo-101@example.com")
	_, text101, _, err := m101.Parsed()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(text101), cp.Code) || !strings.HasPrefix(cp.Code, "e2e-") {
		t.Fatalf("the reminder does not carry the registered coupon %q:\n%s", cp.Code, text101)
	}
	if cp.DiscountType != "percent" || cp.Amount != "10" || cp.UsageLimit != 1 || cp.UsageLimitPerUser != 1 ||
		len(cp.Emails) != 1 || cp.Emails[0] != "woo-101@example.com" ||
		cp.ExpiresGMT.Before(start.Add(48*time.Hour)) || cp.ExpiresGMT.After(time.Now().Add(48*time.Hour)) {
		t.Fatalf("coupon %+v; want 10%% off, single use, for woo-101's email, ending 48h after it was made", cp)
	}
	// the link takes the customer back to pay the order
	link := regexp.MustCompile(`http://` + regexp.QuoteMeta(addr) + `/r/[A-Za-z0-9_-]+`).FindString(text101)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound ||
		loc != woo.URL+"/checkout/order-pay/101/?pay_for_order=true&key=wc_order_58d2d042d1d" {
		t.Fatalf("the link leads to %d %q, want the order-pay page", resp.StatusCode, loc)
	}
	// BigCommerce: the address and items fetched from the store, a code in
	// the bulk promotion
	_, textBC, _, _ := mbc.Parsed()
	codes := bc.Codes()
	// the cart's storefront locale (de-DE): German, euros the German way
	if len(codes) != 1 || !strings.Contains(textBC, codes[0].Code) || !strings.Contains(textBC, "Openhouse No. 3") ||
		!strings.Contains(textBC, "27,95\u00a0€") || !strings.Contains(textBC, "Warenkorb") ||
		codes[0].MaxUses != 1 || codes[0].MaxUsesPerCustomer != 1 {
		t.Fatalf("bc-1: codes %+v in\n%s", codes, textBC)
	}

	// both pay; woo-102's coupon was refused once: nothing sent meanwhile
	postWoo(101, "woo-101@example.com", "processing")
	postBC(2, "store/cart/converted", `{"type":"cart","id":"bc-1","orderId":252}`)
	if r := woo.Refused(); len(r) != 1 || r[0] != "woo-102@example.com" {
		t.Fatalf("refused coupons %v; want woo-102's once", r)
	}
	if n := smtp.Count(); n != 2 {
		t.Fatalf("%d emails while woo-102's coupon is refused, want 2", n)
	}

	// woo-102's retry registers a coupon and sends it; then its second
	// step. Nothing else: not woo-103 (paid), not the second steps of the
	// paid woo-101 and bc-1, long due by then.
	all := smtp.WaitMessages(t, 4, 90*time.Second)
	count := map[string]int{}
	for _, m := range all {
		count[m.To[0]]++
	}
	if count["woo-102@example.com"] != 2 || count["woo-101@example.com"] != 1 || count["bea@example.com"] != 1 || len(count) != 3 {
		t.Fatalf("emails per recipient %v", count)
	}
	var m102 smtptest.Received
	for _, m := range all {
		if m.To[0] == "woo-102@example.com" {
			m102 = m
			break
		}
	}
	_, text102, _, _ := m102.Parsed()
	if c := couponFor("woo-102@example.com"); !strings.Contains(strings.ToLower(text102), c.Code) {
		t.Fatalf("woo-102's reminder does not carry its registered coupon %+v\n%s", c, text102)
	}

	out, err := exec.Command(bin, "report", "--config", cfgPath, "--since", "1d", "--format", "json").Output()
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	var rep struct {
		Totals map[string]any `json:"totals"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Totals["verified_ordered"] != 1.0 || rep.Totals["codes_issued"] != 4.0 || rep.Totals["orders"] != 3.0 {
		t.Fatalf("report totals %v; want verified_ordered 1 (woo-103), codes_issued 4 (woo-101, 102, 103, bc-1), orders 3", rep.Totals)
	}
}
