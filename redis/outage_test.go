package redis_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
)

// outage fails every command while on, with the error a client gets from
// a Redis that went away (connection refused), so a test can take Redis
// down between two steps of one flow and bring it back.
type outage struct{ on atomic.Bool }

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func (o *outage) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (o *outage) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if o.on.Load() {
			cmd.SetErr(errRefused)
			return errRefused
		}
		return next(ctx, cmd)
	}
}

func (o *outage) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if o.on.Load() {
			for _, c := range cmds {
				c.SetErr(errRefused)
			}
			return errRefused
		}
		return next(ctx, cmds)
	}
}

// outageStore is a store whose Redis can be taken down (o.on).
func outageStore(t *testing.T) (*redis.Store, *clock, *outage) {
	t.Helper()
	rdb := testredis.Universal(t)
	o := &outage{}
	rdb.AddHook(o)
	clk := &clock{t: t0}
	s := redis.NewStore(rdb, redis.Options{Prefix: "outage:", Policies: recovery.SequenceOf(time.Hour, 24*time.Hour), Now: clk.Now})
	return s, clk, o
}

// TestOutageChangesNothing takes Redis down at each step of a reminder's
// life: every call fails with an error that is not the caller's fault
// (the server answers 503, asynq retries), and once Redis is back the flow
// goes on as if the failed call had never been made: no half-recorded
// cart, no claim taken, no lease lost.
func TestOutageChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk, o := outageStore(t)
	down := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s during an outage: no error", what)
		}
		if errors.Is(err, recovery.ErrInvalid) || errors.Is(err, recovery.ErrNotFound) {
			t.Fatalf("%s during an outage: %v, which blames the caller", what, err)
		}
	}

	// ingest: refused, nothing recorded; the redelivery is applied as new
	o.on.Store(true)
	_, err := s.Ingest(ctx, update("e1", "c1", t0))
	down("ingest", err)
	o.on.Store(false)
	if _, ok, err := s.Load(ctx, "default", "c1"); err != nil || ok {
		t.Fatalf("cart after a refused ingest: ok=%v err=%v", ok, err)
	}
	if r := ingest(t, s, update("e1", "c1", t0)); r.Status != recovery.StatusAccepted {
		t.Fatalf("redelivery after the outage: %+v, want accepted", r)
	}

	// lease: refused, the cart stays due
	clk.Add(time.Hour)
	o.on.Store(true)
	_, _, err = s.LeaseNext(ctx, clk.Now(), clk.Now().Add(30*time.Second), 10)
	down("lease", err)
	o.on.Store(false)
	ds, _, err := s.LeaseNext(ctx, clk.Now(), clk.Now().Add(30*time.Second), 10)
	if err != nil || len(ds) != 1 || ds[0].CartID != "c1" {
		t.Fatalf("lease after the outage: %+v %v", ds, err)
	}

	// claim: refused, the message stays unclaimed
	c, _, _ := s.Load(ctx, "default", "c1")
	m := c.Message(0, "email", "")
	o.on.Store(true)
	_, err = s.Claim(ctx, m, c.Gen, c.Email(), "")
	down("claim", err)
	o.on.Store(false)
	if r, err := s.Claim(ctx, m, c.Gen, c.Email(), ""); err != nil || r != recovery.ClaimOK {
		t.Fatalf("claim after the outage: %q %v", r, err)
	}

	// finish: refused after the provider took the message: the claim
	// stays in flight and is swept as failed, unknown; never resent
	o.on.Store(true)
	down("finish", s.Finish(ctx, m, c.Email(), recovery.OutcomeSent, "id-1"))
	o.on.Store(false)
	if r, _ := s.Claim(ctx, m, c.Gen, c.Email(), ""); r != recovery.ClaimTaken {
		t.Fatalf("claim while the first is in flight: %q", r)
	}
	clk.Add(5 * time.Minute)
	swept, err := s.SweepClaims(ctx, clk.Now(), 10)
	if err != nil || len(swept) != 1 || swept[0].String() != m.String() {
		t.Fatalf("swept %+v %v, want the unfinished claim", swept, err)
	}
	c, _, _ = s.Load(ctx, "default", "c1")
	if got := c.Sends[m.Slot()]; got.Outcome != recovery.OutcomeFailed || got.Detail != recovery.ReasonUnknown {
		t.Fatalf("swept send %+v, want failed, unknown", got)
	}
}
