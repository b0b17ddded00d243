package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce/bigcommercetest"
	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/shopify/shopifytest"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/report"
	"github.com/cartrecovery/cartrecovery/tenant"
	"github.com/cartrecovery/cartrecovery/worker"
)

// These tests run the worker against the real Shopify client talking to a
// fake of Shopify's Admin GraphQL API (platform/shopify/shopifytest), which checks
// what it receives: the platform stages (the order check, unique codes) as
// they run in production, minus Shopify.

// uniqueStep is a one-step sequence (email only) offering a unique code.
func uniqueStep() []recovery.Step {
	st := steps(time.Hour, 24*time.Hour)
	st[0].Discount = recovery.Discount{Unique: true, Percent: "10", ExpiresAfter: 72 * time.Hour, Prefix: "BACK-", Label: "10% off"}
	st[1].Channels = []recovery.Channel{"email"}
	return st
}

// withShopify gives the bundle's workers the Shopify client on a fake shop.
func withShopify(b *testBundle, rules ...func(*tenant.Rules)) *shopifytest.Server {
	fake := shopifytest.Start(b.t)
	b.platforms = map[string]platform.Client{"shopify": shopify.NewClient(fake.URL, shopifytest.Shop, shopifytest.Token)}
	for _, f := range rules {
		f(&b.rules)
	}
	return fake
}

// shopCart is cart id of the fake shop, as Shopify's webhooks record it.
func shopCart(id string, at time.Time) recovery.Event {
	ev := cart(id, at)
	ev.Platform, ev.Store = "shopify", shopifytest.Shop
	return ev
}

func (b *testBundle) loadShop(id string) recovery.CartState {
	b.t.Helper()
	c, _, err := b.store.Load(context.Background(), shopifytest.Shop, id)
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// totals reads the report of the fake shop over the test's days.
func (b *testBundle) totals() report.Report {
	b.t.Helper()
	from := day0.Truncate(24 * time.Hour)
	to := b.clock.Now().UTC().Truncate(24 * time.Hour)
	ctr, err := b.store.Counters(context.Background(), []string{shopifytest.Shop}, report.Days(from, to))
	if err != nil {
		b.t.Fatal(err)
	}
	r, err := report.Build(ctr, report.Query{From: from, To: to, By: "step", Steps: []string{"first-reminder", "second-reminder"}})
	if err != nil {
		b.t.Fatal(err)
	}
	return r
}

// codeIn returns the unique code a message text carries ("" when none).
func codeIn(text string) string {
	i := strings.Index(text, "BACK-")
	if i < 0 {
		return ""
	}
	return text[i : i+len("BACK-")+recovery.CodeLength]
}

func TestUniqueCodeRegisteredBeforeSend(t *testing.T) {
	parallel(t)
	b := setup(t, uniqueStep())
	fake := withShopify(b)
	b.startWorker()
	b.ingest(shopCart("c1", b.clock.Now()))
	b.advance(time.Hour)

	sent := b.email.all()
	if len(sent) != 1 {
		t.Fatalf("%d emails, want 1", len(sent))
	}
	code := codeIn(sent[0].Text)
	codes := fake.Codes()
	if code == "" || len(codes) != 1 || codes[0].Code != code {
		t.Fatalf("the email carries %q; the shop has %+v", code, codes)
	}
	due := day0.Add(time.Hour)
	if got := codes[0]; got.Percentage != "0.1" || got.UsageLimit != 1 || !got.OncePerCustomer ||
		!got.EndsAt.Equal(due.Add(72*time.Hour)) || !got.StartsAt.Equal(due) {
		t.Fatalf("registered %+v; want 10%%, single use, from %v for 72h", got, due)
	}
	if !strings.Contains(sent[0].Text, "valid until 5 November 2026") {
		t.Fatalf("the email does not show the code's expiry:\n%s", sent[0].Text)
	}
	c := b.loadShop("c1")
	if kept := c.Codes[0]; kept.Code != code || !kept.Registered || !kept.ExpiresAt.Equal(codes[0].EndsAt) {
		t.Fatalf("cart keeps %+v, want %s registered", kept, code)
	}
	if r := b.totals(); r.Totals.CodesIssued != 1 || r.Rows[0].CodesIssued != 1 {
		t.Fatalf("codes issued: totals %d, first step %d; want 1", r.Totals.CodesIssued, r.Rows[0].CodesIssued)
	}

	// The customer orders with the code, typed in lower case; the order is
	// delivered twice under two delivery ids: one redemption, one order.
	for _, id := range []string{"w1", "w2"} {
		ev := order("c1", b.clock.Now())
		ev.ID, ev.Platform, ev.Store = id, "shopify", shopifytest.Shop
		ev.Order.ID, ev.Order.Codes = "9001", []string{"OTHER", strings.ToLower(code)}
		b.ingest(ev)
	}
	if r := b.totals(); r.Totals.CodesRedeemed != 1 || r.Rows[0].CodesRedeemed != 1 || r.Totals.Orders != 1 || r.Totals.Recovered != 1 {
		t.Fatalf("after the order: redeemed %d (row %d), orders %d, recovered %d; want 1 each",
			r.Totals.CodesRedeemed, r.Rows[0].CodesRedeemed, r.Totals.Orders, r.Totals.Recovered)
	}
}

// A code is made once per (cart, step): a send retried after a provider's
// temporary failure carries the same code, registered once.
func TestUniqueCodeReusedOnRetry(t *testing.T) {
	parallel(t)
	b := setup(t, uniqueStep())
	fake := withShopify(b)
	b.email.errs = []error{fmt.Errorf("451 try later: %w", notify.ErrTemporary)}
	b.startWorker()
	b.ingest(shopCart("c1", b.clock.Now()))
	b.advance(time.Hour)
	sent := b.email.all()
	if len(sent) != 2 || codeIn(sent[0].Text) == "" || codeIn(sent[0].Text) != codeIn(sent[1].Text) {
		t.Fatalf("attempts carried %q; want two attempts with one code", texts(sent))
	}
	if n := len(fake.Codes()); n != 1 {
		t.Fatalf("%d codes registered, want 1", n)
	}
}

// A code the platform did not accept is never sent: the send waits for
// the retry; when every attempt fails, the step is skipped with the reason.
func TestUniqueCodeRegistrationFails(t *testing.T) {
	parallel(t)
	tests := []struct {
		name      string
		failures  int
		wantSends int
	}{
		{"the send waits for a registration that works", 2, 1},
		{"no send while the shop refuses", 100, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parallel(t)
			b := setup(t, uniqueStep())
			fake := withShopify(b)
			fake.FailNext(tc.failures)
			b.startWorker()
			b.ingest(shopCart("c1", b.clock.Now()))
			b.advance(time.Hour)
			sent := b.email.all()
			if len(sent) != tc.wantSends {
				t.Fatalf("%d emails, want %d", len(sent), tc.wantSends)
			}
			c := b.loadShop("c1")
			s := c.Sends[recovery.Slot{Step: 0, Channel: "email"}]
			if tc.wantSends == 1 {
				if codes := fake.Codes(); len(codes) != 1 || codeIn(sent[0].Text) != codes[0].Code {
					t.Fatalf("sent %q; registered %+v", codeIn(sent[0].Text), codes)
				}
				return
			}
			if s.Outcome != recovery.OutcomeSkipped || !strings.HasPrefix(s.Detail, worker.ReasonNoCode) || c.Step != 1 {
				t.Fatalf("step 0: %+v, cart on step %d; want skipped (%s), step 1", s, c.Step, worker.ReasonNoCode)
			}
			if r := b.totals(); r.Totals.CodesIssued != 0 {
				t.Fatalf("%d codes counted issued, want 0", r.Totals.CodesIssued)
			}
		})
	}
}

// An order whose webhook never came is found by asking the shop right
// before the send: no reminder, the order recorded and attributed; the
// webhook arriving late does not count it twice.
func TestOrderCheckStopsTheCart(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour, 24*time.Hour))
	fake := withShopify(b)
	b.startWorker()
	b.ingest(shopCart("c1", b.clock.Now()))
	// an order of another customer, and one of this customer before the cart
	fake.AddOrder(shopifytest.Order{ID: 1, Email: "someone@example.com", CreatedAt: day0.Add(10 * time.Minute), Total: "5.00", Currency: "EUR"})
	fake.AddOrder(shopifytest.Order{ID: 2, Email: "c1@example.com", CreatedAt: day0.Add(-2 * time.Hour), Total: "5.00", Currency: "EUR"})
	b.advance(time.Hour) // first step: nothing found, sent
	if n := len(b.email.all()); n != 1 {
		t.Fatalf("%d emails after the first step, want 1", n)
	}
	// the customer orders; the webhook is lost
	fake.AddOrder(shopifytest.Order{ID: 3, Email: "C1@example.com", CreatedAt: day0.Add(2 * time.Hour), Total: "59.90", Currency: "EUR"})
	b.advance(24 * time.Hour)
	if n := len(b.email.all()) + len(b.sms.all()); n != 1 {
		t.Fatalf("%d messages in all, want the first only", n)
	}
	c := b.loadShop("c1")
	if c.State != recovery.StateOrdered || c.OrderID != "3" || !strings.HasPrefix(c.Attribution, "recovered|first-reminder|email") {
		t.Fatalf("cart %s, order %q, attribution %q; want ordered by 3, credited to the first reminder", c.State, c.OrderID, c.Attribution)
	}
	r := b.totals()
	if r.Totals.VerifiedOrdered != 1 || r.Totals.Orders != 1 || r.Totals.Recovered != 1 {
		t.Fatalf("verified %d, orders %d, recovered %d; want 1 each", r.Totals.VerifiedOrdered, r.Totals.Orders, r.Totals.Recovered)
	}
	late := order("c1", b.clock.Now())
	late.ID, late.Platform, late.Store, late.Order.ID = "webhook-late", "shopify", shopifytest.Shop, "3"
	b.ingest(late)
	if r := b.totals(); r.Totals.Orders != 1 || r.Totals.Recovered != 1 {
		t.Fatalf("after the late webhook: orders %d, recovered %d; want 1 each", r.Totals.Orders, r.Totals.Recovered)
	}
}

// When the shop cannot answer the check, the send goes on (on), or waits
// and finally skips the step (strict), or no one asks (off).
func TestOrderCheckUnanswered(t *testing.T) {
	parallel(t)
	tests := []struct {
		mode      string
		wantSends int
		wantCalls bool
	}{
		{tenant.CheckOn, 1, true},
		{tenant.CheckStrict, 0, true},
		{tenant.CheckOff, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			parallel(t)
			b := setup(t, steps(time.Hour, 24*time.Hour))
			fake := withShopify(b, func(r *tenant.Rules) { r.PlatformCheck = tc.mode })
			fake.FailNext(100)
			b.startWorker()
			b.ingest(shopCart("c1", b.clock.Now()))
			b.advance(time.Hour)
			if n := len(b.email.all()); n != tc.wantSends {
				t.Fatalf("%d emails, want %d", n, tc.wantSends)
			}
			if called := fake.Calls() > 0; called != tc.wantCalls {
				t.Fatalf("shop called: %v, want %v", called, tc.wantCalls)
			}
			c := b.loadShop("c1")
			if s := c.Sends[recovery.Slot{Step: 0, Channel: "email"}]; tc.mode == tenant.CheckStrict &&
				(s.Outcome != recovery.OutcomeSkipped || s.Detail != worker.ReasonNotVerified || c.Step != 1) {
				t.Fatalf("strict: step 0 %+v on step %d; want skipped (%s), step 1", s, c.Step, worker.ReasonNotVerified)
			}
		})
	}
}

// A unique code with no platform API to register it is never sent.
func TestUniqueCodeWithoutRegistrar(t *testing.T) {
	parallel(t)
	b := setup(t, uniqueStep())
	b.startWorker()
	b.ingest(shopCart("c1", b.clock.Now()))
	b.advance(time.Hour)
	if n := len(b.email.all()); n != 0 {
		t.Fatalf("%d emails, want 0", n)
	}
	if s := b.loadShop("c1").Sends[recovery.Slot{Step: 0, Channel: "email"}]; s.Outcome != recovery.OutcomeSkipped || s.Detail != worker.ReasonNoRegistrar {
		t.Fatalf("step 0: %+v; want skipped (%s)", s, worker.ReasonNoRegistrar)
	}
}

func texts(s []sent) []string {
	out := make([]string, len(s))
	for i, m := range s {
		out[i] = codeIn(m.Text)
	}
	return out
}

// A step whose preparation fails on every attempt (the platform down for
// longer than the retries) is skipped with the reason, and the cart keeps
// its schedule: never left active with nothing due. A cart the platform
// deleted because it became an order is recorded as ordered, not skipped.
func TestPlatformDownAndConvertedCarts(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour, 2*time.Hour))
	b.steps[1].Channels = []recovery.Channel{"email"}
	fake := bigcommercetest.Start(t)
	cl := bigcommerce.NewClient(fake.URL, bigcommercetest.Hash, bigcommercetest.Token)
	b.platforms = map[string]platform.Client{bigcommerce.Platform: cl}
	fake.SetCart("down", &bigcommercetest.Cart{Email: "d@example.com", Currency: "EUR", Total: "5.00",
		Items: []bigcommercetest.Item{{Name: "Mug", Quantity: 1, Price: "5.00"}}})
	fake.AddOrder(bigcommercetest.Order{ID: 77, CartID: "paid", Email: "p@example.com", Total: "5.00", Currency: "EUR",
		StatusID: 11, Created: b.clock.Now().Add(30 * time.Minute)})
	b.startWorker()
	for _, id := range []string{"down", "paid"} {
		b.ingest(recovery.Event{ID: "c-" + id, Platform: bigcommerce.Platform, Kind: recovery.CartUpdated, Store: bigcommercetest.Hash,
			OccurredAt: b.clock.Now(), Cart: recovery.Cart{ID: id}})
	}
	fake.FailNext(1000) // every call of the first step's attempts
	b.advance(time.Hour)
	fake.FailNext(0)
	c, _, _ := b.store.Load(context.Background(), bigcommercetest.Hash, "down")
	s := c.Sends[recovery.Slot{Step: 0, Channel: "email"}]
	if s.Outcome != recovery.OutcomeSkipped || !strings.HasPrefix(s.Detail, worker.ReasonGaveUp) || c.Step != 1 {
		t.Fatalf("cart after its step failed every attempt: %+v on step %d; want skipped (%s…), step 1", s, c.Step, worker.ReasonGaveUp)
	}
	if _, scheduled, _ := b.store.NextDue(context.Background(), bigcommercetest.Hash, "down"); !scheduled {
		t.Fatal("the cart has no schedule left")
	}
	b.advance(2 * time.Hour) // the platform is back: the next step goes out
	if n := len(b.email.all()); n != 1 {
		t.Fatalf("%d emails after the platform came back, want the second step's", n)
	}
	// "paid" was deleted by BigCommerce when it became order 77 (its cart
	// is gone; no webhook came): found by the check, not skipped as gone
	p, _, _ := b.store.Load(context.Background(), bigcommercetest.Hash, "paid")
	if p.State != recovery.StateOrdered || p.OrderID != "77" {
		t.Fatalf("converted cart: %s, order %q; want ordered by 77", p.State, p.OrderID)
	}
}

// A Dev Dashboard app's shop: the worker gets its token with the client
// credentials grant. A token request that fails sends nothing and claims
// nothing; the retry gets a token, registers the code and sends once.
// Every call of the run shares one token.
func TestShopifyAppTokenFailureRetriesBeforeAnyClaim(t *testing.T) {
	parallel(t)
	b := setup(t, uniqueStep())
	fake := withShopify(b)
	b.platforms = map[string]platform.Client{"shopify": shopify.NewClientWith(fake.URL, shopifytest.Shop,
		shopify.NewClientCredentials(fake.URL, shopifytest.Shop, shopifytest.ClientID, shopifytest.ClientSecret))}
	fake.FailTokens(2)
	b.startWorker()
	b.ingest(shopCart("c1", b.clock.Now()))
	b.advance(time.Hour)
	sent := b.email.all()
	if len(sent) != 1 {
		t.Fatalf("%d emails, want 1 (after the token came)", len(sent))
	}
	if codes := fake.Codes(); len(codes) != 1 || codeIn(sent[0].Text) != codes[0].Code {
		t.Fatalf("sent %q; registered %+v", codeIn(sent[0].Text), codes)
	}
	// two failed token requests, then one token for the code and the check
	if n := fake.TokenRequests(); n != 3 {
		t.Fatalf("%d token requests, want 3 (2 failed, 1 kept)", n)
	}
	if s := b.loadShop("c1").Sends[recovery.Slot{Step: 0, Channel: "email"}]; s.Outcome != recovery.OutcomeSent {
		t.Fatalf("send %+v", s)
	}
}
