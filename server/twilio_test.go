package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/internal/twiliotest"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/server"
	"github.com/cartrecovery/cartrecovery/tenant"
)

// publicURL is where Twilio believes the service is: it signs that URL.
const publicURL = "https://recover.example"

type twilioEnv struct {
	t        *testing.T
	store    *redis.Store
	base     string
	receipts []string // what the metrics were told
}

func newTwilioEnv(t *testing.T) *twilioEnv {
	t.Helper()
	store := redis.NewStore(testredis.Client(t), redis.Options{Prefix: "tw:", Policies: recovery.NamedSequence([]string{"first-reminder", "second-reminder"}, []time.Duration{time.Hour, 24 * time.Hour}...)})
	e := &twilioEnv{t: t, store: store}
	s := &server.Server{Store: store, Links: link.New([]byte("0123456789abcdef0123456789abcdef")),
		TwilioToken: twiliotest.AuthToken, PublicURL: publicURL,
		Tenants: tenant.NewLive(tenant.New(tenant.Set{
			SMSHelp: "Test Shop: cart reminders. Reply STOP to opt out. Help: https://shop.example/help & <more>",
			Default: &tenant.Tenant{Shop: recovery.Shop{Name: "Test Shop", URL: "https://shop.example"},
				Playbook: recovery.Playbook{Steps: []recovery.Step{{Name: "first-reminder", Delay: time.Hour}, {Name: "second-reminder", Delay: 24 * time.Hour}}}}})),
		Receipts: func(ch, st string) { e.receipts = append(e.receipts, ch+":"+st) },
		Ready:    func(context.Context) error { return nil }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	e.base = ts.URL
	return e
}

// post sends a form to path as Twilio does: signed for the public URL,
// unless sig is given.
func (e *twilioEnv) post(path string, form map[string]string, sig ...string) (int, string) {
	e.t.Helper()
	v := url.Values{}
	for k, x := range form {
		v.Set(k, x)
	}
	req, _ := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s := twiliotest.Sign(twiliotest.AuthToken, publicURL+path, form)
	if len(sig) > 0 {
		s = sig[0]
	}
	if s != "" {
		req.Header.Set("X-Twilio-Signature", s)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func inbound(from, body string) map[string]string {
	return map[string]string{"MessageSid": "SM0123456789abcdef0123456789abcdef", "AccountSid": twiliotest.AccountSID,
		"From": from, "To": "+15005550006", "Body": body, "NumMedia": "0"}
}

func (e *twilioEnv) suppressed(store, phone string) bool {
	e.t.Helper()
	ok, err := e.store.Suppressed(context.Background(), store, "sms", recovery.ContactHash(phone))
	if err != nil {
		e.t.Fatal(err)
	}
	return ok
}

// STOP (any synonym, case, spaces) suppresses the number in every store,
// those that come later included, and again at the claim; START lifts it;
// HELP is answered with sms.help_text as TwiML.
func TestTwilioInboundKeywords(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	ctx := context.Background()
	const phone = "+34600111222"
	// two stores have carts
	for _, st := range []string{"shop-a", "shop-b"} {
		ev := recovery.Event{ID: "u-" + st, Platform: "generic", Kind: recovery.CartUpdated, Store: st, OccurredAt: time.Now(),
			Cart: recovery.Cart{ID: "c1", Currency: "EUR", Total: "10.00"}, Customer: recovery.Customer{Phone: phone, SMSConsent: true}}
		if _, err := e.store.Ingest(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, word := range []string{"STOP", " stop ", "StopAll", "UNSUBSCRIBE", "cancel", "End", "quit"} {
		if code, body := e.post("/webhooks/twilio/inbound", inbound(phone, word)); code != 200 || !strings.Contains(body, "<Response></Response>") {
			t.Fatalf("%q: %d %s", word, code, body)
		}
		for _, st := range []string{"shop-a", "shop-b", "shop-new"} {
			if !e.suppressed(st, phone) {
				t.Fatalf("after %q the number may still be texted by %s", word, st)
			}
		}
		// the claim refuses it too, even if the guards ran before the STOP
		c, _, _ := e.store.Load(ctx, "shop-a", "c1")
		if r, err := e.store.Claim(ctx, c.Message(0, "sms", ""), c.Gen, c.Email(), recovery.ContactHash(phone)); err != nil || r != recovery.ClaimUnsubscribed {
			t.Fatalf("claim after %q: %q %v", word, r, err)
		}
		if code, _ := e.post("/webhooks/twilio/inbound", inbound(phone, "start")); code != 200 || e.suppressed("shop-b", phone) || e.suppressed("shop-new", phone) {
			t.Fatalf("START did not lift %q", word)
		}
	}
	// another number is not touched; other texts change nothing
	e.post("/webhooks/twilio/inbound", inbound(phone, "STOP"))
	for _, word := range []string{"STOP please", "stopp", "yes!", ""} {
		e.post("/webhooks/twilio/inbound", inbound("+34600999888", word))
	}
	if e.suppressed("shop-a", "+34600999888") || !e.suppressed("shop-a", phone) {
		t.Fatal("a text other than a keyword changed a suppression")
	}
	for _, word := range []string{"UNSTOP", "Yes"} {
		e.post("/webhooks/twilio/inbound", inbound(phone, "STOP"))
		if e.post("/webhooks/twilio/inbound", inbound(phone, word)); e.suppressed("shop-a", phone) {
			t.Fatalf("%q did not lift the STOP", word)
		}
	}
	for _, word := range []string{"HELP", " info "} {
		code, body := e.post("/webhooks/twilio/inbound", inbound(phone, word))
		if code != 200 || !strings.Contains(body, "<Message>Test Shop: cart reminders. Reply STOP to opt out. Help: https://shop.example/help &amp; &lt;more&gt;</Message>") {
			t.Fatalf("%q: %d %s", word, code, body)
		}
	}
}

// An unsigned, wrongly signed or replayed-elsewhere request is a 401 and
// changes nothing.
func TestTwilioSignatureRequired(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	const phone = "+34600111333"
	form := inbound(phone, "STOP")
	for name, sig := range map[string]string{
		"unsigned":             "",
		"wrong token":          twiliotest.Sign("another-token", publicURL+"/webhooks/twilio/inbound", form),
		"signed for elsewhere": twiliotest.Sign(twiliotest.AuthToken, "https://evil.example/webhooks/twilio/inbound", form),
		"another body":         twiliotest.Sign(twiliotest.AuthToken, publicURL+"/webhooks/twilio/inbound", inbound(phone, "HELP")),
	} {
		for _, path := range []string{"/webhooks/twilio/inbound", "/webhooks/twilio/status"} {
			if code, body := e.post(path, form, sig); code != http.StatusUnauthorized {
				t.Errorf("%s to %s: %d %s, want 401", name, path, code, body)
			}
		}
	}
	if e.suppressed("shop-a", phone) {
		t.Fatal("a refused request suppressed the number")
	}
}

// Delivery receipts: the final status of a sent SMS is recorded once on
// its outcome, counted in the report and the metrics, shown in the
// timeline; other statuses and unknown messages change nothing.
func TestTwilioStatusCallback(t *testing.T) {
	t.Parallel()
	e := newTwilioEnv(t)
	ctx := context.Background()
	for _, id := range []string{"c1", "c2", "c3"} {
		ev := recovery.Event{ID: "u-" + id, Platform: "generic", Kind: recovery.CartUpdated, Store: "shop-a", OccurredAt: time.Now(),
			Cart: recovery.Cart{ID: id, Currency: "EUR", Total: "10.00"}, Customer: recovery.Customer{Phone: "+34600111444", SMSConsent: true}}
		if _, err := e.store.Ingest(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if id == "c3" {
			continue // never sent
		}
		c, _, _ := e.store.Load(ctx, "shop-a", id)
		m := c.Message(0, "sms", "")
		if r, err := e.store.Claim(ctx, m, c.Gen, c.Email(), recovery.ContactHash("+34600111444")); err != nil || r != recovery.ClaimOK {
			t.Fatalf("claim %s: %q %v", id, r, err)
		}
		if err := e.store.Finish(ctx, m, c.Email(), recovery.OutcomeSent, ""); err != nil {
			t.Fatal(err)
		}
	}
	status := func(cart, st, errCode string) int {
		t.Helper()
		m := recovery.MessageKey{Store: "shop-a", Cart: cart, Step: 0, Channel: "sms"}
		path := "/webhooks/twilio/status?m=" + url.QueryEscape(m.String())
		code, _ := e.post(path, map[string]string{"MessageSid": "SM1", "MessageStatus": st, "ErrorCode": errCode,
			"AccountSid": twiliotest.AccountSID, "To": "+34600111444"})
		return code
	}
	for _, st := range []string{"queued", "sent"} {
		if code := status("c1", st, ""); code != http.StatusNoContent {
			t.Fatalf("%s: %d", st, code)
		}
	}
	status("c1", "delivered", "")
	status("c1", "delivered", "")    // repeated
	status("c1", "undelivered", "1") // no final status after the first
	status("c2", "failed", "30007")
	status("c3", "delivered", "") // never sent: ignored
	day := time.Now().UTC().Format(time.DateOnly)
	ctr, err := e.store.Counters(ctx, []string{"shop-a"}, []string{day})
	if err != nil {
		t.Fatal(err)
	}
	got := ctr["shop-a"][day]
	del := recovery.Counter{Kind: recovery.CountDelivered, Step: "first-reminder", Channel: "sms", Variant: "a"}
	und := recovery.Counter{Kind: recovery.CountUndelivered, Step: "first-reminder", Channel: "sms", Variant: "a"}
	if got[del] != 1 || got[und] != 1 {
		t.Fatalf("delivered %d, undelivered %d; want 1 each (%v)", got[del], got[und], got)
	}
	if strings.Join(e.receipts, ",") != "sms:delivered,sms:failed" {
		t.Fatalf("metrics told %v", e.receipts)
	}
	c1, _, _ := e.store.Load(ctx, "shop-a", "c1")
	c2, _, _ := e.store.Load(ctx, "shop-a", "c2")
	c3, _, _ := e.store.Load(ctx, "shop-a", "c3")
	slot := recovery.Slot{Step: 0, Channel: "sms"}
	if c1.Receipts[slot].Status != "delivered" || c2.Receipts[slot].Status != "failed" || c2.Receipts[slot].Error != "30007" || len(c3.Receipts) != 0 {
		t.Fatalf("receipts %v %v %v", c1.Receipts, c2.Receipts, c3.Receipts)
	}
	// a callback that names no message of ours is refused
	for _, m := range []string{"", "garbage", "0|email|a|shop-a|c1", "0|sms|a|bad store!|c1"} {
		code, _ := e.post("/webhooks/twilio/status?m="+url.QueryEscape(m), map[string]string{"MessageStatus": "delivered"})
		if code != http.StatusBadRequest {
			t.Errorf("m=%q: %d, want 400", m, code)
		}
	}
}

// TestTwilioHelpPerStore: HELP sent to a store's own number (or through
// its Messaging Service) is answered with that store's help text; to the
// deployment's number, with sms.help_text.
func TestTwilioHelpPerStore(t *testing.T) {
	store := redis.NewStore(testredis.Client(t), redis.Options{Prefix: "tw:", Policies: recovery.SequenceOf(time.Hour)})
	s := &server.Server{Store: store, Links: link.New([]byte("0123456789abcdef0123456789abcdef")),
		TwilioToken: twiliotest.AuthToken, PublicURL: publicURL,
		Tenants: tenant.NewLive(tenant.New(tenant.Set{SMSHelp: "Deployment help",
			Default: &tenant.Tenant{Shop: recovery.Shop{Name: "Top", URL: "https://shop.example"}},
			Stores: map[string]*tenant.Tenant{
				"shop-a": {Shop: recovery.Shop{Name: "A", SMSFrom: "+15005550007"}, SMSHelp: "Shop A help"},
				"shop-m": {Shop: recovery.Shop{Name: "M", SMSFrom: "MG0123456789abcdef0123456789abcdef"}, SMSHelp: "Shop M help"},
			}})),
		Ready: func(context.Context) error { return nil }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	e := &twilioEnv{t: t, store: store, base: ts.URL}
	for _, c := range []struct {
		to, mgs, want string
	}{
		{"+15005550007", "", "Shop A help"},
		{"+15005550099", "MG0123456789abcdef0123456789abcdef", "Shop M help"},
		{"+15005550006", "", "Deployment help"},
	} {
		form := inbound("+34600000009", "HELP")
		form["To"] = c.to
		if c.mgs != "" {
			form["MessagingServiceSid"] = c.mgs
		}
		if code, body := e.post("/webhooks/twilio/inbound", form); code != 200 || !strings.Contains(body, "<Message>"+c.want+"</Message>") {
			t.Errorf("HELP to %s: %d %s, want %q", c.to, code, body, c.want)
		}
	}
}
