package worker_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/tenant"
	"github.com/cartrecovery/cartrecovery/worker"
)

func TestSequenceRunsEveryStepOnce(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour, 24*time.Hour, 72*time.Hour))
	b.startWorker()
	start := b.clock.Now()
	b.ingest(cart("c1", start))
	b.advance(time.Hour)
	if c := b.load("c1"); c.Step != 1 || b.email.count("default/c1/0/email") != 1 {
		t.Fatalf("after 1h: cart on step %d, %d first reminders", c.Step, b.email.count("default/c1/0/email"))
	}
	b.advance(23 * time.Hour)
	if c := b.load("c1"); c.Step != 2 || b.email.count("default/c1/1/email") != 1 {
		t.Fatalf("after 24h: cart on step %d, %d second reminders", c.Step, b.email.count("default/c1/1/email"))
	}
	b.advance(48 * time.Hour)
	if c := b.load("c1"); c.Step != 3 {
		t.Fatalf("after 72h: cart on step %d", c.Step)
	}
	b.advance(7 * 24 * time.Hour) // anything extra would show up now
	for _, id := range []string{"default/c1/0/email", "default/c1/1/email", "default/c1/2/email"} {
		if n := b.email.count(id); n != 1 {
			t.Errorf("%s sent %d times", id, n)
		}
	}
	if n := b.sms.count("default/c1/1/sms"); n != 1 {
		t.Errorf("step 2 sms sent %d times", n)
	}
	if len(b.email.all()) != 3 || len(b.sms.all()) != 1 {
		t.Errorf("sent %d emails and %d sms, want 3 and 1", len(b.email.all()), len(b.sms.all()))
	}
	c := b.load("c1")
	for _, k := range []recovery.Slot{{Step: 0, Channel: "email"}, {Step: 1, Channel: "email"}, {Step: 1, Channel: "sms"}, {Step: 2, Channel: "email"}} {
		if o, at, _ := c.Sends[k].Split(); o != recovery.OutcomeSent || at.IsZero() {
			t.Errorf("send state %s = %+v", k, c.Sends[k])
		}
	}
	// steps went out in order, each at its delay from the activity
	all := b.email.all()
	for i, s := range all {
		if due := start.Add(b.steps[i].Delay); s.At.Before(due) {
			t.Errorf("step %d sent at %v, before its due time %v", i, s.At, due)
		}
		if i > 0 && s.At.Before(all[i-1].At) {
			t.Errorf("step %d sent before step %d", i, i-1)
		}
	}
}

func TestDebounceWaitsForIdle(t *testing.T) {
	parallel(t)
	const delay = time.Hour
	b := setup(t, steps(delay))
	b.startWorker()
	var last time.Time
	for range 12 { // an update every 20 minutes for four hours
		last = b.clock.Now()
		b.ingest(cart("c1", last))
		b.advance(20 * time.Minute)
		if n := len(b.email.all()); n != 0 {
			t.Fatalf("reminder sent while the cart was still changing")
		}
	}
	b.advance(last.Add(delay - time.Minute).Sub(b.clock.Now()))
	if n := len(b.email.all()); n != 0 {
		t.Fatalf("reminder sent a minute before the cart was idle for %s", delay)
	}
	b.advance(time.Minute)
	if n := len(b.email.all()); n != 1 {
		t.Fatalf("%d reminders once the cart was idle for %s, want 1", n, delay)
	}
	if got := b.email.all()[0].At; got.Before(last.Add(delay)) {
		t.Fatalf("sent at %v, before last activity %v + delay", got, last)
	}
}

// TestNoSendStartsAfterOrderAcknowledged races hundreds of orders against
// their carts' reminders: no send may start after its order was recorded.
func TestNoSendStartsAfterOrderAcknowledged(t *testing.T) {
	parallel(t)
	const n = 300
	delay := time.Hour
	b := setup(t, steps(delay))
	b.startWorker()
	b.startWorker() // two competing worker processes
	created := b.clock.Now()
	for i := 0; i < n; i++ {
		b.ingest(cart(fmt.Sprintf("c%03d", i), created))
	}
	b.advance(delay - time.Second)
	// Each order lands once a random number of tasks (up to half of
	// them) have run: from before the first reminder to well into the
	// run. Every order moves the clock on by a millisecond once it is
	// acknowledged, so a claim's time (the store's clock) tells whether it
	// was taken before the order or after.
	type ack struct{ k, i int }
	orders := make([]ack, n)
	for i := range orders {
		orders[i] = ack{rand.IntN(n / 2), i}
	}
	sort.Slice(orders, func(a, c int) bool { return orders[a].k < orders[c].k })
	acked := make([]time.Time, n)
	b.setClock(created.Add(delay)) // due: the relays hand the carts over now
	for _, o := range orders {
		b.waitFor(fmt.Sprintf("%d tasks run", o.k), func() bool { return b.processed.Load() >= int64(o.k) })
		b.ingest(order(fmt.Sprintf("c%03d", o.i), b.clock.Now()))
		acked[o.i] = b.clock.Now()
		b.setClock(acked[o.i].Add(time.Millisecond))
	}
	b.settle() // let every in-flight task finish
	sentBefore := 0
	for _, s := range b.email.all() {
		var i int
		if _, err := fmt.Sscanf(s.ID, "default/c%03d/0/email", &i); err != nil {
			t.Fatalf("unexpected message %q", s.ID)
		}
		// A send starts when its claim is taken (the transport is called
		// microseconds later): that must precede the acknowledgment.
		started := b.load(fmt.Sprintf("c%03d", i)).Sends[recovery.Slot{Step: 0, Channel: "email"}].Started
		if started.IsZero() || started.After(acked[i]) {
			t.Errorf("cart c%03d: send started at %v, after its order was acknowledged at %v", i, started, acked[i])
		}
		sentBefore++
	}
	for i := 0; i < n; i++ {
		if c := b.load(fmt.Sprintf("c%03d", i)); c.State != recovery.StateOrdered {
			t.Fatalf("cart %d state %q", i, c.State)
		}
	}
	if sentBefore == 0 || sentBefore == n {
		t.Errorf("%d of %d carts reminded: the orders did not race the reminders", sentBefore, n)
	}
	t.Logf("%d of %d carts were reminded before their order arrived; none after", sentBefore, n)
}

func TestConcurrentWorkersAndRedeliverySendOnce(t *testing.T) {
	parallel(t)
	const n = 200
	b := setup(t, steps(time.Hour))
	for i := 0; i < 3; i++ {
		b.startWorker()
	}
	now := b.clock.Now()
	for i := 0; i < n; i++ {
		ev := cart(fmt.Sprintf("c%03d", i), now)
		b.ingest(ev)
		if r := b.ingest(ev); r.Status != recovery.StatusDuplicate { // duplicate delivery
			t.Fatalf("redelivery: %+v", r)
		}
	}
	b.advance(time.Hour)
	if got := len(b.email.all()); got < n {
		t.Fatalf("%d reminders once due, want %d", got, n)
	}
	// redeliver every task by hand, as asynq would after a lost lease
	hd := b.handler()
	for i := 0; i < n; i++ {
		p := worker.Payload{Store: "default", Cart: fmt.Sprintf("c%03d", i), Step: 0, Gen: 1}
		if err := hd.ProcessTask(context.Background(), worker.NewTask(p, b.queue, 3)); err != nil {
			t.Fatal(err)
		}
	}
	b.advance(24 * time.Hour) // anything extra would show up now
	seen := map[string]int{}
	for _, s := range b.email.all() {
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

// TestFailureClassification: the retries are asynq's, in real time (10ms
// apart in these tests); the clock stands still meanwhile.
func TestFailureClassification(t *testing.T) {
	parallel(t)
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		want      recovery.Outcome
	}{
		{"temporary then accepted", []error{fmt.Errorf("450 mailbox busy: %w", notify.ErrTemporary)}, 2, recovery.OutcomeSent},
		{"permanent is not retried", []error{fmt.Errorf("550 no such user: %w", notify.ErrPermanent)}, 1, recovery.OutcomeFailed},
		{"ambiguous is not retried", []error{errors.New("connection reset after DATA")}, 1, recovery.OutcomeFailed},
		{"temporary until retries run out", []error{notify.ErrTemporary, notify.ErrTemporary, notify.ErrTemporary, notify.ErrTemporary, notify.ErrTemporary}, 4, recovery.OutcomeFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parallel(t)
			b := setup(t, steps(time.Hour, 2*time.Hour))
			b.steps[1].Channels = []recovery.Channel{"email"}
			b.email.errs = tc.errs
			b.startWorker()
			b.ingest(cart("c1", b.clock.Now()))
			b.advance(time.Hour) // the step and its retries
			c := b.load("c1")
			if o, _, _ := c.Sends[recovery.Slot{Step: 0, Channel: "email"}].Split(); o != tc.want || c.Step != 1 {
				t.Fatalf("step outcome %q, cart on step %d; want %q, step 1", o, c.Step, tc.want)
			}
			if got := b.email.count("default/c1/0/email"); got != tc.wantCalls {
				t.Fatalf("provider called %d times, want %d", got, tc.wantCalls)
			}
			// the sequence goes on either way (the last case's fifth error
			// is the next step's first answer: it is retried too)
			b.advance(time.Hour)
			c = b.load("c1")
			if o, _, _ := c.Sends[recovery.Slot{Step: 1, Channel: "email"}].Split(); o != recovery.OutcomeSent || c.Step != 2 {
				t.Fatalf("next step outcome %q, cart on step %d; want sent, step 2", o, c.Step)
			}
		})
	}
}

func TestGuards(t *testing.T) {
	parallel(t)
	tests := []struct {
		name   string
		mod    func(*recovery.Event, *tenant.Rules)
		reason string
	}{
		{"no email", func(e *recovery.Event, _ *tenant.Rules) { e.Customer.Email = "" }, "no email address"},
		{"consent required", func(e *recovery.Event, r *tenant.Rules) {
			e.Customer.EmailConsent = false
			r.EmailConsentRequired = true
		}, "no email consent"},
		{"below minimum", func(_ *recovery.Event, r *tenant.Rules) { r.MinCartValue = "60.00" }, "cart total below rules.min_cart_value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parallel(t)
			b := setup(t, steps(time.Hour))
			ev := cart("c1", b.clock.Now())
			tc.mod(&ev, &b.rules)
			b.startWorker()
			b.ingest(ev)
			b.advance(time.Hour)
			c := b.load("c1")
			o, _, d := c.Sends[recovery.Slot{Step: 0, Channel: "email"}].Split()
			if c.Step != 1 || o != recovery.OutcomeSkipped || d != tc.reason {
				t.Fatalf("step %d, outcome %q %q, want step 1, skipped %q", c.Step, o, d, tc.reason)
			}
			if len(b.email.all()) != 0 {
				t.Fatal("guarded message was sent")
			}
		})
	}
	t.Run("sms without consent, email still sent", func(t *testing.T) {
		parallel(t)
		b := setup(t, steps(time.Hour, 24*time.Hour))
		ev := cart("c1", b.clock.Now())
		ev.Customer.SMSConsent = false
		b.startWorker()
		b.ingest(ev)
		b.advance(24 * time.Hour)
		c := b.load("c1")
		if o, _, d := c.Sends[recovery.Slot{Step: 1, Channel: "sms"}].Split(); c.Step != 2 || o != recovery.OutcomeSkipped || d != "no sms consent" {
			t.Fatalf("step %d, sms outcome %q %q", c.Step, o, d)
		}
		if b.email.count("default/c1/1/email") != 1 || len(b.sms.all()) != 0 {
			t.Fatal("wrong sends")
		}
	})
	t.Run("opted out with the provider: failed, and the number suppressed", func(t *testing.T) {
		parallel(t)
		b := setup(t, steps(time.Hour, 24*time.Hour))
		b.sms.errs = []error{fmt.Errorf("twilio 400 (code 21610): recipient opted out (STOP): %w", notify.ErrOptedOut)}
		b.startWorker()
		ev := cart("c1", b.clock.Now())
		b.ingest(ev)
		b.advance(24 * time.Hour)
		c := b.load("c1")
		if o, _, d := c.Sends[recovery.Slot{Step: 1, Channel: "sms"}].Split(); c.Step != 2 || o != recovery.OutcomeFailed || !strings.Contains(d, "21610") {
			t.Fatalf("step %d, sms outcome %q %q", c.Step, o, d)
		}
		if sup, err := b.store.Suppressed(context.Background(), "default", "sms", recovery.ContactHash(ev.Customer.Phone)); err != nil || !sup {
			t.Fatalf("opted-out number not suppressed: %v %v", sup, err)
		}
		if n := b.sms.count("default/c1/1/sms"); n != 1 {
			t.Fatalf("an opted-out number was tried %d times", n)
		}
	})
	t.Run("unsubscribed", func(t *testing.T) {
		parallel(t)
		b := setup(t, steps(time.Hour))
		ctx := context.Background()
		if err := b.store.Suppress(ctx, "default", "email", recovery.ContactHash("c1@example.com"), "test"); err != nil {
			t.Fatal(err)
		}
		b.startWorker()
		b.ingest(cart("c1", b.clock.Now()))
		b.advance(time.Hour)
		c := b.load("c1")
		if o, _, d := c.Sends[recovery.Slot{Step: 0, Channel: "email"}].Split(); c.Step != 1 || o != recovery.OutcomeSkipped || d != "unsubscribed" {
			t.Fatalf("step %d, outcome %q %q", c.Step, o, d)
		}
	})
}

func TestBadPayloadIsNotRetried(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour))
	hd := b.handler()
	for _, p := range []string{"", "{", `{"s":"default"}`, `{"s":"default","c":"x","n":-1}`} {
		err := hd.ProcessTask(context.Background(), asynq.NewTask(worker.TaskType, []byte(p)))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("payload %q: err = %v, want SkipRetry", p, err)
		}
	}
	// a step beyond the sequence (a reload removed it) is not an error: a
	// cart on it ends its sequence; a cart that is not there is superseded
	if err := hd.ProcessTask(context.Background(), asynq.NewTask(worker.TaskType, []byte(`{"s":"default","c":"x","n":7}`))); err != nil {
		t.Errorf("step 7 of a cart that is not there: %v", err)
	}
}

// TestRelayThatDiedIsReplaced: a relay that leased due carts and died before
// handing them to asynq loses nothing; after the lease another relay sends.
func TestRelayThatDiedIsReplaced(t *testing.T) {
	parallel(t)
	const lease = 30 * time.Second
	b := setup(t, steps(time.Hour))
	b.ingest(cart("c1", b.clock.Now()))
	b.advance(time.Hour)
	ctx := context.Background()
	// the "dead" relay: leases for 30s and never enqueues nor releases
	now := b.clock.Now()
	ds, err := b.store.Lease(ctx, now, now.Add(lease), 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("lease %v %v", ds, err)
	}
	b.startWorker()
	b.advance(lease - time.Millisecond)
	if n := len(b.email.all()); n != 0 {
		t.Fatalf("sent during another relay's lease")
	}
	b.advance(time.Millisecond)
	if n := b.email.count("default/c1/0/email"); n != 1 {
		t.Fatalf("reminder sent %d times once the lease expired, want 1", n)
	}
}
