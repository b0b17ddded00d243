package smtptest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

func send(t *testing.T, s *Server, from, to, msgID string) error {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: hi\r\n"
	if msgID != "" {
		body += "Message-ID: <" + msgID + ">\r\n"
	}
	body += "\r\nhello\r\n"
	return c.SendMail(from, []string{to}, strings.NewReader(body))
}

func TestTimingAndMessageID(t *testing.T) {
	s, err := New(Options{Latency: 80 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := send(t, s, "a@x.test", "b@y.test", "abc@x.test"); err != nil {
		t.Fatal(err)
	}
	s.SetLatency(0)
	if err := send(t, s, "a@x.test", "c@y.test", ""); err != nil {
		t.Fatal(err)
	}
	m := s.Messages()
	if len(m) != 2 || s.Count() != 2 || s.Transactions() != 2 || s.Connections() != 2 {
		t.Fatalf("messages %d count %d transactions %d connections %d", len(m), s.Count(), s.Transactions(), s.Connections())
	}
	if m[0].MessageID != "abc@x.test" || m[1].MessageID != "" {
		t.Errorf("message ids %q %q", m[0].MessageID, m[1].MessageID)
	}
	if m[0].MailAt.IsZero() || m[0].At.Sub(m[0].MailAt) < 80*time.Millisecond {
		t.Errorf("latency not applied: mail at %v, accepted at %v", m[0].MailAt, m[0].At)
	}
	if m[1].At.Before(m[1].MailAt) || m[1].MailAt.Before(m[0].At) {
		t.Errorf("times out of order: %+v", m)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestEchoReject(t *testing.T) {
	s := StartWith(t, Options{EchoReject: func(rcpt string) bool { return strings.HasPrefix(rcpt, "bad") }})
	err := send(t, s, "a@x.test", "bad.one@y.test", "")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || !strings.Contains(se.Message, "<bad.one@y.test>") {
		t.Fatalf("want a 550 echoing the address, got %v", err)
	}
	if err := send(t, s, "a@x.test", "good@y.test", ""); err != nil {
		t.Fatal(err)
	}
	s.Inject(Fault{Stage: "RCPT", Code: 550, Echo: true})
	if err := send(t, s, "a@x.test", "other@y.test", ""); err == nil || !strings.Contains(err.Error(), "<other@y.test>") {
		t.Fatalf("echo fault: %v", err)
	}
	if n := s.Transactions(); n != 3 {
		t.Errorf("transactions %d, want 3 (rejected attempts count)", n)
	}
	if n := s.Count(); n != 1 {
		t.Errorf("accepted %d, want 1", n)
	}
}

func TestSMTPUTF8(t *testing.T) {
	s := StartWith(t, Options{SMTPUTF8: true})
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("SMTPUTF8"); !ok {
		t.Fatal("SMTPUTF8 not advertised")
	}
	body := "From: <a@x.test>\r\nMessage-ID: <u@x.test>\r\n\r\nhola\r\n"
	if err := c.SendMail("a@x.test", []string{"ñandú@ejemplo.es"}, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages(); len(m) != 1 || m[0].To[0] != "ñandú@ejemplo.es" {
		t.Fatalf("got %+v", m)
	}
}

func TestCloseCutsLatency(t *testing.T) {
	s, err := New(Options{Latency: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- send(t, s, "a@x.test", "b@y.test", "") }()
	deadline := time.Now().Add(10 * time.Second)
	for s.Transactions() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	_ = s.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a send cut by Close succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not cut the latency")
	}
}
