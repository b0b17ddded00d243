// Package redis stores cartrecovery's domain (package recovery) in Redis.
// Each file has one job:
//
//	conn.go         connecting: single server, Sentinel, Cluster, embedded
//	key.go          every key name
//	record.go       the cart content's compact encoding
//	script.go       the Lua scripts (lua/*.lua) and their typed arguments
//	store.go        the Store, its options and shared helpers
//	policy.go       what the scripts need of a store's policy (the tenant snapshot)
//	ingest.go       recording an event: update, delete, order
//	cart.go         reading a cart; replacing a fetched cart's content
//	schedule.go     the due sets: lease, release, reschedule, advance
//	claim.go        claim before a send, outcome after it, sweeps, skips
//	link.go         click-through links and clicks
//	code.go         unique discount codes
//	suppression.go  unsubscribed and stopped contacts
//	report.go       the report counters
//	migrate.go      moving data written by earlier releases
//	session.go      dashboard sessions and the readiness ping
package redis

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Options configure a Store.
type Options struct {
	Prefix string // key prefix, e.g. "cartrecovery:"
	// Policies answers each store's sequences and rules: the service's
	// tenant snapshot (package tenant), whose reload is the only one; a
	// call reads the snapshot current when it starts, and Record takes
	// the one its caller chose a segment with.
	Policies recovery.Policies
	Now      func() time.Time
	// SeenTTL is how long delivery ids are remembered (default 72h; Shopify
	// retries for 4h, platforms may redeliver manually within days).
	SeenTTL time.Duration
	// Retention is how long a cart and its outcomes are kept after its last
	// change (default 90 days), at least the longest delay of the
	// policies (when they tell it: LongestDelay) plus a day. Counters are
	// kept.
	Retention time.Duration
	// NoCounters disables the tracked counter on ingest (the benchmark's
	// baseline only).
	NoCounters bool
	// SendTimeout is worker.send_timeout (default 30s): a claim with no
	// outcome after twice this is swept as failed, reason unknown.
	SendTimeout time.Duration
}

// Store keeps carts, the schedule and send claims in Redis.
type Store struct {
	rdb       goredis.UniversalClient
	k         keyspace
	now       func() time.Time
	seenTTL   int64 // s
	retention int64 // s
	counters  bool
	sendLease time.Duration
	policies  recovery.Policies
	compiled  sync.Map     // *recovery.Policy → *compiled (compile)
	ncompiled atomic.Int64 // entries in compiled

	registered sync.Map // store → when this process last added it to the stores set
}

// registerEvery is how often a process adds a store it writes to the stores
// set again: a set lost with its server (a failover to a replica that had
// not received it, a restart without persistence) is rebuilt within this.
const registerEvery = time.Minute

// NewStore returns a Store on rdb.
func NewStore(rdb goredis.UniversalClient, o Options) *Store {
	o = withDefaults(o)
	longest := time.Duration(0)
	if l, ok := o.Policies.(interface{ LongestDelay() time.Duration }); ok {
		longest = l.LongestDelay()
	}
	return &Store{
		rdb: rdb, k: keyspace{o.Prefix}, now: o.Now, counters: !o.NoCounters, sendLease: 2 * o.SendTimeout,
		seenTTL:   int64(o.SeenTTL / time.Second),
		retention: int64(max(o.Retention, longest+24*time.Hour) / time.Second),
		policies:  o.Policies,
	}
}

func withDefaults(o Options) Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SeenTTL <= 0 {
		o.SeenTTL = 72 * time.Hour
	}
	if o.Retention <= 0 {
		o.Retention = 90 * 24 * time.Hour
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.Policies == nil {
		o.Policies = recovery.PolicyMap{}
	}
	return o
}

// LinkKeyName is the key holding the links' signing key.
func (s *Store) LinkKeyName() string { return s.k.linkKey() }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func msTime(v string) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// day is the UTC date that names a counters hash.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// register lists store in the stores set the relay and the sweeper walk.
// It runs before the store's first event is recorded, so no schedule can
// exist in a store the relay does not know (and again every registerEvery,
// in case the set was lost).
func (s *Store) register(ctx context.Context, store string) error {
	now := time.Now()
	if at, ok := s.registered.Load(store); ok && now.Sub(at.(time.Time)) < registerEvery {
		return nil
	}
	if err := s.rdb.SAdd(ctx, s.k.stores(), store).Err(); err != nil {
		return fmt.Errorf("register store %s: %w", store, err)
	}
	s.registered.Store(store, now)
	return nil
}

// Stores lists every store that has sent an event.
func (s *Store) Stores(ctx context.Context) ([]string, error) {
	st, err := s.rdb.SMembers(ctx, s.k.stores()).Result()
	sort.Strings(st)
	return st, err
}

// everyStore runs one command per known store in one pipeline.
func (s *Store) everyStore(ctx context.Context, cmd func(p goredis.Pipeliner, store string)) error {
	stores, err := s.Stores(ctx)
	if err != nil {
		return err
	}
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, st := range stores {
			cmd(p, st)
		}
		return nil
	})
	return err
}

// deliveryFingerprint is the 48-bit fingerprint of a delivery kept with the
// cart (6 raw bytes each: a UUID would cost 36 in every pending cart).
func deliveryFingerprint(platform, id string) string {
	h := sha256.Sum256([]byte(platform + "\x00" + id))
	return string(h[:6])
}
