package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce/bigcommercetest"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/worker"
)

func smtpSender(t *testing.T, srv *smtptest.Server, pool int) notify.Email {
	t.Helper()
	e, err := notify.NewEmail(notify.EmailOptions{Transport: "smtp", From: "Test Shop <shop@example.com>",
		SMTP: notify.SMTPOptions{Host: srv.Host(), Port: srv.Port(), TLS: "none", Pool: pool}}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func task(c recovery.CartState) *worker.Payload {
	return &worker.Payload{Store: c.Store, Cart: c.ID, Step: c.Step, Gen: c.Gen}
}

// holdFirst passes sends to an SMTP sender, and keeps the pooled
// connection of the first one, once its message is accepted, until
// released: the next send waits for the connection meanwhile.
type holdFirst struct {
	notify.Email
	accepted chan struct{} // closed once the first message is accepted
	release  chan struct{} // close to give the connection back
	once     sync.Once
}

func (h *holdFirst) Acquire(ctx context.Context) (notify.Conn, error) {
	c, err := notify.Acquire(ctx, h.Email)
	if err != nil {
		return nil, err
	}
	return holdConn{c, h}, nil
}

type holdConn struct {
	notify.Conn
	h *holdFirst
}

func (c holdConn) Send(ctx context.Context, m notify.Message) error {
	err := c.Conn.Send(ctx, m)
	first := false
	c.h.once.Do(func() { first = true; close(c.h.accepted) })
	if first {
		select {
		case <-c.h.release:
		case <-ctx.Done():
		}
	}
	return err
}

// Finding 1: a reminder waiting for the SMTP connection has not claimed its
// send. An order that arrives meanwhile stops it: the claim is taken only
// once the connection is in hand, right before MAIL FROM.
func TestOrderWhileWaitingForTheConnectionStopsTheReminder(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour))
	srv := smtptest.Start(t)
	email := smtpSender(t, srv, 1)
	held := &holdFirst{Email: email, accepted: make(chan struct{}), release: make(chan struct{})}
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(held.release) }) })
	hd := b.handler()
	hd.Senders["email"] = held
	past := b.clock.Now().Add(-2 * time.Hour)
	x, y := cart("x", past), cart("y", past)
	y.Customer.Email = "yara@example.com"
	b.ingest(x)
	b.ingest(y)
	run := func(id string, done *sync.WaitGroup) {
		defer done.Done()
		p := task(b.load(id))
		if err := hd.ProcessTask(context.Background(), worker.NewTask(*p, b.queue, 3)); err != nil {
			t.Errorf("task %s: %v", id, err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go run("x", &wg)
	select { // x holds the only connection from here on
	case <-held.accepted:
	case <-time.After(patience):
		t.Fatal("x's message never reached the relay")
	}
	go run("y", &wg)
	poll(t, "y waiting for the connection", func() bool { return email.(notify.PoolStats).Waiting() == 1 })
	if _, ok := b.load("y").Sends[recovery.Slot{Step: 0, Channel: "email"}]; ok {
		t.Fatal("y claimed its send while waiting for the connection")
	}
	b.ingest(recovery.Event{ID: "o-y", Platform: "generic", Kind: recovery.OrderCreated, Store: "default", OccurredAt: b.clock.Now(),
		Cart: recovery.Cart{ID: "y"}, Customer: recovery.Customer{Email: "yara@example.com"},
		Order: recovery.Order{ID: "o-y", Total: "59.90", Currency: "EUR"}}) // answered 2xx from here on
	release.Do(func() { close(held.release) }) // x is done: y gets the connection
	wg.Wait()
	got := srv.Messages()
	if len(got) != 1 || got[0].To[0] != "x@example.com" {
		var to []string
		for _, m := range got {
			to = append(to, m.To...)
		}
		t.Fatalf("delivered to %v, want only x's customer (y ordered while its reminder waited)", to)
	}
	if c := b.load("y"); c.State != recovery.StateOrdered || len(c.Sends) != 0 {
		t.Fatalf("y after its order: state %q sends %v", c.State, c.Sends)
	}
	// x's link stays (its message went out); y's was taken back with its claim
	links, err := b.rdb.Keys(context.Background(), strings.TrimSuffix(b.queue, "reminders")+"l:*").Result()
	if err != nil || len(links) != 1 {
		t.Fatalf("links left: %v %v, want x's only", links, err)
	}
}

// Invariant 9: a cart first seen idle longer than rules.max_cart_age is
// tracked, every step is skipped as too old, and nothing is sent.
func TestTooOldCartIsSkipped(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour, 2*time.Hour))
	hd := b.handler()
	b.ingest(cart("old", b.clock.Now().Add(-30*24*time.Hour)))
	for range 2 {
		c := b.load("old")
		if c.Step >= 2 {
			break
		}
		// run each step at its due time, as the relay would
		if err := hd.ProcessTask(context.Background(), worker.NewTask(*task(c), b.queue, 3)); err != nil {
			t.Fatal(err)
		}
	}
	c := b.load("old")
	if len(b.email.all())+len(b.sms.all()) != 0 {
		t.Fatalf("sent %v to a too-old cart", b.email.all())
	}
	for _, k := range []recovery.Slot{{Step: 0, Channel: "email"}, {Step: 1, Channel: "email"}, {Step: 1, Channel: "sms"}} {
		o, _, detail := c.Sends[k].Split()
		if o != recovery.OutcomeSkipped || !strings.HasPrefix(detail, "too old") {
			t.Errorf("%s: %q %q, want skipped/too old", k, o, detail)
		}
	}
}

// Finding 8 (worker side): a provider error that echoes the recipient does
// not put the address in the logs.
func TestProviderErrorEchoIsMaskedInLogs(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour))
	srv := smtptest.StartWith(t, smtptest.Options{SMTPUTF8: true, EchoReject: func(string) bool { return true }})
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	hd := b.handler()
	hd.Log = log
	hd.Senders["email"] = smtpSender(t, srv, 1)
	for i, addr := range []string{"ñandú.garcía@ejemplo.es", "ivan.petrov@пример.рф", "ana.lopez@example.com"} {
		c := cart("m"+string(rune('a'+i)), b.clock.Now().Add(-2*time.Hour))
		c.Customer.Email = addr
		b.ingest(c)
		if err := hd.ProcessTask(context.Background(), worker.NewTask(*task(b.load(c.Cart.ID)), b.queue, 3)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		out := logs.String()
		mu.Unlock()
		local := strings.Split(addr, "@")[0]
		if strings.Contains(out, local) || strings.Contains(out, addr) {
			t.Fatalf("address %q in the logs:\n%s", addr, out)
		}
		o, _, _ := b.load(c.Cart.ID).Sends[recovery.Slot{Step: 0, Channel: "email"}].Split()
		if o != recovery.OutcomeFailed {
			t.Fatalf("%s: outcome %q, want failed (550)", addr, o)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A task whose worker died is resumed at once; a temporary failure backs off.
func TestRetryDelay(t *testing.T) {
	parallel(t)
	for _, tc := range []struct {
		n    int
		err  error
		want time.Duration
	}{
		{0, asynq.ErrLeaseExpired, time.Second},
		{5, fmt.Errorf("recovered: %w", asynq.ErrLeaseExpired), time.Second},
		{0, notify.ErrTemporary, 30 * time.Second},
		{1, notify.ErrTemporary, time.Minute},
		{20, notify.ErrTemporary, time.Hour},
	} {
		if got := worker.RetryDelay(tc.n, tc.err, nil); got != tc.want {
			t.Errorf("RetryDelay(%d, %v) = %s, want %s", tc.n, tc.err, got, tc.want)
		}
	}
}

// A platform that cannot answer right before a send (HTTP 500) retries the
// task with nothing claimed and nothing sent; when it answers, the reminder
// goes to the address it gives.
func TestPlatformFailureRetriesBeforeAnyClaim(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour))
	fake := bigcommercetest.Start(t)
	fake.SetCart("bc-1", &bigcommercetest.Cart{Email: "bea@example.com", Currency: "EUR", Total: "27.95",
		Items: []bigcommercetest.Item{{Name: "Mug", Quantity: 1, Price: "27.95"}}})
	b.platforms = map[string]platform.Client{bigcommerce.Platform: bigcommerce.NewClient(fake.URL, bigcommercetest.Hash, bigcommercetest.Token)}
	hd := b.handler()
	b.ingest(recovery.Event{ID: "h1", Platform: bigcommerce.Platform, Kind: recovery.CartUpdated, Store: bigcommercetest.Hash,
		OccurredAt: b.clock.Now().Add(-2 * time.Hour), Cart: recovery.Cart{ID: "bc-1"}})
	run := func() error {
		c, _, _ := b.store.Load(context.Background(), bigcommercetest.Hash, "bc-1")
		return hd.ProcessTask(context.Background(), worker.NewTask(*task(c), b.queue, 3))
	}
	fake.FailNext(1)
	if err := run(); err == nil || !strings.Contains(err.Error(), "bigcommerce") {
		t.Fatalf("a platform failure must retry the task: %v", err)
	}
	if c, _, _ := b.store.Load(context.Background(), bigcommercetest.Hash, "bc-1"); len(c.Sends) != 0 || len(b.email.all()) != 0 {
		t.Fatalf("claimed or sent while the platform failed: %v %v", c.Sends, b.email.all())
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	if got := b.email.all(); len(got) != 1 || got[0].To != "bea@example.com" {
		t.Fatalf("sent %+v, want one reminder to the address the platform gave", got)
	}
}
