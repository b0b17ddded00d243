package redis_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
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

// TestEveryMode runs every storage test of this package again on a real
// 3-master Redis Cluster and on a real Sentinel with one master.
func TestEveryMode(t *testing.T) { testredis.EveryMode(t, ".") }

// Open connects in this binary's mode from the URL form redis.url takes.
func TestOpenMode(t *testing.T) {
	mode, url := testredis.ModeURL(t)
	var logs bytes.Buffer
	c, err := redis.Open(context.Background(), mode, url, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("open %s %s: %v", mode, url, err)
	}
	defer c.Close()
	if c.Embedded || c.Mode != mode {
		t.Fatalf("embedded %v mode %q", c.Embedded, c.Mode)
	}
	s := redis.NewStore(c.Client, redis.Options{Prefix: "open:", Policies: recovery.SequenceOf(time.Hour)})
	if r, err := s.Ingest(context.Background(), update("u1", "c1", time.Now().Add(-time.Minute))); err != nil || r.Status != recovery.StatusAccepted {
		t.Fatalf("ingest on %s: %+v %v", mode, r, err)
	}
}

func TestOpenRefusesBadURLs(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	for _, tc := range []struct{ mode, url, want string }{
		{"sentinel", "redis://127.0.0.1:26379/0", "redis-sentinel://"},
		{"sentinel", "redis-sentinel://127.0.0.1:26379/0", "master=NAME"},
		{"sentinel", "redis-sentinel://127.0.0.1:26379/x?master=m", "not a number"},
		{"sentinel", "", "required in sentinel mode"},
		{"cluster", "", "required in cluster mode"},
		{"cluster", "redis://127.0.0.1:1?addr=127.0.0.1:2", "ping"},
		{"ring", "redis://127.0.0.1:1", "redis.mode"},
	} {
		c, err := redis.Open(ctx, tc.mode, tc.url, log)
		if err == nil {
			c.Close()
			t.Errorf("%s %q accepted", tc.mode, tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: %v, want it to mention %q", tc.mode, tc.url, err, tc.want)
		}
	}
	o, err := redis.ParseSentinelURL("redis-sentinel://:pw@10.0.0.1,10.0.0.2:26380/3?master=shop&sentinel_password=sp")
	if err != nil || o.MasterName != "shop" || o.DB != 3 || o.Password != "pw" || o.SentinelPassword != "sp" ||
		strings.Join(o.SentinelAddrs, " ") != "10.0.0.1:26379 10.0.0.2:26380" || o.TLSConfig != nil {
		t.Fatalf("%+v %v", o, err)
	}
	if o, err := redis.ParseSentinelURL("rediss-sentinel://10.0.0.1/0?master=shop"); err != nil || o.TLSConfig == nil {
		t.Fatalf("rediss-sentinel without TLS: %+v %v", o, err)
	}
}

// A whole flow over two stores (on a cluster: two slots, usually two
// nodes): a cart reminded on one device, ordered on another (found by
// email only); a cart of the other store deleted through its ref. Every
// counter field written parses as a recovery.Counter.
func TestFlowOverStoresAndCountersParse(t *testing.T) {
	ctx := context.Background()
	rdb := testredis.Universal(t)
	clk := &clock{t: t0}
	s := redis.NewStore(rdb, redis.Options{Prefix: "flow:", Policies: recovery.NamedSequence([]string{"first", "second"}, []time.Duration{time.Hour, 24 * time.Hour}...), Now: clk.Now})
	laptop := update("u1", "laptop", t0.Add(-2*time.Hour))
	other := update("u2", "o1", t0.Add(-2*time.Hour))
	other.Store, other.Refs = "b.example", []string{"cart_token:zz"}
	ingest(t, s, laptop)
	ingest(t, s, other)
	ds, err := s.Lease(ctx, clk.Now(), clk.Now().Add(time.Minute), 100)
	if err != nil || len(ds) != 2 {
		t.Fatalf("lease over two stores: %+v %v", ds, err)
	}
	if err := s.Release(ctx, clk.Now().Add(time.Minute), ds); err != nil {
		t.Fatal(err)
	}
	c, _, _ := s.Load(ctx, "default", "laptop")
	m := c.Message(0, "email", "b")
	if r, err := s.Claim(ctx, m, c.Gen, c.Email(), ""); err != nil || r != recovery.ClaimOK {
		t.Fatalf("claim %q %v", r, err)
	}
	if err := s.Finish(ctx, m, c.Email(), recovery.OutcomeSent, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Click(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Advance(ctx, "default", "laptop", "", 0); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	o := order("o1", "", clk.Now()) // another device: no cart id, the email only
	if r := ingest(t, s, o); r.Reason != "recovered|first|email|b" {
		t.Fatalf("cross-device order: %+v", r)
	}
	del := recovery.Event{ID: "d1", Platform: "generic", Kind: recovery.CartDeleted, Store: "b.example", Refs: []string{"cart_token:zz"}}
	if r := ingest(t, s, del); r.Status != recovery.StatusAccepted {
		t.Fatalf("delete by ref: %+v", r)
	}
	if c, _, _ := s.Load(ctx, "b.example", "o1"); c.State != recovery.StateDeleted {
		t.Fatalf("o1 %q", c.State)
	}
	if n, _ := s.DueCount(ctx, clk.Now().Add(1000*time.Hour)); n != 0 {
		t.Fatalf("%d carts still scheduled", n)
	}
	stores, _ := s.Stores(ctx)
	if strings.Join(stores, ",") != "b.example,default" {
		t.Fatalf("stores %v", stores)
	}
	day := clk.Now().UTC().Format(time.DateOnly)
	n := 0
	for _, st := range stores {
		raw, err := rdb.HGetAll(ctx, "flow:{"+st+"}:stats:"+day).Result()
		if err != nil {
			t.Fatal(err)
		}
		for f := range raw {
			n++
			c, err := recovery.ParseCounter(f)
			if err != nil {
				t.Errorf("store %s writes %q, which no report reads: %v", st, f, err)
			} else if c.Field() != f {
				t.Errorf("%q re-encodes as %q", f, c.Field())
			}
		}
	}
	cs, _ := s.Counters(ctx, stores, []string{day})
	d := cs["default"][day]
	want := map[recovery.Counter]int64{
		{Kind: recovery.CountTracked}: 1, {Kind: recovery.CountReminded}: 1, {Kind: recovery.CountAbandoned}: 1,
		{Kind: recovery.CountRecovered}: 1, {Kind: recovery.CountRecoveredClicked}: 1, {Kind: recovery.CountOrders}: 1,
		{Kind: recovery.CountSent, Step: "first", Channel: "email", Variant: "b"}:                     1,
		{Kind: recovery.CountClicked, Step: "first", Channel: "email", Variant: "b"}:                  1,
		{Kind: recovery.CountRecoveredBy, Step: "first", Channel: "email", Variant: "b"}:              1,
		{Kind: recovery.CountRevenue, Step: "first", Channel: "email", Variant: "b", Currency: "EUR"}: 5990,
		{Kind: recovery.CountRevenueTotal, Currency: "EUR"}:                                           5990,
		{Kind: recovery.CountClickedCarts}:                                                            1,
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %d, want %d", k.Field(), d[k], v)
		}
	}
	if n < len(want) {
		t.Errorf("only %d fields written", n)
	}
}

// A ref that moves between the read of the refs and the script makes the
// script refuse, and the store resolves again: the order ends the cart the
// ref points to when the script runs, never the one it pointed to before.
func TestRefMovedMidOrderIsResolvedAgain(t *testing.T) {
	ctx := context.Background()
	rdb := testredis.Universal(t)
	clk := &clock{t: t0}
	s := redis.NewStore(rdb, redis.Options{Prefix: "mv:", Policies: recovery.SequenceOf(time.Hour), Now: clk.Now})
	a, b := update("u1", "a", t0.Add(-time.Hour)), update("u2", "b", t0.Add(-time.Hour))
	a.Refs, b.Refs = []string{"cart_token:t"}, []string{"cart_token:other"}
	a.Customer.Email, b.Customer.Email = "a@example.com", "b@example.com"
	ingest(t, s, a)
	ingest(t, s, b)
	var moved atomic.Bool
	rdb.AddHook(moveHook{before: func(cmd goredis.Cmder) {
		name := cmd.Name()
		if (name == "evalsha" || name == "eval") && moved.CompareAndSwap(false, true) {
			// another webhook repoints the ref to cart b right now
			b2 := update("u3", "b", t0.Add(-time.Minute))
			b2.Refs, b2.Customer.Email = []string{"cart_token:t"}, "b@example.com"
			if _, err := s.Ingest(ctx, b2); err != nil {
				t.Error(err)
			}
		}
	}})
	o := recovery.Event{ID: "o1", Platform: "generic", Kind: recovery.OrderCreated, Store: "default", OccurredAt: t0,
		Refs: []string{"cart_token:t"}, Order: recovery.Order{ID: "1", Total: "1.00", Currency: "EUR"}}
	if r := ingest(t, s, o); r.Status != recovery.StatusAccepted {
		t.Fatalf("order: %+v", r)
	}
	if !moved.Load() {
		t.Fatal("the hook never ran")
	}
	ca, _, _ := s.Load(ctx, "default", "a")
	cb, _, _ := s.Load(ctx, "default", "b")
	if ca.State != recovery.StateActive || cb.State != recovery.StateOrdered {
		t.Fatalf("a %q b %q: the order must end the cart the ref points to when it is recorded", ca.State, cb.State)
	}
}

// moveHook runs before on every command (pipelines excepted).
type moveHook struct{ before func(goredis.Cmder) }

func (h moveHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h moveHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.before(cmd)
		return next(ctx, cmd)
	}
}

func (h moveHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// LeaseNext tells the relay when to wake: the earliest cart not due yet,
// over every store.
func TestLeaseNextSaysWhenToWake(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: t0}
	s := redis.NewStore(testredis.Universal(t), redis.Options{Prefix: "wake:", Policies: recovery.SequenceOf(time.Hour), Now: clk.Now})
	a, b := update("u1", "a", t0), update("u2", "b", t0.Add(30*time.Minute))
	b.Store = "other.example"
	ingest(t, s, a)
	clk.Add(30 * time.Minute)
	ingest(t, s, b)
	ds, next, err := s.LeaseNext(ctx, clk.Now(), clk.Now().Add(time.Minute), 10)
	if err != nil || len(ds) != 0 || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("nothing due: %+v next %v %v", ds, next, err)
	}
	ds, next, _ = s.LeaseNext(ctx, t0.Add(time.Hour), t0.Add(61*time.Minute), 10)
	if len(ds) != 1 || ds[0].CartID != "a" || !next.Equal(t0.Add(90*time.Minute)) {
		t.Fatalf("a due: %+v next %v", ds, next)
	}
	if err := s.Release(ctx, t0.Add(61*time.Minute), ds); err != nil {
		t.Fatal(err)
	}
	ds, next, _ = s.LeaseNext(ctx, t0.Add(2*time.Hour), t0.Add(121*time.Minute), 1)
	if len(ds) != 1 || ds[0].CartID != "b" || !next.IsZero() {
		t.Fatalf("b due: %+v next %v", ds, next)
	}
}

// One store whose keys fail (here: its due set is not a sorted set) does
// not hold up the others: their carts are leased, the failure reported.
func TestOneFailingStoreDoesNotHoldUpTheOthers(t *testing.T) {
	ctx := context.Background()
	rdb := testredis.Universal(t)
	clk := &clock{t: t0}
	s := redis.NewStore(rdb, redis.Options{Prefix: "iso:", Policies: recovery.SequenceOf(time.Hour), Now: clk.Now})
	broken := update("u1", "x", t0)
	broken.Store = "a-broken.example" // sorted before "default"
	ingest(t, s, broken)
	ingest(t, s, update("u2", "ok", t0))
	if err := rdb.Del(ctx, "iso:{a-broken.example}:due").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "iso:{a-broken.example}:due", "not a sorted set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	ds, _, err := s.LeaseNext(ctx, clk.Now(), clk.Now().Add(time.Minute), 10)
	if err == nil || !strings.Contains(err.Error(), "a-broken.example") {
		t.Fatalf("the broken store's failure is not reported: %v", err)
	}
	if len(ds) != 1 || ds[0].CartID != "ok" {
		t.Fatalf("leased %+v, want the healthy store's cart", ds)
	}
	if _, err := s.SweepClaims(ctx, clk.Now(), 10); err != nil {
		t.Fatalf("sweep: %v (no in-flight set is broken)", err)
	}
}

// An upgrade loses nothing: what an older release scheduled in its global
// due set and in-flight set moves to the per-store sets, and a stores set
// that lost a store gets it back; one relay per period does it.
func TestMaintainMigratesAndRediscovers(t *testing.T) {
	ctx := context.Background()
	rdb := testredis.Universal(t)
	clk := &clock{t: t0}
	s := redis.NewStore(rdb, redis.Options{Prefix: "up:", Policies: recovery.SequenceOf(time.Hour), Now: clk.Now})
	ingest(t, s, update("u1", "fresh", t0))
	due := t0.Add(time.Hour)
	if err := rdb.ZAdd(ctx, "up:due", goredis.Z{Score: float64(due.UnixMilli()), Member: "old.example/c1"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ZAdd(ctx, "up:inflight", goredis.Z{Score: float64(t0.UnixMilli()), Member: "old.example|0|email|c|2"}).Err(); err != nil {
		t.Fatal(err)
	}
	claimed := "claimed|" + strconv.FormatInt(t0.UnixMilli(), 10)
	if err := rdb.HSet(ctx, "up:{old.example}:cart:c|2", "st", "active", "m:0:email", claimed).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, "up:stores").Err(); err != nil { // lost in a failover
		t.Fatal(err)
	}
	if ran, err := s.Maintain(ctx, time.Minute); !ran || err != nil {
		t.Fatalf("maintain: %v %v", ran, err)
	}
	if ran, _ := s.Maintain(ctx, time.Minute); ran {
		t.Fatal("a second relay ran the same period's housekeeping")
	}
	stores, _ := s.Stores(ctx)
	if strings.Join(stores, ",") != "default,old.example" {
		t.Fatalf("stores %v", stores)
	}
	if at, ok, _ := s.NextDue(ctx, "old.example", "c1"); !ok || !at.Equal(due) {
		t.Fatalf("migrated due entry: %v %v", at, ok)
	}
	if n, _ := rdb.Exists(ctx, "up:due", "up:inflight").Result(); n != 0 {
		t.Fatalf("%d global sets left", n)
	}
	swept, err := s.SweepClaims(ctx, t0.Add(time.Second), 10)
	if err != nil || len(swept) != 1 || swept[0].Cart != "c|2" || swept[0].Store != "old.example" {
		t.Fatalf("the migrated claim is swept like any other: %+v %v", swept, err)
	}
}

// Refs written before they were hashed are still found, but only while no
// newer ref of the same name exists: a new checkout with an old cart's
// token is the one an order ends.
func TestLegacyRefsAreReadOnlyWhenNoNewerOneExists(t *testing.T) {
	ctx := context.Background()
	rdb := testredis.Universal(t)
	clk := &clock{t: t0}
	s := redis.NewStore(rdb, redis.Options{Prefix: "lr:", Policies: recovery.SequenceOf(time.Hour), Now: clk.Now})
	old, fresh, only := update("u1", "old", t0), update("u2", "fresh", t0), update("u3", "only", t0)
	old.Customer.Email, fresh.Customer.Email, only.Customer.Email = "o@example.com", "f@example.com", "n@example.com"
	fresh.Refs = []string{"cart_token:T"}
	for _, ev := range []recovery.Event{old, fresh, only} {
		ingest(t, s, ev)
	}
	// what an older release wrote for "old" and "only"
	for ref, cart := range map[string]string{"cart_token:T": "old", "cart_token:U": "only"} {
		if err := rdb.Set(ctx, "lr:{default}:ref:"+ref, cart, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	o := func(id, ref string) recovery.Event {
		return recovery.Event{ID: id, Platform: "generic", Kind: recovery.OrderCreated, Store: "default", OccurredAt: t0,
			Refs: []string{ref}, Order: recovery.Order{ID: id, Total: "1.00", Currency: "EUR"}}
	}
	ingest(t, s, o("o1", "cart_token:T"))
	ingest(t, s, o("o2", "cart_token:U"))
	for id, want := range map[string]string{"old": recovery.StateActive, "fresh": recovery.StateOrdered, "only": recovery.StateOrdered} {
		if c, _, _ := s.Load(ctx, "default", id); c.State != want {
			t.Errorf("%s is %q, want %q", id, c.State, want)
		}
	}
}

// SetContent records what the platform says a cart holds, only on the
// generation the worker read; the content keeps the cart's expiry.
func TestSetContentOnlyOnTheGenerationRead(t *testing.T) {
	ctx := context.Background()
	rdb := testredis.Universal(t)
	clk := &clock{t: t0}
	s := redis.NewStore(rdb, redis.Options{Prefix: "sc:", Policies: recovery.SequenceOf(time.Hour), Now: clk.Now})
	ev := update("u1", "bc", t0)
	ev.Platform, ev.Customer = "bigcommerce", recovery.Customer{}
	ingest(t, s, ev)
	c, _, _ := s.Load(ctx, "default", "bc")
	c.Cart.Items = []recovery.Item{{Title: "Mug", Quantity: 1, Price: "9.00"}}
	c.Customer.Email = "Bea@Example.com"
	if ok, err := s.SetContent(ctx, c, c.Gen); !ok || err != nil {
		t.Fatalf("set: %v %v", ok, err)
	}
	got, _, _ := s.Load(ctx, "default", "bc")
	if got.Customer.Email != "Bea@Example.com" || got.Email() != "bea@example.com" || len(got.Cart.Items) != 1 || got.Platform != "bigcommerce" {
		t.Fatalf("after: %+v", got)
	}
	if ttl, _ := rdb.PTTL(ctx, "sc:{default}:d:bc").Result(); ttl <= 0 {
		t.Fatalf("content without expiry: %v", ttl)
	}
	// the claim now checks orders by the address the platform gave
	if r, _ := s.Claim(ctx, got.Message(0, "email", ""), got.Gen, got.Email(), ""); r != recovery.ClaimOK {
		t.Fatalf("claim with the fetched address: %q", r)
	}
	ingest(t, s, update("u2", "bc", t0.Add(time.Minute)))
	if ok, _ := s.SetContent(ctx, c, c.Gen); ok {
		t.Fatal("content written over a newer update")
	}
}
