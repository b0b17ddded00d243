package worker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/clock"
	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/tenant"
	"github.com/cartrecovery/cartrecovery/worker"
)

func TestMain(m *testing.M) { testredis.Main(m) }

// day0 is where every test's clock starts: a fixed instant (a Monday,
// 08:00 UTC), so quiet hours and report days fall the same way on every run.
var day0 = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// patience bounds every wait of these tests (real time): generous, as
// they run under -race on small shared machines.
const patience = 15 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// parallel runs t in parallel with the other tests of the package, except
// when they share one Redis database (testredis.EnvURL set): then each
// test flushes what the others are using, and they must run one by one.
func parallel(t *testing.T) {
	if os.Getenv(testredis.EnvURL) == "" {
		t.Parallel()
	}
}

// broadcast tells whoever waits that something happened (a send, a task
// run): waiters take changed() before checking their condition, and check
// it again when that channel closes.
type broadcast struct {
	mu sync.Mutex
	c  chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{c: make(chan struct{})} }

func (b *broadcast) notify() {
	if b == nil {
		return
	}
	b.mu.Lock()
	close(b.c)
	b.c = make(chan struct{})
	b.mu.Unlock()
}

func (b *broadcast) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.c
}

// sent is one call to a transport.
type sent struct {
	ID, To, Subject, Text string
	At                    time.Time // on the test's clock
}

// transport is a test transport (like the log transport): it records every
// Send, with the time on the test's clock, returns scripted errors and
// tells the bundle.
type transport struct {
	now    func() time.Time
	events *broadcast
	mu     sync.Mutex
	sent   []sent
	errs   []error // returned by the next calls, in order
}

func (tr *transport) Send(_ context.Context, m notify.Message) error {
	defer tr.events.notify()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.sent = append(tr.sent, sent{ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, At: tr.now()})
	if len(tr.errs) > 0 {
		err := tr.errs[0]
		tr.errs = tr.errs[1:]
		return err
	}
	return nil
}

func (tr *transport) all() []sent {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]sent(nil), tr.sent...)
}

func (tr *transport) count(id string) int {
	n := 0
	for _, s := range tr.all() {
		if s.ID == id {
			n++
		}
	}
	return n
}

// testBundle is what a worker test works with: a store on a Redis database
// of its own, a simulated clock that the store, the handlers and the
// relays all read, recording transports, and the workers it started.
// Nothing moves the clock but the test: a reminder due in 24 hours goes
// out as soon as the test advances the clock by 24 hours.
type testBundle struct {
	t      *testing.T
	clock  *clock.Sim
	rdb    *goredis.Client
	store  *redis.Store
	steps  []recovery.Step
	rules  tenant.Rules
	email  *transport
	sms    *transport
	queue  string
	events *broadcast
	insp   *asynq.Inspector
	// platforms are the handlers' platform APIs (tenant.Tenant.Platforms)
	platforms map[string]platform.Client
	// renderer renders the handlers' messages (the shipped templates)
	renderer *render.Renderer
	// live is the tenant snapshot of the store and every handler: the
	// bundle's steps, rules, platforms and renderer when handler or reload
	// last put them there
	live *tenant.Live

	processed atomic.Int64 // tasks run by the workers' asynq servers

	mu     sync.Mutex
	relays []*relayClock
}

var bundles atomic.Int64

// setup returns a bundle for st; opts adjust the store's options (Now and
// Policies come from the bundle) and the rules. Workers are started with
// startWorker. Each bundle has its own key prefix and asynq queue, though
// its database is its own already.
func setup(t *testing.T, st []recovery.Step, opts ...func(*redis.Options, *tenant.Rules)) *testBundle {
	t.Helper()
	r, err := render.Load("../templates")
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{t: t, clock: clock.NewSim(day0), rdb: testredis.Client(t), steps: st,
		rules: tenant.Rules{MinCartValue: "0"}, events: newBroadcast(), renderer: r}
	b.email = &transport{now: b.clock.Now, events: b.events}
	b.sms = &transport{now: b.clock.Now, events: b.events}
	o := redis.Options{Prefix: fmt.Sprintf("t%d:", bundles.Add(1)), Now: b.clock.Now}
	for _, f := range opts {
		f(&o, &b.rules)
	}
	b.live = tenant.NewLive(b.snapshot())
	o.Policies = b.live
	b.store = redis.NewStore(b.rdb, o)
	b.queue = worker.QueueName(o.Prefix)
	b.insp = asynq.NewInspectorFromRedisClient(b.rdb)
	return b
}

func steps(delays ...time.Duration) []recovery.Step {
	names := []string{"first-reminder", "second-reminder", "last-chance"}
	out := make([]recovery.Step, len(delays))
	for i, d := range delays {
		out[i] = recovery.Step{Name: names[i], Delay: d, Channels: []recovery.Channel{"email"}, Template: names[i]}
	}
	if len(out) > 1 {
		out[1].Channels = []recovery.Channel{"email", "sms"}
		out[1].Discount = recovery.Discount{Code: "COMEBACK10", Label: "10% off"}
	}
	return out
}

// snapshot is the tenant snapshot of the bundle's steps, rules, platform
// APIs and renderer now: one shop for every store.
func (b *testBundle) snapshot() *tenant.Set {
	return tenant.New(tenant.Set{Rules: b.rules, Default: &tenant.Tenant{Playbook: recovery.Playbook{Steps: b.steps},
		Shop: recovery.Shop{Name: "Test Shop", URL: "https://shop.example", Address: "1 Main St"}, Renderer: b.renderer,
		Platforms: b.platforms}})
}

// handler is a Handler on the bundle's store, snapshot (its steps, rules,
// platforms and renderer now), transports and clock.
func (b *testBundle) handler() *worker.Handler {
	b.live.Store(b.snapshot())
	return &worker.Handler{Store: b.store, Tenants: b.live, PublicURL: "http://localhost:8080",
		Senders: map[string]notify.Sender{"email": b.email, "sms": b.sms},
		Links:   link.New([]byte("test-key-test-key-test-key-test!")), Now: b.clock.Now, Log: quiet}
}

// reload gives the store and every handler of the bundle the sequence st
// (and r's templates, the shipped ones when nil), as a configuration
// reload does: one new snapshot.
func (b *testBundle) reload(st []recovery.Step, r *render.Renderer) {
	b.t.Helper()
	b.steps = st
	if r != nil {
		b.renderer = r
	}
	b.live.Store(b.snapshot())
}

// relayClock is a relay's clock: the bundle's time, and a timer of its own
// to sleep on, moved in step with the bundle's clock. A clock.Sim only
// tells whether anyone waits on it; one timer per relay tells that this
// relay does, so the bundle knows when every relay is asleep.
type relayClock struct {
	*clock.Sim // the timer: only this relay waits on it
	main       *clock.Sim
}

func (c relayClock) Now() time.Time { return c.main.Now() }

// startWorker runs one worker process: an asynq server and a relay. asynq
// runs in real time; its intervals are short so that a task is picked up
// within tens of milliseconds, and a retry comes 10ms after a failure.
func (b *testBundle) startWorker() {
	b.t.Helper()
	cfg := worker.ServerConfig([]string{b.queue}, 10, quiet)
	cfg.RetryDelayFunc = func(int, error, *asynq.Task) time.Duration { return 10 * time.Millisecond }
	cfg.TaskCheckInterval = 20 * time.Millisecond
	cfg.DelayedTaskCheckInterval = 20 * time.Millisecond
	srv := asynq.NewServerFromRedisClient(b.rdb, cfg)
	hd := b.handler()
	mux := asynq.NewServeMux()
	mux.Handle(worker.TaskType, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		err := hd.ProcessTask(ctx, t)
		b.processed.Add(1)
		b.events.notify()
		return err
	}))
	if err := srv.Start(mux); err != nil {
		b.t.Fatal(err)
	}
	rc := &relayClock{Sim: clock.NewSim(b.clock.Now()), main: b.clock}
	b.mu.Lock()
	b.relays = append(b.relays, rc)
	b.mu.Unlock()
	cl := asynq.NewClientFromRedisClient(b.rdb)
	ctx, cancel := context.WithCancel(context.Background())
	// Interval 1ms: every move of the clock wakes the relay.
	relay := &worker.Relay{Store: b.store, Client: cl, Queue: b.queue, MaxRetry: 3, Interval: time.Millisecond,
		Clock: rc, Log: quiet}
	done := make(chan struct{})
	go func() { defer close(done); relay.Run(ctx) }()
	b.t.Cleanup(func() { cancel(); <-done; srv.Shutdown() })
}

// setClock moves the clock to at without waiting for anything: the
// bundle's first, so that no relay is ever ahead of the store.
func (b *testBundle) setClock(at time.Time) {
	b.clock.Set(at)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.relays {
		r.Set(at)
	}
}

// advance moves the clock forward by d as time passes for running
// workers: it stops at every due time on the way (the relays hand what is
// due to asynq, which runs it) and goes on once all of it has run. When it
// returns, everything due by then has run. Without workers it only moves
// the clock.
func (b *testBundle) advance(d time.Duration) {
	b.t.Helper()
	until := b.clock.Now().Add(d)
	ctx := context.Background()
	for nudges := 0; ; {
		b.settle()
		now := b.clock.Now()
		if !now.Before(until) {
			return
		}
		b.mu.Lock()
		running := len(b.relays) > 0
		b.mu.Unlock()
		at := until
		next, ok, err := b.store.NextWake(ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		if running && ok && next.Before(until) {
			if !next.After(now) {
				// due, yet no relay took it: a millisecond more wakes them
				if nudges++; nudges > 100 {
					b.t.Fatalf("the cart due at %v is never relayed", next)
				}
			}
			at = later(next, now.Add(time.Millisecond))
		}
		b.setClock(at)
	}
}

// settle waits until nothing runs before the clock moves: every relay
// asleep on the clock (so what was due has been handed to asynq) and no
// task of the queue pending, running or waiting for a retry. asynq drops a
// task from its lists after the handler returned and says nothing then:
// that part is polled.
func (b *testBundle) settle() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	b.mu.Lock()
	relays := slices.Clone(b.relays)
	b.mu.Unlock()
	for _, r := range relays {
		if err := r.BlockUntilWaiting(ctx); err != nil {
			b.t.Fatal("a relay did not go back to sleep on the clock")
		}
	}
	poll(b.t, "the queued tasks to run", func() bool {
		qs, err := b.insp.Queues()
		if err != nil {
			b.t.Fatal(err)
		}
		if !slices.Contains(qs, b.queue) {
			return true
		}
		q, err := b.insp.GetQueueInfo(b.queue)
		if err != nil {
			b.t.Fatal(err)
		}
		return q.Pending+q.Active+q.Scheduled+q.Retry == 0
	})
}

// waitFor waits until cond holds, checking it again at each send and each
// task run.
func (b *testBundle) waitFor(what string, cond func() bool) {
	b.t.Helper()
	timeout := time.NewTimer(patience)
	defer timeout.Stop()
	for {
		changed := b.events.changed()
		if cond() {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			b.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// poll waits until cond holds, checking it every 2ms: for what tells
// nobody when it changes.
func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func cart(id string, at time.Time) recovery.Event {
	return recovery.Event{ID: fmt.Sprintf("u-%s-%d", id, at.UnixNano()), Platform: "generic", Kind: recovery.CartUpdated, Store: "default", OccurredAt: at,
		Cart: recovery.Cart{ID: id, Currency: "EUR", Total: "59.90", RecoveryURL: "https://shop.example/cart/" + id,
			Items: []recovery.Item{{Title: "Tee", Quantity: 2, Price: "29.95"}}},
		Customer: recovery.Customer{Email: id + "@example.com", Phone: "+34600000000", FirstName: "Ana", EmailConsent: true, SMSConsent: true}}
}

func order(id string, at time.Time) recovery.Event {
	return recovery.Event{ID: "o-" + id, Platform: "generic", Kind: recovery.OrderCreated, Store: "default",
		OccurredAt: at, Cart: recovery.Cart{ID: id}, Customer: recovery.Customer{Email: id + "@example.com"},
		Order: recovery.Order{ID: "o-" + id, Total: "59.90", Currency: "EUR"}}
}

func (b *testBundle) ingest(ev recovery.Event) recovery.Result {
	b.t.Helper()
	r, err := b.store.Ingest(context.Background(), ev)
	if err != nil {
		b.t.Fatal(err)
	}
	return r
}

func (b *testBundle) load(id string) recovery.CartState {
	b.t.Helper()
	c, _, err := b.store.Load(context.Background(), "default", id)
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}
