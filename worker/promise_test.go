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

// Finding 1: a reminder waiting for the SMTP connection has not claimed its
// send. An order that arrives meanwhile stops it: the claim is taken only
// once the connection is in hand, right before MAIL FROM.
func TestOrderWhileWaitingForTheConnectionStopsTheReminder(t *testing.T) {
	h := newHarness(t, steps(time.Hour))
	srv := smtptest.StartWith(t, smtptest.Options{Latency: 3 * time.Second}) // x holds the connection this long
	email := smtpSender(t, srv, 1)
	hd := h.handler()
	hd.Senders["email"] = email
	past := time.Now().Add(-2 * time.Hour)
	x, y := cart("x", past), cart("y", past)
	y.Customer.Email = "yara@example.com"
	h.ingest(x)
	h.ingest(y)
	run := func(id string, done *sync.WaitGroup) {
		defer done.Done()
		p := task(h.load(id))
		if err := hd.ProcessTask(context.Background(), worker.NewTask(*p, h.queue, 3)); err != nil {
			t.Errorf("task %s: %v", id, err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go run("x", &wg)
	waitFor(t, "x's transaction at the relay", 10*time.Second, func() bool { return srv.Transactions() == 1 })
	go run("y", &wg)
	waitFor(t, "y waiting for the connection", 10*time.Second, func() bool { return email.(notify.PoolStats).Waiting() == 1 })
	if _, ok := h.load("y").Sends[recovery.Slot{Step: 0, Channel: "email"}]; ok {
		t.Fatal("y claimed its send while waiting for the connection")
	}
	h.ingest(recovery.Event{ID: "o-y", Platform: "generic", Kind: recovery.OrderCreated, Store: "default", OccurredAt: time.Now(),
		Cart: recovery.Cart{ID: "y"}, Customer: recovery.Customer{Email: "yara@example.com"},
		Order: recovery.Order{ID: "o-y", Total: "59.90", Currency: "EUR"}}) // answered 2xx from here on
	wg.Wait()
	got := srv.Messages()
	if len(got) != 1 || got[0].To[0] != "x@example.com" {
		var to []string
		for _, m := range got {
			to = append(to, m.To...)
		}
		t.Fatalf("delivered to %v, want only x's customer (y ordered while its reminder waited)", to)
	}
	if c := h.load("y"); c.State != recovery.StateOrdered || len(c.Sends) != 0 {
		t.Fatalf("y after its order: state %q sends %v", c.State, c.Sends)
	}
}

// Invariant 9: a cart first seen idle longer than rules.max_cart_age is
// tracked, every step is skipped as too old, and nothing is sent.
func TestTooOldCartIsSkipped(t *testing.T) {
	h := newHarness(t, steps(time.Hour, 2*time.Hour))
	hd := h.handler()
	h.ingest(cart("old", time.Now().Add(-30*24*time.Hour)))
	for range 2 {
		c := h.load("old")
		if c.Step >= 2 {
			break
		}
		// run each step at its due time, as the relay would
		if err := hd.ProcessTask(context.Background(), worker.NewTask(*task(c), h.queue, 3)); err != nil {
			t.Fatal(err)
		}
	}
	c := h.load("old")
	if len(h.email.all())+len(h.sms.all()) != 0 {
		t.Fatalf("sent %v to a too-old cart", h.email.all())
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
	h := newHarness(t, steps(time.Hour))
	srv := smtptest.StartWith(t, smtptest.Options{SMTPUTF8: true, EchoReject: func(string) bool { return true }})
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	hd := h.handler()
	hd.Log = log
	hd.Senders["email"] = smtpSender(t, srv, 1)
	for i, addr := range []string{"ñandú.garcía@ejemplo.es", "ivan.petrov@пример.рф", "ana.lopez@example.com"} {
		c := cart("m"+string(rune('a'+i)), time.Now().Add(-2*time.Hour))
		c.Customer.Email = addr
		h.ingest(c)
		if err := hd.ProcessTask(context.Background(), worker.NewTask(*task(h.load(c.Cart.ID)), h.queue, 3)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		out := logs.String()
		mu.Unlock()
		local := strings.Split(addr, "@")[0]
		if strings.Contains(out, local) || strings.Contains(out, addr) {
			t.Fatalf("address %q in the logs:\n%s", addr, out)
		}
		o, _, _ := h.load(c.Cart.ID).Sends[recovery.Slot{Step: 0, Channel: "email"}].Split()
		if o != recovery.OutcomeFailed {
			t.Fatalf("%s: outcome %q, want failed (550)", addr, o)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A task whose worker died is resumed at once; a temporary failure backs off.
func TestRetryDelay(t *testing.T) {
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
