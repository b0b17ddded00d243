package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Ingest: recording one normalized event (update, delete, order) in one
// script, before the webhook is answered.

// maxResolve bounds how often a delete or an order resolves its carts again
// when a ref moved between the read and the script.
const maxResolve = 5

// Ingest is Record with the policy of ev's store now.
func (s *Store) Ingest(ctx context.Context, ev recovery.Event) (recovery.Result, error) {
	return s.Record(ctx, ev, s.policies.Policy(ev.Store))
}

// Record records one normalized event atomically under policy p (the one
// its segment was chosen with: the same snapshot) and reports what it did.
// An update is one script, one round trip; a delete or an order first reads
// the cart ids its refs point to. It returns an error wrapping
// recovery.ErrInvalid for an event that cannot be keyed.
func (s *Store) Record(ctx context.Context, ev recovery.Event, p *recovery.Policy) (recovery.Result, error) {
	now := s.now()
	if err := ev.Check(now); err != nil {
		return recovery.Result{}, err
	}
	if err := s.register(ctx, ev.Store); err != nil {
		return recovery.Result{}, err
	}
	var (
		res []any
		err error
	)
	pc := s.compile(p)
	for range maxResolve {
		switch ev.Kind {
		case recovery.CartUpdated:
			res, err = s.update(ctx, ev, pc, now)
		case recovery.CartDeleted:
			res, err = s.delete(ctx, ev, now)
		case recovery.OrderCreated:
			res, err = s.order(ctx, ev, pc, now)
		}
		if err != nil || len(res) == 0 || res[0] != "retry" {
			break
		}
	}
	if err != nil {
		return recovery.Result{}, fmt.Errorf("record %s %s/%s: %w", ev.Kind, ev.Store, ev.Cart.ID, err)
	}
	st, _ := res[0].(string)
	reason, _ := res[1].(string)
	if st == "retry" {
		return recovery.Result{}, fmt.Errorf("record %s %s/%s: its refs kept moving", ev.Kind, ev.Store, ev.Cart.ID)
	}
	return recovery.Result{Status: recovery.Status(st), Reason: reason}, nil
}

func (s *Store) update(ctx context.Context, ev recovery.Event, pc *compiled, nowT time.Time) ([]any, error) {
	now := nowT.UnixMilli()
	at := ms(ev.OccurredAt)
	if at <= 0 {
		at = now
	}
	data, err := encodeRecord(ev.Platform, ev.Cart, ev.Customer)
	if err != nil {
		return nil, err
	}
	// what a new cart gets in segment: its holdout flag, its tracked
	// counter and that counter's segment copy. The segment was chosen
	// with this policy, so it is one of its sequences; one that is not
	// (a caller's mistake) runs the default sequence.
	newCartIn := func(segment string) newCart {
		q, ok := pc.seq(segment)
		if !ok {
			segment, q = "", pc.seqs[""]
		}
		holdout, tracked := "0", recovery.CountTracked
		if h := q.holdout; h > 0 && recovery.InHoldout(ev.Store, recovery.HoldoutWho(ev), h) {
			holdout, tracked = "1", recovery.CountTrackedHoldout
		}
		if !s.counters {
			return newCart{segment: segment, holdout: holdout}
		}
		return newCart{segment: segment, holdout: holdout, tracked: field(tracked), trackedCopy: segmentCopy(tracked, segment)}
	}
	email := recovery.NormalizeEmail(ev.Customer.Email)
	id := ev.Cart.ID
	c := updateCall{cart: s.k.cart(ev.Store, id), data: s.k.data(ev.Store, id), due: s.k.due(ev.Store),
		overflow: s.k.overflow(ev.Store, id), stats: s.k.stats(ev.Store, day(time.UnixMilli(at))),
		id: id, now: now, at: at, record: data, email: email, fingerprint: deliveryFingerprint(ev.Platform, ev.ID),
		cartTTL: s.retention, seenTTL: s.seenTTL, maxAge: pc.maxAge.Milliseconds(), orderGrace: recovery.OrderGrace.Milliseconds(),
		first: newCartIn(ev.Segment),
		// every sequence of the store: the script runs an existing cart
		// with its own segment's, whatever this event would choose
		sequences: pc.table}
	// Only the first ref is kept: it is the one lookups try first, and
	// every key costs memory for every pending cart.
	if len(ev.Refs) > 0 {
		c.ref = s.k.ref(ev.Store, ev.Refs[0])
	}
	if ev.ByHistory && email != "" && ev.SegmentIfReturning != ev.Segment {
		c.byHistory, c.returning = true, newCartIn(ev.SegmentIfReturning)
		c.ordered = s.k.ordered(ev.Store, email) // read by the script for a new cart
	}
	return updateScript.run(ctx, s.rdb, c).Slice()
}

// resolve reads the cart ids ev's refs point to and returns the candidate
// carts: the id first, then each ref's target, without repeats. Each ref
// comes as a pair of keys, its name and its name before refs were hashed;
// the older name is read only when the newer one is missing.
func (s *Store) resolve(ctx context.Context, ev recovery.Event, extra ...string) (refKeys, ids []string, extraVals []string, err error) {
	for _, r := range ev.Refs {
		refKeys = append(refKeys, s.k.ref(ev.Store, r), s.k.legacyRef(ev.Store, r))
	}
	all := append(append([]string{}, refKeys...), extra...)
	var vals []any
	if len(all) > 0 {
		// One store's keys share a slot: one MGET, on a cluster too.
		if vals, err = s.rdb.MGet(ctx, all...).Result(); err != nil {
			return nil, nil, nil, fmt.Errorf("resolve refs: %w", err)
		}
	}
	seen := map[string]bool{}
	add := func(x string) {
		if x != "" && !seen[x] {
			seen[x] = true
			ids = append(ids, x)
		}
	}
	add(ev.Cart.ID)
	for i := 0; i < len(refKeys); i += 2 {
		v, _ := vals[i].(string)
		if v == "" {
			v, _ = vals[i+1].(string)
		}
		add(v)
	}
	for i := range extra {
		v, _ := vals[len(refKeys)+i].(string)
		extraVals = append(extraVals, v)
	}
	return refKeys, ids, extraVals, nil
}

func (s *Store) delete(ctx context.Context, ev recovery.Event, nowT time.Time) ([]any, error) {
	refKeys, ids, _, err := s.resolve(ctx, ev)
	if err != nil {
		return nil, err
	}
	c := deleteCall{seen: s.k.seen(ev.Store, ev.Platform, ev.ID), due: s.k.due(ev.Store), refs: refKeys,
		now: nowT.UnixMilli(), at: ms(ev.OccurredAt), seenTTL: s.seenTTL, cartTTL: s.retention, cartID: ev.Cart.ID, ids: ids}
	for _, id := range ids {
		c.carts = append(c.carts, s.k.cart(ev.Store, id))
	}
	return deleteScript.run(ctx, s.rdb, c).Slice()
}

func (s *Store) order(ctx context.Context, ev recovery.Event, pc *compiled, nowT time.Time) ([]any, error) {
	now := nowT.UnixMilli()
	at := ms(ev.OccurredAt)
	if at <= 0 || at > now {
		at = now
	}
	email := recovery.NormalizeEmail(ev.Customer.Email)
	var extra []string
	if email != "" {
		extra = []string{s.k.last(ev.Store, email)}
	}
	refKeys, ids, vals, err := s.resolve(ctx, ev, extra...)
	if err != nil {
		return nil, err
	}
	c := orderCall{seen: s.k.seen(ev.Store, ev.Platform, ev.ID), due: s.k.due(ev.Store), stats: s.k.stats(ev.Store, day(time.UnixMilli(at))),
		ordered: s.k.ordered(ev.Store, email), last: s.k.last(ev.Store, email), refs: refKeys,
		orderSeen: s.k.orderSeen(ev.Store, ev.Platform, ev.Order.ID),
		now:       now, at: at, seenTTL: s.seenTTL, cartTTL: s.retention, orderID: ev.Order.ID, total: ev.Order.Total,
		currency: ev.Order.Currency, email: email, window: pc.window.Milliseconds(), cartID: ev.Cart.ID,
		verified: ev.Verified, ids: ids}
	if len(vals) > 0 && vals[0] != "" {
		c.other, c.otherCart = vals[0], s.k.cart(ev.Store, vals[0])
	}
	if m, ok := money.ToMinor(ev.Order.Total, ev.Order.Currency); ok {
		c.minor = strconv.FormatInt(m, 10)
	}
	for _, id := range ids {
		c.carts = append(c.carts, s.k.cart(ev.Store, id))
	}
	for _, code := range orderCodes(ev.Order.Codes) {
		c.codes = append(c.codes, s.k.code(ev.Store, code))
	}
	return orderScript.run(ctx, s.rdb, c).Slice()
}

// orderCodes are the distinct discount codes of an order that can be ours
// (at most 8, each at most 64 bytes): an order's other codes are left.
func orderCodes(in []string) []string {
	var out []string
	for _, c := range in {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "" || len(c) > 64 || slices.Contains(out, c) {
			continue
		}
		if out = append(out, c); len(out) == 8 {
			break
		}
	}
	return out
}
