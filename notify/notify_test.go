package notify_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
	"github.com/cartrecovery/cartrecovery/internal/twiliotest"
	"github.com/cartrecovery/cartrecovery/notify"
)

func msg(id string) notify.Message {
	return notify.Message{Channel: "email", To: "ana.garcia@example.com", ToName: "Ana", Subject: "You left something",
		Text: "Hi Ana,\nyour cart: https://shop.example/cart/c1", HTML: `<p>Hi Ana, <a href="https://shop.example/cart/c1">your cart</a></p>`,
		Headers: map[string]string{"List-Unsubscribe": "<https://shop.example/unsubscribe/tok>"}, ID: id}
}

func smtpEmail(t *testing.T, srv *smtptest.Server, log *slog.Logger) notify.Email {
	t.Helper()
	e, err := notify.NewEmail(notify.EmailOptions{Transport: "smtp", From: "My Shop <shop@example.com>",
		SMTP: notify.SMTPOptions{Host: srv.Host(), Port: srv.Port(), TLS: "none"}}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)) }

func TestSMTPMessageAndConnectionReuse(t *testing.T) {
	srv := smtptest.Start(t)
	e := smtpEmail(t, srv, quiet())
	for _, id := range []string{"s/c1/0/email", "s/c2/0/email", "s/c3/0/email"} {
		if err := e.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Messages()
	if len(got) != 3 {
		t.Fatalf("%d messages", len(got))
	}
	if n := srv.Connections(); n != 1 {
		t.Fatalf("%d connections for 3 messages, want 1 (reuse)", n)
	}
	h, text, html, err := got[0].Parsed()
	if err != nil {
		t.Fatal(err)
	}
	if got[0].From != "shop@example.com" || got[0].To[0] != "ana.garcia@example.com" {
		t.Fatalf("envelope %q %v", got[0].From, got[0].To)
	}
	if h.Get("Subject") != "You left something" || !strings.Contains(h.Get("From"), "shop@example.com") || !strings.Contains(h.Get("To"), "Ana") ||
		h.Get("Date") == "" || h.Get("List-Unsubscribe") != "<https://shop.example/unsubscribe/tok>" {
		t.Fatalf("headers %v", h)
	}
	if !strings.Contains(text, "your cart: https://shop.example/cart/c1") || !strings.Contains(html, `<a href="https://shop.example/cart/c1">`) {
		t.Fatalf("parts:\n%s\n%s", text, html)
	}
	raw := string(got[0].Data)
	if !strings.Contains(raw, "multipart/alternative") || strings.Index(raw, "text/plain") > strings.Index(raw, "text/html") {
		t.Fatal("not multipart/alternative with html last")
	}
	// the same (cart, step, channel) always gets the same Message-ID
	again := smtptest.Start(t)
	e2 := smtpEmail(t, again, quiet())
	_ = e2.Send(context.Background(), msg("s/c1/0/email"))
	h2, _, _, _ := again.Messages()[0].Parsed()
	if h.Get("Message-Id") == "" || h2.Get("Message-Id") != h.Get("Message-Id") {
		t.Fatalf("Message-ID not stable: %q vs %q", h.Get("Message-Id"), h2.Get("Message-Id"))
	}
	h3, _, _, _ := got[1].Parsed()
	if h3.Get("Message-Id") == h.Get("Message-Id") {
		t.Fatal("two messages share a Message-ID")
	}
}

func TestSMTPFailureClassification(t *testing.T) {
	tests := []struct {
		name  string
		fault smtptest.Fault
		want  error // ErrTemporary, ErrPermanent or nil for ambiguous
	}{
		{"4xx on MAIL FROM", smtptest.Fault{Stage: "MAIL", Code: 421}, notify.ErrTemporary},
		{"4xx on RCPT", smtptest.Fault{Stage: "RCPT", Code: 450}, notify.ErrTemporary},
		{"4xx after DATA", smtptest.Fault{Stage: "DATA", Code: 451}, notify.ErrTemporary},
		{"5xx on RCPT", smtptest.Fault{Stage: "RCPT", Code: 550}, notify.ErrPermanent},
		{"5xx after DATA", smtptest.Fault{Stage: "DATA", Code: 554}, notify.ErrPermanent},
		{"dropped after the final dot", smtptest.Fault{Stage: "DROP"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t)
			var logs bytes.Buffer
			e := smtpEmail(t, srv, slog.New(slog.NewTextHandler(&logs, nil)))
			srv.Inject(tc.fault)
			err := e.Send(context.Background(), msg("s/c1/0/email"))
			if err == nil {
				t.Fatal("no error")
			}
			temp, perm := errors.Is(err, notify.ErrTemporary), errors.Is(err, notify.ErrPermanent)
			switch tc.want {
			case notify.ErrTemporary:
				if !temp || perm {
					t.Fatalf("%v: want temporary", err)
				}
			case notify.ErrPermanent:
				if !perm || temp {
					t.Fatalf("%v: want permanent", err)
				}
			default:
				if temp || perm {
					t.Fatalf("%v: want neither (ambiguous)", err)
				}
			}
			if strings.Contains(err.Error(), "ana.garcia@example.com") {
				t.Fatalf("error text carries the address: %v", err)
			}
			// the transport recovers for the next message
			if err := e.Send(context.Background(), msg("s/c2/0/email")); err != nil {
				t.Fatalf("next send: %v", err)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		e, _ := notify.NewEmail(notify.EmailOptions{Transport: "smtp", From: "shop@example.com", SMTP: notify.SMTPOptions{Host: "127.0.0.1", Port: port, TLS: "none"}}, quiet())
		if err := e.Send(context.Background(), msg("x")); !errors.Is(err, notify.ErrTemporary) {
			t.Fatalf("%v: want temporary", err)
		}
	})
}

func TestFileAndLogTransports(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	f, err := notify.NewEmail(notify.EmailOptions{Transport: "file", From: "My Shop <shop@example.com>", Outbox: dir}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Send(context.Background(), msg("default/c1/0/email")); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 || !strings.HasSuffix(files[0], "-default_c1_0_email.eml") {
		t.Fatalf("outbox: %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	_, text, html, err := smtptest.Received{Data: raw}.Parsed()
	if err != nil || !strings.Contains(text, "your cart") || !strings.Contains(html, "<a href") {
		t.Fatalf("eml: %v\n%s", err, raw)
	}
	l, _ := notify.NewEmail(notify.EmailOptions{Transport: "log", From: "shop@example.com"}, log)
	_ = l.Send(context.Background(), msg("x"))
	s, _ := notify.NewSMS(notify.SMSOptions{Transport: "log"}, log)
	_ = s.Send(context.Background(), notify.Message{To: "+34600123456", Text: "Shop: https://shop.example/r/secret", ID: "y"})
	out := logs.String()
	for _, leak := range []string{"ana.garcia@example.com", "+34600123456", "r/secret"} {
		if strings.Contains(out, leak) {
			t.Errorf("log contains %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "a***@example.com") || !strings.Contains(out, "+34******456") {
		t.Errorf("log lacks masked recipients:\n%s", out)
	}
}

func twilioSMS(t *testing.T, srv *twiliotest.Server, from, mgs string) notify.Sender {
	s, err := notify.NewSMS(notify.SMSOptions{Transport: "twilio", Twilio: notify.TwilioOptions{AccountSID: twiliotest.AccountSID,
		AuthToken: twiliotest.AuthToken, From: from, MessagingServiceSID: mgs, BaseURL: srv.URL()}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTwilio(t *testing.T) {
	srv := twiliotest.Start(t)
	sm := notify.Message{To: "+34600123456", Text: "My Shop: your cart https://shop.example/r/x", ID: "s/c/1/sms"}
	if err := twilioSMS(t, srv, "+15005550006", "").Send(context.Background(), sm); err != nil {
		t.Fatal(err)
	}
	mg := "MG0123456789abcdef0123456789abcdef"
	if err := twilioSMS(t, srv, "", mg).Send(context.Background(), sm); err != nil {
		t.Fatal(err)
	}
	withReceipts := sm
	withReceipts.StatusCallback = "https://recover.example/webhooks/twilio/status?m=0%7Csms%7Ca%7Cs%7Cc"
	if err := twilioSMS(t, srv, "+15005550006", "").Send(context.Background(), withReceipts); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 3 || got[0].From != "+15005550006" || got[0].To != sm.To || got[0].Body != sm.Text ||
		got[1].MessagingServiceSID != mg || got[1].From != "" || got[0].StatusCallback != "" || got[2].StatusCallback != withReceipts.StatusCallback {
		t.Fatalf("twilio saw %+v", got)
	}

	sms := twilioSMS(t, srv, "+15005550006", "")
	srv.OptOut("+34600999999")
	err := sms.Send(context.Background(), notify.Message{To: "+34600999999", Text: "x"})
	if notify.FailureOf(err) != notify.FailureOptedOut || !errors.Is(err, notify.ErrPermanent) ||
		!strings.Contains(err.Error(), "21610") || strings.Contains(err.Error(), "+34600999999") {
		t.Fatalf("opted out: %v (%s)", err, notify.FailureOf(err))
	}
	for _, status := range []int{429, 500, 503} {
		srv.FailNext(status)
		if err := sms.Send(context.Background(), sm); notify.FailureOf(err) != notify.FailureRetryable {
			t.Fatalf("HTTP %d: %v, want retryable", status, err)
		}
	}
	if err := sms.Send(context.Background(), notify.Message{To: "600123456", Text: "x"}); notify.FailureOf(err) != notify.FailurePermanent {
		t.Fatalf("invalid number: %v, want permanent (not opted out)", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + l.Addr().String()
	l.Close()
	down, _ := notify.NewSMS(notify.SMSOptions{Transport: "twilio", Twilio: notify.TwilioOptions{AccountSID: twiliotest.AccountSID,
		AuthToken: twiliotest.AuthToken, From: "+15005550006", BaseURL: closed}}, quiet())
	if err := down.Send(context.Background(), sm); !errors.Is(err, notify.ErrTemporary) {
		t.Fatalf("connection refused: %v, want temporary", err)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"ana.garcia@example.com": "a***@example.com", "x@y.z": "x***@y.z", "nonsense": "non**nse",
		"+34600123456": "+34******456", "123": "***", "": "***",
	} {
		if got := notify.MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSMTPTLSModes sends through a server that speaks STARTTLS or implicit
// TLS with a certificate of its own and requires AUTH PLAIN: the message
// arrives encrypted and authenticated, over one reused connection. A client
// set to starttls never falls back to plain text.
func TestSMTPTLSModes(t *testing.T) {
	for _, mode := range []string{"starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			srv := smtptest.StartWith(t, smtptest.Options{TLS: mode, Username: "shop", Password: "s3cret-pass"})
			cfg := notify.EmailOptions{Transport: "smtp", From: "My Shop <shop@example.com>",
				SMTP: notify.SMTPOptions{Host: srv.Host(), Port: srv.Port(), TLS: mode, Username: "shop", Password: "s3cret-pass"}}
			e, err := notify.NewEmail(cfg, quiet(), notify.WithTLSConfig(&tls.Config{RootCAs: srv.RootCAs(), ServerName: srv.Host(), MinVersion: tls.VersionTLS12}))
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			for _, id := range []string{"s/c1/0/email", "s/c2/0/email"} {
				if err := e.Send(context.Background(), msg(id)); err != nil {
					t.Fatal(err)
				}
			}
			got := srv.Messages()
			if len(got) != 2 || !got[0].TLS || !got[1].TLS || got[0].User != "shop" || srv.Connections() != 1 {
				t.Fatalf("received %d (tls %v, user %q) over %d connections", len(got), len(got) > 0 && got[0].TLS, got[0].User, srv.Connections())
			}

			// a wrong password is refused and nothing is delivered
			cfg.SMTP.Password = "wrong-pass"
			bad, err := notify.NewEmail(cfg, quiet(), notify.WithTLSConfig(&tls.Config{RootCAs: srv.RootCAs(), ServerName: srv.Host(), MinVersion: tls.VersionTLS12}))
			if err != nil {
				t.Fatal(err)
			}
			defer bad.Close()
			if err := bad.Send(context.Background(), msg("s/c3/0/email")); err == nil {
				t.Fatal("sent with a wrong password")
			}
			// a certificate the client does not trust is refused
			cfg.SMTP.Password = "s3cret-pass"
			untrusted, err := notify.NewEmail(cfg, quiet())
			if err != nil {
				t.Fatal(err)
			}
			defer untrusted.Close()
			if err := untrusted.Send(context.Background(), msg("s/c4/0/email")); err == nil {
				t.Fatal("sent to an untrusted certificate")
			}
			if n := len(srv.Messages()); n != 2 {
				t.Fatalf("%d messages after the refused sends", n)
			}
		})
	}
	// starttls against a server that does not offer it: refused, never sent in clear
	plain := smtptest.Start(t)
	e, err := notify.NewEmail(notify.EmailOptions{Transport: "smtp", From: "My Shop <shop@example.com>",
		SMTP: notify.SMTPOptions{Host: plain.Host(), Port: plain.Port(), TLS: "starttls"}}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Send(context.Background(), msg("s/c5/0/email")); err == nil || len(plain.Messages()) != 0 {
		t.Fatalf("starttls to a plain server: err %v, %d delivered", err, len(plain.Messages()))
	}
}
