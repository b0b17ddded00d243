package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// The claim before a provider call and the outcome after it.

// Claim atomically checks, right before the provider call, that the cart is
// still active on (step, gen), that its customer (email, as the caller read
// it with the cart) has not ordered since, and that nobody claimed the
// message yet; then claims it. It returns recovery.ClaimOK or why not.
func (s *Store) Claim(ctx context.Context, m recovery.MessageKey, gen int, email, contactHash string) (recovery.ClaimResult, error) {
	now := s.now()
	r, err := claimScript.run(ctx, s.rdb, claimCall{cart: s.k.cart(m.Store, m.Cart), due: s.k.due(m.Store), inflight: s.k.inflight(m.Store),
		ordered: s.k.ordered(m.Store, email), cool: s.k.cool(m.Store, email), unsub: s.k.unsub(m.Store, string(m.Channel), contactHash),
		field: m.Slot().Field("m"), step: m.Step, gen: gen, now: now.UnixMilli(), cartID: m.Cart, cooldown: s.policy(ctx, m.Store).cooldown.Milliseconds(),
		orderGrace: recovery.OrderGrace.Milliseconds(), leaseUntil: now.Add(s.sendLease).UnixMilli(), message: m.String(), email: email}).Text()
	if err != nil {
		return "", fmt.Errorf("claim %s: %w", m, err)
	}
	return recovery.ClaimResult(r), nil
}

// Finish records the outcome of a claimed send and counts it. A failure
// whose detail starts with "unknown" is also counted as unknown. email is
// the cart's, as read with it (the cross-device index of a sent message).
// It returns recovery.ErrNoClaim when the claim is gone (swept meanwhile).
func (s *Store) Finish(ctx context.Context, m recovery.MessageKey, email string, outcome recovery.Outcome, detail string) error {
	now := s.now()
	pc := s.policy(ctx, m.Store)
	n, err := finishScript.run(ctx, s.rdb, finishCall{cart: s.k.cart(m.Store, m.Cart), inflight: s.k.inflight(m.Store),
		stats: s.k.stats(m.Store, day(now)), last: s.k.last(m.Store, email),
		field: m.Slot().Field("m"), value: sendValue(string(outcome), now, detail), counter: pc.counter(recovery.CounterKind(outcome), m),
		unknown: pc.counter(recovery.CountUnknown, m), suffix: pc.suffix(m), now: now.UnixMilli(), window: int64(pc.window / time.Second),
		cartID: m.Cart, message: m.String(), email: email, reminded: field(recovery.CountReminded), reached: "rs:" + strconv.Itoa(m.Step),
		reachedCounter: recovery.Counter{Kind: recovery.CountReached, Step: pc.stepName(m.Segment, m.Step), Variant: m.Variant}.Field(),
		remindedCopy:   segmentCopy(recovery.CountReminded, m.Segment)}).Int()
	if err == nil && n == 0 {
		err = recovery.ErrNoClaim
	}
	return err
}

// Unclaim releases a claim after a failure that proved the provider did not
// accept the message, so a retry may claim it again.
func (s *Store) Unclaim(ctx context.Context, m recovery.MessageKey) error {
	return finishScript.run(ctx, s.rdb, finishCall{cart: s.k.cart(m.Store, m.Cart), inflight: s.k.inflight(m.Store),
		stats: s.k.stats(m.Store, day(s.now())), last: s.k.last(m.Store, ""),
		field: m.Slot().Field("m"), cartID: m.Cart, message: m.String()}).Err()
}

// SweepClaims records every claim whose lease ended before now without an
// outcome as failed, reason unknown (counted as failed and unknown; never
// resent: a duplicate reminder is worse than a missed one), and returns
// them. At most limit per store and call.
func (s *Store) SweepClaims(ctx context.Context, now time.Time, limit int) ([]recovery.MessageKey, error) {
	stores, err := s.Stores(ctx)
	if err != nil {
		return nil, fmt.Errorf("read in-flight claims: %w", err)
	}
	cmds := make([]*goredis.StringSliceCmd, len(stores))
	_, _ = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, st := range stores {
			cmds[i] = p.ZRangeByScore(ctx, s.k.inflight(st), &goredis.ZRangeBy{
				Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(limit)})
		}
		return nil
	})
	var (
		out  []recovery.MessageKey
		errs []error
	)
	for i, st := range stores {
		if err := cmds[i].Err(); err != nil {
			errs = append(errs, fmt.Errorf("read the in-flight claims of %s: %w", st, err))
			continue
		}
		for _, raw := range cmds[i].Val() {
			m, err := recovery.ParseMessageKey(raw)
			if err != nil || m.Store != st {
				s.rdb.ZRem(ctx, s.k.inflight(st), raw)
				continue
			}
			switch err := s.Finish(ctx, m, "", recovery.OutcomeFailed, recovery.ReasonUnknown); {
			case err == nil:
				out = append(out, m)
			case errors.Is(err, recovery.ErrNoClaim): // finished meanwhile
			default:
				errs = append(errs, fmt.Errorf("sweep %s: %w", m, err))
			}
		}
	}
	return out, errors.Join(errs...)
}

// Skip records that a message was not sent and why, unless it already has
// a state, and counts it as skipped. The holdout group's skips are not
// counted: the report compares that group by its carts, not its messages.
func (s *Store) Skip(ctx context.Context, m recovery.MessageKey, reason string) error {
	now := s.now()
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	counter := s.policy(ctx, m.Store).counter(recovery.CountSkipped, m)
	why := recovery.Counter{Kind: recovery.CountSkipReason, Reason: recovery.SkipCode(reason)}.Field()
	if reason == recovery.ReasonHoldout {
		counter, why = "", ""
	}
	return skipScript.run(ctx, s.rdb, skipCall{cart: s.k.cart(m.Store, m.Cart), stats: s.k.stats(m.Store, day(now)),
		field: m.Slot().Field("m"), value: string(recovery.OutcomeSkipped) + "|" + ts + "|" + ts + "|" + strings.ReplaceAll(reason, "|", "/"),
		counter: counter, reason: why}).Err()
}

// Receipt records a provider's delivery receipt of message m (status
// delivered, undelivered or failed; errCode the provider's code) and
// counts it, once per message. ok is false when the message was not sent
// by this service or already has its receipt.
func (s *Store) Receipt(ctx context.Context, m recovery.MessageKey, status, errCode string) (bool, error) {
	kind := recovery.CountUndelivered
	if status == recovery.ReceiptDelivered {
		kind = recovery.CountDelivered
	}
	now := s.now()
	v := status + "|" + strconv.FormatInt(now.UnixMilli(), 10) + "|" + strings.ReplaceAll(recovery.Clip(errCode, 40), "|", "/")
	n, err := receiptScript.run(ctx, s.rdb, receiptCall{cart: s.k.cart(m.Store, m.Cart), stats: s.k.stats(m.Store, day(now)),
		field: m.Slot().Field("r"), value: v, sendField: m.Slot().Field("m"), counter: s.policy(ctx, m.Store).counter(kind, m)}).Int()
	if err != nil {
		return false, fmt.Errorf("record the receipt of %s: %w", m, err)
	}
	return n == 1, nil
}

// Hold notes that message m waits for the end of quiet hours, until.
func (s *Store) Hold(ctx context.Context, m recovery.MessageKey, until time.Time) error {
	v := strconv.FormatInt(until.UnixMilli(), 10) + "|" + strconv.FormatInt(s.now().UnixMilli(), 10)
	return holdScript.run(ctx, s.rdb, holdCall{cart: s.k.cart(m.Store, m.Cart), stats: s.k.stats(m.Store, day(s.now())),
		field: m.Slot().Field("q"), value: v,
		counter: recovery.Counter{Kind: recovery.CountSkipReason, Reason: recovery.SkipQuietHours}.Field()}).Err()
}
