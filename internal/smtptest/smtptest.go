// Package smtptest runs a real SMTP server in-process (emersion/go-smtp) for
// tests: it receives what go-mail sends, records raw messages, counts
// connections and injects faults (4xx/5xx replies, dropped connections). With
// Options it speaks STARTTLS or implicit TLS with a fresh self-signed
// certificate and requires AUTH PLAIN.
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

	"math/big"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one accepted message.
type Received struct {
	From string
	To   []string
	Data []byte // raw RFC 5322 message
	TLS  bool   // the message came over TLS
	User string // the authenticated user, if any
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
	opt   Options
	roots *x509.CertPool
	mu    sync.Mutex
	msgs  []Received
	conns int
	fault []Fault
}

// Options select TLS and authentication.
type Options struct {
	TLS                string // "" (plain), "starttls" or "tls" (implicit)
	Username, Password string // when set, AUTH PLAIN is required before MAIL
}

// Start listens on 127.0.0.1:0 in plain text and stops when the test ends.
func Start(t testing.TB) *Server { t.Helper(); return StartWith(t, Options{}) }

// StartWith starts a server with o. RootCAs trusts its certificate.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{opt: o}
	// A session starts at each EHLO (again after STARTTLS), so connections
	// are counted where they are accepted.
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
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
	ln = &countingListener{Listener: ln, s: s}
	if o.TLS != "" {
		cert, roots, err := selfSigned()
		if err != nil {
			t.Fatal(err)
		}
		s.roots = roots
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if o.TLS == "tls" {
			ln = tls.NewListener(ln, s.srv.TLSConfig)
		}
	}
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
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
	user string
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

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opt.Username != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
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
	_, tlsOn := x.conn.TLSConnectionState()
	x.s.msgs = append(x.s.msgs, Received{From: x.from, To: append([]string(nil), x.to...), Data: b, TLS: tlsOn, User: x.user})
	x.s.mu.Unlock()
	return nil
}
