package redis_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
)

// TestEmbeddedRunsTheScripts checks that every Lua script works on the
// embedded engine `make run` uses, and that the warning is loud.
func TestEmbeddedRunsTheScripts(t *testing.T) {
	var logs bytes.Buffer
	c, err := redis.Open(context.Background(), "", "", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Embedded || !strings.Contains(logs.String(), "EMBEDDED") || !strings.Contains(logs.String(), "LOST") {
		t.Fatalf("embedded %v, log %q", c.Embedded, logs.String())
	}
	ctx := context.Background()
	now := time.Now()
	s := redis.NewStore(c.Client, redis.Options{Prefix: "e:", Policies: recovery.SequenceOf(time.Second)})
	ev := recovery.Event{ID: "1", Platform: "generic", Kind: recovery.CartUpdated, Store: "default", OccurredAt: now.Add(-time.Hour),
		Cart: recovery.Cart{ID: "c1", Total: "1.00"}, Refs: []string{"cart_token:x"}, Customer: recovery.Customer{Email: "a@b.co"}}
	if r, err := s.Ingest(ctx, ev); err != nil || r.Status != recovery.StatusAccepted {
		t.Fatalf("ingest: %+v %v", r, err)
	}
	if r, _ := s.Ingest(ctx, ev); r.Status != recovery.StatusDuplicate {
		t.Fatalf("duplicate: %+v", r)
	}
	ds, err := s.Lease(ctx, now, now.Add(time.Minute), 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("lease %v %v", ds, err)
	}
	if err := s.Release(ctx, now.Add(time.Minute), ds); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Claim(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "email"}, ds[0].Gen, "a@b.co", ""); err != nil || r != recovery.ClaimOK {
		t.Fatalf("claim %q %v", r, err)
	}
	if err := s.Finish(ctx, recovery.MessageKey{Store: "default", Cart: "c1", Step: 0, Channel: "email"}, "", recovery.OutcomeSent, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Advance(ctx, "default", "c1", "", 0); err != nil {
		t.Fatal(err)
	}
	o := recovery.Event{ID: "2", Platform: "generic", Kind: recovery.OrderCreated, Store: "default", OccurredAt: now,
		Refs: []string{"cart_token:x"}, Order: recovery.Order{ID: "o"}}
	if r, err := s.Ingest(ctx, o); err != nil || r.Status != recovery.StatusAccepted {
		t.Fatalf("order %+v %v", r, err)
	}
	d := recovery.Event{ID: "3", Platform: "generic", Kind: recovery.CartDeleted, Store: "default", Cart: recovery.Cart{ID: "c9"}}
	if _, err := s.Ingest(ctx, d); err != nil {
		t.Fatal(err)
	}
	cs, _, _ := s.Load(ctx, "default", "c1")
	if cs.State != recovery.StateOrdered || cs.Step != 1 {
		t.Fatalf("%+v", cs)
	}
}

func TestRealServerAndBadURL(t *testing.T) {
	c, err := redis.Open(context.Background(), "", testredis.URL(t), slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if err != nil || c.Embedded {
		t.Fatal(err)
	}
	c.Close()
	if _, err := redis.Open(context.Background(), "", "redis://127.0.0.1:1/0", slog.Default()); err == nil {
		t.Fatal("unreachable server accepted")
	}
}
