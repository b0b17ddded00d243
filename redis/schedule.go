package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// The schedule: each store's due set, leased by the relay.

// Lease takes up to limit carts due at now, over every store, and hides
// them from other relays until leaseUntil. Pass them to Release once they
// are handed to the queue.
func (s *Store) Lease(ctx context.Context, now, leaseUntil time.Time, limit int) ([]recovery.Due, error) {
	ds, _, err := s.LeaseNext(ctx, now, leaseUntil, limit)
	return ds, err
}

// LeaseNext is Lease that also returns when the next cart not leased now
// falls due (zero when none is scheduled): the relay sleeps until then. One
// pipelined read covers every store (on a cluster, one per node); then one
// script per store that has carts due.
func (s *Store) LeaseNext(ctx context.Context, now, leaseUntil time.Time, limit int) ([]recovery.Due, time.Time, error) {
	stores, err := s.Stores(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("lease due carts: %w", err)
	}
	nowMs := strconv.FormatInt(now.UnixMilli(), 10)
	due := make([]*goredis.StringSliceCmd, len(stores))
	later := make([]*goredis.ZSliceCmd, len(stores))
	// Each store's answer is checked on its own: one store's failure (a
	// node down) does not hold up the others.
	_, _ = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, st := range stores {
			due[i] = p.ZRangeByScore(ctx, s.k.due(st), &goredis.ZRangeBy{Min: "-inf", Max: nowMs, Count: int64(limit)})
			later[i] = p.ZRangeByScoreWithScores(ctx, s.k.due(st), &goredis.ZRangeBy{Min: "(" + nowMs, Max: "+inf", Count: 1})
		}
		return nil
	})
	var (
		out  []recovery.Due
		next time.Time
		errs []error
	)
	for i, st := range stores {
		if err := errors.Join(due[i].Err(), later[i].Err()); err != nil {
			errs = append(errs, fmt.Errorf("read the due carts of %s: %w", st, err))
			continue
		}
		if z := later[i].Val(); len(z) == 1 {
			if t := time.UnixMilli(int64(z[0].Score)).UTC(); next.IsZero() || t.Before(next) {
				next = t
			}
		}
		ids := due[i].Val()
		if len(ids) == 0 {
			continue
		}
		if len(out) >= limit { // more is due than one batch: come back at once
			next = now
			continue
		}
		ids = ids[:min(len(ids), limit-len(out))]
		c := leaseCall{due: s.k.due(st), now: now.UnixMilli(), until: leaseUntil.UnixMilli(), ids: ids}
		for _, id := range ids {
			c.carts = append(c.carts, s.k.cart(st, id))
		}
		res, err := leaseScript.run(ctx, s.rdb, c).StringSlice()
		if err != nil {
			errs = append(errs, fmt.Errorf("lease due carts of %s: %w", st, err))
			continue
		}
		for j := 0; j+2 < len(res); j += 3 {
			step, _ := strconv.Atoi(res[j+1])
			gen, _ := strconv.Atoi(res[j+2])
			out = append(out, recovery.Due{Store: st, CartID: res[j], Step: step, Gen: gen})
		}
	}
	return out, next, errors.Join(errs...)
}

// Release drops relayed carts from the due sets, unless an update has
// re-scheduled them since the lease.
func (s *Store) Release(ctx context.Context, leaseUntil time.Time, ds []recovery.Due) error {
	byStore := map[string][]any{}
	for _, d := range ds {
		byStore[d.Store] = append(byStore[d.Store], d.CartID)
	}
	var errs []error
	for st, ids := range byStore {
		c := releaseCall{due: s.k.due(st), until: strconv.FormatInt(leaseUntil.UnixMilli(), 10), ids: ids}
		if err := releaseScript.run(ctx, s.rdb, c).Err(); err != nil {
			errs = append(errs, fmt.Errorf("release due carts of %s: %w", st, err))
		}
	}
	return errors.Join(errs...)
}

// NextWake returns the earliest due time over every store (leased carts
// count with their lease deadline); ok is false when nothing is scheduled.
// It leases nothing: tests that drive a simulated clock ask it where to
// move the clock next (the relay learns it from LeaseNext).
func (s *Store) NextWake(ctx context.Context) (time.Time, bool, error) {
	stores, err := s.Stores(ctx)
	if err != nil || len(stores) == 0 {
		return time.Time{}, false, err
	}
	cmds := make([]*goredis.ZSliceCmd, len(stores))
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, st := range stores {
			cmds[i] = p.ZRangeWithScores(ctx, s.k.due(st), 0, 0)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due time: %w", err)
	}
	var next float64
	found := false
	for _, c := range cmds {
		if z := c.Val(); len(z) == 1 && (!found || z[0].Score < next) {
			next, found = z[0].Score, true
		}
	}
	return time.UnixMilli(int64(next)).UTC(), found, nil
}

// DueCount is how many carts are due at t and not yet handed to the queue
// (leased carts carry their lease deadline as score until released).
func (s *Store) DueCount(ctx context.Context, t time.Time) (int64, error) {
	stores, err := s.Stores(ctx)
	if err != nil {
		return 0, err
	}
	cmds := make([]*goredis.IntCmd, len(stores))
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, st := range stores {
			cmds[i] = p.ZCount(ctx, s.k.due(st), "-inf", strconv.FormatInt(t.UnixMilli(), 10))
		}
		return nil
	})
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, err
}

// NextDue returns the due time of a cart's next step, ok false when none is
// scheduled (tests and the timeline use it).
func (s *Store) NextDue(ctx context.Context, store, id string) (time.Time, bool, error) {
	sc, err := s.rdb.ZScore(ctx, s.k.due(store), id).Result()
	if err == goredis.Nil {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.UnixMilli(int64(sc)).UTC(), true, nil
}

// Reschedule puts a cart back on its store's due set at t (a task that
// found its step not due yet, or a channel waiting for quiet hours to end).
func (s *Store) Reschedule(ctx context.Context, store, id string, t time.Time) error {
	return s.rdb.ZAdd(ctx, s.k.due(store), goredis.Z{Score: float64(t.UnixMilli()), Member: id}).Err()
}

// Advance moves an active cart of segment past step and schedules its next
// step from the last activity. It is a no-op if the cart moved on or ended.
func (s *Store) Advance(ctx context.Context, store, id, segment string, step int) error {
	now := s.now()
	q, _ := s.policy(ctx, store).seq(segment)
	return advanceScript.run(ctx, s.rdb, advanceCall{cart: s.k.cart(store, id), due: s.k.due(store), stats: s.k.stats(store, day(now)),
		id: id, step: step, now: now.UnixMilli(), abandoned: field(recovery.CountAbandoned),
		abandonedHoldout: field(recovery.CountAbandonedHoldout), segmentSuffix: recovery.SegmentSuffix(segment), delays: q.delays}).Err()
}
