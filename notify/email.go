package notify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Email is an email transport. Close releases its connection, if any.
type Email interface {
	Sender
	io.Closer
}

// EmailOptions configure the email channel.
type EmailOptions struct {
	Transport string // "smtp" | "file" | "log"
	From      string // "Shop <shop@example.com>"
	Outbox    string // directory of the file transport
	SMTP      SMTPOptions
}

// SMTPOptions configure the SMTP relay.
type SMTPOptions struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      string // "starttls" | "tls" | "none"
	Pool     int    // connections kept open (default 4)
}

// SMSOptions configure the SMS channel.
type SMSOptions struct {
	Transport string // "twilio" | "log"
	Twilio    TwilioOptions
}

// TwilioOptions configure the Twilio client.
type TwilioOptions struct {
	AccountSID          string
	AuthToken           string
	From                string
	MessagingServiceSID string
	BaseURL             string // default "https://api.twilio.com"
}

// Option adjusts a transport (tests use it for TLS roots).
type Option func(*transportOptions)

type transportOptions struct { // (options of every transport)
	tls       *tls.Config
	timeout   time.Duration
	idleCheck *time.Duration
}

// WithIdleCheck sets how long a pooled SMTP connection may sit idle before
// it is checked with NOOP when handed out (default 1s; 0: always).
func WithIdleCheck(d time.Duration) Option { return func(o *transportOptions) { o.idleCheck = &d } }

// WithTLSConfig sets the TLS configuration of the SMTP transport.
func WithTLSConfig(c *tls.Config) Option { return func(o *transportOptions) { o.tls = c } }

// WithTimeout bounds one SMTP send, from the first command to the reply to
// the message (worker.send_timeout; default 30s).
func WithTimeout(d time.Duration) Option { return func(o *transportOptions) { o.timeout = d } }

// NewEmail returns the transport named by cfg.Transport: "smtp", "file" or
// "log".
func NewEmail(cfg EmailOptions, log *slog.Logger, opts ...Option) (Email, error) {
	var o transportOptions
	for _, f := range opts {
		f(&o)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email.from: %w", err)
	}
	b := builder{from: from}
	switch cfg.Transport {
	case "smtp":
		return newSMTP(cfg.SMTP, b, o, log)
	case "file":
		if err := os.MkdirAll(cfg.Outbox, 0o750); err != nil {
			return nil, fmt.Errorf("email.outbox: %w", err)
		}
		return &fileEmail{dir: cfg.Outbox, b: b, log: log}, nil
	case "log":
		return &logEmail{log: log}, nil
	}
	return nil, fmt.Errorf("email.transport: unknown transport %q", cfg.Transport)
}

// builder turns a Message into a go-mail message.
type builder struct{ from *mail.Address }

// MessageID is the stable Message-ID for m: a resend of the same (cart,
// step, channel) carries the same id, so it is recognisable.
func (b builder) messageID(m Message, from *mail.Address) string {
	domain := "cartrecovery.local"
	if _, d, ok := strings.Cut(from.Address, "@"); ok {
		domain = d
	}
	return MessageIDFor(m.ID, domain)
}

// MessageIDFor is the Message-ID (without angle brackets) of the email whose
// Message.ID is id, sent from an address at domain.
func MessageIDFor(id, domain string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:12]) + "@" + domain
}

func (b builder) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	// Names are formatted by net/mail: quoted per RFC 5322, RFC 2047
	// encoded when not ASCII, so any name (quotes, backslashes, emoji,
	// right-to-left text, line breaks) makes a valid header.
	from := b.from
	if m.From != "" {
		f, err := mail.ParseAddress(m.From)
		if err != nil {
			return nil, fmt.Errorf("sender address is not valid: %w", ErrPermanent)
		}
		from = f
	}
	msg.FromMailAddress(from)
	to, err := mail.ParseAddress(m.To)
	if err != nil || to.Name != "" || to.Address != strings.TrimSpace(m.To) {
		return nil, fmt.Errorf("recipient address is not valid: %w", ErrPermanent)
	}
	to.Name = strings.ToValidUTF8(m.ToName, "")
	msg.AddToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(b.messageID(m, from))
	for k, v := range m.Headers {
		msg.SetGenHeader(gomail.Header(k), v)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// smtpEmail keeps a pool of open SMTP connections (email.smtp.pool) and
// reuses them. A send first acquires a connection — waiting for a free one,
// dialling or checking an idle one as needed — and only then is the message
// claimed and sent, so nothing waits between the claim and MAIL FROM. No
// connection is used by two sends at once; at most pool are open.
type smtpEmail struct {
	client  *gomail.Client // settings; sends use the pooled *smtp.Client
	b       builder
	log     *slog.Logger
	host    string
	slots   chan struct{} // one token per connection that may be in use
	idle    chan *pooled  // open connections not in use
	waiting atomic.Int64  // sends waiting for a connection
	// idleCheck: connections idle at least this long get a NOOP first.
	idleCheck time.Duration
	mu        sync.Mutex
	closed    bool
}

// PoolStats is implemented by pooled transports.
type PoolStats interface {
	// Waiting is how many sends wait for a free connection (none of them
	// has claimed its message yet).
	Waiting() int
}

// Waiting implements PoolStats.
func (s *smtpEmail) Waiting() int { return int(s.waiting.Load()) }

// pooled is one open connection and when it was last used.
type pooled struct {
	c    *smtp.Client
	used time.Time
}

// defaultIdleCheck: a connection idle longer than this gets a NOOP before
// it is handed out (relays drop idle sessions), so a dead one is replaced
// before the claim rather than discovered after it. Connections in steady
// use skip the round trip.
const defaultIdleCheck = time.Second

func newSMTP(cfg SMTPOptions, b builder, o transportOptions, log *slog.Logger) (*smtpEmail, error) {
	timeout := o.timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	// Without NOOP before every message: Acquire checks idle connections
	// itself, before the claim.
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(timeout), gomail.WithoutNoop()}
	switch cfg.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if o.tls != nil {
		opts = append(opts, gomail.WithTLSConfig(o.tls))
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	c, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("email.smtp: %w", err)
	}
	size := max(cfg.Pool, 1)
	idle := defaultIdleCheck
	if o.idleCheck != nil {
		idle = *o.idleCheck
	}
	s := &smtpEmail{client: c, b: b, log: log, host: cfg.Host, idleCheck: idle,
		slots: make(chan struct{}, size), idle: make(chan *pooled, size)}
	for range size {
		s.slots <- struct{}{}
	}
	return s, nil
}

// Acquire returns a connection ready for one message: an idle one (checked
// with NOOP when it sat idle a while) or a new one. It waits while all pool
// connections are in use.
func (s *smtpEmail) Acquire(ctx context.Context) (Conn, error) {
	s.waiting.Add(1)
	select {
	case <-s.slots:
		s.waiting.Add(-1)
	case <-ctx.Done():
		s.waiting.Add(-1)
		return nil, fmt.Errorf("smtp %s: waiting for a connection: %v: %w", s.host, ctx.Err(), ErrTemporary)
	}
	for {
		select {
		case p := <-s.idle:
			if time.Since(p.used) >= s.idleCheck {
				if err := p.c.Noop(); err != nil {
					_ = p.c.Close()
					continue
				}
			}
			return &smtpConn{s: s, p: p}, nil
		default:
		}
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			s.slots <- struct{}{}
			return nil, fmt.Errorf("smtp %s: transport closed: %w", s.host, ErrTemporary)
		}
		c, err := s.client.DialToSMTPClientWithContext(ctx)
		if err != nil {
			s.slots <- struct{}{}
			return nil, fmt.Errorf("smtp %s: connect: %s: %w", s.host, scrub(err.Error()), ErrTemporary)
		}
		return &smtpConn{s: s, p: &pooled{c: c}}, nil
	}
}

// Send delivers m on a pooled connection (Acquire, send, release).
func (s *smtpEmail) Send(ctx context.Context, m Message) error {
	c, err := s.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return c.Send(ctx, m)
}

// smtpConn is one acquired connection.
type smtpConn struct {
	s      *smtpEmail
	p      *pooled
	broken bool // the session state is unknown: close instead of reuse
	done   bool
}

func (c *smtpConn) Send(_ context.Context, m Message) error {
	s := c.s
	msg, err := s.b.build(m)
	if err != nil {
		return err
	}
	err = s.client.SendWithSMTPClient(c.p.c, msg)
	if err == nil {
		return nil
	}
	var se *gomail.SendError
	if !errors.As(err, &se) {
		c.broken = true
		return fmt.Errorf("smtp %s: outcome unknown: %s", s.host, scrub(err.Error()))
	}
	// After any failure the session's state is in doubt (a 421, a reset
	// that failed, a connection gone): the next message gets a fresh one.
	c.broken = true
	cerr := classifySMTP(se)
	if cerr == nil {
		return nil
	}
	return fmt.Errorf("smtp %s: %w", s.host, cerr)
}

// Release puts the connection back in the pool, or closes it when its
// session is in doubt or the pool is closed.
func (c *smtpConn) Release() {
	if c.done {
		return
	}
	c.done = true
	s := c.s
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if c.broken || closed {
		_ = c.p.c.Close()
	} else {
		c.p.used = time.Now()
		select {
		case s.idle <- c.p:
		default:
			_ = c.p.c.Close()
		}
	}
	s.slots <- struct{}{}
}

// classifySMTP maps a go-mail SendError onto the retry rules: retry only
// what proves the server did not take the message.
func classifySMTP(se *gomail.SendError) error {
	code := se.ErrorCode()
	detail := scrub(se.Error())
	switch se.Reason {
	case gomail.ErrSMTPReset:
		return nil // delivered; only the RSET after it failed
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		return fmt.Errorf("%s: %w", detail, ErrPermanent)
	case gomail.ErrConnCheck, gomail.ErrWriteContent:
		// nothing, or no complete message (no final dot), reached the server
		return fmt.Errorf("%s: %w", detail, ErrTemporary)
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		switch {
		case code >= 500:
			return fmt.Errorf("%s: %w", detail, ErrPermanent)
		case code >= 400:
			return fmt.Errorf("%s: %w", detail, ErrTemporary)
		case se.Reason != gomail.ErrSMTPDataClose:
			// no reply before the message data was sent: not accepted
			return fmt.Errorf("%s: %w", detail, ErrTemporary)
		}
	}
	// e.g. the connection dropped after the final dot, before the reply:
	// the server may have accepted it, so it is not retried.
	return fmt.Errorf("outcome unknown: %s", detail)
}

// Close ends the idle connections; connections in use close when released.
func (s *smtpEmail) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for {
		select {
		case p := <-s.idle:
			_ = s.client.CloseWithSMTPClient(p.c)
		default:
			return nil
		}
	}
}

// fileEmail writes every message as an .eml file: a development transport.
type fileEmail struct {
	dir string
	b   builder
	log *slog.Logger
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (f *fileEmail) Send(_ context.Context, m Message) error {
	msg, err := f.b.build(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(f.dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("outbox: %v: %w", err, ErrTemporary)
	}
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("outbox: %v: %w", err, ErrTemporary)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("outbox: %v: %w", err, ErrTemporary)
	}
	name := time.Now().UTC().Format("20060102T150405.000Z") + "-" + unsafeName.ReplaceAllString(m.ID, "_") + ".eml"
	path := filepath.Join(f.dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("outbox: %v: %w", err, ErrTemporary)
	}
	f.log.Info("email written to outbox", "file", path, "to", MaskAddress(m.To), "subject", m.Subject)
	return nil
}

func (f *fileEmail) Close() error { return nil }

// logEmail only logs that a message would be sent.
type logEmail struct{ log *slog.Logger }

func (l *logEmail) Send(_ context.Context, m Message) error {
	l.log.Info("email (log transport)", "to", MaskAddress(m.To), "subject", m.Subject, "id", m.ID)
	return nil
}

func (l *logEmail) Close() error { return nil }
