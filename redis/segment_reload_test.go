package redis_test

// Segments and reloads: a removed segment, and the snapshot a record uses.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
)

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
