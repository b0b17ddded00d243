package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
	"github.com/cartrecovery/cartrecovery/internal/twiliotest"
	"github.com/cartrecovery/cartrecovery/platform/generic"
)

// postStore sends a generic event of store signed with secret and returns
// the status and body.
func (b *appBundle) postStore(t *testing.T, store, secret, typ, id, cart, email, total string) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"type":%q,"occurred_at":%q,"store":%q,"cart":{"id":%q,"currency":"EUR","total":%q,`+
		`"items":[{"title":"Mug","quantity":1,"price":%q}]},"customer":{"email":%q},"order":{"id":"o-%s","total":%q,"currency":"EUR"}}`,
		id, typ, b.clock.Now().Format(time.RFC3339), store, cart, total, total, email, id, total)
	req, _ := http.NewRequest(http.MethodPost, b.base+"/webhooks/generic", strings.NewReader(body))
	req.Header.Set("X-Cartrecovery-Signature", generic.Sign([]byte(body), secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// getJSON reads an admin API path into v.
func (b *appBundle) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	req.Header.Set("Authorization", "Bearer app-admin-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, raw)
	}
}

// byRecipient indexes the accepted messages by their first recipient.
func byRecipient(msgs []smtptest.Received) map[string]string {
	out := map[string]string{}
	for _, m := range msgs {
		out[m.To[0]] += string(m.Data)
	}
	return out
}

type reportRows struct {
	Totals struct {
		Carts     int64 `json:"carts"`
		Recovered int64 `json:"recovered"`
	} `json:"totals"`
	Rows []struct {
		Key       string `json:"key"`
		Sent      int64  `json:"sent"`
		Recovered int64  `json:"recovered"`
	} `json:"rows"`
	Segments []struct {
		Key              string            `json:"key"`
		Carts            int64             `json:"carts"`
		Abandoned        int64             `json:"abandoned"`
		Reminded         int64             `json:"reminded"`
		Recovered        int64             `json:"recovered"`
		RecoveredRevenue map[string]string `json:"recovered_revenue"`
	} `json:"segments"`
}

// TestAppSegments: a marketer gives high-value carts a stronger offer and
// returning customers none, without writing Go. Each cart is put in its
// segment at its first event and keeps it (a cart that grows past the
// threshold later stays where it began); the report by segment matches
// what was sent.
func TestAppSegments(t *testing.T) {
	b := startAppWith(t, `
  - {name: first-reminder, delay: 1h, channels: [email], template: second-reminder, discount: {code: "COMEBACK10", label: "10% off"}}`, `
segments:
  - name: returning
    when: {customer: returning}
    sequence:
      - {name: first, delay: 1h, channels: [email], template: second-reminder}
  - name: high-value
    when: {min_total: "100"}
    sequence:
      - {name: first, delay: 30m, channels: [email], template: second-reminder, discount: {code: "HIGH20", label: "20% off"}}
`)
	// loyal@ ordered before: a returning customer from then on (once the
	// order's grace over the customer's other carts has passed)
	b.post(t, "order.created", "o0", "old", "loyal@example.com", "80.00")
	b.advance(t, 10*time.Minute)
	b.post(t, "cart.updated", "e1", "loyal-cart", "loyal@example.com", "150.00") // returning comes first
	b.post(t, "cart.updated", "e2", "big", "big@example.com", "100.00")          // exactly at min_total
	b.post(t, "cart.updated", "e3", "small", "small@example.com", "99.99")
	b.post(t, "cart.updated", "e4", "grows", "grows@example.com", "20.00")
	b.post(t, "cart.updated", "e5", "grows", "grows@example.com", "300.00") // keeps the default sequence

	var tl struct {
		Segment string `json:"segment"`
	}
	for cart, want := range map[string]string{"loyal-cart": "returning", "big": "high-value", "small": "default", "grows": "default"} {
		b.getJSON(t, "/api/carts/default/"+cart, &tl)
		if tl.Segment != want {
			t.Errorf("cart %s in segment %q, want %q", cart, tl.Segment, want)
		}
	}

	b.advance(t, 30*time.Minute) // high-value's first step
	msgs := b.smtp.WaitMessages(t, 1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "big@example.com" {
		t.Fatalf("after 30 minutes: %d messages, want the high-value cart's only", len(msgs))
	}
	b.waitCart(t, "default", "big", func(_ int, due *time.Time) bool { return due == nil })
	b.advance(t, 30*time.Minute)
	got := byRecipient(b.smtp.WaitMessages(t, 4, 10*time.Second))
	for to, want := range map[string][]string{
		"big@example.com":   {"HIGH20"},
		"loyal@example.com": {},
		"small@example.com": {"COMEBACK10"},
		"grows@example.com": {"COMEBACK10"},
	} {
		body, ok := got[to]
		if !ok {
			t.Errorf("no reminder to %s", to)
			continue
		}
		for _, code := range []string{"HIGH20", "COMEBACK10"} {
			if has, wanted := strings.Contains(body, code), strings.Contains(strings.Join(want, " "), code); has != wanted {
				t.Errorf("reminder to %s: has %s = %v, want %v", to, code, has, wanted)
			}
		}
	}
	if n := b.smtp.Count(); n != 4 {
		t.Errorf("%d messages, want 4", n)
	}

	b.advance(t, time.Minute)
	b.post(t, "order.created", "o1", "big", "big@example.com", "100.00")
	b.post(t, "order.created", "o2", "small", "small@example.com", "99.99")

	var rep reportRows
	b.getJSON(t, "/api/report?since=2d&by=segment", &rep)
	sent, rec := map[string]int64{}, map[string]int64{}
	for _, r := range rep.Rows {
		sent[r.Key], rec[r.Key] = r.Sent, r.Recovered
	}
	for seg, want := range map[string][2]int64{"high-value": {1, 1}, "returning": {1, 0}, "default": {2, 1}} {
		if sent[seg] != want[0] || rec[seg] != want[1] {
			t.Errorf("row %s: sent %d recovered %d, want %v (rows %+v)", seg, sent[seg], rec[seg], want, rep.Rows)
		}
	}
	// the recount: every segment's carts, from the carts posted
	wantCarts := map[string]int64{"default": 2, "returning": 1, "high-value": 1}
	var sumCarts, sumRec int64
	for _, s := range rep.Segments {
		sumCarts += s.Carts
		sumRec += s.Recovered
		if s.Carts != wantCarts[s.Key] || s.Reminded != wantCarts[s.Key] || s.Abandoned != wantCarts[s.Key] {
			t.Errorf("segment %s: %+v, want %d carts, all abandoned and reminded", s.Key, s, wantCarts[s.Key])
		}
		if s.Key == "high-value" && s.RecoveredRevenue["EUR"] != "100.00" {
			t.Errorf("high-value revenue %v", s.RecoveredRevenue)
		}
	}
	if len(rep.Segments) != 3 || sumCarts != rep.Totals.Carts || sumRec != rep.Totals.Recovered {
		t.Errorf("segments %+v do not add up to the totals %+v", rep.Segments, rep.Totals)
	}
	b.getJSON(t, "/api/report?since=2d&by=step", &rep)
	steps := map[string]int64{}
	for _, r := range rep.Rows {
		steps[r.Key] = r.Sent
	}
	if steps["high-value/first"] != 1 || steps["returning/first"] != 1 || steps["first-reminder"] != 2 {
		t.Errorf("rows by step %+v", rep.Rows)
	}
}

// TestAppStores: an agency runs shops from one deployment. Each store's
// webhooks are verified with its own secret (the other's signature is
// refused), a store not configured gets 404, each shop's reminders carry
// its own name and templates (a store folder over the shared one), and
// the report splits by store.
func TestAppStores(t *testing.T) {
	shared, _ := filepath.Abs("../../templates")
	own := t.TempDir()
	if err := os.WriteFile(filepath.Join(own, "first-reminder.subject.tmpl"), []byte("{{.Store.Name}} kept your cart"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startAppIn(t, appSetup{templates: shared, sequence: `
  - {name: first-reminder, delay: 1h, channels: [email], template: first-reminder}`, extra: fmt.Sprintf(`
stores:
  shop-a.example.com: {name: "Shop A", email_from: "Shop A <hello@shop-a.example.com>", url: "https://shop-a.example.com",
                       templates: {dir: %q}, platforms: {generic: {secret: "secret_a"}}}
  Shop_B: {name: "Shop B", url: "https://shop-b.example", platforms: {generic: {secret: "secret_b"}},
           sequence: [{name: nudge, delay: 2h, channels: [email], template: first-reminder}]}
`, own)})

	for _, c := range []struct {
		store, secret string
		want          int
	}{
		{"shop-a.example.com", "secret_b", http.StatusUnauthorized},
		{"Shop_B", "secret_a", http.StatusUnauthorized},
		{"Shop_B", "generic_app", http.StatusUnauthorized}, // the top level's secret is not the store's
		{"default", "generic_app", http.StatusNotFound},    // listed stores only: no catch-all
		{"shop-c", "secret_a", http.StatusNotFound},
	} {
		status, body := b.postStore(t, c.store, c.secret, "cart.updated", "bad-"+c.store+c.secret, "x", "x@example.com", "10.00")
		if status != c.want {
			t.Errorf("store %s signed with %s: %d %s, want %d", c.store, c.secret, status, body, c.want)
		}
		if c.want == http.StatusNotFound && !strings.Contains(body, "is not configured") {
			t.Errorf("404 without a clear message: %s", body)
		}
	}
	for _, p := range [][3]string{{"shop-a.example.com", "secret_a", "ana@example.com"}, {"Shop_B", "secret_b", "ben@example.com"}} {
		if status, body := b.postStore(t, p[0], p[1], "cart.updated", "ok-"+p[0], "c1", p[2], "30.00"); status != http.StatusAccepted {
			t.Fatalf("store %s: %d %s", p[0], status, body)
		}
	}
	b.advance(t, time.Hour)
	msgs := b.smtp.WaitMessages(t, 1, 10*time.Second)
	if len(msgs) != 1 || msgs[0].To[0] != "ana@example.com" || !strings.Contains(string(msgs[0].Data), "Subject: Shop A kept your cart") {
		t.Fatalf("shop A's reminder (its own subject template): %d messages\n%s", len(msgs), msgs[0].Data)
	}
	if from := headerLine(string(msgs[0].Data), "From"); !strings.Contains(from, "<hello@shop-a.example.com>") {
		t.Errorf("shop A's reminder is sent from %q, want its own address", from)
	}
	// its links speak for shop A: the click-through (the cart has no
	// recovery URL) leads to shop A's address, the unsubscribe page names it
	_, text, _, err := msgs[0].Parsed()
	if err != nil {
		t.Fatal(err)
	}
	click := regexp.MustCompile(`http://127\.0\.0\.1/r/[A-Za-z0-9_-]+`).FindString(text)
	unsub := regexp.MustCompile(`http://127\.0\.0\.1/unsubscribe/[A-Za-z0-9_.~-]+`).FindString(text)
	if click == "" || unsub == "" {
		t.Fatalf("links missing in:\n%s", text)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(b.base + strings.TrimPrefix(click, "http://127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "https://shop-a.example.com" {
		t.Errorf("shop A's link leads to %d %q", resp.StatusCode, loc)
	}
	resp, err = http.Get(b.base + strings.TrimPrefix(unsub, "http://127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "carts you left at Shop A") || !strings.Contains(string(page), "https://shop-a.example.com") {
		t.Errorf("shop A's unsubscribe page:\n%s", page)
	}
	b.waitCart(t, "shop-a.example.com", "c1", func(_ int, due *time.Time) bool { return due == nil })
	b.advance(t, time.Hour) // Shop_B's own sequence: 2h
	msgs = b.smtp.WaitMessages(t, 2, 10*time.Second)
	if len(msgs) != 2 || msgs[1].To[0] != "ben@example.com" {
		t.Fatalf("shop B's reminder: %d messages", len(msgs))
	}
	bdata := string(msgs[1].Data)
	if from := headerLine(bdata, "From"); !strings.Contains(from, "<shop@example.com>") {
		t.Errorf("shop B's reminder is sent from %q, want email.from", from)
	}
	if strings.Contains(bdata, "kept your cart") || !strings.Contains(bdata, "Shop B") || strings.Contains(bdata, "Shop A") {
		t.Errorf("shop B's reminder uses shop A's look or name:\n%s", bdata)
	}

	// its send is recorded once the relay's reply is in: wait for it, as
	// for shop A's, before reading the report
	b.waitCart(t, "Shop_B", "c1", func(step int, due *time.Time) bool { return step == 1 && due == nil })
	var rep reportRows
	b.getJSON(t, "/api/report?since=2d&by=store", &rep)
	sent := map[string]int64{}
	for _, r := range rep.Rows {
		sent[r.Key] = r.Sent
	}
	if sent["shop-a.example.com"] != 1 || sent["Shop_B"] != 1 || len(sent) != 2 || rep.Totals.Carts != 2 {
		t.Errorf("report by store %+v (totals %+v)", rep.Rows, rep.Totals)
	}
	b.getJSON(t, "/api/report?since=2d&by=step", &rep)
	steps := map[string]int64{}
	for _, r := range rep.Rows {
		steps[r.Key] = r.Sent
	}
	if steps["first-reminder"] != 1 || steps["nudge"] != 1 {
		t.Errorf("report by step %+v", rep.Rows)
	}
}

// headerLine is the value of an email header.
func headerLine(data, name string) string {
	for _, l := range strings.Split(data, "\r\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return v
		}
	}
	return ""
}

// TestAppReloadsStoreSecret: a store's rotated webhook secret applies on
// reload (secrets are left out of the public version, not out of the
// change detection), and a segment added by a reload takes new carts.
func TestAppReloadsStoreSecret(t *testing.T) {
	b := startAppWith(t, `
  - {name: first-reminder, delay: 1h, channels: [email], template: first-reminder}`, `
stores:
  shop-a: {name: "Shop A", platforms: {generic: {secret: "one"}}}
`)
	if status, body := b.postStore(t, "shop-a", "one", "cart.updated", "r1", "c1", "ana@example.com", "10.00"); status != 202 {
		t.Fatalf("%d %s", status, body)
	}
	reload := func(text string) string {
		t.Helper()
		if err := os.WriteFile(b.cfgPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		return b.waitReload(t)
	}
	// only the secret changes: the public version does not show it
	rotated := strings.Replace(b.cfgText, `secret: "one"`, `secret: "two"`, 1)
	reload(rotated)
	if status, _ := b.postStore(t, "shop-a", "one", "cart.updated", "r2", "c2", "ana@example.com", "10.00"); status != http.StatusUnauthorized {
		t.Errorf("the old secret still passes: %d", status)
	}
	if status, body := b.postStore(t, "shop-a", "two", "cart.updated", "r2b", "c2", "ana@example.com", "10.00"); status != 202 {
		t.Fatalf("the new secret: %d %s", status, body)
	}
	v1 := b.readyVersion(t)
	if v := reload(strings.Replace(rotated, "stores:", `segments:
  - {name: big, when: {min_total: "100"}, sequence: [{name: first, delay: 30m, channels: [email], template: first-reminder}]}
stores:`, 1)); v == v1 {
		t.Fatal("the segment did not apply")
	}
	if status, body := b.postStore(t, "shop-a", "two", "cart.updated", "r3", "c3", "ben@example.com", "150.00"); status != 202 {
		t.Fatalf("%d %s", status, body)
	}
	var tl struct {
		Segment string `json:"segment"`
	}
	b.getJSON(t, "/api/carts/shop-a/c3", &tl)
	if tl.Segment != "big" {
		t.Errorf("a cart after the reload is in segment %q, want big", tl.Segment)
	}
	// a reload of the same file again is unchanged
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	b.waitReload(t)
	if !b.metric(t, `cartrecovery_config_reloads_total{result="unchanged"} 1`) {
		t.Error("the same file again is not counted unchanged")
	}
	// carts that began before the segment existed keep the default sequence
	for _, c := range []string{"c1", "c2"} {
		b.getJSON(t, "/api/carts/shop-a/"+c, &tl)
		if tl.Segment != "default" {
			t.Errorf("cart %s moved to segment %q by a reload", c, tl.Segment)
		}
	}
	// the segment removed: its cart ends its sequence (it is not handed
	// the default sequence's steps), with a warning naming it
	reload(rotated)
	if !strings.Contains(b.logs.String(), `segments removed (or renamed)`) || !strings.Contains(b.logs.String(), `segments=big`) {
		t.Errorf("no warning naming the removed segment:\n%s", b.logs.String())
	}
	b.advance(t, 30*time.Minute)
	b.waitCart(t, "shop-a", "c3", func(_ int, due *time.Time) bool { return due == nil })
	b.advance(t, 30*time.Minute)              // the default sequence's first step would be due now
	b.smtp.WaitMessages(t, 1, 10*time.Second) // c1's (c2's is held by the cooldown)
	b.advance(t, time.Minute)
	for _, m := range b.smtp.Messages() {
		if m.To[0] == "ben@example.com" {
			t.Errorf("the cart of a removed segment got a message")
		}
	}
}

// TestAppStoresSMS: a store's own SMS sender (a number, or a Messaging
// Service) goes to Twilio with its texts; a store without one uses
// sms.twilio's.
func TestAppStoresSMS(t *testing.T) {
	tw := twiliotest.Start(t)
	b := startAppWith(t, `
  - {name: first-reminder, delay: 1h, channels: [sms], template: first-reminder}`,
		fmt.Sprintf(`sms: {transport: twilio, twilio: {account_sid: %q, auth_token: %q, from: "+15005550006", base_url: %q}}
stores:
  shop-a: {name: "Shop A", sms_from: "+15005550007", platforms: {generic: {secret: "sa"}}}
  shop-m: {name: "Shop M", sms_from: "MG0123456789abcdef0123456789abcdef", platforms: {generic: {secret: "sm"}}}
  shop-b: {name: "Shop B", platforms: {generic: {secret: "sb"}}}
`, twiliotest.AccountSID, twiliotest.AuthToken, tw.URL()))
	for i, s := range [][3]string{{"shop-a", "sa", "+34600000001"}, {"shop-m", "sm", "+34600000002"}, {"shop-b", "sb", "+34600000003"}} {
		body := fmt.Sprintf(`{"id":"e%d","type":"cart.updated","occurred_at":%q,"store":%q,"cart":{"id":"c","currency":"EUR","total":"10.00"},`+
			`"customer":{"phone":%q,"sms_consent":true}}`, i, b.clock.Now().Format(time.RFC3339), s[0], s[2])
		req, _ := http.NewRequest(http.MethodPost, b.base+"/webhooks/generic", strings.NewReader(body))
		req.Header.Set("X-Cartrecovery-Signature", generic.Sign([]byte(body), s[1]))
		do(t, req, http.StatusAccepted)
	}
	b.advance(t, time.Hour)
	got := map[string]twiliotest.Sent{}
	for _, m := range tw.WaitMessages(t, 3, 10*time.Second) {
		got[m.To] = m
	}
	for to, want := range map[string][2]string{
		"+34600000001": {"+15005550007", ""},
		"+34600000002": {"", "MG0123456789abcdef0123456789abcdef"},
		"+34600000003": {"+15005550006", ""},
	} {
		if m := got[to]; m.From != want[0] || m.MessagingServiceSID != want[1] {
			t.Errorf("text to %s sent from %q / %q, want %q / %q", to, m.From, m.MessagingServiceSID, want[0], want[1])
		}
	}
	// a bad sender is named by check
	_, _, _, err := load(writeConfig(t, `
stores:
  shop-x: {sms_from: "0600"}
`))
	if err == nil || !strings.Contains(err.Error(), "stores.shop-x.sms_from") {
		t.Errorf("a bad sms_from: %v", err)
	}
}
