package redis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
)

func TestMain(m *testing.M) { testredis.Main(m) }

// clock is a settable test clock.
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

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*redis.Store, *clock) {
	t.Helper()
	clk := &clock{t: t0}
	s := redis.NewStore(testredis.Universal(t), redis.Options{
		Prefix: "test:", Policies: recovery.SequenceOf(time.Hour, 24*time.Hour, 72*time.Hour), Now: clk.Now,
	})
	return s, clk
}

func update(id, cart string, at time.Time) recovery.Event {
	return recovery.Event{ID: id, Platform: "generic", Kind: recovery.CartUpdated, Store: "default", OccurredAt: at,
		Cart:     recovery.Cart{ID: cart, Currency: "EUR", Total: "59.90", Items: []recovery.Item{{Title: "Tee", Quantity: 2, Price: "29.95"}}},
		Customer: recovery.Customer{Email: "Ana@Example.com", EmailConsent: true}}
}

func order(id, cart string, at time.Time) recovery.Event {
	return recovery.Event{ID: id, Platform: "generic", Kind: recovery.OrderCreated, Store: "default", OccurredAt: at,
		Cart: recovery.Cart{ID: cart}, Customer: recovery.Customer{Email: "ana@example.com"},
		Order: recovery.Order{ID: "o-" + id, Total: "59.90", Currency: "EUR"}}
}

func ingest(t *testing.T, s *redis.Store, ev recovery.Event) recovery.Result {
	t.Helper()
	r, err := s.Ingest(context.Background(), ev)
	if err != nil {
		t.Fatalf("ingest %s: %v", ev.ID, err)
	}
	return r
}

func dueOf(t *testing.T, s *redis.Store, cart string) (time.Time, bool) {
	t.Helper()
	d, ok, err := s.NextDue(context.Background(), "default", cart)
	if err != nil {
		t.Fatal(err)
	}
	return d, ok
}

func TestUpdateSchedulesFromLastActivity(t *testing.T) {
	s, _ := newStore(t)
	if r := ingest(t, s, update("e1", "c1", t0.Add(-10*time.Minute))); r.Status != recovery.StatusAccepted {
		t.Fatalf("first update: %+v", r)
	}
	if d, ok := dueOf(t, s, "c1"); !ok || !d.Equal(t0.Add(50*time.Minute)) {
		t.Fatalf("due = %v %v, want t0+50m", d, ok)
	}
	// a newer update restarts the clock
	ingest(t, s, update("e2", "c1", t0.Add(-time.Minute)))
	if d, _ := dueOf(t, s, "c1"); !d.Equal(t0.Add(59 * time.Minute)) {
		t.Fatalf("due after update = %v, want t0+59m", d)
	}
	// future event time is clamped to now
	ingest(t, s, update("e3", "c1", t0.Add(time.Hour)))
	if d, _ := dueOf(t, s, "c1"); !d.Equal(t0.Add(time.Hour)) {
		t.Fatalf("due after future update = %v, want t0+1h", d)
	}
	c, ok, err := s.Load(context.Background(), "default", "c1")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if c.Gen != 3 || c.State != recovery.StateActive || c.Cart.Total != "59.90" || len(c.Cart.Items) != 1 || c.Customer.Email != "Ana@Example.com" {
		t.Fatalf("loaded cart: %+v", c)
	}
}

func TestDuplicateAndStale(t *testing.T) {
	s, _ := newStore(t)
	ingest(t, s, update("e1", "c1", t0.Add(-time.Minute)))
	if r := ingest(t, s, update("e1", "c1", t0)); r.Status != recovery.StatusDuplicate {
		t.Fatalf("redelivery: %+v", r)
	}
	if r := ingest(t, s, update("e0", "c1", t0.Add(-2*time.Minute))); r.Status != recovery.StatusStale {
		t.Fatalf("older update: %+v", r)
	}
	if d, _ := dueOf(t, s, "c1"); !d.Equal(t0.Add(59 * time.Minute)) {
		t.Fatalf("stale update moved the schedule: %v", d)
	}
	c, _, _ := s.Load(context.Background(), "default", "c1")
	if c.Gen != 1 {
		t.Fatalf("gen = %d after duplicate+stale, want 1", c.Gen)
	}
}

func TestOrderEndsCartAndLateUpdateDoesNotRevive(t *testing.T) {
	s, _ := newStore(t)
	ingest(t, s, update("e1", "c1", t0.Add(-time.Minute)))
	if r := ingest(t, s, order("o1", "c1", t0)); r.Status != recovery.StatusAccepted {
		t.Fatalf("order: %+v", r)
	}
	if _, ok := dueOf(t, s, "c1"); ok {
		t.Fatal("order left the cart on the due set")
	}
	for i, at := range []time.Time{t0.Add(-30 * time.Second), t0.Add(time.Minute)} {
		if r := ingest(t, s, update(fmt.Sprint("late", i), "c1", at)); r.Status != recovery.StatusIgnored {
			t.Fatalf("update after order: %+v", r)
		}
	}
	if _, ok := dueOf(t, s, "c1"); ok {
		t.Fatal("late update revived the cart")
	}
	c, _, _ := s.Load(context.Background(), "default", "c1")
	if c.State != recovery.StateOrdered || c.OrderID != "o-o1" {
		t.Fatalf("cart after order: %+v", c)
	}
}

func TestOrderBeforeCartLeavesTombstone(t *testing.T) {
	s, _ := newStore(t)
	ingest(t, s, order("o1", "c1", t0))
	if r := ingest(t, s, update("e1", "c1", t0.Add(-time.Minute))); r.Status != recovery.StatusIgnored {
		t.Fatalf("create after order: %+v", r)
	}
	if _, ok := dueOf(t, s, "c1"); ok {
		t.Fatal("cart ordered before its create was scheduled")
	}
}

func TestOrderFindsCartsByRefAndEmail(t *testing.T) {
	s, clk := newStore(t)
	a := update("e1", "tok-a", t0.Add(-time.Hour))
	a.Refs = []string{"cart_token:ct-a"}
	ingest(t, s, a)
	ingest(t, s, update("e2", "tok-b", t0.Add(-time.Hour))) // same email, other device
	later := update("e3", "tok-c", t0.Add(time.Minute))     // same email, received well after the order: new intent
	o := order("o1", "", t0)
	o.Refs = []string{"cart_token:ct-a"}
	ingest(t, s, o)
	clk.Add(recovery.OrderGrace + time.Second)
	ingest(t, s, later)
	ctx := context.Background()
	if c, _, _ := s.Load(ctx, "default", "tok-a"); c.State != recovery.StateOrdered {
		t.Errorf("tok-a (found by cart_token) state %q", c.State)
	}
	// the other device's cart is stopped at its claim, and ended there
	b, _, _ := s.Load(ctx, "default", "tok-b")
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "tok-b", Step: 0, Channel: "email"}, b.Gen, b.Email(), ""); r != recovery.ClaimOrdered {
		t.Errorf("claim for tok-b: %q", r)
	}
	if c, _, _ := s.Load(ctx, "default", "tok-b"); c.State != recovery.StateOrdered {
		t.Errorf("tok-b state %q after blocked claim", c.State)
	}
	if _, ok := dueOf(t, s, "tok-b"); ok {
		t.Error("tok-b still scheduled")
	}
	c, _, _ := s.Load(ctx, "default", "tok-c")
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "tok-c", Step: 0, Channel: "email"}, c.Gen, c.Email(), ""); c.State != recovery.StateActive || r != recovery.ClaimOK {
		t.Errorf("cart updated after the order: state %q claim %q, want active/ok", c.State, r)
	}
}

func TestDeleteByRef(t *testing.T) {
	s, _ := newStore(t)
	a := update("e1", "tok", t0.Add(-time.Minute))
	a.Refs = []string{"checkout_id:981820079255243537"}
	ingest(t, s, a)
	del := recovery.Event{ID: "d1", Platform: "generic", Kind: recovery.CartDeleted, Store: "default",
		Refs: []string{"checkout_id:981820079255243537"}}
	if r := ingest(t, s, del); r.Status != recovery.StatusAccepted {
		t.Fatalf("delete: %+v", r)
	}
	if _, ok := dueOf(t, s, "tok"); ok {
		t.Fatal("deleted cart still scheduled")
	}
	if r := ingest(t, s, update("e2", "tok", t0)); r.Status != recovery.StatusIgnored {
		t.Fatalf("update after delete: %+v", r)
	}
}

func TestClaimGuards(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	ingest(t, s, update("e1", "c1", t0.Add(-time.Minute)))
	c, _, _ := s.Load(ctx, "default", "c1")
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "email"}, c.Gen+1, c.Email(), ""); r != recovery.ClaimSuperseded {
		t.Fatalf("claim with old gen: %q", r)
	}
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "email"}, c.Gen, c.Email(), ""); r != recovery.ClaimOK {
		t.Fatalf("first claim: %q", r)
	}
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "email"}, c.Gen, c.Email(), ""); r != recovery.ClaimTaken {
		t.Fatalf("second claim: %q", r)
	}
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "sms"}, c.Gen, c.Email(), ""); r != recovery.ClaimOK {
		t.Fatalf("other channel: %q", r)
	}
	if err := s.Unclaim(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "sms"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "sms"}, c.Gen, c.Email(), ""); r != recovery.ClaimOK {
		t.Fatalf("claim after unclaim: %q", r)
	}
	if err := s.Finish(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "email"}, "", recovery.OutcomeSent, "id-1"); err != nil {
		t.Fatal(err)
	}
	// a sent state is never unclaimed
	_ = s.Unclaim(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "email"})
	c, _, _ = s.Load(ctx, "default", "c1")
	if o, _, d := c.Sends[recovery.Slot{Step: 0, Channel: "email"}].Split(); o != recovery.OutcomeSent || d != "id-1" {
		t.Fatalf("send state %q", c.Sends[recovery.Slot{Step: 0, Channel: "email"}])
	}
	// another cart of the same customer: its order blocks the claim even
	// though this cart was not linked to it
	ingest(t, s, update("e2", "c2", t0.Add(-time.Minute)))
	c2, _, _ := s.Load(ctx, "default", "c2")
	o := order("o9", "unrelated", t0)
	o.Customer.Email = ""
	ingest(t, s, o)
	if _, err := s.Ingest(ctx, recovery.Event{ID: "o10", Platform: "generic", Kind: recovery.OrderCreated, Store: "default",
		OccurredAt: t0, Customer: recovery.Customer{Email: "ANA@example.com"}, Order: recovery.Order{ID: "x"}}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "c2", Step: 0, Channel: "email"}, c2.Gen, c2.Email(), ""); r != recovery.ClaimOrdered {
		t.Fatalf("claim after email order: %q", r)
	}
}

func TestLeaseReleaseAdvance(t *testing.T) {
	ctx := context.Background()
	s, clk := newStore(t)
	ingest(t, s, update("e1", "c1", t0))
	clk.Add(30 * time.Minute)
	ingest(t, s, update("e2", "c2", t0.Add(30*time.Minute)))
	clk.Add(30 * time.Minute)
	lease := clk.Now().Add(30 * time.Second)
	ds, err := s.Lease(ctx, clk.Now(), lease, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].CartID != "c1" || ds[0].Step != 0 || ds[0].Gen != 1 {
		t.Fatalf("leased %+v", ds)
	}
	if again, _ := s.Lease(ctx, clk.Now(), lease, 100); len(again) != 0 {
		t.Fatalf("leased twice: %+v", again)
	}
	if err := s.Release(ctx, lease, ds); err != nil {
		t.Fatal(err)
	}
	if _, ok := dueOf(t, s, "c1"); ok {
		t.Fatal("released cart still due")
	}
	if err := s.Advance(ctx, "default", "c1", "", 0); err != nil {
		t.Fatal(err)
	}
	if d, _ := dueOf(t, s, "c1"); !d.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("step 2 due %v, want t0+24h", d)
	}
	// advancing the same step twice is a no-op
	_ = s.Advance(ctx, "default", "c1", "", 0)
	if c, _, _ := s.Load(ctx, "default", "c1"); c.Step != 1 {
		t.Fatalf("step = %d", c.Step)
	}
	// an update during a lease keeps the new schedule on release
	clk.Add(30 * time.Minute) // c2 due at t0+1h30
	ds, _ = s.Lease(ctx, clk.Now(), clk.Now().Add(time.Minute), 100)
	if len(ds) != 1 {
		t.Fatalf("leased %+v", ds)
	}
	ingest(t, s, update("e3", "c2", clk.Now()))
	_ = s.Release(ctx, clk.Now().Add(time.Minute), ds)
	if d, ok := dueOf(t, s, "c2"); !ok || !d.Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("c2 due %v %v after update during lease", d, ok)
	}
}

// TestClaimCooldown: after a claim for one cart, the same customer's other
// carts are refused until the cooldown has passed; the claiming cart's own
// channels and steps go on, and other customers are not affected.
func TestClaimCooldown(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: t0}
	s := redis.NewStore(testredis.Universal(t), redis.Options{Prefix: "cool:", Now: clk.Now,
		Policies: recovery.SequenceOf(time.Hour, 24*time.Hour).With(func(p *recovery.Policy) { p.Cooldown = 300 * time.Millisecond })})
	ingest(t, s, update("e1", "a", t0.Add(-2*time.Hour)))
	ingest(t, s, update("e2", "b", t0.Add(-2*time.Hour))) // same customer (Ana@Example.com)
	other := update("e3", "c", t0.Add(-2*time.Hour))
	other.Customer.Email = "bea@example.com"
	ingest(t, s, other)
	anon := update("e4", "d", t0.Add(-2*time.Hour))
	anon.Customer.Email = ""
	ingest(t, s, anon)
	claim := func(cart string, step int, ch recovery.Channel) recovery.ClaimResult {
		t.Helper()
		c, _, _ := s.Load(ctx, "default", cart)
		r, err := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: cart, Step: step, Channel: ch}, c.Gen, c.Email(), "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		cart string
		ch   recovery.Channel
		want recovery.ClaimResult
	}{
		{"a", "email", recovery.ClaimOK},
		{"b", "email", recovery.ClaimCooldown}, // same customer, other cart
		{"a", "sms", recovery.ClaimOK},         // the reminded cart's other channel
		{"c", "email", recovery.ClaimOK},       // another customer
		{"d", "email", recovery.ClaimOK},       // no email: nothing to key a cooldown on
		{"b", "email", recovery.ClaimCooldown}, // a refused claim changes nothing
	} {
		if r := claim(tc.cart, 0, tc.ch); r != tc.want {
			t.Errorf("claim %s %s: %q, want %q", tc.cart, tc.ch, r, tc.want)
		}
	}
	if c, _, _ := s.Load(ctx, "default", "b"); len(c.Sends) != 0 {
		t.Errorf("refused claim left %+v", c.Sends)
	}
	time.Sleep(400 * time.Millisecond) // the cooldown is a Redis TTL
	if r := claim("b", 0, "email"); r != recovery.ClaimOK {
		t.Errorf("claim after the cooldown: %q", r)
	}
	if r := claim("a", 0, "push"); r != recovery.ClaimCooldown {
		t.Errorf("b now holds the cooldown; a got %q", r)
	}
	// off: no cooldown key is ever written
	off, _ := newStore(t)
	ingest(t, off, update("f1", "x", t0.Add(-2*time.Hour)))
	ingest(t, off, update("f2", "y", t0.Add(-2*time.Hour)))
	for _, cart := range []string{"x", "y"} {
		c, _, _ := off.Load(ctx, "default", cart)
		if r, _ := off.Claim(ctx, recovery.MessageKey{Store: "default", Cart: cart, Step: 0, Channel: "email"}, c.Gen, c.Email(), ""); r != recovery.ClaimOK {
			t.Errorf("cooldown off, cart %s: %q", cart, r)
		}
	}
}
