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
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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

// Promise 4: a reload that removes a segment lets its carts run the
// default sequence from where they are (no error, no panic); they keep
// their segment, and get its delays back when it returns.
func TestSegmentRemovedByReload(t *testing.T) {
	const none = -1
	for _, tc := range []struct {
		name string
		pos  int // steps advanced in "high" before the reload
		// after the reload: an update at t0+3h-1m (activity), the cart's
		// step advanced at t0+4h, an update at t0+5h with "high" back
		afterUpdate, afterAdvance, afterRestore time.Duration
		wantStep                                int // after the advance
	}{
		// a removed segment ends its carts' sequences (as a removed step
		// does): updates and advances schedule nothing. Back in "high" at
		// step 1: max(act+2h, pv+2h-30m)
		{"at step 0", 0, none, none, 5*time.Hour + 2*time.Hour, 1},
		// back in "high" at step 2: max(act+48h, pv(t0+4h)+48h-2h)
		{"at step 1", 1, none, none, 5*time.Hour + 48*time.Hour, 2},
		// advanced to 3, beyond "high" too
		{"at step 2", 2, none, none, none, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := &swapPolicies{}
			live.set(recovery.PlaybooksOf(map[string]recovery.Playbook{"": sgPlaybook(0)}))
			s, clk, rdb := sgNewStore(t, func(c *clock) redis.Options {
				o := sgOptions(c, nil)
				o.Policies = live
				return o
			})
			ctx := context.Background()
			sgIngest(t, s, sgUpdate("default", "u1", "c1", "high", t0), recovery.StatusAccepted)
			highDue := []time.Duration{30 * time.Minute, 2 * time.Hour}
			for i := range tc.pos {
				clk.t = t0.Add(highDue[i])
				if err := s.Advance(ctx, "default", "c1", "high", i); err != nil {
					t.Fatal(err)
				}
			}
			live.set(recovery.PlaybooksOf(map[string]recovery.Playbook{"": sgDefaultOnly()}))

			clk.t = t0.Add(3 * time.Hour)
			for i, seg := range []string{"", "high"} { // Go chooses default now; "high" as a stale choice
				ev := sgUpdate("default", fmt.Sprint("r", i), "c1", seg, clk.Now().Add(-time.Minute))
				r, err := s.Ingest(ctx, ev)
				if err != nil || r.Status != recovery.StatusAccepted {
					t.Fatalf("update after the reload (segment %q): %+v %v", seg, r, err)
				}
				c := sgLoad(t, s, "default", "c1")
				if c.Segment != "high" || c.Step != tc.pos || c.State != recovery.StateActive {
					t.Fatalf("after the reload: segment %q step %d state %q", c.Segment, c.Step, c.State)
				}
				sgWantDue(t, s, "default", "c1", tc.afterUpdate, fmt.Sprintf("update %q after the reload", seg))
			}

			clk.t = t0.Add(4 * time.Hour)
			if err := s.Advance(ctx, "default", "c1", "high", tc.pos); err != nil {
				t.Fatalf("advance after the reload: %v", err)
			}
			c := sgLoad(t, s, "default", "c1")
			if c.Step != tc.wantStep || c.State != recovery.StateActive || c.Segment != "high" {
				t.Fatalf("after advancing: step %d state %q segment %q", c.Step, c.State, c.Segment)
			}
			sgWantDue(t, s, "default", "c1", tc.afterAdvance, "advance after the reload")

			// a message of a removed segment is still counted, and parses
			if tc.pos == 0 {
				m := c.Message(1, "email", "")
				if r, err := s.Claim(ctx, m, c.Gen, c.Email(), ""); err != nil || r != recovery.ClaimOK {
					t.Fatalf("claim after the reload: %q %v", r, err)
				}
				if err := s.Finish(ctx, m, c.Email(), recovery.OutcomeSent, ""); err != nil {
					t.Fatal(err)
				}
			}
			// the cart's copies stay in "high"; a message of it (one under
			// way when the reload came) is counted in its own segment, by
			// index: never credited to a default step
			want := map[string]string{"tracked": "1", "tracked@high": "1", "abandoned": "1", "abandoned@high": "1"}
			if tc.pos == 0 {
				want["sent|high/1|email|a"], want["reached|high/1|a"], want["reminded"], want["reminded@high"] = "1", "1", "1", "1"
			}
			sgDiff(t, "stats", sgStats(t, rdb, "default", t0), want)

			// the segment comes back: its delays again
			live.set(recovery.PlaybooksOf(map[string]recovery.Playbook{"": sgPlaybook(0)}))
			clk.t = t0.Add(5 * time.Hour)
			sgIngest(t, s, sgUpdate("default", "back", "c1", "", clk.Now()), recovery.StatusAccepted)
			sgWantDue(t, s, "default", "c1", tc.afterRestore, "update with the segment back")
		})
	}
}

// Promise 5: every counter of a segment's cart is counted once plain and
// once as the segment's copy (kind@high); a default cart has no copy;
// message and step counters name the qualified step "high/<name>". Every
// field written parses.
func TestSegmentCounters(t *testing.T) {
	t.Run("reminded and recovered", func(t *testing.T) {
		s, clk, rdb := sgStd(t)
		ctx := context.Background()
		// recovered after a click: "rec-high" (high), "rec-plain" (default);
		// ordered before any message: "cb-high", "cb-plain"
		for i, c := range []struct{ id, seg string }{{"rec-high", "high"}, {"rec-plain", ""}, {"cb-high", "high"}, {"cb-plain", ""}} {
			sgIngest(t, s, sgUpdate("default", fmt.Sprint("u", i), c.id, c.seg, t0), recovery.StatusAccepted)
		}
		clk.Add(time.Hour)
		codes := map[string]string{}
		for _, id := range []string{"rec-high", "rec-plain"} {
			c := sgLoad(t, s, "default", id)
			code, stop, err := s.CodeFor(ctx, c, 0, "a", "BACK-", 72*time.Hour)
			if err != nil || stop {
				t.Fatalf("code for %s: %v %v", id, stop, err)
			}
			if ok, err := s.CodeRegistered(ctx, c, 0, "a", code); err != nil || !ok {
				t.Fatalf("registered %s: %v %v", id, ok, err)
			}
			codes[id] = code.Code
			m := c.Message(0, "email", "")
			if r, err := s.Claim(ctx, m, c.Gen, c.Email(), ""); err != nil || r != recovery.ClaimOK {
				t.Fatalf("claim %s: %q %v", id, r, err)
			}
			if err := s.Finish(ctx, m, c.Email(), recovery.OutcomeSent, "id-"+id); err != nil {
				t.Fatal(err)
			}
			if err := s.Advance(ctx, "default", id, c.Segment, 0); err != nil {
				t.Fatal(err)
			}
			// twice: the first click on the message and on the cart count
			for range 2 {
				if _, ok, err := s.Click(ctx, m); err != nil || !ok {
					t.Fatalf("click %s: %v %v", id, ok, err)
				}
			}
		}
		clk.Add(10 * time.Minute)
		for i, id := range []string{"rec-high", "rec-plain", "cb-high", "cb-plain"} {
			sgIngest(t, s, sgOrder("default", fmt.Sprint("o", i), id, clk.Now(), codes[id]), recovery.StatusAccepted)
		}
		for id, want := range map[string]string{
			"rec-high": "recovered|high/first|email|a", "rec-plain": "recovered|first|email|a",
			"cb-high": "converted_before", "cb-plain": "converted_before",
		} {
			rule := "click" // clicked within the window: the click rule
			if want == "converted_before" {
				rule = ""
			}
			if c := sgLoad(t, s, "default", id); c.Attribution != want || c.AttributionRule != rule {
				t.Errorf("%s: attribution %q rule %q, want %q", id, c.Attribution, c.AttributionRule, want)
			}
		}
		want := map[string]string{
			"tracked": "4", "tracked@high": "2",
			"abandoned": "2", "abandoned@high": "1",
			"reminded": "2", "reminded@high": "1",
			"sent|high/first|email|a": "1", "sent|first|email|a": "1",
			"reached|high/first|a": "1", "reached|first|a": "1",
			"codes_issued|high/first|a": "1", "codes_issued|first|a": "1",
			"codes_redeemed|high/first|a": "1", "codes_redeemed|first|a": "1",
			"clicked|high/first|email|a": "1", "clicked|first|email|a": "1",
			"clicked_carts": "2", "clicked_carts@high": "1",
			"orders":    "4",
			"recovered": "2", "recovered@high": "1",
			"recovered|high/first|email|a": "1", "recovered|first|email|a": "1",
			"rev|high/first|email|a|EUR": "5990", "rev|first|email|a|EUR": "5990",
			"revt|EUR": "11980", "revt@high|EUR": "5990",
			"recc|EUR": "2", "recc@high|EUR": "1",
			"credit_click": "2", "credit_click@high": "1",
			"recovered_clicked": "2", "recovered_clicked@high": "1",
			"converted_before": "2", "converted_before@high": "1",
		}
		raw := sgStats(t, rdb, "default", t0)
		sgDiff(t, "stats", raw, want)

		// Counters reads the same, with the segment set on copies and on
		// qualified steps
		day := t0.Format(time.DateOnly)
		all, err := s.Counters(ctx, []string{"default"}, []string{day})
		if err != nil {
			t.Fatal(err)
		}
		got := all["default"][day]
		if len(got) != len(want) {
			t.Errorf("Counters: %d counters, want %d: %v", len(got), len(want), got)
		}
		for f, v := range want {
			c, err := recovery.ParseCounter(f)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if fmt.Sprint(got[c]) != v {
				t.Errorf("Counters[%s] = %d, want %s", f, got[c], v)
			}
			inHigh := c.Segment == "high"
			if wantHigh := slices.ContainsFunc([]string{"@high", "|high/"}, func(s string) bool { return strings.Contains(f, s) }); inHigh != wantHigh {
				t.Errorf("%s: parsed segment %q", f, c.Segment)
			}
			if c.SegmentCopy() != strings.Contains(f, "@high") {
				t.Errorf("%s: SegmentCopy %v", f, c.SegmentCopy())
			}
		}
	})

	// the holdout group per segment: the segment's own percent (100 or 0),
	// or the rule's (-1)
	for _, tc := range []struct {
		name                string
		rule, segment       int
		wantHigh, wantPlain bool
	}{
		{"segment 100, rule 0", 0, 100, true, false},
		{"segment 0, rule 100", 100, 0, false, true},
		{"segment keeps the rule's 100", 100, -1, true, true},
	} {
		t.Run("holdout/"+tc.name, func(t *testing.T) {
			s, clk, rdb := sgNewStore(t, func(c *clock) redis.Options {
				o := sgOptions(c, map[string]recovery.Playbook{"": sgPlaybook(tc.segment)})
				o.Policies = o.Policies.(recovery.PolicyMap).With(func(p *recovery.Policy) { p.HoldoutPercent = tc.rule })
				return o
			})
			ctx := context.Background()
			sgIngest(t, s, sgUpdate("default", "u1", "h", "high", t0), recovery.StatusAccepted)
			sgIngest(t, s, sgUpdate("default", "u2", "p", "", t0), recovery.StatusAccepted)
			// a later update choosing the other segment changes nothing
			clk.Add(time.Minute)
			sgIngest(t, s, sgUpdate("default", "u3", "h", "", t0.Add(time.Minute)), recovery.StatusAccepted)
			sgIngest(t, s, sgUpdate("default", "u4", "p", "high", t0.Add(time.Minute)), recovery.StatusAccepted)
			for id, want := range map[string]bool{"h": tc.wantHigh, "p": tc.wantPlain} {
				if c := sgLoad(t, s, "default", id); c.Holdout != want {
					t.Fatalf("cart %s holdout %v, want %v", id, c.Holdout, want)
				}
			}
			clk.Add(2 * time.Hour)
			for _, id := range []string{"h", "p"} {
				if err := s.Advance(ctx, "default", id, sgLoad(t, s, "default", id).Segment, 0); err != nil {
					t.Fatal(err)
				}
			}
			clk.Add(time.Hour)
			sgIngest(t, s, sgOrder("default", "o1", "h", clk.Now()), recovery.StatusAccepted)
			sgIngest(t, s, sgOrder("default", "o2", "p", clk.Now()), recovery.StatusAccepted)
			want := map[string]string{"orders": "2"}
			for _, c := range []struct {
				copy string
				ho   bool
			}{{"@high", tc.wantHigh}, {"", tc.wantPlain}} {
				kinds := []string{"tracked", "abandoned", "converted_before"}
				if c.ho {
					kinds = []string{"tracked_h", "abandoned_h", "converted_h"}
				}
				for _, k := range kinds {
					n, _ := strconv.Atoi(want[k])
					want[k] = strconv.Itoa(n + 1)
					if c.copy != "" {
						want[k+c.copy] = "1"
					}
				}
			}
			sgDiff(t, "stats", sgStats(t, rdb, "default", t0), want)
		})
	}
}

// Promise 6: each store runs its own playbook; a store not listed runs "".
func TestSegmentPerStorePlaybooks(t *testing.T) {
	pbs := map[string]recovery.Playbook{
		"": sgPlaybook(0),
		"shop-b": {
			Steps: []recovery.Step{{Name: "b-first", Delay: 10 * time.Minute}, {Name: "b-second", Delay: 5 * time.Hour}},
			Segments: []recovery.Segment{{Name: "high", Steps: []recovery.Step{
				{Name: "b-vip", Delay: 5 * time.Minute}, {Name: "b-vip2", Delay: 7 * time.Hour}}}},
		},
	}
	for _, tc := range []struct {
		store, segment string
		first, second  time.Duration
		third          time.Duration // -1: the sequence has two steps
		stepName       string
	}{
		{"default", "", time.Hour, 24 * time.Hour, -1, "first"},
		{"default", "high", 30 * time.Minute, 2 * time.Hour, 48 * time.Hour, "high/first"},
		{"shop-b", "", 10 * time.Minute, 5 * time.Hour, -1, "b-first"},
		{"shop-b", "high", 5 * time.Minute, 7 * time.Hour, -1, "high/b-vip"},
		{"shop-c", "", time.Hour, 24 * time.Hour, -1, "first"},
		{"shop-c", "high", 30 * time.Minute, 2 * time.Hour, 48 * time.Hour, "high/first"},
	} {
		t.Run(tc.store+"/"+tc.segment, func(t *testing.T) {
			s, clk, rdb := sgNewStore(t, func(c *clock) redis.Options { return sgOptions(c, pbs) })
			ctx := context.Background()
			sgIngest(t, s, sgUpdate(tc.store, "u1", "c1", tc.segment, t0), recovery.StatusAccepted)
			sgWantDue(t, s, tc.store, "c1", tc.first, "ingest")
			clk.t = t0.Add(tc.first)
			c := sgLoad(t, s, tc.store, "c1")
			m := c.Message(0, "email", "")
			if r, err := s.Claim(ctx, m, c.Gen, c.Email(), ""); err != nil || r != recovery.ClaimOK {
				t.Fatalf("claim: %q %v", r, err)
			}
			if err := s.Finish(ctx, m, c.Email(), recovery.OutcomeSent, ""); err != nil {
				t.Fatal(err)
			}
			if err := s.Advance(ctx, tc.store, "c1", tc.segment, 0); err != nil {
				t.Fatal(err)
			}
			sgWantDue(t, s, tc.store, "c1", tc.second, "advanced step 0")
			if err := s.Advance(ctx, tc.store, "c1", tc.segment, 1); err != nil {
				t.Fatal(err)
			}
			// both advanced at t0+first: max(activity+delay, now+delay-previous)
			sgWantDue(t, s, tc.store, "c1", tc.third, "advanced step 1")
			stats := sgStats(t, rdb, tc.store, t0)
			if stats["sent|"+tc.stepName+"|email|a"] != "1" || stats["reached|"+tc.stepName+"|a"] != "1" {
				t.Fatalf("stats of %s: %v; want sent|%s|email|a and reached|%s|a", tc.store, stats, tc.stepName, tc.stepName)
			}
		})
	}
}

// TestSegmentByHistory: an event whose segment depends on whether the
// customer ordered before carries both choices; the script reads whether
// an order of the email was seen in that store as it records a new cart
// (no extra round trip), with that choice's holdout and counters; a cart
// that exists keeps its segment.
func TestSegmentByHistory(t *testing.T) {
	s, _, rdb := sgStd(t)
	byHistory := func(id, cart, email string) recovery.Event {
		ev := sgUpdate("default", id, cart, "high", t0) // new customers: "high"
		ev.Customer.Email = email
		ev.ByHistory, ev.SegmentIfReturning = true, "" // returning ones: the default sequence
		return ev
	}
	sgIngest(t, s, byHistory("u1", "c1", "ana@example.com"), recovery.StatusAccepted)
	if c := sgLoad(t, s, "default", "c1"); c.Segment != "high" {
		t.Fatalf("a new customer's cart in %q, want high", c.Segment)
	}
	sgWantDue(t, s, "default", "c1", 30*time.Minute, "new customer")
	// Ana orders (another cart), in this store only; an order without an
	// email elsewhere changes nothing
	noEmail := sgOrder("shop-b", "o0", "x", t0)
	noEmail.Customer.Email = ""
	sgIngest(t, s, noEmail, recovery.StatusAccepted)
	o := sgOrder("default", "o1", "old", t0)
	o.Customer.Email = "  Ana@Example.COM "
	sgIngest(t, s, o, recovery.StatusAccepted)
	withRef := byHistory("u2", "c2", "ana@example.com")
	withRef.Refs = []string{"cart_token:tok2"} // both the ref and ordered:<email> among the keys
	sgIngest(t, s, withRef, recovery.StatusAccepted)
	if c := sgLoad(t, s, "default", "c2"); c.Segment != "" {
		t.Errorf("a returning customer's cart in %q, want the default sequence", c.Segment)
	}
	sgWantDue(t, s, "default", "c2", time.Hour, "returning customer")
	del := recovery.Event{ID: "d2", Platform: "generic", Kind: recovery.CartDeleted, Store: "default", OccurredAt: t0,
		Refs: []string{"cart_token:tok2"}}
	sgIngest(t, s, del, recovery.StatusAccepted)
	if c := sgLoad(t, s, "default", "c2"); c.State != recovery.StateDeleted {
		t.Errorf("the ref recorded with the cart does not lead to it: state %q", c.State)
	}
	for _, c := range []struct{ store, cart, email, want string }{
		{"default", "c3", "bea@example.com", "high"}, // never ordered
		{"shop-b", "c4", "ana@example.com", "high"},  // ordered in another store
	} {
		ev := byHistory("u-"+c.cart, c.cart, c.email)
		ev.Store = c.store
		sgIngest(t, s, ev, recovery.StatusAccepted)
		if got := sgLoad(t, s, c.store, c.cart); got.Segment != c.want {
			t.Errorf("%s/%s in %q, want %q", c.store, c.cart, got.Segment, c.want)
		}
	}
	// c1 exists: an update after Ana's order keeps "high" and its delays
	sgIngest(t, s, byHistory("u5", "c1", "ana@example.com"), recovery.StatusAccepted)
	if c := sgLoad(t, s, "default", "c1"); c.Segment != "high" {
		t.Errorf("an existing cart moved to %q", c.Segment)
	}
	sgWantDue(t, s, "default", "c1", 30*time.Minute, "existing cart") // high's delay, not the default's hour
	// the counters: tracked once per cart, copies only for "high" carts
	st := sgStats(t, rdb, "default", t0)
	if st["tracked"] != "3" || st["tracked@high"] != "2" {
		t.Errorf("tracked %q, tracked@high %q; want 3 and 2", st["tracked"], st["tracked@high"])
	}
}

// Promise 8: a message key's segment survives links and the claim sweep.
func TestSegmentMessageKeyLinksAndSweep(t *testing.T) {
	s, clk, rdb := sgStd(t)
	ctx := context.Background()
	keys := []recovery.MessageKey{
		{Store: "default", Cart: "c|1/x", Step: 2, Channel: "sms", Variant: "b", Segment: "high"},
		{Store: "shop-b", Cart: "c2", Step: 0, Channel: "email", Variant: "a", Segment: "high-value_2"},
		{Store: "default", Cart: "c3", Step: 1, Channel: "email", Variant: "a"},
	}
	for i, m := range keys {
		var id [8]byte
		id[0] = byte(i + 1)
		code := fmt.Sprint("CODE", i) // the static code the message offered
		if err := s.SaveLink(ctx, id, m, code); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.ResolveLink(ctx, id)
		if err != nil || !ok || got != (recovery.Link{Message: m, Code: code}) {
			t.Errorf("link %d: %+v %v %v, want %+v with %s", i, got, ok, err, m, code)
		}
		nid, err := s.NewLink(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.ResolveLink(ctx, nid); err != nil || !ok || got != (recovery.Link{Message: m}) {
			t.Errorf("new link %d: %+v %v %v, want %+v", i, got, ok, err, m)
		}
	}

	// claims in "high" and in the default sequence, left without outcome
	var want []recovery.MessageKey
	for i, seg := range []string{"high", ""} {
		id := fmt.Sprint("sw", i)
		sgIngest(t, s, sgUpdate("default", "u-"+id, id, seg, t0.Add(-2*time.Hour)), recovery.StatusAccepted)
		c := sgLoad(t, s, "default", id)
		m := c.Message(0, "email", "")
		if r, err := s.Claim(ctx, m, c.Gen, c.Email(), ""); err != nil || r != recovery.ClaimOK {
			t.Fatalf("claim %s: %q %v", id, r, err)
		}
		m.Variant = recovery.BaseVariant
		want = append(want, m)
	}
	clk.Add(21 * time.Second) // past twice the send timeout
	got, err := s.SweepClaims(ctx, clk.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b recovery.MessageKey) int { return strings.Compare(a.Cart, b.Cart) })
	if !slices.Equal(got, want) {
		t.Fatalf("swept %+v, want %+v", got, want)
	}
	sgDiff(t, "stats", sgStats(t, rdb, "default", t0), map[string]string{
		"tracked": "2", "tracked@high": "1",
		"failed|high/first|email|a": "1", "unknown|high/first|email|a": "1",
		"failed|first|email|a": "1", "unknown|first|email|a": "1",
	})
	for _, m := range want {
		if err := s.Finish(ctx, m, "", recovery.OutcomeSent, ""); !errors.Is(err, recovery.ErrNoClaim) {
			t.Errorf("late finish of %s: %v, want ErrNoClaim", m, err)
		}
	}
}

// TestRecordKeepsTheSnapshotItChoseWith: a reload that lands between the
// choice of a new cart's segment and its record cannot mix two versions:
// Record schedules with the policy the segment was chosen with (the
// server's snapshot of the request), even when the store's current
// snapshot no longer has the segment. Ingest, which reads the current
// snapshot, runs a segment that snapshot lacks as the default sequence.
func TestRecordKeepsTheSnapshotItChoseWith(t *testing.T) {
	live := &swapPolicies{}
	before := recovery.PlaybooksOf(map[string]recovery.Playbook{"": sgPlaybook(0)})
	live.set(before)
	s, _, rdb := sgNewStore(t, func(c *clock) redis.Options {
		o := sgOptions(c, nil)
		o.Policies = live
		return o
	})
	ctx := context.Background()
	live.set(recovery.PlaybooksOf(map[string]recovery.Playbook{"": sgDefaultOnly()})) // the reload

	r, err := s.Record(ctx, sgUpdate("default", "u1", "chosen", "high", t0), before.Policy("default"))
	if err != nil || r.Status != recovery.StatusAccepted {
		t.Fatalf("record: %+v %v", r, err)
	}
	if c := sgLoad(t, s, "default", "chosen"); c.Segment != "high" {
		t.Fatalf("recorded in segment %q, want high (the snapshot it was chosen with)", c.Segment)
	}
	sgWantDue(t, s, "default", "chosen", 30*time.Minute, "a cart recorded with the snapshot of its choice")

	sgIngest(t, s, sgUpdate("default", "u2", "stale", "high", t0), recovery.StatusAccepted)
	if c := sgLoad(t, s, "default", "stale"); c.Segment != "" {
		t.Fatalf("a segment the current snapshot lacks: recorded in %q, want the default sequence", c.Segment)
	}
	sgWantDue(t, s, "default", "stale", time.Hour, "a segment the snapshot lacks")
	want := map[string]string{"tracked": "2", "tracked@high": "1"}
	sgDiff(t, "stats", sgStats(t, rdb, "default", t0), want)
}
