package worker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/worker"
)

func TestMain(m *testing.M) { testredis.Main(m) }

// sent is one call to a transport.
type sent struct {
	ID, To, Subject, Text string
	At                    time.Time
}

// transport is a test transport (like the log transport): it records every
// Send and returns scripted errors.
type transport struct {
	mu   sync.Mutex
	sent []sent
	errs []error // returned by the next calls, in order
}

func (tr *transport) Send(_ context.Context, m notify.Message) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.sent = append(tr.sent, sent{ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, At: time.Now()})
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

type harness struct {
	t      *testing.T
	rdb    *goredis.Client
	store  *redis.Store
	steps  []recovery.Step
	email  *transport
	sms    *transport
	rules  worker.Rules
	queue  string
	now    func() time.Time // the handler's clock (default time.Now)
	cancel []func()
}

func steps(delays ...time.Duration) []recovery.Step {
	names := []string{"first-reminder", "second-reminder", "last-chance"}
	out := make([]recovery.Step, len(delays))
	for i, d := range delays {
		out[i] = recovery.Step{Name: names[i], Delay: d, Channels: []string{"email"}, Template: names[i]}
	}
	if len(out) > 1 {
		out[1].Channels = []string{"email", "sms"}
		out[1].Discount = recovery.Discount{Code: "COMEBACK10", Label: "10% off"}
	}
	return out
}

func newHarness(t *testing.T, st []recovery.Step) *harness {
	t.Helper()
	delays := make([]time.Duration, len(st))
	for i, s := range st {
		delays[i] = s.Delay
	}
	rdb := testredis.Client(t)
	h := &harness{t: t, rdb: rdb, steps: st, email: &transport{}, sms: &transport{},
		rules: worker.Rules{MinCartValue: "0"},
		queue: "test:reminders",
		store: redis.NewStore(rdb, redis.Options{Prefix: "test:", Delays: delays})}
	t.Cleanup(func() {
		for i := len(h.cancel) - 1; i >= 0; i-- {
			h.cancel[i]()
		}
	})
	return h
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func (h *harness) clock() func() time.Time {
	if h.now != nil {
		return h.now
	}
	return time.Now
}

func (h *harness) handler() *worker.Handler {
	r, err := render.Load("../templates")
	if err != nil {
		h.t.Fatal(err)
	}
	return &worker.Handler{Store: h.store, Steps: h.steps, Rules: h.rules,
		Shop: recovery.Shop{Name: "Test Shop", URL: "https://shop.example", Address: "1 Main St"}, PublicURL: "http://localhost:8080",
		Renderer: r, Senders: map[string]notify.Sender{"email": h.email, "sms": h.sms},
		Links: link.New([]byte("test-key-test-key-test-key-test!")), Now: h.clock(), Log: quiet}
}

// startWorker runs one worker process: an asynq server and a relay.
func (h *harness) startWorker() {
	h.t.Helper()
	cfg := worker.ServerConfig([]string{h.queue}, 10, quiet)
	cfg.RetryDelayFunc = func(int, error, *asynq.Task) time.Duration { return 100 * time.Millisecond }
	cfg.DelayedTaskCheckInterval = 100 * time.Millisecond
	srv := asynq.NewServerFromRedisClient(h.rdb, cfg)
	mux := asynq.NewServeMux()
	mux.Handle(worker.TaskType, h.handler())
	if err := srv.Start(mux); err != nil {
		h.t.Fatal(err)
	}
	cl := asynq.NewClientFromRedisClient(h.rdb)
	ctx, cancel := context.WithCancel(context.Background())
	relay := &worker.Relay{Store: h.store, Client: cl, Queue: h.queue, MaxRetry: 3, Interval: 20 * time.Millisecond, Log: quiet}
	done := make(chan struct{})
	go func() { defer close(done); relay.Run(ctx) }()
	h.cancel = append(h.cancel, func() { cancel(); <-done; srv.Shutdown() })
}

func cart(id string, at time.Time) recovery.Event {
	return recovery.Event{ID: fmt.Sprintf("u-%s-%d", id, at.UnixNano()), Platform: "generic", Kind: recovery.CartUpdated, Store: "default", OccurredAt: at,
		Cart: recovery.Cart{ID: id, Currency: "EUR", Total: "59.90", RecoveryURL: "https://shop.example/cart/" + id,
			Items: []recovery.Item{{Title: "Tee", Quantity: 2, Price: "29.95"}}},
		Customer: recovery.Customer{Email: id + "@example.com", Phone: "+34600000000", FirstName: "Ana", EmailConsent: true, SMSConsent: true}}
}

func (h *harness) ingest(ev recovery.Event) recovery.Result {
	h.t.Helper()
	r, err := h.store.Ingest(context.Background(), ev)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) load(id string) recovery.CartState {
	h.t.Helper()
	c, _, err := h.store.Load(context.Background(), "default", id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSequenceRunsEveryStepOnce(t *testing.T) {
	h := newHarness(t, steps(200*time.Millisecond, 400*time.Millisecond, 600*time.Millisecond))
	h.startWorker()
	h.ingest(cart("c1", time.Now()))
	waitFor(t, "three steps", 10*time.Second, func() bool { return h.load("c1").Step == 3 })
	time.Sleep(300 * time.Millisecond) // anything extra would show up now
	for _, id := range []string{"default/c1/0/email", "default/c1/1/email", "default/c1/2/email"} {
		if n := h.email.count(id); n != 1 {
			t.Errorf("%s sent %d times", id, n)
		}
	}
	if n := h.sms.count("default/c1/1/sms"); n != 1 {
		t.Errorf("step 2 sms sent %d times", n)
	}
	if len(h.email.all()) != 3 || len(h.sms.all()) != 1 {
		t.Errorf("sent %d emails and %d sms, want 3 and 1", len(h.email.all()), len(h.sms.all()))
	}
	c := h.load("c1")
	for _, k := range []recovery.Slot{{Step: 0, Channel: "email"}, {Step: 1, Channel: "email"}, {Step: 1, Channel: "sms"}, {Step: 2, Channel: "email"}} {
		if o, at, _ := c.Sends[k].Split(); o != recovery.OutcomeSent || at.IsZero() {
			t.Errorf("send state %s = %+v", k, c.Sends[k])
		}
	}
	// steps went out in order, each after its delay from the activity
	all := h.email.all()
	for i := 1; i < len(all); i++ {
		if all[i].At.Before(all[i-1].At) {
			t.Errorf("step %d sent before step %d", i, i-1)
		}
	}
}

func TestDebounceWaitsForIdle(t *testing.T) {
	h := newHarness(t, steps(300*time.Millisecond))
	h.startWorker()
	start := time.Now()
	var last time.Time
	for time.Since(start) < 1200*time.Millisecond {
		last = time.Now()
		h.ingest(cart("c1", last))
		time.Sleep(100 * time.Millisecond)
		if n := len(h.email.all()); n != 0 {
			t.Fatalf("reminder sent while the cart was still changing")
		}
	}
	waitFor(t, "reminder after idle", 5*time.Second, func() bool { return len(h.email.all()) == 1 })
	if got := h.email.all()[0].At; got.Before(last.Add(300 * time.Millisecond).Truncate(time.Millisecond)) {
		t.Fatalf("sent at %v, before last activity %v + delay", got, last)
	}
}

// TestNoSendStartsAfterOrderAcknowledged races hundreds of orders against
// their carts' due time: no send may start after its order was recorded.
func TestNoSendStartsAfterOrderAcknowledged(t *testing.T) {
	const n = 300
	delay := 400 * time.Millisecond
	h := newHarness(t, steps(delay))
	h.startWorker()
	h.startWorker() // two competing worker processes
	created := time.Now()
	for i := 0; i < n; i++ {
		h.ingest(cart(fmt.Sprintf("c%03d", i), created))
	}
	due := time.UnixMilli(created.UnixMilli()).Add(delay)
	acked := make([]time.Time, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// orders land from 100ms before to 100ms after the due time
			time.Sleep(time.Until(due.Add(time.Duration(rand.IntN(200)-100) * time.Millisecond)))
			id := fmt.Sprintf("c%03d", i)
			ev := recovery.Event{ID: "o-" + id, Platform: "generic", Kind: recovery.OrderCreated, Store: "default",
				OccurredAt: time.Now(), Cart: recovery.Cart{ID: id}, Customer: recovery.Customer{Email: id + "@example.com"},
				Order: recovery.Order{ID: "o-" + id, Total: "59.90", Currency: "EUR"}}
			if _, err := h.store.Ingest(context.Background(), ev); err != nil {
				t.Error(err)
				return
			}
			acked[i] = time.Now()
		}(i)
	}
	wg.Wait()
	time.Sleep(time.Second) // let every in-flight task finish
	sentBefore := 0
	for _, s := range h.email.all() {
		var i int
		if _, err := fmt.Sscanf(s.ID, "default/c%03d/0/email", &i); err != nil {
			t.Fatalf("unexpected message %q", s.ID)
		}
		// A send starts when its claim is taken (the transport is called
		// microseconds later): that must precede the acknowledgment.
		started := h.load(fmt.Sprintf("c%03d", i)).Sends[recovery.Slot{Step: 0, Channel: "email"}].Started
		if started.IsZero() || started.After(acked[i]) {
			t.Errorf("cart c%03d: send started at %v, after its order was acknowledged at %v", i, started, acked[i])
		}
		sentBefore++
	}
	for i := 0; i < n; i++ {
		if c := h.load(fmt.Sprintf("c%03d", i)); c.State != recovery.StateOrdered {
			t.Fatalf("cart %d state %q", i, c.State)
		}
	}
	t.Logf("%d of %d carts were reminded before their order arrived; none after", sentBefore, n)
}

func TestConcurrentWorkersAndRedeliverySendOnce(t *testing.T) {
	const n = 200
	h := newHarness(t, steps(100*time.Millisecond))
	for i := 0; i < 3; i++ {
		h.startWorker()
	}
	now := time.Now()
	for i := 0; i < n; i++ {
		ev := cart(fmt.Sprintf("c%03d", i), now)
		h.ingest(ev)
		if r := h.ingest(ev); r.Status != recovery.StatusDuplicate { // duplicate delivery
			t.Fatalf("redelivery: %+v", r)
		}
	}
	waitFor(t, "all reminders", 10*time.Second, func() bool { return len(h.email.all()) >= n })
	// redeliver every task by hand, as asynq would after a lost lease
	hd := h.handler()
	for i := 0; i < n; i++ {
		p := worker.Payload{Store: "default", Cart: fmt.Sprintf("c%03d", i), Step: 0, Gen: 1}
		if err := hd.ProcessTask(context.Background(), worker.NewTask(p, h.queue, 3)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	seen := map[string]int{}
	for _, s := range h.email.all() {
		seen[s.ID]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct carts reminded, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s sent %d times", id, c)
		}
	}
}

func TestFailureClassification(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		want      string
	}{
		{"temporary then accepted", []error{fmt.Errorf("450 mailbox busy: %w", notify.ErrTemporary)}, 2, recovery.OutcomeSent},
		{"permanent is not retried", []error{fmt.Errorf("550 no such user: %w", notify.ErrPermanent)}, 1, recovery.OutcomeFailed},
		{"ambiguous is not retried", []error{errors.New("connection reset after DATA")}, 1, recovery.OutcomeFailed},
		{"temporary until retries run out", []error{notify.ErrTemporary, notify.ErrTemporary, notify.ErrTemporary, notify.ErrTemporary, notify.ErrTemporary}, 4, recovery.OutcomeFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, steps(50*time.Millisecond, 100*time.Millisecond))
			h.steps[1].Channels = []string{"email"}
			h.email.errs = tc.errs
			h.startWorker()
			h.ingest(cart("c1", time.Now()))
			waitFor(t, "step outcome", 10*time.Second, func() bool {
				o, _, _ := h.load("c1").Sends[recovery.Slot{Step: 0, Channel: "email"}].Split()
				return o == tc.want && h.load("c1").Step >= 1
			})
			if got := h.email.count("default/c1/0/email"); got != tc.wantCalls {
				t.Fatalf("provider called %d times, want %d", got, tc.wantCalls)
			}
			// the sequence goes on either way
			waitFor(t, "next step", 10*time.Second, func() bool { return h.email.count("default/c1/1/email") == 1 })
		})
	}
}

func TestGuards(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*recovery.Event, *worker.Rules)
		reason string
	}{
		{"no email", func(e *recovery.Event, _ *worker.Rules) { e.Customer.Email = "" }, "no email address"},
		{"consent required", func(e *recovery.Event, r *worker.Rules) {
			e.Customer.EmailConsent = false
			r.EmailConsentRequired = true
		}, "no email consent"},
		{"below minimum", func(_ *recovery.Event, r *worker.Rules) { r.MinCartValue = "60.00" }, "cart total below rules.min_cart_value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, steps(50*time.Millisecond))
			ev := cart("c1", time.Now())
			tc.mod(&ev, &h.rules)
			h.startWorker()
			h.ingest(ev)
			waitFor(t, "skip", 5*time.Second, func() bool { return h.load("c1").Step == 1 })
			o, _, d := h.load("c1").Sends[recovery.Slot{Step: 0, Channel: "email"}].Split()
			if o != recovery.OutcomeSkipped || d != tc.reason {
				t.Fatalf("outcome %q %q, want skipped %q", o, d, tc.reason)
			}
			if len(h.email.all()) != 0 {
				t.Fatal("guarded message was sent")
			}
		})
	}
	t.Run("sms without consent, email still sent", func(t *testing.T) {
		h := newHarness(t, steps(50*time.Millisecond, 100*time.Millisecond))
		ev := cart("c1", time.Now())
		ev.Customer.SMSConsent = false
		h.startWorker()
		h.ingest(ev)
		waitFor(t, "step 2", 5*time.Second, func() bool { return h.load("c1").Step == 2 })
		if o, _, d := h.load("c1").Sends[recovery.Slot{Step: 1, Channel: "sms"}].Split(); o != recovery.OutcomeSkipped || d != "no sms consent" {
			t.Fatalf("sms outcome %q %q", o, d)
		}
		if h.email.count("default/c1/1/email") != 1 || len(h.sms.all()) != 0 {
			t.Fatal("wrong sends")
		}
	})
	t.Run("opted out with the provider: failed, and the number suppressed", func(t *testing.T) {
		h := newHarness(t, steps(50*time.Millisecond, 100*time.Millisecond))
		h.sms.errs = []error{fmt.Errorf("twilio 400 (code 21610): recipient opted out (STOP): %w", notify.ErrOptedOut)}
		h.startWorker()
		ev := cart("c1", time.Now())
		h.ingest(ev)
		waitFor(t, "step 2", 5*time.Second, func() bool { return h.load("c1").Step == 2 })
		if o, _, d := h.load("c1").Sends[recovery.Slot{Step: 1, Channel: "sms"}].Split(); o != recovery.OutcomeFailed || !strings.Contains(d, "21610") {
			t.Fatalf("sms outcome %q %q", o, d)
		}
		if sup, err := h.store.Suppressed(context.Background(), "default", "sms", recovery.ContactHash(ev.Customer.Phone)); err != nil || !sup {
			t.Fatalf("opted-out number not suppressed: %v %v", sup, err)
		}
		if n := h.sms.count("default/c1/1/sms"); n != 1 {
			t.Fatalf("an opted-out number was tried %d times", n)
		}
	})
	t.Run("unsubscribed", func(t *testing.T) {
		h := newHarness(t, steps(50*time.Millisecond))
		ctx := context.Background()
		if err := h.store.Suppress(ctx, "default", "email", recovery.ContactHash("c1@example.com"), "test"); err != nil {
			t.Fatal(err)
		}
		h.startWorker()
		h.ingest(cart("c1", time.Now()))
		waitFor(t, "skip", 5*time.Second, func() bool { return h.load("c1").Step == 1 })
		if o, _, d := h.load("c1").Sends[recovery.Slot{Step: 0, Channel: "email"}].Split(); o != recovery.OutcomeSkipped || d != "unsubscribed" {
			t.Fatalf("outcome %q %q", o, d)
		}
	})
}

func TestBadPayloadIsNotRetried(t *testing.T) {
	h := newHarness(t, steps(time.Hour))
	hd := h.handler()
	for _, p := range []string{"", "{", `{"s":"default"}`, `{"s":"default","c":"x","n":7}`} {
		err := hd.ProcessTask(context.Background(), asynq.NewTask(worker.TaskType, []byte(p)))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("payload %q: err = %v, want SkipRetry", p, err)
		}
	}
}

// TestRelayThatDiedIsReplaced: a relay that leased due carts and died before
// handing them to asynq loses nothing; after the lease another relay sends.
func TestRelayThatDiedIsReplaced(t *testing.T) {
	h := newHarness(t, steps(50*time.Millisecond))
	h.ingest(cart("c1", time.Now()))
	time.Sleep(100 * time.Millisecond)
	ctx := context.Background()
	// the "dead" relay: leases for 500ms and never enqueues nor releases
	ds, err := h.store.Lease(ctx, time.Now(), time.Now().Add(500*time.Millisecond), 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("lease %v %v", ds, err)
	}
	h.startWorker()
	time.Sleep(200 * time.Millisecond)
	if n := len(h.email.all()); n != 0 {
		t.Fatalf("sent during another relay's lease")
	}
	waitFor(t, "reminder after the lease expired", 5*time.Second, func() bool { return h.email.count("default/c1/0/email") == 1 })
}
