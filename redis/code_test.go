package redis_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
)

func load(t *testing.T, s *redis.Store, cart string) recovery.CartState {
	t.Helper()
	c, ok, err := s.Load(context.Background(), "default", cart)
	if err != nil || !ok {
		t.Fatalf("load %s: %v %v", cart, ok, err)
	}
	return c
}

func counters(t *testing.T, s *redis.Store, c *clock) map[recovery.Counter]int64 {
	t.Helper()
	all, err := s.Counters(context.Background(), []string{"default"}, []string{c.Now().UTC().Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	return all["default"][c.Now().UTC().Format(time.DateOnly)]
}

// A step's unique code is made once, whatever number of runs ask at once;
// it is replaced only when it is about to expire, and counted issued once
// it is registered, however often that is marked.
func TestCodeForOneCodePerStep(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	ingest(t, s, update("u1", "c1", t0))
	c := load(t, s, "c1")

	const runs = 8
	codes := make([]recovery.Code, runs)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, stop, err := s.CodeFor(ctx, c, 0, "a", "BACK-", 72*time.Hour)
			if err != nil || stop {
				t.Errorf("run %d: %v stop=%v", i, err, stop)
			}
			codes[i] = code
		}()
	}
	wg.Wait()
	first := codes[0]
	if !strings.HasPrefix(first.Code, "BACK-") || len(first.Code) != len("BACK-")+recovery.CodeLength ||
		!first.ExpiresAt.Equal(t0.Add(72*time.Hour)) || first.Registered {
		t.Fatalf("made %+v", first)
	}
	for i, code := range codes {
		if code != first {
			t.Fatalf("run %d got %+v, run 0 %+v: one code per (cart, step)", i, code, first)
		}
	}
	if kept := load(t, s, "c1").Codes[0]; kept != first {
		t.Fatalf("cart keeps %+v, want %+v", kept, first)
	}

	// registered: counted once, however often marked
	for range 3 {
		if ok, err := s.CodeRegistered(ctx, c, 0, "a", first); err != nil || !ok {
			t.Fatalf("registered: %v %v", ok, err)
		}
	}
	c = load(t, s, "c1")
	if !c.Codes[0].Registered {
		t.Fatalf("not marked registered: %+v", c.Codes[0])
	}
	if n := counters(t, s, clk)[recovery.Counter{Kind: recovery.CountCodesIssued, Step: "0", Variant: "a"}]; n != 1 {
		t.Fatalf("codes_issued = %d, want 1", n)
	}
	// a retry reuses it while it is valid
	if again, _, _ := s.CodeFor(ctx, c, 0, "a", "BACK-", 72*time.Hour); again != c.Codes[0] {
		t.Fatalf("retry made %+v, want the kept %+v", again, c.Codes[0])
	}
	// near its end (less than an hour left), a new one replaces it; the
	// old one can no longer be marked
	clk.Add(71*time.Hour + time.Minute)
	next, _, err := s.CodeFor(ctx, c, 0, "a", "BACK-", 72*time.Hour)
	if err != nil || next.Code == first.Code || next.Registered || !next.ExpiresAt.Equal(clk.Now().Add(72*time.Hour)) {
		t.Fatalf("near expiry: %+v %v; want a new code", next, err)
	}
	if ok, _ := s.CodeRegistered(ctx, c, 0, "a", first); ok {
		t.Fatal("the replaced code was marked registered")
	}
	// another step has its own
	other, _, _ := s.CodeFor(ctx, c, 1, "a", "", 24*time.Hour)
	if other.Code == next.Code || len(other.Code) != recovery.CodeLength {
		t.Fatalf("step 1 code %+v", other)
	}
}

// A cart that ended or moved on gets no code.
func TestCodeForStops(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	ingest(t, s, update("u1", "c1", t0))
	c := load(t, s, "c1")
	ingest(t, s, update("u2", "c1", t0.Add(time.Minute))) // a newer generation
	if code, stop, err := s.CodeFor(ctx, c, 0, "a", "", time.Hour*72); err != nil || !stop || code.Code != "" {
		t.Fatalf("superseded cart: %+v stop=%v %v", code, stop, err)
	}
	c = load(t, s, "c1")
	ingest(t, s, order("o1", "c1", t0.Add(2*time.Minute)))
	if _, stop, err := s.CodeFor(ctx, c, 0, "a", "", time.Hour*72); err != nil || !stop {
		t.Fatalf("ordered cart: stop=%v %v", stop, err)
	}
}

// An order that carries a unique code counts it redeemed once, whatever
// its case, however many deliveries; the same order seen again by its id
// (the check before a send, then the webhook) is one order.
func TestOrderRedeemsCodeOnce(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	ingest(t, s, update("u1", "c1", t0))
	c := load(t, s, "c1")
	code, _, err := s.CodeFor(ctx, c, 0, "a", "BACK-", 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CodeRegistered(ctx, c, 0, "a", code); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	verified := order("v1", "c1", clk.Now())
	verified.Verified, verified.Order.ID = true, "1001"
	verified.Order.Codes = []string{" " + strings.ToLower(code.Code) + " ", "SOMEONE-ELSES", strings.Repeat("x", 100)}
	ingest(t, s, verified)
	late := verified
	late.ID, late.Verified = "webhook-1", false
	ingest(t, s, late)
	n := counters(t, s, clk)
	redeemed := recovery.Counter{Kind: recovery.CountCodesRedeemed, Step: "0", Variant: "a"}
	if n[redeemed] != 1 || n[recovery.Counter{Kind: recovery.CountOrders}] != 1 || n[recovery.Counter{Kind: recovery.CountVerifiedOrdered}] != 1 {
		t.Fatalf("redeemed %d, orders %d, verified %d; want 1 each (counters %v)", n[redeemed],
			n[recovery.Counter{Kind: recovery.CountOrders}], n[recovery.Counter{Kind: recovery.CountVerifiedOrdered}], n)
	}
	// another order (another id) with the same code: the code was used once
	ingest(t, s, order("o2", "c1", clk.Now()))
	again := order("o3", "c1", clk.Now())
	again.Order.Codes = []string{code.Code}
	ingest(t, s, again)
	if n := counters(t, s, clk); n[redeemed] != 1 || n[recovery.Counter{Kind: recovery.CountOrders}] != 3 {
		t.Fatalf("after two more orders: redeemed %d, orders %d; want 1, 3", n[redeemed], n[recovery.Counter{Kind: recovery.CountOrders}])
	}
}

// Attribution follows the click: an order is credited to the last message
// clicked within the window, else to the last message sent.
func TestAttributionFollowsTheClick(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	send := func(cart string, step int, ch recovery.Channel) recovery.MessageKey {
		t.Helper()
		c := load(t, s, cart)
		m := c.Message(step, ch, "")
		if r, err := s.Claim(ctx, m, c.Gen, c.Email(), ""); err != nil || r != recovery.ClaimOK {
			t.Fatalf("claim %v: %q %v", m, r, err)
		}
		if err := s.Finish(ctx, m, c.Email(), recovery.OutcomeSent, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.Advance(ctx, "default", cart, "", step); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		cart       string
		clickAfter time.Duration // after the first message; 0: no click
		wantAtt    string
		wantRule   string
	}{
		{"clicked", time.Minute, "recovered|0|email|a", "click"},
		{"no-click", 0, "recovered|1|sms|a", "send"},
		// clicked, but longer than the window (168h) before the order
		{"old-click", time.Minute, "recovered|1|sms|a", "send"},
	} {
		ev := update("u-"+c.cart, c.cart, clk.Now())
		ev.Customer.Email = c.cart + "@example.com"
		ingest(t, s, ev)
		first := send(c.cart, 0, "email")
		if c.clickAfter > 0 {
			clk.Add(c.clickAfter)
			if _, ok, err := s.Click(ctx, first); err != nil || !ok {
				t.Fatalf("click: %v %v", ok, err)
			}
		}
		if c.cart == "old-click" {
			clk.Add(169 * time.Hour)
		}
		clk.Add(time.Minute)
		send(c.cart, 1, "sms") // a later message, not clicked
		clk.Add(time.Minute)
		o := order("o-"+c.cart, c.cart, clk.Now())
		o.Customer.Email = c.cart + "@example.com"
		ingest(t, s, o)
		got := load(t, s, c.cart)
		if got.Attribution != c.wantAtt || got.AttributionRule != c.wantRule {
			t.Errorf("%s: credited %q by %q, want %q by %q", c.cart, got.Attribution, got.AttributionRule, c.wantAtt, c.wantRule)
		}
	}
	all, err := s.Counters(ctx, []string{"default"}, []string{t0.Format(time.DateOnly), clk.Now().UTC().Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	var byClick int64
	for _, day := range all["default"] {
		byClick += day[recovery.Counter{Kind: recovery.CountCreditClick}]
	}
	if byClick != 1 {
		t.Fatalf("credited by click %d, want 1", byClick)
	}
}

// One order seen twice (its webhook, then the check before another cart's
// send finds it by email; or BigCommerce's converted, then the lookup with
// the order's codes) ends every cart it finds, is counted and credited
// once, and its codes are counted whichever sighting carries them.
func TestOrderSeenTwiceCountsOnce(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		ingest(t, s, update("u-"+id, id, clk.Now()))
		c := load(t, s, id)
		m := c.Message(0, "email", "")
		if r, err := s.Claim(ctx, m, c.Gen, c.Email(), ""); err != nil || r != recovery.ClaimOK {
			t.Fatalf("claim %s: %q %v", id, r, err)
		}
		if err := s.Finish(ctx, m, c.Email(), recovery.OutcomeSent, ""); err != nil {
			t.Fatal(err)
		}
	}
	code, _, err := s.CodeFor(ctx, load(t, s, "b"), 0, "a", "BC-", 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	first := order("w1", "a", clk.Now())
	first.Order.ID = "5001" // no codes: BigCommerce's converted names none
	ingest(t, s, first)
	again := order("verified:5001", "b", clk.Now())
	again.Order.ID, again.Verified, again.Order.Codes = "5001", true, []string{code.Code}
	ingest(t, s, again)
	if b := load(t, s, "b"); b.State != recovery.StateOrdered || b.Attribution != "same_order" {
		t.Fatalf("cart b: %s %q, want ordered, not credited again", b.State, b.Attribution)
	}
	n := counters(t, s, clk)
	if n[recovery.Counter{Kind: recovery.CountOrders}] != 1 || n[recovery.Counter{Kind: recovery.CountRecovered}] != 1 ||
		n[recovery.Counter{Kind: recovery.CountVerifiedOrdered}] != 0 ||
		n[recovery.Counter{Kind: recovery.CountCodesRedeemed, Step: "0", Variant: "a"}] != 1 {
		t.Fatalf("counters %v: want 1 order, 1 recovery, its code redeemed once", n)
	}
}
