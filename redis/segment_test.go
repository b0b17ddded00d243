package redis_test

// Segment promises of the store: a cart keeps the segment of its first
// event and runs that segment's delays, its counters are counted once plain
// and once as the segment's copy, per-store playbooks, a segment removed by
// a reload, and message keys that carry their segment through links and
// the claim sweep.
//
// No t.Parallel: TestEveryMode runs this package again on one shared Redis
// Cluster that every test flushes (internal/testredis.Universal), so the
// package's tests run one at a time.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
)

const sgPrefix = "sg:"

// sgPlaybook: the default sequence [1h, 24h] and the segment "high"
// [30m, 2h, 48h], with the segment's holdout.
func sgPlaybook(highHoldout int) recovery.Playbook {
	return recovery.Playbook{
		Steps: []recovery.Step{{Name: "first", Delay: time.Hour}, {Name: "second", Delay: 24 * time.Hour}},
		Segments: []recovery.Segment{{Name: "high", Holdout: highHoldout, Steps: []recovery.Step{
			{Name: "first", Delay: 30 * time.Minute}, {Name: "second", Delay: 2 * time.Hour}, {Name: "third", Delay: 48 * time.Hour}}}},
	}
}

// sgDefaultOnly is sgPlaybook after a reload that removed "high".
func sgDefaultOnly() recovery.Playbook {
	return recovery.Playbook{Steps: []recovery.Step{{Name: "first", Delay: time.Hour}, {Name: "second", Delay: 24 * time.Hour}}}
}

func sgOptions(clk *clock, pbs map[string]recovery.Playbook) redis.Options {
	return redis.Options{Prefix: sgPrefix, Policies: recovery.PlaybooksOf(pbs), Now: clk.Now, SendTimeout: 10 * time.Second}
}

// swapPolicies are policies a test replaces, as a reload swaps the tenant
// snapshot.
type swapPolicies struct {
	p atomic.Pointer[recovery.PolicyMap]
}

func (s *swapPolicies) set(m recovery.PolicyMap)             { s.p.Store(&m) }
func (s *swapPolicies) Policy(store string) *recovery.Policy { return s.p.Load().Policy(store) }

func sgNewStore(t *testing.T, o func(*clock) redis.Options) (*redis.Store, *clock, goredis.UniversalClient) {
	t.Helper()
	clk := &clock{t: t0}
	rdb := testredis.Universal(t)
	return redis.NewStore(rdb, o(clk)), clk, rdb
}

func sgStd(t *testing.T) (*redis.Store, *clock, goredis.UniversalClient) {
	return sgNewStore(t, func(c *clock) redis.Options {
		return sgOptions(c, map[string]recovery.Playbook{"": sgPlaybook(0)})
	})
}

// sgUpdate is a cart.updated of cart in store with the segment Go chose
// for it; the email is the cart's own, so carts never share a customer.
func sgUpdate(store, id, cart, segment string, at time.Time) recovery.Event {
	return recovery.Event{ID: id, Platform: "generic", Kind: recovery.CartUpdated, Store: store, OccurredAt: at, Segment: segment,
		Cart:     recovery.Cart{ID: cart, Currency: "EUR", Total: "59.90", Items: []recovery.Item{{Title: "Tee", Quantity: 2, Price: "29.95"}}},
		Customer: recovery.Customer{Email: cart + "@Example.com", EmailConsent: true}}
}

func sgOrder(store, id, cart string, at time.Time, codes ...string) recovery.Event {
	return recovery.Event{ID: id, Platform: "generic", Kind: recovery.OrderCreated, Store: store, OccurredAt: at,
		Cart: recovery.Cart{ID: cart}, Customer: recovery.Customer{Email: cart + "@example.com"},
		Order: recovery.Order{ID: "o-" + id, Total: "59.90", Currency: "EUR", Codes: codes}}
}

func sgIngest(t *testing.T, s *redis.Store, ev recovery.Event, want recovery.Status) {
	t.Helper()
	r, err := s.Ingest(context.Background(), ev)
	if err != nil {
		t.Fatalf("ingest %s (segment %q): %v", ev.ID, ev.Segment, err)
	}
	if r.Status != want {
		t.Fatalf("ingest %s (segment %q): %+v, want %s", ev.ID, ev.Segment, r, want)
	}
}

func sgLoad(t *testing.T, s *redis.Store, store, cart string) recovery.CartState {
	t.Helper()
	c, ok, err := s.Load(context.Background(), store, cart)
	if err != nil || !ok {
		t.Fatalf("load %s/%s: %v %v", store, cart, ok, err)
	}
	return c
}

// sgDue is the cart's due time as ms after t0, or -1 when none.
func sgDue(t *testing.T, s *redis.Store, store, cart string) time.Duration {
	t.Helper()
	d, ok, err := s.NextDue(context.Background(), store, cart)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return -1
	}
	return time.Duration(d.UnixMilli()-t0.UnixMilli()) * time.Millisecond
}

func sgWantDue(t *testing.T, s *redis.Store, store, cart string, want time.Duration, what string) {
	t.Helper()
	if got := sgDue(t, s, store, cart); got != want {
		t.Fatalf("%s: %s/%s due t0%+v (%d ms), want t0%+v (%d ms) (-1: not scheduled)", what, store, cart,
			got, got.Milliseconds(), want, want.Milliseconds())
	}
}

// sgHash is the raw cart hash.
func sgHash(t *testing.T, rdb goredis.UniversalClient, store, cart string) map[string]string {
	t.Helper()
	h, err := rdb.HGetAll(context.Background(), sgPrefix+"{"+store+"}:cart:"+cart).Result()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// sgStats reads a raw stats hash; every field must parse as a counter.
func sgStats(t *testing.T, rdb goredis.UniversalClient, store string, day time.Time) map[string]string {
	t.Helper()
	h, err := rdb.HGetAll(context.Background(), sgPrefix+"{"+store+"}:stats:"+day.UTC().Format(time.DateOnly)).Result()
	if err != nil {
		t.Fatal(err)
	}
	for f := range h {
		if _, err := recovery.ParseCounter(f); err != nil {
			t.Errorf("stats field %q of %s does not parse: %v", f, store, err)
		}
	}
	return h
}

func sgDiff(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if maps.Equal(got, want) {
		return
	}
	keys := slices.Sorted(maps.Keys(got))
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		if g != w || gok != wok {
			t.Errorf("%s: %s = %q (present %v), want %q (present %v)", what, k, g, gok, w, wok)
		}
	}
}

// Promise 1: the segment of a cart's first event is kept; later updates run
// with its delays whatever segment Go would choose for them; duplicates
// stay duplicates; an update after the order is ignored.
func TestSegmentKeptFromFirstEvent(t *testing.T) {
	const (
		high = 30 * time.Minute
		dflt = time.Hour
	)
	for _, tc := range []struct {
		name         string
		first, later string
		want         string
		delay        time.Duration
		wantHighCopy bool
		wantSgInHash bool
	}{
		{"high then default", "high", "", "high", high, true, true},
		{"default then high", "", "high", "", dflt, false, false},
		{"high then high", "high", "high", "high", high, true, true},
		{"default then default", "", "", "", dflt, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, clk, rdb := sgStd(t)
			// 1. first event: 10 minutes of inactivity already
			act1 := t0.Add(-10 * time.Minute)
			e1 := sgUpdate("default", "e1", "c1", tc.first, act1)
			sgIngest(t, s, e1, recovery.StatusAccepted)
			c := sgLoad(t, s, "default", "c1")
			if c.Segment != tc.want || c.Step != 0 || c.Gen != 1 || !c.Activity.Equal(act1) {
				t.Fatalf("after the first event: segment %q step %d gen %d activity %v; want %q 0 1 %v", c.Segment, c.Step, c.Gen, c.Activity, tc.want, act1)
			}
			sgWantDue(t, s, "default", "c1", -10*time.Minute+tc.delay, "first event")

			// 2. a later update (Go now chooses tc.later: the total dropped, ...)
			clk.Add(5 * time.Minute)
			act2 := clk.Now().Add(-time.Minute)
			e2 := sgUpdate("default", "e2", "c1", tc.later, act2)
			e2.Cart.Total = "9.90"
			sgIngest(t, s, e2, recovery.StatusAccepted)
			c = sgLoad(t, s, "default", "c1")
			if c.Segment != tc.want || c.Step != 0 || c.Gen != 2 || c.Cart.Total != "9.90" || !c.Activity.Equal(act2) {
				t.Fatalf("after the later update: segment %q step %d gen %d total %s activity %v; want %q 0 2 9.90 %v",
					c.Segment, c.Step, c.Gen, c.Cart.Total, c.Activity, tc.want, act2)
			}
			sgWantDue(t, s, "default", "c1", 4*time.Minute+tc.delay, "later update")

			// 3. redeliveries, with whatever segment, stay duplicates; a
			// stale update changes nothing
			for _, ev := range []recovery.Event{e1, e2} {
				for _, seg := range []string{"", "high"} {
					ev.Segment = seg
					sgIngest(t, s, ev, recovery.StatusDuplicate)
				}
			}
			stale := sgUpdate("default", "e0", "c1", tc.later, act1.Add(-time.Minute))
			sgIngest(t, s, stale, recovery.StatusStale)
			stale.Segment = tc.first
			sgIngest(t, s, stale, recovery.StatusDuplicate)
			if c = sgLoad(t, s, "default", "c1"); c.Gen != 2 || c.Segment != tc.want || c.Cart.Total != "9.90" {
				t.Fatalf("after duplicates and a stale update: gen %d segment %q total %s", c.Gen, c.Segment, c.Cart.Total)
			}
			sgWantDue(t, s, "default", "c1", 4*time.Minute+tc.delay, "after duplicates")

			// the cart hash: "sg" only in a segment
			h := sgHash(t, rdb, "default", "c1")
			if sg, ok := h["sg"]; ok != tc.wantSgInHash || (ok && sg != "high") {
				t.Fatalf("cart hash sg = %q (present %v), want present %v", sg, ok, tc.wantSgInHash)
			}

			// 4. the order ends it; later updates of either segment are ignored
			clk.Add(time.Minute)
			sgIngest(t, s, sgOrder("default", "o1", "c1", clk.Now()), recovery.StatusAccepted)
			for i, seg := range []string{"", "high"} {
				clk.Add(time.Minute)
				sgIngest(t, s, sgUpdate("default", fmt.Sprint("late", i), "c1", seg, clk.Now()), recovery.StatusIgnored)
			}
			sgWantDue(t, s, "default", "c1", -1, "after the order")
			if c = sgLoad(t, s, "default", "c1"); c.State != recovery.StateOrdered || c.Segment != tc.want {
				t.Fatalf("after the order: state %q segment %q", c.State, c.Segment)
			}

			// tracked once, its copy once in "high" only
			want := map[string]string{"tracked": "1", "orders": "1", "converted_before": "1"}
			if tc.wantHighCopy {
				want["tracked@high"] = "1"
				want["converted_before@high"] = "1"
			}
			sgDiff(t, "stats", sgStats(t, rdb, "default", t0), want)
		})
	}
}

// Promise 2: a cart in the default sequence never stores "sg", whatever
// happens to it; a segment's cart keeps it throughout.
func TestSegmentDefaultCartStoresNoSegmentField(t *testing.T) {
	s, clk, rdb := sgStd(t)
	ctx := context.Background()
	carts := []struct{ id, segment string }{{"plain", ""}, {"vip", "high"}}
	check := func(stage string) {
		t.Helper()
		for _, c := range carts {
			h := sgHash(t, rdb, "default", c.id)
			if len(h) == 0 {
				t.Fatalf("%s: cart %s has no hash", stage, c.id)
			}
			sg, ok := h["sg"]
			if c.segment == "" && ok {
				t.Errorf("%s: default cart %s stores sg=%q", stage, c.id, sg)
			}
			if c.segment != "" && sg != c.segment {
				t.Errorf("%s: cart %s stores sg=%q (present %v), want %q", stage, c.id, sg, ok, c.segment)
			}
		}
	}
	for i, c := range carts {
		sgIngest(t, s, sgUpdate("default", fmt.Sprint("u", i), c.id, c.segment, t0), recovery.StatusAccepted)
	}
	check("ingest")
	clk.Add(time.Minute)
	for i, c := range carts {
		sgIngest(t, s, sgUpdate("default", fmt.Sprint("v", i), c.id, "high", clk.Now()), recovery.StatusAccepted)
	}
	check("update choosing high")
	clk.Add(time.Hour)
	for _, c := range carts {
		st := sgLoad(t, s, "default", c.id)
		m := st.Message(0, "email", "")
		if m.Segment != c.segment {
			t.Fatalf("message key of %s: segment %q", c.id, m.Segment)
		}
		if r, err := s.Claim(ctx, m, st.Gen, st.Email(), ""); err != nil || r != recovery.ClaimOK {
			t.Fatalf("claim %s: %q %v", c.id, r, err)
		}
		if err := s.Finish(ctx, m, st.Email(), recovery.OutcomeSent, "id"); err != nil {
			t.Fatal(err)
		}
		if err := s.Advance(ctx, "default", c.id, st.Segment, 0); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.Click(ctx, m); err != nil || !ok {
			t.Fatalf("click %s: %v %v", c.id, ok, err)
		}
	}
	check("claim, finish, advance, click")
	for i, c := range carts {
		sgIngest(t, s, sgOrder("default", fmt.Sprint("o", i), c.id, clk.Now()), recovery.StatusAccepted)
	}
	check("order")
}

// Promise 3: Advance runs the segment's delays and ends at its last step;
// the relay leases a segment's cart at the segment's due time.
func TestSegmentAdvanceUsesSegmentDelays(t *testing.T) {
	type adv struct {
		at      time.Duration // when the step is advanced (after t0)
		wantDue time.Duration // next step due (after t0), -1 none
	}
	for _, tc := range []struct {
		segment string
		first   time.Duration
		steps   []adv
	}{
		// next due = max(activity + its delay, now + its delay - this one's)
		{"high", 30 * time.Minute, []adv{
			{31 * time.Minute, 2*time.Hour + time.Minute},               // max(2h, 31m+2h-30m)
			{2*time.Hour + 2*time.Minute, 48*time.Hour + 2*time.Minute}, // max(48h, 2h2m+48h-2h)
			{48*time.Hour + 3*time.Minute, -1},                          // the segment's third and last step
		}},
		{"", time.Hour, []adv{
			{time.Hour + time.Minute, 24*time.Hour + time.Minute}, // max(24h, 1h1m+24h-1h)
			{24*time.Hour + 2*time.Minute, -1},                    // the default's second and last step
		}},
	} {
		t.Run("segment="+tc.segment, func(t *testing.T) {
			s, clk, rdb := sgStd(t)
			ctx := context.Background()
			sgIngest(t, s, sgUpdate("default", "u1", "c1", tc.segment, t0), recovery.StatusAccepted)
			sgWantDue(t, s, "default", "c1", tc.first, "ingest")
			// not leased a millisecond early, leased at the due time
			due := t0.Add(tc.first)
			if ds, err := s.Lease(ctx, due.Add(-time.Millisecond), due.Add(time.Minute), 10); err != nil || len(ds) != 0 {
				t.Fatalf("lease before due: %+v %v", ds, err)
			}
			ds, err := s.Lease(ctx, due, due.Add(time.Minute), 10)
			if err != nil || len(ds) != 1 || ds[0].CartID != "c1" || ds[0].Step != 0 {
				t.Fatalf("lease at due: %+v %v", ds, err)
			}
			if err := s.Release(ctx, due.Add(time.Minute), ds); err != nil {
				t.Fatal(err)
			}
			for i, a := range tc.steps {
				clk.t = t0.Add(a.at)
				if err := s.Advance(ctx, "default", "c1", tc.segment, i); err != nil {
					t.Fatalf("advance %d: %v", i, err)
				}
				sgWantDue(t, s, "default", "c1", a.wantDue, fmt.Sprintf("after advancing step %d", i))
				c := sgLoad(t, s, "default", "c1")
				if c.Step != i+1 || c.State != recovery.StateActive || c.Segment != tc.segment {
					t.Fatalf("after advancing step %d: step %d state %q segment %q", i, c.Step, c.State, c.Segment)
				}
				// the same step again is a no-op
				if err := s.Advance(ctx, "default", "c1", tc.segment, i); err != nil {
					t.Fatal(err)
				}
				sgWantDue(t, s, "default", "c1", a.wantDue, fmt.Sprintf("after advancing step %d twice", i))
				if c = sgLoad(t, s, "default", "c1"); c.Step != i+1 {
					t.Fatalf("advancing step %d twice: step %d", i, c.Step)
				}
			}
			// abandoned counted once (step 0), on the day it was advanced
			want := map[string]string{"tracked": "1", "abandoned": "1"}
			if tc.segment != "" {
				want["tracked@high"], want["abandoned@high"] = "1", "1"
			}
			sgDiff(t, "stats", sgStats(t, rdb, "default", t0), want)
			for _, d := range []time.Duration{24 * time.Hour, 48 * time.Hour} {
				sgDiff(t, "stats of t0+"+d.String(), sgStats(t, rdb, "default", t0.Add(d)), map[string]string{})
			}
		})
	}
}
