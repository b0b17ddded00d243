package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
)

// Finding 3: update A, update B with the same updated_at, then A
// redelivered. A is a duplicate; B (the later arrival) stays.
func TestRedeliveryAfterEqualTimestampIsDuplicate(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	at := t0.Add(-time.Minute)
	a := update("delivery-a", "c1", at)
	a.Customer.FirstName = "A"
	b := update("delivery-b", "c1", at)
	b.Customer.FirstName = "B"
	b.Customer.Email = "b@example.com"
	for i, step := range []struct {
		ev   recovery.Event
		want recovery.Status
	}{{a, recovery.StatusAccepted}, {b, recovery.StatusAccepted}, {a, recovery.StatusDuplicate}, {b, recovery.StatusDuplicate}, {a, recovery.StatusDuplicate}} {
		if r := ingest(t, s, step.ev); r.Status != step.want {
			t.Fatalf("step %d (%s): %s, want %s", i, step.ev.ID, r.Status, step.want)
		}
	}
	c, _, err := s.Load(ctx, "default", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Customer.FirstName != "B" || c.Customer.Email != "b@example.com" {
		t.Fatalf("content after the replay: %+v, want B's", c.Customer)
	}
	// a stale delivery redelivered is still recognised (and still changes nothing)
	old := update("delivery-old", "c1", at.Add(-time.Hour))
	if r := ingest(t, s, old); r.Status != recovery.StatusStale {
		t.Fatalf("older update: %s", r.Status)
	}
	if r := ingest(t, s, old); r.Status != recovery.StatusDuplicate {
		t.Fatalf("older update redelivered: %s", r.Status)
	}
}

// Finding 4: the platform's clock runs minutes ahead or behind. An order by
// the same email on another cart stops the cart all the same: the
// comparison uses receive times.
func TestOrderStopsOtherCartWhateverThePlatformClock(t *testing.T) {
	for _, skew := range []time.Duration{2 * time.Minute, -2 * time.Minute, 20 * time.Minute, -3 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			s, clk := newStore(t)
			ctx := context.Background()
			ingest(t, s, update("u1", "laptop", t0.Add(skew))) // platform clock skewed
			clk.Add(10 * time.Second)
			o := order("o1", "phone", t0.Add(10*time.Second)) // the order: other cart, same email
			ingest(t, s, o)
			clk.Add(time.Hour)
			c, _, _ := s.Load(ctx, "default", "laptop")
			if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "laptop", Step: 0, Channel: "email"}, c.Gen, c.Email(), ""); r != recovery.ClaimOrdered {
				t.Fatalf("claim after the customer's order: %q, want %q", r, recovery.ClaimOrdered)
			}
		})
	}
}

// Finding 5: absurd dates.
func TestAbsurdDates(t *testing.T) {
	s, _ := newStore(t)
	for _, tc := range []struct {
		at    time.Time
		field string
	}{
		{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), "occurred_at"},
		{t0.Add(recovery.MaxFuture + time.Minute), "occurred_at"},
		{time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), "occurred_at"},
	} {
		ev := update("x-"+tc.at.String(), "c1", tc.at)
		_, err := s.Ingest(context.Background(), ev)
		var fe *recovery.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, recovery.ErrInvalid) {
			t.Fatalf("%s: err %v, want a FieldError on %s", tc.at, err, tc.field)
		}
		o := order("o-"+tc.at.String(), "c1", tc.at)
		o.TimeField = "created_at"
		if _, err := s.Ingest(context.Background(), o); !errors.As(err, &fe) || fe.Field != "created_at" {
			t.Fatalf("order %s: err %v, want a FieldError on created_at", tc.at, err)
		}
	}
	if _, ok, _ := s.Load(context.Background(), "default", "c1"); ok {
		t.Fatal("a rejected event left a cart behind")
	}
	// minutes of skew either way are fine
	for i, d := range []time.Duration{-10 * time.Minute, 10 * time.Minute, 23 * time.Hour} {
		if r := ingest(t, s, update("ok"+string(rune('a'+i)), "c2", t0.Add(d))); r.Status == recovery.StatusDuplicate {
			t.Fatalf("skew %s: %s", d, r.Status)
		}
	}
}

// Finding 5 / invariant 9: a cart first seen idle longer than max_cart_age
// is tracked and marked too old; a fresh update clears the mark.
func TestMaxCartAge(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	ingest(t, s, update("u1", "c1", time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC)))
	c, ok, _ := s.Load(ctx, "default", "c1")
	if !ok || !c.TooOld || c.State != recovery.StateActive {
		t.Fatalf("cart from 2000: %+v", c)
	}
	ingest(t, s, update("u2", "c1", t0.Add(-time.Minute)))
	if c, _, _ := s.Load(ctx, "default", "c1"); c.TooOld {
		t.Fatal("a fresh update left the cart marked too old")
	}
}

// Invariant 9: a cart first seen late gets its steps at the configured
// spacing, not in a burst.
func TestStepsKeepTheirSpacing(t *testing.T) {
	s, clk := newStore(t) // delays 1h, 24h, 72h
	ctx := context.Background()
	ingest(t, s, update("u1", "c1", t0.Add(-30*time.Hour))) // idle 30h when first seen
	due, _ := dueOf(t, s, "c1")
	if !due.Equal(t0.Add(-29 * time.Hour)) {
		t.Fatalf("first step due %s", due)
	}
	if err := s.Advance(ctx, "default", "c1", "", 0); err != nil {
		t.Fatal(err)
	}
	due, _ = dueOf(t, s, "c1")
	if want := t0.Add(23 * time.Hour); !due.Equal(want) {
		t.Fatalf("second step due %s, want %s (23h after the first: the spacing of 1h and 24h)", due, want)
	}
	clk.Add(23 * time.Hour)
	if err := s.Advance(ctx, "default", "c1", "", 1); err != nil {
		t.Fatal(err)
	}
	due, _ = dueOf(t, s, "c1")
	if want := clk.Now().Add(48 * time.Hour); !due.Equal(want) {
		t.Fatalf("third step due %s, want %s", due, want)
	}
	// an update with an old platform time does not pull the step closer
	ingest(t, s, update("u2", "c1", t0.Add(-29*time.Hour)))
	due, _ = dueOf(t, s, "c1")
	if want := clk.Now().Add(48 * time.Hour); due.Before(want) {
		t.Fatalf("after an update dated in the past: third step due %s, before %s", due, want)
	}
}

// Finding 2: a claim whose worker died is swept as failed/unknown, counted,
// and never left bare; a finished claim is not swept.
func TestSweepClaims(t *testing.T) {
	clk := &clock{t: t0}
	rdb := testredis.Universal(t)
	s := redis.NewStore(rdb, redis.Options{Prefix: "test:", Policies: recovery.NamedSequence([]string{"first"}, []time.Duration{time.Hour}...), Now: clk.Now, SendTimeout: 10 * time.Second})
	ctx := context.Background()
	for _, id := range []string{"dead", "done"} {
		ingest(t, s, update("u-"+id, id, t0.Add(-2*time.Hour)))
		c, _, _ := s.Load(ctx, "default", id)
		if r, err := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: id, Step: 0, Channel: "email"}, c.Gen, c.Email(), ""); r != recovery.ClaimOK || err != nil {
			t.Fatalf("claim %s: %q %v", id, r, err)
		}
	}
	if err := s.Finish(ctx, recovery.MessageKey{Store: "default", Cart: "done", Step: 0, Channel: "email"}, "", recovery.OutcomeSent, ""); err != nil {
		t.Fatal(err)
	}
	clk.Add(19 * time.Second)
	if got, _ := s.SweepClaims(ctx, clk.Now(), 100); len(got) != 0 {
		t.Fatalf("swept within the lease: %+v", got)
	}
	clk.Add(2 * time.Second)
	got, err := s.SweepClaims(ctx, clk.Now(), 100)
	if err != nil || len(got) != 1 || got[0] != (recovery.MessageKey{Store: "default", Cart: "dead", Step: 0, Channel: "email", Variant: "a"}) {
		t.Fatalf("sweep: %+v %v", got, err)
	}
	c, _, _ := s.Load(ctx, "default", "dead")
	outcome, _, detail := c.Sends[recovery.Slot{Step: 0, Channel: "email"}].Split()
	if outcome != recovery.OutcomeFailed || !strings.HasPrefix(detail, "unknown") {
		t.Fatalf("swept claim recorded as %q %q", outcome, detail)
	}
	// the late outcome of the swept send does not overwrite the record
	if err := s.Finish(ctx, recovery.MessageKey{Store: "default", Cart: "dead", Step: 0, Channel: "email"}, "", recovery.OutcomeSent, ""); !errors.Is(err, recovery.ErrNoClaim) {
		t.Fatalf("late finish: %v", err)
	}
	// a redelivered task cannot claim it again: never resent
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "dead", Step: 0, Channel: "email"}, c.Gen, c.Email(), ""); r != recovery.ClaimTaken {
		t.Fatalf("claim after the sweep: %q", r)
	}
	stats, err := rdb.HGetAll(ctx, "test:{default}:stats:"+clk.Now().UTC().Format(time.DateOnly)).Result()
	if err != nil || stats["failed|first|email|a"] != "1" || stats["unknown|first|email|a"] != "1" || stats["sent|first|email|a"] != "1" {
		t.Fatalf("counters: %v %v", stats, err)
	}
	if got, _ := s.SweepClaims(ctx, clk.Now().Add(time.Hour), 100); len(got) != 0 {
		t.Fatalf("second sweep: %+v", got)
	}
}

// Every delivery applied to a cart stays a duplicate, beyond the eight kept
// in the cart hash too.
func TestManyDeliveriesAllRemembered(t *testing.T) {
	s, clk := newStore(t)
	var evs []recovery.Event
	for i := range 20 {
		clk.Add(time.Second)
		ev := update(fmt.Sprintf("d%02d", i), "c1", clk.Now())
		evs = append(evs, ev)
		if r := ingest(t, s, ev); r.Status != recovery.StatusAccepted {
			t.Fatalf("delivery %d: %s", i, r.Status)
		}
	}
	for i, ev := range evs {
		if r := ingest(t, s, ev); r.Status != recovery.StatusDuplicate {
			t.Fatalf("redelivery %d: %s, want duplicate", i, r.Status)
		}
	}
	// the same id from another platform is another delivery
	other := evs[0]
	other.Platform = "shopify"
	if r := ingest(t, s, other); r.Status == recovery.StatusDuplicate {
		t.Fatal("a delivery id of another platform was taken for a duplicate")
	}
}

// Review finding: a platform's late retry of an old update (delivered after
// the customer's order on another cart) must not revive the reminder; a
// cart genuinely started after the order keeps its reminders.
func TestLateRetryDoesNotOutrunTheOrder(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	// the phone cart's update happened at t0 but reached us only 10 min
	// after the order placed on the desktop
	o := order("o1", "desktop", t0.Add(time.Minute))
	clk.Add(time.Minute)
	ingest(t, s, o)
	clk.Add(10 * time.Minute)
	ingest(t, s, update("late-retry", "phone", t0))
	// and a new cart, started two minutes after the order, kept alive for an hour
	ingest(t, s, update("new-1", "later", clk.Now().Add(-8*time.Minute)))
	if c, _, _ := s.Load(ctx, "default", "later"); c.State != recovery.StateActive {
		t.Fatalf("a cart started after the order was ended at ingest: %q", c.State)
	}
	clk.Add(time.Hour)
	ingest(t, s, update("new-2", "later", clk.Now()))
	clk.Add(2 * time.Hour)
	phone, _, _ := s.Load(ctx, "default", "phone")
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "phone", Step: 0, Channel: "email"}, phone.Gen, phone.Email(), ""); r != recovery.ClaimOrdered {
		t.Fatalf("claim for the late-retried cart: %q, want %q", r, recovery.ClaimOrdered)
	}
	later, _, _ := s.Load(ctx, "default", "later")
	if r, _ := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "later", Step: 0, Channel: "email"}, later.Gen, later.Email(), ""); r != recovery.ClaimOK {
		t.Fatalf("claim for a cart active an hour after the order: %q, want %q", r, recovery.ClaimOK)
	}
}
