package redis_test

// Segment counters, per-store playbooks, choices by history, and message
// keys that carry their segment.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
)

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
