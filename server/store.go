package server

import (
	"context"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Store is what the server needs of storage (redis.Store has it): webhooks
// recorded, carts and their timelines read, clicks, receipts and
// suppressions recorded, report counters read, dashboard sessions kept.
type Store interface {
	Record(ctx context.Context, ev recovery.Event, p *recovery.Policy) (recovery.Result, error)
	Load(ctx context.Context, store, id string) (recovery.CartState, bool, error)
	NextDue(ctx context.Context, store, id string) (time.Time, bool, error)
	Stores(ctx context.Context) ([]string, error)
	Counters(ctx context.Context, stores, days []string) (map[string]map[string]map[recovery.Counter]int64, error)

	ResolveLink(ctx context.Context, id [8]byte) (recovery.Link, bool, error)
	Click(ctx context.Context, m recovery.MessageKey) (recovery.Clicked, bool, error)
	Receipt(ctx context.Context, m recovery.MessageKey, status, errCode string) (bool, error)

	Suppress(ctx context.Context, store, channel, contactHash, reason string) error
	SuppressEverywhere(ctx context.Context, channel, contactHash, reason string) error
	Unsuppress(ctx context.Context, channel, contactHash string) error

	SaveSession(ctx context.Context, id string, exp time.Time, ttl time.Duration) error
	SessionExists(ctx context.Context, id string) (bool, error)
	DeleteSession(ctx context.Context, id string) error
}
