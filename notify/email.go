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
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/cartrecovery/cartrecovery/config"
)

// Email is an email transport. Close releases its connection, if any.
type Email interface {
	Sender
	io.Closer
}

// EmailOption adjusts an email transport (tests use it for TLS roots).
type EmailOption func(*emailOptions)

type emailOptions struct{ tls *tls.Config }

// WithTLSConfig sets the TLS configuration of the SMTP transport.
func WithTLSConfig(c *tls.Config) EmailOption { return func(o *emailOptions) { o.tls = c } }

// NewEmail returns the transport named by cfg.Transport: "smtp", "file" or
// "log".
func NewEmail(cfg config.Email, log *slog.Logger, opts ...EmailOption) (Email, error) {
	var o emailOptions
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
func (b builder) messageID(m Message) string {
	h := sha256.Sum256([]byte(m.ID))
	domain := "cartrecovery.local"
	if _, d, ok := strings.Cut(b.from.Address, "@"); ok {
		domain = d
	}
	return hex.EncodeToString(h[:12]) + "@" + domain
}

func (b builder) build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.FromFormat(b.from.Name, b.from.Address); err != nil {
		return nil, fmt.Errorf("from: %v: %w", err, ErrPermanent)
	}
	if err := msg.AddToFormat(m.ToName, m.To); err != nil {
		return nil, fmt.Errorf("recipient address is not valid: %w", ErrPermanent)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(b.messageID(m))
	for k, v := range m.Headers {
		msg.SetGenHeader(gomail.Header(k), v)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// smtpEmail keeps one connection open and reuses it for every message.
type smtpEmail struct {
	mu     sync.Mutex
	client *gomail.Client
	open   bool
	b      builder
	log    *slog.Logger
	host   string
}

func newSMTP(cfg config.SMTP, b builder, o emailOptions, log *slog.Logger) (*smtpEmail, error) {
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(30 * time.Second)}
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
	return &smtpEmail{client: c, b: b, log: log, host: cfg.Host}, nil
}

// Send delivers m over the shared connection, dialling when there is none.
func (s *smtpEmail) Send(ctx context.Context, m Message) error {
	msg, err := s.b.build(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if !s.open {
			if err := s.client.DialWithContext(ctx); err != nil {
				return fmt.Errorf("smtp %s: connect: %s: %w", s.host, scrub(err.Error()), ErrTemporary)
			}
			s.open = true
		}
		err := s.client.Send(msg)
		if err == nil {
			return nil
		}
		var se *gomail.SendError
		if !errors.As(err, &se) {
			s.drop()
			return fmt.Errorf("smtp %s: %s", s.host, scrub(err.Error()))
		}
		if se.Reason == gomail.ErrConnCheck && attempt == 0 {
			// The kept connection died while idle; nothing was sent yet.
			s.drop()
			continue
		}
		cerr := classifySMTP(se)
		if se.Reason != gomail.ErrSMTPMailFrom && se.Reason != gomail.ErrSMTPRcptTo {
			s.drop() // the session state is unknown: start afresh next time
		}
		if cerr == nil {
			return nil
		}
		return fmt.Errorf("smtp %s: %w", s.host, cerr)
	}
}

func (s *smtpEmail) drop() {
	_ = s.client.Close()
	s.open = false
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

// Close closes the kept connection.
func (s *smtpEmail) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open {
		s.open = false
		return s.client.Close()
	}
	return nil
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
