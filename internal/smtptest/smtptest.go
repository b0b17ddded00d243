// Package smtptest runs a real SMTP server in-process (emersion/go-smtp) for
// tests: it receives what go-mail sends, records raw messages, counts
// connections and injects faults (4xx/5xx replies, dropped connections).
package smtptest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Received is one accepted message.
type Received struct {
	From string
	To   []string
	Data []byte // raw RFC 5322 message
}

// Parsed returns the header and the text/plain and text/html parts.
func (r Received) Parsed() (mail.Header, string, string, error) {
	m, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		return nil, "", "", err
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return nil, "", "", err
	}
	var text, html string
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(m.Body)
		return m.Header, string(b), "", nil
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", "", err
		}
		b, _ := io.ReadAll(p) // quoted-printable is decoded by NextPart
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return m.Header, text, html, nil
}

// Fault is injected into the next matching commands.
type Fault struct {
	Stage string // "MAIL", "RCPT", "DATA" (reply to the final dot), "DROP" (close after the final dot, no reply)
	Code  int    // e.g. 450, 550
	Times int    // how many times (0 = once)
}

// Server is a running test SMTP server.
type Server struct {
	srv   *smtp.Server
	ln    net.Listener
	mu    sync.Mutex
	msgs  []Received
	conns int
	fault []Fault
}

// Start listens on 127.0.0.1:0 and stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		return &session{s: s, conn: c}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is the listening host.
func (s *Server) Host() string { h, _, _ := net.SplitHostPort(s.Addr()); return h }

// Port is the listening port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// Connections is how many connections were accepted so far.
func (s *Server) Connections() int { s.mu.Lock(); defer s.mu.Unlock(); return s.conns }

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.fault = append(s.fault, f)
}

func (s *Server) take(stage string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.fault {
		if s.fault[i].Stage == stage && s.fault[i].Times > 0 {
			s.fault[i].Times--
			f := s.fault[i]
			return &f
		}
	}
	return nil
}

// Messages returns what was accepted so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// WaitMessages waits until at least n messages arrived.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := s.Messages()
		if len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: %d of %d messages after %s", len(m), n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type session struct {
	s    *Server
	conn *smtp.Conn
	from string
	to   []string
}

func smtpErr(code int) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "injected fault"}
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if f := x.s.take("MAIL"); f != nil {
		return smtpErr(f.Code)
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f := x.s.take("RCPT"); f != nil {
		return smtpErr(f.Code)
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if f := x.s.take("DROP"); f != nil {
		_ = x.conn.Conn().Close()
		return errors.New("dropped")
	}
	if f := x.s.take("DATA"); f != nil {
		return smtpErr(f.Code)
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, Received{From: x.from, To: append([]string(nil), x.to...), Data: b})
	x.s.mu.Unlock()
	return nil
}
