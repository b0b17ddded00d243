package notify_test

import (
	"context"
	"fmt"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
	"github.com/cartrecovery/cartrecovery/notify"
)

func pooledEmail(t *testing.T, srv *smtptest.Server, pool int, opts ...notify.Option) notify.Email {
	t.Helper()
	e, err := notify.NewEmail(notify.EmailOptions{Transport: "smtp", From: "My Shop <shop@example.com>",
		SMTP: notify.SMTPOptions{Host: srv.Host(), Port: srv.Port(), TLS: "none", Pool: pool}}, quiet(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// Finding 1: many sends share a pool of connections. At most pool are open,
// each is reused, every message arrives once, and a send that acquired a
// connection never waits for another send (it holds its own).
func TestSMTPPoolSharesConnections(t *testing.T) {
	t.Parallel()
	srv := smtptest.StartWith(t, smtptest.Options{Latency: 20 * time.Millisecond})
	e := pooledEmail(t, srv, 3)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e.Send(context.Background(), msg(fmt.Sprintf("s/c%d/0/email", i)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Messages()
	if len(got) != n {
		t.Fatalf("%d messages, want %d", len(got), n)
	}
	ids := map[string]bool{}
	for _, m := range got {
		if ids[m.MessageID] {
			t.Fatalf("message %s delivered twice", m.MessageID)
		}
		ids[m.MessageID] = true
	}
	if c := srv.Connections(); c < 2 || c > 3 {
		t.Fatalf("%d connections for %d concurrent messages with pool 3, want 2-3 (shared and reused)", c, n)
	}
}

// A connection is held before the claim: Acquire waits while all pooled
// connections are busy, and the waiting send has touched nothing yet.
func TestSMTPPoolAcquireWaitsBeforeAnythingIsSent(t *testing.T) {
	t.Parallel()
	srv := smtptest.StartWith(t, smtptest.Options{Latency: time.Hour})
	e := pooledEmail(t, srv, 1)
	ctx := context.Background()
	first, err := notify.Acquire(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	acquired := make(chan notify.Conn)
	go func() {
		c, err := notify.Acquire(ctx, e)
		if err != nil {
			t.Error(err)
		}
		acquired <- c
	}()
	waitFor(t, func() bool { return e.(notify.PoolStats).Waiting() == 1 })
	select {
	case <-acquired:
		t.Fatal("second acquire got a connection while the only one was held")
	default:
	}
	if srv.Transactions() != 0 {
		t.Fatal("a transaction started before any send")
	}
	first.Release()
	second := <-acquired
	second.Release()
	if c := srv.Connections(); c != 1 {
		t.Fatalf("%d connections, want 1 (handed over)", c)
	}
	// a context that ends while waiting: a temporary failure, nothing sent
	held, _ := notify.Acquire(ctx, e)
	defer held.Release()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := notify.Acquire(short, e); err == nil {
		t.Fatal("acquire with every connection held returned")
	}
}

// A pooled connection that the server closed while idle is replaced at
// Acquire (before any claim), not discovered after it.
func TestSMTPPoolReplacesDeadIdleConnection(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	e := pooledEmail(t, srv, 1, notify.WithIdleCheck(0))
	if err := e.Send(context.Background(), msg("s/a/0/email")); err != nil {
		t.Fatal(err)
	}
	srv.DropConnections()
	if err := e.Send(context.Background(), msg("s/b/0/email")); err != nil {
		t.Fatalf("send after the idle connection was dropped: %v", err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Fatalf("%d messages", n)
	}
}

// Finding 6: any display name delivers, formatted by the mail library
// (RFC 5322 quoting, RFC 2047 encoding) and read back unchanged.
func TestAnyDisplayNameDelivers(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t)
	e := pooledEmail(t, srv, 2)
	names := []string{`O"Neil`, `Ana\`, `García, Ana`, `"quoted"`, `Zoë 🛒`, `محمد`, `שלום עולם`, `李雷`,
		"Ana\r\nBcc: victim@example.com", `<script>x</script>`, `a;b:c@d`, ``, `   `, "\u202eevil"}
	for i, name := range names {
		m := msg(fmt.Sprintf("s/n%d/0/email", i))
		m.ToName = name
		if err := e.Send(context.Background(), m); err != nil {
			t.Fatalf("name %q: %v", name, err)
		}
	}
	got := srv.Messages()
	if len(got) != len(names) {
		t.Fatalf("%d messages for %d names", len(got), len(names))
	}
	for i, r := range got {
		h, _, _, err := r.Parsed()
		if err != nil {
			t.Fatal(err)
		}
		if h.Get("Bcc") != "" {
			t.Fatalf("header injection through the name: %q", h.Get("Bcc"))
		}
		to, err := mail.ParseAddress(h.Get("To"))
		if err != nil {
			t.Fatalf("To header %q of name %q does not parse: %v", h.Get("To"), names[i], err)
		}
		if to.Address != "ana.garcia@example.com" {
			t.Fatalf("address %q", to.Address)
		}
		if want := names[i]; to.Name != want && !(want == "   " && to.Name == "") {
			// CR/LF may not survive a header; nothing else may change
			if want != "Ana\r\nBcc: victim@example.com" {
				t.Errorf("name %q came back as %q", want, to.Name)
			}
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
