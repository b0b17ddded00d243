// Package smtptest runs a real SMTP server in-process (emersion/go-smtp) for
// tests and the torture harness: it receives what go-mail sends, records raw
// messages with their timing, counts connections and MAIL transactions and
// injects faults (4xx/5xx replies, dropped connections, recipient rejections
// that echo the address as real relays do). It can take a relay's time per
// message (Latency). With Options it speaks STARTTLS or implicit TLS with a
// fresh self-signed certificate, requires AUTH PLAIN, or offers SMTPUTF8.
//
// New/Close run it outside a test; Start/StartWith tie it to a test.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"math/big"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one accepted message.
type Received struct {
	From      string
	To        []string
	Data      []byte    // raw RFC 5322 message
	TLS       bool      // the message came over TLS
	User      string    // the authenticated user, if any
	MailAt    time.Time // when MAIL FROM of this transaction arrived (its first byte to the provider)
	At        time.Time // when the message was accepted (after Latency, as the 250 is sent)
	MessageID string    // the Message-ID header without its angle brackets ("" when absent)
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
	// Echo makes the reply text quote the recipient (RCPT) or sender
	// (MAIL) the way real relays do: "550 5.1.1 <ana@x> user unknown".
	Echo bool
}

// Server is a running test SMTP server.
type Server struct {
	srv     *smtp.Server
	ln      net.Listener
	opt     Options
	roots   *x509.CertPool
	mu      sync.Mutex
	msgs    []Received
	conns   int
	open    []net.Conn // accepted connections (DropConnections)
	txns    int
	fault   []Fault
	latency time.Duration
	closed  chan struct{}
	once    sync.Once
}

// Options select TLS, authentication, latency and standing rejections.
type Options struct {
	TLS                string // "" (plain), "starttls" or "tls" (implicit)
	Username, Password string // when set, AUTH PLAIN is required before MAIL
	// Latency is how long the server waits before replying to the final
	// dot of DATA: a real relay's time per message. SetLatency changes it.
	Latency time.Duration
	// EchoReject, when set, is asked about every recipient; true rejects it
	// with "550 5.1.1 <addr> user unknown", echoing the address.
	EchoReject func(rcpt string) bool
	// SMTPUTF8 advertises RFC 6531 SMTPUTF8, so non-ASCII addresses are
	// accepted.
	SMTPUTF8 bool
	// ErrorLog receives the server's connection errors (resets are normal
	// when clients are killed); nil discards them.
	ErrorLog *log.Logger
}

// Start listens on 127.0.0.1:0 in plain text and stops when the test ends.
func Start(t testing.TB) *Server { t.Helper(); return StartWith(t, Options{}) }

// StartWith starts a server with o that stops when the test ends. RootCAs
// trusts its certificate.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// New starts a server with o on 127.0.0.1:0; Close stops it.
func New(o Options) (*Server, error) {
	s := &Server{opt: o, latency: o.Latency, closed: make(chan struct{})}
	// A session starts at each EHLO (again after STARTTLS), so connections
	// are counted where they are accepted.
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.EnableSMTPUTF8 = o.SMTPUTF8
	s.srv.ErrorLog = o.ErrorLog
	if o.ErrorLog == nil {
		s.srv.ErrorLog = log.New(io.Discard, "", 0)
	}
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	if o.TLS != "" && o.TLS != "starttls" && o.TLS != "tls" {
		return nil, fmt.Errorf("smtptest: unknown TLS mode %q", o.TLS)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ln = &countingListener{Listener: ln, s: s}
	if o.TLS != "" {
		cert, roots, err := selfSigned()
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		s.roots = roots
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if o.TLS == "tls" {
			ln = tls.NewListener(ln, s.srv.TLSConfig)
		}
	}
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops listening and closes every open connection. A reply held back
// by Latency is cut short. Calling it again does nothing.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		err = s.srv.Close()
	})
	return err
}

// SetLatency changes the time taken before replying to the final dot of
// DATA, for the messages whose DATA ends from now on.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.open = append(l.s.open, c)
		l.s.mu.Unlock()
	}
	return c, err
}

// DropConnections closes every connection accepted so far without a word,
// as a relay does with sessions it finds idle too long.
func (s *Server) DropConnections() {
	s.mu.Lock()
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
}

// RootCAs is a pool holding the server's certificate (nil without TLS).
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// selfSigned makes a certificate for 127.0.0.1 and localhost.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
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

// Transactions is how many MAIL FROM commands arrived so far, accepted or
// not: every attempt to send, including a duplicate, counts.
func (s *Server) Transactions() int { s.mu.Lock(); defer s.mu.Unlock(); return s.txns }

// Count is how many messages were accepted so far (Messages without the copy).
func (s *Server) Count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.msgs) }

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
	s      *Server
	conn   *smtp.Conn
	from   string
	to     []string
	user   string
	mailAt time.Time
}

func (x *session) AuthMechanisms() []string {
	if x.s.opt.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || x.s.opt.Username == "" {
		return nil, smtp.ErrAuthUnsupported
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.opt.Username || pass != x.s.opt.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		x.user = user
		return nil
	}), nil
}

func smtpErr(code int) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "injected fault"}
}

// faultErr is f's reply; with Echo it quotes addr as a real relay does.
func faultErr(f *Fault, addr string) error {
	if !f.Echo {
		return smtpErr(f.Code)
	}
	return echoErr(f.Code, addr)
}

func echoErr(code int, addr string) error {
	enh := smtp.EnhancedCode{code / 100, 1, 1}
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "<" + addr + "> user unknown"}
}

func (x *session) Reset()        { x.from, x.to, x.mailAt = "", nil, time.Time{} }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opt.Username != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	now := time.Now()
	x.s.mu.Lock()
	x.s.txns++
	x.s.mu.Unlock()
	if f := x.s.take("MAIL"); f != nil {
		return faultErr(f, from)
	}
	x.from, x.mailAt = from, now
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f := x.s.take("RCPT"); f != nil {
		return faultErr(f, to)
	}
	if x.s.opt.EchoReject != nil && x.s.opt.EchoReject(to) {
		return echoErr(550, to)
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	lat := x.s.latency
	x.s.mu.Unlock()
	if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-x.s.closed:
			t.Stop()
			return errors.New("server closed")
		}
	}
	if f := x.s.take("DROP"); f != nil {
		_ = x.conn.Conn().Close()
		return errors.New("dropped")
	}
	if f := x.s.take("DATA"); f != nil {
		return smtpErr(f.Code)
	}
	_, tlsOn := x.conn.TLSConnectionState()
	rec := Received{From: x.from, To: append([]string(nil), x.to...), Data: b, TLS: tlsOn, User: x.user,
		MailAt: x.mailAt, MessageID: messageID(b)}
	x.s.mu.Lock()
	rec.At = time.Now()
	x.s.msgs = append(x.s.msgs, rec)
	x.s.mu.Unlock()
	return nil
}

// messageID reads the Message-ID header of a raw message, brackets stripped.
func messageID(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	id := strings.TrimSpace(m.Header.Get("Message-Id"))
	return strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
}
