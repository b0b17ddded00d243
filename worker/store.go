package worker

import (
	"context"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Store is what a reminder task needs of storage (redis.Store has it): the
// cart read and refreshed, the guards' suppressions, the claim and its
// outcome, links and unique codes, the schedule moved on.
type Store interface {
	Record(ctx context.Context, ev recovery.Event, p *recovery.Policy) (recovery.Result, error)
	Load(ctx context.Context, store, id string) (recovery.CartState, bool, error)
	SetContent(ctx context.Context, c recovery.CartState, gen int) (bool, error)

	Suppress(ctx context.Context, store, channel, contactHash, reason string) error
	Suppressed(ctx context.Context, store, channel, contactHash string) (bool, error)

	Claim(ctx context.Context, m recovery.MessageKey, gen int, email, contactHash string) (recovery.ClaimResult, error)
	Finish(ctx context.Context, m recovery.MessageKey, email string, outcome recovery.Outcome, detail string) error
	Unclaim(ctx context.Context, m recovery.MessageKey) error
	Skip(ctx context.Context, m recovery.MessageKey, reason string) error
	Hold(ctx context.Context, m recovery.MessageKey, until time.Time) error

	SaveLink(ctx context.Context, id [8]byte, m recovery.MessageKey, code string) error
	DeleteLink(ctx context.Context, id [8]byte) error
	CodeFor(ctx context.Context, c recovery.CartState, step int, variant, prefix string, life time.Duration) (recovery.Code, bool, error)
	CodeRegistered(ctx context.Context, c recovery.CartState, step int, variant string, code recovery.Code) (bool, error)

	Reschedule(ctx context.Context, store, id string, t time.Time) error
	Advance(ctx context.Context, store, id, segment string, step int) error
}

// Schedule is what the relay needs of storage: due carts leased and
// released, dead claims swept, housekeeping run.
type Schedule interface {
	LeaseNext(ctx context.Context, now, leaseUntil time.Time, limit int) ([]recovery.Due, time.Time, error)
	Release(ctx context.Context, leaseUntil time.Time, ds []recovery.Due) error
	SweepClaims(ctx context.Context, now time.Time, limit int) ([]recovery.MessageKey, error)
	Maintain(ctx context.Context, every time.Duration) (bool, error)
}
