// Package notify delivers rendered messages through channels: email (SMTP via
// go-mail, .eml files, log) and SMS (Twilio via twilio-go, log).
package notify

import (
	"context"
	"errors"
	"fmt"
)

// Message is one rendered message for one recipient on one channel.
type Message struct {
	Channel string // "email" | "sms"
	To      string // email address or E.164 phone number
	ToName  string // display name for email, optional
	Subject string // email only
	Text    string // email text part, or the SMS body
	HTML    string // email HTML part
	// Headers are extra email headers (e.g. List-Unsubscribe).
	Headers map[string]string
	// ID is a stable idempotency key for (cart, step, channel); email uses it
	// to derive the Message-ID, SMS passes nothing to the provider.
	ID string
	// StatusCallback (SMS) is where the provider posts delivery receipts;
	// empty: none asked for.
	StatusCallback string
	// From is the sender when it is not the transport's: a store's own
	// (stores.<id>.email_from: "Shop <shop@example.com>"; stores.<id>.sms_from:
	// an E.164 number or a Twilio Messaging Service MG… SID).
	From string
}

// Sender is what every channel transport implements.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Conn is a channel ready to take one message at once: for SMTP, a pooled
// connection in hand. Release returns it (every Conn must be released).
type Conn interface {
	Send(ctx context.Context, m Message) error
	Release()
}

// Acquirer is implemented by transports whose sends wait for a resource
// (the SMTP connection pool). The worker acquires first and claims the send
// only then, so nothing waits between the claim and the first byte to the
// provider.
type Acquirer interface {
	Acquire(ctx context.Context) (Conn, error)
}

// Acquire returns a Conn on s: the pooled connection where s keeps a pool,
// else s itself (its sends wait for nothing).
func Acquire(ctx context.Context, s Sender) (Conn, error) {
	if a, ok := s.(Acquirer); ok {
		return a.Acquire(ctx)
	}
	return direct{s}, nil
}

type direct struct{ Sender }

func (direct) Release() {}

// ErrPermanent marks a failure that will not succeed on retry (SMTP 5xx,
// Twilio 21610 opted-out, invalid number). Retry nothing that wraps it.
var ErrPermanent = errors.New("permanent delivery failure")

// ErrTemporary marks a failure that proves the provider did NOT accept the
// message (connect error, SMTP 4xx before DATA was accepted, Twilio 5xx/429):
// safe to retry. A failure wrapping neither sentinel is ambiguous (the
// provider may have accepted it) and must not be retried either.
var ErrTemporary = errors.New("temporary delivery failure, not accepted")

// ErrOptedOut marks a permanent failure because the recipient opted out
// with the provider (Twilio 21610: they replied STOP): nothing more may be
// sent to them on that channel. It wraps ErrPermanent.
var ErrOptedOut = fmt.Errorf("recipient opted out: %w", ErrPermanent)

// Failure is what a provider error means for the message.
type Failure int

// Failures, as the worker acts on them.
const (
	// FailureUnknown: the provider may have taken the message (a timeout
	// or a lost connection after it was handed over): not retried,
	// recorded as unknown.
	FailureUnknown Failure = iota
	// FailureRetryable: the provider did not take it; retried with backoff.
	FailureRetryable
	// FailurePermanent: it will not succeed; recorded as failed.
	FailurePermanent
	// FailureOptedOut: permanent, and the contact is suppressed.
	FailureOptedOut
)

// FailureOf classifies an error returned by Send or Acquire.
func FailureOf(err error) Failure {
	switch {
	case errors.Is(err, ErrOptedOut):
		return FailureOptedOut
	case errors.Is(err, ErrPermanent):
		return FailurePermanent
	case errors.Is(err, ErrTemporary):
		return FailureRetryable
	}
	return FailureUnknown
}

func (f Failure) String() string {
	return [...]string{"unknown", "retryable", "permanent", "opted out"}[f]
}
