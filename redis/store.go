// Package redis stores cartrecovery's domain (package recovery) in Redis:
// carts, the reminder schedule, send claims and outcomes, suppressions,
// links and the report counters. Key names are built in key.go, the cart
// content's encoding is in record.go, every state change is a Lua script in
// lua/ (script.go). It runs on a single server, on Sentinel and on Cluster
// (conn.go).
package redis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Cart hash fields (<prefix>{<store>}:cart:<id>). The cart's content is a
// separate string key ("d:<id>", record.go): it is too long for Redis's
// compact hash encoding (64 bytes a value), and keeping it out keeps the
// hash a listpack, about 4x smaller.
//
//	st    state: active | ordered | deleted
//	at    platform time of the newest applied event (ms), for staleness
//	act   last activity (ms) = min(at, receive time); delays count from it;
//	      left out when equal to at
//	step  index of the next step to run
//	gen   bumped on every activity and step change; tasks carry it
//	rx    receive time of the newest applied update (ms), capped at its
//	      platform time + the order grace: compared at the claim with the
//	      receive time of an order by the same email (this service's clock)
//	old   "1" when the newest update's activity was older than
//	      rules.max_cart_age when it arrived: tracked, never messaged
//	pv    when the previous step finished (ms): spacing of the next one
//	w     fingerprints of the first eight deliveries applied (6 bytes each)
//	em    normalized email (checked against "ordered:<email>")
//	c0    first seen (ms); ho "1" in the holdout group (else absent); ab
//	      abandoned at (ms)
//	sg    the cart's segment, chosen at its first event (absent: the default
//	      sequence); "step" indexes its steps
//	rem   first message accepted (ms); ls last message sent: suffix|ms
//	clk   clicks; lc the last clicked message: suffix|ms
//	oid/oat/orx/otot/ocur/oby/att the order and its attribution; arule the
//	      rule that credited it: click (the last clicked message within the
//	      window) or send (the last message sent)
//	rs:<step>  when the step's first message was sent (counted reached once)
//	m:<step>:<channel>  send state "claimed|ms", then "sent|ms|claimed|detail",
//	                    "failed|ms|claimed|detail" or "skipped|ms|ms|reason"
//	k:<step>:<channel>  first click on that message's link (ms)
//	r:<step>:<channel>  the provider's delivery receipt: "status|ms|error"
//	q:<step>:<channel>  held by quiet hours: "until ms|ms" (the last hold)
//	dc:<step>           the step's unique discount code: "CODE|expires ms|0",
//	                    "|1" once registered with the platform (issue.lua)

// Options configure a Store.
type Options struct {
	Prefix string          // key prefix, e.g. "cartrecovery:"
	Delays []time.Duration // the sequence's delays, strictly increasing
	// Steps names the sequence's steps (counters are keyed by name).
	Steps []string
	// Playbooks are the sequences and segments by store id; "" is every
	// store not listed. When nil, Delays and Steps are the one sequence
	// of every store.
	Playbooks map[string]recovery.Playbook
	Now       func() time.Time
	// SeenTTL is how long delivery ids are remembered (default 72h; Shopify
	// retries for 4h, platforms may redeliver manually within days).
	SeenTTL time.Duration
	// Retention is how long a cart and its outcomes are kept after its last
	// change (default 90 days). Counters are kept.
	Retention time.Duration
	// Window is rules.attribution_window (default 168h).
	Window time.Duration
	// HoldoutPercent (0-50) of customers get no messages.
	HoldoutPercent int
	// Cooldown is rules.cooldown: after a message about one cart, the
	// customer's other carts send nothing for this long (0 = off).
	Cooldown time.Duration
	// NoCounters disables the tracked counter on ingest (the benchmark's
	// baseline only).
	NoCounters bool
	// MaxCartAge is rules.max_cart_age (default 168h): a cart whose update
	// arrives with its activity already older than this is tracked but
	// never messaged.
	MaxCartAge time.Duration
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
	// tune holds what a configuration reload may change (Retune): every
	// call reads the version current when it starts.
	tune atomic.Pointer[tuning]

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
	for _, x := range o.Delays {
		longest = max(longest, x)
	}
	for _, pb := range o.Playbooks {
		for _, st := range pb.Steps {
			longest = max(longest, st.Delay)
		}
		for _, sg := range pb.Segments {
			for _, st := range sg.Steps {
				longest = max(longest, st.Delay)
			}
		}
	}
	s := &Store{
		rdb: rdb, k: keyspace{o.Prefix}, now: o.Now, counters: !o.NoCounters, sendLease: 2 * o.SendTimeout,
		seenTTL:   int64(o.SeenTTL / time.Second),
		retention: int64(max(o.Retention, longest+24*time.Hour) / time.Second),
	}
	s.Retune(o)
	return s
}

// tuning is the part of the options a reload may change.
type tuning struct {
	// seqs: store id ("" every other store) → segment ("" the default
	// sequence) → its timing
	seqs map[string]map[string]*sequence
	// tables: store id → every sequence of its playbook as update.lua's
	// arguments (k, then name, n, delays of each)
	tables   map[string][]any
	window   time.Duration
	cooldown time.Duration
	maxAge   time.Duration
}

// sequence is what the scripts need of a store's sequence or segment.
type sequence struct {
	delays  []any    // ms, as script arguments
	steps   []string // qualified names (recovery.QualifiedStep): counters are keyed by them
	holdout int      // percent of customers held out
}

// table is update.lua's arguments for every sequence of store.
func (t *tuning) table(store string) []any {
	if a, ok := t.tables[store]; ok {
		return a
	}
	return t.tables[""]
}

// seq returns the sequence of segment in store: the store's own playbook
// when it has one, else every store's; a segment a reload removed has no
// steps (its carts' sequences end, as a removed step's do).
func (t *tuning) seq(store, segment string) *sequence {
	q, _ := t.seqExact(store, segment)
	return q
}

// seqExact is seq, and whether segment is still configured (false: the
// default sequence stands in for a segment a reload removed).
func (t *tuning) seqExact(store, segment string) (*sequence, bool) {
	pb := t.seqs[store]
	if pb == nil {
		pb = t.seqs[""]
	}
	if q := pb[segment]; q != nil {
		return q, true
	}
	if segment != "" {
		return &sequence{}, false // removed by a reload: its carts' sequences end
	}
	return pb[""], false
}

func newSequence(segment string, steps []recovery.Step, holdout int) *sequence {
	q := &sequence{delays: make([]any, len(steps)), steps: make([]string, len(steps)), holdout: holdout}
	for i, st := range steps {
		q.delays[i] = st.Delay.Milliseconds()
		name := st.Name
		if name == "" {
			name = strconv.Itoa(i)
		}
		q.steps[i] = recovery.QualifiedStep(segment, name)
	}
	return q
}

func (s *Store) tn() *tuning { return s.tune.Load() }

// Retune applies a reloaded configuration's sequence and rules (Delays,
// Steps, Window, Cooldown, HoldoutPercent, MaxCartAge of o; the rest of o
// needs a restart). Calls under way finish with the version they started
// with. Carts already scheduled keep their due time: the worker compares
// it with the new delays when it comes (a longer delay puts the cart back,
// a shorter one sends then); a step beyond the new sequence ends it.
func (s *Store) Retune(o Options) {
	o = withDefaults(o)
	pbs := o.Playbooks
	if pbs == nil {
		steps := make([]recovery.Step, len(o.Delays))
		for i, d := range o.Delays {
			steps[i].Delay = d
			if i < len(o.Steps) {
				steps[i].Name = o.Steps[i]
			}
		}
		pbs = map[string]recovery.Playbook{"": {Steps: steps}}
	}
	t := &tuning{seqs: map[string]map[string]*sequence{}, window: o.Window, cooldown: o.Cooldown, maxAge: o.MaxCartAge}
	for store, pb := range pbs {
		m := map[string]*sequence{"": newSequence("", pb.Steps, o.HoldoutPercent)}
		for _, sg := range pb.Segments {
			h := sg.Holdout
			if h < 0 {
				h = o.HoldoutPercent
			}
			m[sg.Name] = newSequence(sg.Name, sg.Steps, h)
		}
		t.seqs[store] = m
	}
	if t.seqs[""] == nil {
		t.seqs[""] = map[string]*sequence{"": newSequence("", nil, o.HoldoutPercent)}
	}
	t.tables = map[string][]any{}
	for store, m := range t.seqs {
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		slices.Sort(names) // "" (the default) first
		a := []any{len(names)}
		for _, name := range names {
			a = append(a, name, len(m[name].delays))
			a = append(a, m[name].delays...)
		}
		t.tables[store] = a
	}
	s.tune.Store(t)
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
	if o.Window <= 0 {
		o.Window = 168 * time.Hour
	}
	if o.MaxCartAge <= 0 {
		o.MaxCartAge = 168 * time.Hour
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	return o
}

// Steps returns the number of steps in the default sequence of every
// store.
func (s *Store) Steps() int { return len(s.tn().seq("", "").delays) }

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

// stepName names step index i of segment in store in the counters (the
// qualified name: "segment/step" in a segment).
//
// A segment a reload removed names its steps by index ("high/0"): its
// messages stay counted in their segment, never credited to a step of
// the default sequence they were not sent by.
func (s *Store) stepName(store, segment string, i int) string {
	q, ok := s.tn().seqExact(store, segment)
	if ok && i >= 0 && i < len(q.steps) {
		return q.steps[i]
	}
	return recovery.QualifiedStep(segment, strconv.Itoa(i))
}

// suffix is a message's counter suffix.
func (s *Store) suffix(m recovery.MessageKey) string {
	return recovery.MessageSuffix(s.stepName(m.Store, m.Segment, m.Step), m.Channel, m.Variant)
}

func (s *Store) counter(kind recovery.CounterKind, m recovery.MessageKey) string {
	return recovery.Counter{Kind: kind, Step: s.stepName(m.Store, m.Segment, m.Step), Channel: m.Channel, Variant: m.Variant}.Field()
}

// segmentCopy is a cart-level counter's copy for segment ("" for none).
func segmentCopy(kind recovery.CounterKind, segment string) string {
	if segment == "" {
		return ""
	}
	return recovery.Counter{Kind: kind, Segment: segment}.Field()
}

func field(kind recovery.CounterKind) string { return recovery.Counter{Kind: kind}.Field() }

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

// maxResolve bounds how often a delete or an order resolves its carts again
// when a ref moved between the read and the script.
const maxResolve = 5

// Ingest records one normalized event atomically and reports what it did.
// An update is one script, one round trip; a delete or an order first reads
// the cart ids its refs point to. It returns an error wrapping
// recovery.ErrInvalid for an event that cannot be keyed.
func (s *Store) Ingest(ctx context.Context, ev recovery.Event) (recovery.Result, error) {
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
	for range maxResolve {
		switch ev.Kind {
		case recovery.CartUpdated:
			res, err = s.update(ctx, ev, now)
		case recovery.CartDeleted:
			res, err = s.delete(ctx, ev, now)
		case recovery.OrderCreated:
			res, err = s.order(ctx, ev, now)
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

func (s *Store) update(ctx context.Context, ev recovery.Event, nowT time.Time) ([]any, error) {
	now := nowT.UnixMilli()
	at := ms(ev.OccurredAt)
	if at <= 0 {
		at = now
	}
	data, err := encodeRecord(ev.Platform, ev.Cart, ev.Customer)
	if err != nil {
		return nil, err
	}
	tn := s.tn()
	// what a new cart gets in segment: its holdout flag, its tracked
	// counter and that counter's segment copy
	newCart := func(segment string) []any {
		holdout, tracked := "0", recovery.CountTracked
		if h := tn.seq(ev.Store, segment).holdout; h > 0 && recovery.InHoldout(ev.Store, recovery.HoldoutWho(ev), h) {
			holdout, tracked = "1", recovery.CountTrackedHoldout
		}
		if !s.counters {
			return []any{segment, holdout, "", ""}
		}
		return []any{segment, holdout, field(tracked), segmentCopy(tracked, segment)}
	}
	email := recovery.NormalizeEmail(ev.Customer.Email)
	first := newCart(ev.Segment)
	alt := noAlternative
	id := ev.Cart.ID
	keys := make([]string, 5, 7)
	keys[0], keys[1], keys[2], keys[3], keys[4] = s.k.cart(ev.Store, id), s.k.data(ev.Store, id), s.k.due(ev.Store),
		s.k.overflow(ev.Store, id), s.k.stats(ev.Store, day(time.UnixMilli(at)))
	// Only the first ref is kept: it is the one lookups try first, and
	// every key costs memory for every pending cart.
	if len(ev.Refs) > 0 {
		keys = append(keys, s.k.ref(ev.Store, ev.Refs[0]))
	}
	if ev.ByHistory && email != "" && ev.SegmentIfReturning != ev.Segment {
		alt = append([]any{"1"}, newCart(ev.SegmentIfReturning)...)
		keys = append(keys, s.k.ordered(ev.Store, email)) // read by the script for a new cart
	}
	// every sequence of the store: the script runs an existing cart with
	// its own segment's, whatever this event would choose
	all := tn.table(ev.Store)
	args := make([]any, 0, 16+len(all))
	args = append(args, id, now, at, data, email, deliveryFingerprint(ev.Platform, ev.ID), s.retention, s.seenTTL,
		tn.maxAge.Milliseconds(), recovery.OrderGrace.Milliseconds())
	args = append(args, first...)
	args = append(args, alt...)
	args = append(args, all...)
	return updateScript.Run(ctx, s.rdb, keys, args...).Slice()
}

// noAlternative is update.lua's ARGV[15..19] when the event's segment does
// not depend on the customer's history.
var noAlternative = []any{"", "", "", "", ""}

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
	keys := append([]string{s.k.seen(ev.Store, ev.Platform, ev.ID), s.k.due(ev.Store)}, refKeys...)
	args := []any{nowT.UnixMilli(), ms(ev.OccurredAt), s.seenTTL, s.retention, len(refKeys) / 2, ev.Cart.ID}
	for _, id := range ids {
		keys = append(keys, s.k.cart(ev.Store, id))
		args = append(args, id)
	}
	return deleteScript.Run(ctx, s.rdb, keys, args...).Slice()
}

func (s *Store) order(ctx context.Context, ev recovery.Event, nowT time.Time) ([]any, error) {
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
	other := ""
	if len(vals) > 0 {
		other = vals[0]
	}
	minor := ""
	if m, ok := money.ToMinor(ev.Order.Total, ev.Order.Currency); ok {
		minor = strconv.FormatInt(m, 10)
	}
	keys := []string{s.k.seen(ev.Store, ev.Platform, ev.ID), s.k.due(ev.Store), s.k.stats(ev.Store, day(time.UnixMilli(at))),
		s.k.ordered(ev.Store, email), s.k.last(ev.Store, email)}
	keys = append(keys, refKeys...)
	codes := orderCodes(ev.Order.Codes)
	verified := ""
	if ev.Verified {
		verified = "1"
	}
	args := []any{now, at, s.seenTTL, s.retention, ev.Order.ID, ev.Order.Total, ev.Order.Currency, email, minor,
		s.tn().window.Milliseconds(), len(refKeys) / 2, ev.Cart.ID, len(codes), other, verified}
	for _, id := range ids {
		keys = append(keys, s.k.cart(ev.Store, id))
		args = append(args, id)
	}
	if other != "" {
		keys = append(keys, s.k.cart(ev.Store, other))
	}
	for _, c := range codes {
		keys = append(keys, s.k.code(ev.Store, c))
	}
	keys = append(keys, s.k.orderSeen(ev.Store, ev.Platform, ev.Order.ID))
	return orderScript.Run(ctx, s.rdb, keys, args...).Slice()
}

// Load reads one cart; ok is false when it does not exist (or expired).
func (s *Store) Load(ctx context.Context, store, id string) (recovery.CartState, bool, error) {
	var hc *goredis.MapStringStringCmd
	var dc *goredis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		hc = p.HGetAll(ctx, s.k.cart(store, id))
		dc = p.Get(ctx, s.k.data(store, id))
		return nil
	})
	if err != nil && err != goredis.Nil {
		return recovery.CartState{}, false, fmt.Errorf("load cart %s/%s: %w", store, id, err)
	}
	h := hc.Val()
	if len(h) == 0 {
		return recovery.CartState{}, false, nil
	}
	c := recovery.CartState{Store: store, ID: id, State: h["st"], OrderID: h["oid"],
		Sends: map[recovery.Slot]recovery.Send{}, Clicks: map[recovery.Slot]time.Time{}, Holdout: h["ho"] == "1",
		Abandoned: msTime(h["ab"]), Reminded: msTime(h["rem"]), Attribution: h["att"],
		AttributionRule: h["arule"],
		OrderAt:         msTime(h["oat"]), OrderReceived: msTime(h["orx"]), Deleted: msTime(h["del"]), OrderTotal: h["otot"], OrderCurrency: h["ocur"], OrderMatch: h["oby"]}
	if ls := h["ls"]; ls != "" {
		i := strings.LastIndexByte(ls, '|')
		c.LastTouch, c.LastTouchAt = ls[:max(i, 0)], msTime(ls[i+1:])
	}
	c.Step, _ = strconv.Atoi(h["step"])
	c.Segment = h["sg"]
	c.Gen, _ = strconv.Atoi(h["gen"])
	c.At = msTime(h["at"])
	c.Activity = msTime(h["act"])
	if c.Activity.IsZero() {
		c.Activity = c.At // "act" is kept only when it differs from "at"
	}
	c.Created = msTime(h["c0"])
	c.TooOld = h["old"] == "1"
	for f, v := range h {
		if i, ok := strings.CutPrefix(f, "dc:"); ok {
			if step, err := strconv.Atoi(i); err == nil {
				if c.Codes == nil {
					c.Codes = map[int]recovery.Code{}
				}
				c.Codes[step] = parseCode(v)
			}
			continue
		}
		switch kind, slot, ok := recovery.ParseSlotField(f); {
		case !ok:
		case kind == "m":
			c.Sends[slot] = parseSend(v)
		case kind == "k":
			c.Clicks[slot] = msTime(v)
		case kind == "r":
			if c.Receipts == nil {
				c.Receipts = map[recovery.Slot]recovery.Receipt{}
			}
			p := strings.SplitN(v, "|", 3)
			r := recovery.Receipt{Status: p[0]}
			if len(p) == 3 {
				r.At, r.Error = msTime(p[1]), p[2]
			}
			c.Receipts[slot] = r
		case kind == "q":
			if c.Holds == nil {
				c.Holds = map[recovery.Slot]recovery.Hold{}
			}
			until, at, _ := strings.Cut(v, "|")
			c.Holds[slot] = recovery.Hold{Until: msTime(until), At: msTime(at)}
		}
	}
	c.Cart, c.Customer, c.Platform, err = decodeRecord(id, dc.Val())
	if c.Customer.Email == "" {
		c.Customer.Email = h["em"]
	}
	return c, true, err
}

// sendValue is the stored form of an outcome: "outcome|ms|detail" (the
// finish script inserts when the claim was taken).
func sendValue(outcome string, at time.Time, detail string) string {
	detail = strings.ReplaceAll(detail, "|", "/")
	if len(detail) > 300 {
		detail = detail[:300]
	}
	return outcome + "|" + strconv.FormatInt(at.UnixMilli(), 10) + "|" + detail
}

// parseSend reads a send field: "claimed|ms" or "outcome|ms|claimed ms|detail".
func parseSend(raw string) recovery.Send {
	p := strings.SplitN(raw, "|", 4)
	out := recovery.Send{Outcome: p[0]}
	if len(p) > 1 {
		out.At = msTime(p[1])
	}
	out.Started = out.At
	if len(p) > 2 {
		out.Started = msTime(p[2])
	}
	if len(p) > 3 {
		out.Detail = p[3]
	}
	return out
}

// SetContent replaces the content of a cart fetched from its platform at
// send time (its items, total, shopper and recovery link) and its email
// index, provided the cart is still active on generation gen. It reports
// whether it did; false means an event changed the cart meanwhile.
func (s *Store) SetContent(ctx context.Context, c recovery.CartState, gen int) (bool, error) {
	data, err := encodeRecord(c.Platform, c.Cart, c.Customer)
	if err != nil {
		return false, err
	}
	n, err := contentScript.Run(ctx, s.rdb, []string{s.k.cart(c.Store, c.ID), s.k.data(c.Store, c.ID)},
		gen, recovery.NormalizeEmail(c.Customer.Email), data).Int()
	if err != nil {
		return false, fmt.Errorf("set the content of cart %s/%s: %w", c.Store, c.ID, err)
	}
	return n == 1, nil
}

// Stores lists every store that has sent an event.
func (s *Store) Stores(ctx context.Context) ([]string, error) {
	st, err := s.rdb.SMembers(ctx, s.k.stores()).Result()
	sort.Strings(st)
	return st, err
}

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
		keys := []string{s.k.due(st)}
		args := []any{now.UnixMilli(), leaseUntil.UnixMilli()}
		for _, id := range ids {
			keys = append(keys, s.k.cart(st, id))
			args = append(args, id)
		}
		res, err := leaseScript.Run(ctx, s.rdb, keys, args...).StringSlice()
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
		args := append([]any{strconv.FormatInt(leaseUntil.UnixMilli(), 10)}, ids...)
		if err := releaseScript.Run(ctx, s.rdb, []string{s.k.due(st)}, args...).Err(); err != nil {
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

// Claim atomically checks, right before the provider call, that the cart is
// still active on (step, gen), that its customer (email, as the caller read
// it with the cart) has not ordered since, and that nobody claimed the
// message yet; then claims it. It returns recovery.ClaimOK or why not.
func (s *Store) Claim(ctx context.Context, m recovery.MessageKey, gen int, email, contactHash string) (string, error) {
	now := s.now()
	r, err := claimScript.Run(ctx, s.rdb, []string{s.k.cart(m.Store, m.Cart), s.k.due(m.Store), s.k.inflight(m.Store),
		s.k.ordered(m.Store, email), s.k.cool(m.Store, email), s.k.unsub(m.Store, m.Channel, contactHash)},
		m.Slot().Field("m"), m.Step, gen, now.UnixMilli(), m.Cart, s.tn().cooldown.Milliseconds(),
		recovery.OrderGrace.Milliseconds(), now.Add(s.sendLease).UnixMilli(), m.String(), email).Text()
	if err != nil {
		return "", fmt.Errorf("claim %s: %w", m, err)
	}
	return r, nil
}

// Finish records the outcome of a claimed send and counts it. A failure
// whose detail starts with "unknown" is also counted as unknown. email is
// the cart's, as read with it (the cross-device index of a sent message).
// It returns recovery.ErrNoClaim when the claim is gone (swept meanwhile).
func (s *Store) Finish(ctx context.Context, m recovery.MessageKey, email, outcome, detail string) error {
	now := s.now()
	n, err := finishScript.Run(ctx, s.rdb, []string{s.k.cart(m.Store, m.Cart), s.k.inflight(m.Store),
		s.k.stats(m.Store, day(now)), s.k.last(m.Store, email)},
		m.Slot().Field("m"), sendValue(outcome, now, detail), s.counter(recovery.CounterKind(outcome), m),
		s.counter(recovery.CountUnknown, m), s.suffix(m), now.UnixMilli(), int64(s.tn().window/time.Second), m.Cart,
		m.String(), email, field(recovery.CountReminded), "rs:"+strconv.Itoa(m.Step),
		recovery.Counter{Kind: recovery.CountReached, Step: s.stepName(m.Store, m.Segment, m.Step), Variant: m.Variant}.Field(),
		segmentCopy(recovery.CountReminded, m.Segment)).Int()
	if err == nil && n == 0 {
		err = recovery.ErrNoClaim
	}
	return err
}

// Unclaim releases a claim after a failure that proved the provider did not
// accept the message, so a retry may claim it again.
func (s *Store) Unclaim(ctx context.Context, m recovery.MessageKey) error {
	return finishScript.Run(ctx, s.rdb, []string{s.k.cart(m.Store, m.Cart), s.k.inflight(m.Store),
		s.k.stats(m.Store, day(s.now())), s.k.last(m.Store, "")},
		m.Slot().Field("m"), "", "", "", "", 0, 0, m.Cart, m.String(), "", "", "", "", "").Err()
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
	counter := s.counter(recovery.CountSkipped, m)
	why := recovery.Counter{Kind: recovery.CountSkipReason, Reason: recovery.SkipCode(reason)}.Field()
	if reason == recovery.ReasonHoldout {
		counter, why = "", ""
	}
	return skipScript.Run(ctx, s.rdb, []string{s.k.cart(m.Store, m.Cart), s.k.stats(m.Store, day(now))},
		m.Slot().Field("m"), recovery.OutcomeSkipped+"|"+ts+"|"+ts+"|"+strings.ReplaceAll(reason, "|", "/"), counter, why).Err()
}

// Advance moves an active cart of segment past step and schedules its next
// step from the last activity. It is a no-op if the cart moved on or ended.
func (s *Store) Advance(ctx context.Context, store, id, segment string, step int) error {
	now := s.now()
	q := s.tn().seq(store, segment)
	args := []any{id, step, now.UnixMilli(), field(recovery.CountAbandoned), field(recovery.CountAbandonedHoldout),
		recovery.SegmentSuffix(segment), len(q.delays)}
	args = append(args, q.delays...)
	return advanceScript.Run(ctx, s.rdb, []string{s.k.cart(store, id), s.k.due(store), s.k.stats(store, day(now))}, args...).Err()
}

// deliveryFingerprint is the 48-bit fingerprint of a delivery kept with the
// cart (6 raw bytes each: a UUID would cost 36 in every pending cart).
func deliveryFingerprint(platform, id string) string {
	h := sha256.Sum256([]byte(platform + "\x00" + id))
	return string(h[:6])
}

// Suppress records that contactHash must receive nothing more on channel.
func (s *Store) Suppress(ctx context.Context, store, channel, contactHash, reason string) error {
	return s.rdb.Set(ctx, s.k.unsub(store, channel, contactHash), sendValue("unsub", s.now(), reason), 0).Err()
}

// SuppressEverywhere suppresses a contact on channel in every store, those
// to come included (an SMS STOP: the number asked the sender to stop).
// The deployment-wide key is written first: a store added meanwhile is
// covered by it (the guards read it), every known store gets its own key
// (the claim reads that one).
func (s *Store) SuppressEverywhere(ctx context.Context, channel, contactHash, reason string) error {
	v := sendValue("unsub", s.now(), reason)
	if err := s.rdb.Set(ctx, s.k.unsubAll(channel, contactHash), v, 0).Err(); err != nil {
		return err
	}
	return s.everyStore(ctx, func(p goredis.Pipeliner, store string) {
		p.Set(ctx, s.k.unsub(store, channel, contactHash), v, 0)
	})
}

// Unsuppress lifts a contact's suppression on channel in every store (an
// SMS START or UNSTOP).
func (s *Store) Unsuppress(ctx context.Context, channel, contactHash string) error {
	if err := s.everyStore(ctx, func(p goredis.Pipeliner, store string) {
		p.Del(ctx, s.k.unsub(store, channel, contactHash))
	}); err != nil {
		return err
	}
	return s.rdb.Del(ctx, s.k.unsubAll(channel, contactHash)).Err()
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

// Suppressed reports whether contactHash unsubscribed from channel.
func (s *Store) Suppressed(ctx context.Context, store, channel, contactHash string) (bool, error) {
	// two keys in two hash slots: two calls, pipelined
	var own, all *goredis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		own = p.Exists(ctx, s.k.unsub(store, channel, contactHash))
		all = p.Exists(ctx, s.k.unsubAll(channel, contactHash))
		return nil
	})
	return own.Val()+all.Val() > 0, err
}

// Clicked is what a click on a message's link needs for its redirect.
type Clicked struct {
	Cart     recovery.Cart
	Platform string
	// Code is the step's unique discount code, when registered.
	Code string
}

// Click records a click on message m's link and returns the cart for the
// redirect; ok is false when the cart no longer exists.
func (s *Store) Click(ctx context.Context, m recovery.MessageKey) (Clicked, bool, error) {
	now := s.now()
	v, err := clickScript.Run(ctx, s.rdb, []string{s.k.cart(m.Store, m.Cart), s.k.data(m.Store, m.Cart), s.k.stats(m.Store, day(now))},
		m.Slot().Field("k"), now.UnixMilli(), s.counter(recovery.CountClicked, m), field(recovery.CountClickedCarts), codeField(m.Step),
		s.suffix(m), segmentCopy(recovery.CountClickedCarts, m.Segment)).StringSlice()
	if err != nil || len(v) != 2 {
		return Clicked{}, false, fmt.Errorf("record click %s: %w", m, err)
	}
	if v[0] == "" {
		return Clicked{}, false, nil
	}
	var out Clicked
	out.Cart, _, out.Platform, err = decodeRecord(m.Cart, v[0])
	if code := parseCode(v[1]); code.Registered {
		out.Code = code.Code
	}
	return out, err == nil, err
}

// Counters returns the report counters of each store for each day (UTC
// dates "2006-01-02"), read in one pipelined round trip: the cost depends on
// stores x days, never on the number of carts. Fields that are not
// counters (a release's retired ones) are left out.
func (s *Store) Counters(ctx context.Context, stores, days []string) (map[string]map[string]map[recovery.Counter]int64, error) {
	cmds := make(map[[2]string]*goredis.MapStringStringCmd, len(stores)*len(days))
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, st := range stores {
			for _, d := range days {
				cmds[[2]string{st, d}] = p.HGetAll(ctx, s.k.stats(st, d))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	out := map[string]map[string]map[recovery.Counter]int64{}
	for k, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue
		}
		if out[k[0]] == nil {
			out[k[0]] = map[string]map[recovery.Counter]int64{}
		}
		m := make(map[recovery.Counter]int64, len(cmd.Val()))
		for f, v := range cmd.Val() {
			c, err := recovery.ParseCounter(f)
			if err != nil {
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			m[c] += n
		}
		out[k[0]][k[1]] = m
	}
	return out, nil
}

// NewLink records a click-through link to message m under a new random id
// and returns the id, valid for recovery.LinkTTL.
func (s *Store) NewLink(ctx context.Context, m recovery.MessageKey) ([8]byte, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return id, err
	}
	return id, s.SaveLink(ctx, id, m, "")
}

// SaveLink records the click-through link id to message m, valid for
// recovery.LinkTTL, with the static discount code the message offers ("":
// none, or a unique code, which the cart keeps): a click applies the code
// the customer was sent, whatever a reload made of the step since. The
// worker saves it right before the claim, and deletes it (DeleteLink) when
// the claim is refused.
func (s *Store) SaveLink(ctx context.Context, id [8]byte, m recovery.MessageKey, code string) error {
	v := m.String()
	if code != "" {
		v = linkCodePrefix + code + "\n" + v
	}
	return s.rdb.Set(ctx, s.k.link(id), v, recovery.LinkTTL).Err()
}

// linkCodePrefix starts the record of a link whose message offered a
// static code: "code:CODE\n" then the message key (which starts with a
// step index or a segment name, and holds no ":" before its first "|").
// Other links are the message key alone.
const linkCodePrefix = "code:"

// DeleteLink removes link id.
func (s *Store) DeleteLink(ctx context.Context, id [8]byte) error {
	return s.rdb.Del(ctx, s.k.link(id)).Err()
}

// Link is a click-through link's record.
type Link struct {
	Message recovery.MessageKey
	// Code is the static discount code the message offered ("": none, a
	// unique code, which the cart keeps, or a link saved before links kept
	// their code).
	Code string
}

// ResolveLink returns link id's record; ok is false when it expired.
func (s *Store) ResolveLink(ctx context.Context, id [8]byte) (l Link, ok bool, err error) {
	l.Message, ok, err = s.resolveLink(ctx, id, &l)
	return l, ok, err
}

func (s *Store) resolveLink(ctx context.Context, id [8]byte, l *Link) (recovery.MessageKey, bool, error) {
	v, err := s.rdb.Get(ctx, s.k.link(id)).Result()
	if err == goredis.Nil {
		return recovery.MessageKey{}, false, nil
	}
	if err != nil {
		return recovery.MessageKey{}, false, err
	}
	if rest, ok := strings.CutPrefix(v, linkCodePrefix); ok {
		c, key, found := strings.Cut(rest, "\n")
		if !found {
			return recovery.MessageKey{}, false, nil
		}
		l.Code, v = c, key
	}
	if m, err := recovery.ParseMessageKey(v); err == nil {
		return m, true, nil
	}
	// Links written before message keys: store/step/channel/variant/cart
	// (the cart id last: it may hold "/"). They live for 30 days.
	p := strings.SplitN(v, "/", 5)
	if len(p) != 5 {
		return recovery.MessageKey{}, false, nil
	}
	step, err := strconv.Atoi(p[1])
	if err != nil {
		return recovery.MessageKey{}, false, nil
	}
	return recovery.MessageKey{Store: p[0], Step: step, Channel: p[2], Variant: p[3], Cart: p[4]}, true, nil
}

// codeField is the cart hash field of a step's unique code.
func codeField(step int) string { return "dc:" + strconv.Itoa(step) }

// codeValue is the stored form of a unique code: "CODE|expires ms|0 or 1".
func codeValue(c recovery.Code) string {
	reg := "0"
	if c.Registered {
		reg = "1"
	}
	return c.Code + "|" + strconv.FormatInt(c.ExpiresAt.UnixMilli(), 10) + "|" + reg
}

func parseCode(v string) recovery.Code {
	p := strings.Split(v, "|")
	if len(p) != 3 {
		return recovery.Code{}
	}
	return recovery.Code{Code: p[0], ExpiresAt: msTime(p[1]), Registered: p[2] == "1"}
}

// CodeFor returns the unique discount code of cart c's step: the one kept
// while it is still valid at now (recovery.Code.Valid), else a new one
// made with prefix, living life, kept unless another run of the step kept
// one first (then that one). stop is true when the cart ended or moved on.
func (s *Store) CodeFor(ctx context.Context, c recovery.CartState, step int, variant, prefix string, life time.Duration) (code recovery.Code, stop bool, err error) {
	cur := c.Codes[step]
	for range 5 {
		now := s.now()
		if cur.Valid(now, life) {
			return cur, false, nil
		}
		prev := ""
		if cur.Code != "" {
			prev = codeValue(cur)
		}
		next := recovery.Code{Code: recovery.NewCode(prefix), ExpiresAt: msTime(strconv.FormatInt(now.Add(life).UnixMilli(), 10))}
		res, err := issueScript.Run(ctx, s.rdb, []string{s.k.cart(c.Store, c.ID), s.k.code(c.Store, next.Code)},
			codeField(step), prev, codeValue(next), recovery.StepSuffix(s.stepName(c.Store, c.Segment, step), variant), c.ID,
			int64((life+time.Duration(s.retention)*time.Second)/time.Second), c.Gen).StringSlice()
		if err != nil || len(res) != 2 {
			return recovery.Code{}, false, fmt.Errorf("keep the discount code of cart %s/%s: %w", c.Store, c.ID, err)
		}
		switch res[0] {
		case "ok":
			return next, false, nil
		case "stop":
			return recovery.Code{}, true, nil
		case "taken":
			cur = parseCode(res[1])
		}
		// "collision": the made code is another cart's; make another
	}
	return recovery.Code{}, false, fmt.Errorf("keep the discount code of cart %s/%s: no code kept after 5 tries", c.Store, c.ID)
}

// CodeRegistered marks code, the unique code of cart c's step, registered
// with the platform, and counts it issued (once). ok is false when the
// step's code is no longer this one.
func (s *Store) CodeRegistered(ctx context.Context, c recovery.CartState, step int, variant string, code recovery.Code) (bool, error) {
	made, reg := code, code
	made.Registered, reg.Registered = false, true
	n, err := registeredScript.Run(ctx, s.rdb, []string{s.k.cart(c.Store, c.ID), s.k.stats(c.Store, day(s.now()))},
		codeField(step), codeValue(made), codeValue(reg),
		recovery.Counter{Kind: recovery.CountCodesIssued, Step: s.stepName(c.Store, c.Segment, step), Variant: variant}.Field()).Int()
	if err != nil {
		return false, fmt.Errorf("mark the discount code of cart %s/%s registered: %w", c.Store, c.ID, err)
	}
	return n == 1, nil
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
	n, err := receiptScript.Run(ctx, s.rdb, []string{s.k.cart(m.Store, m.Cart), s.k.stats(m.Store, day(now))},
		m.Slot().Field("r"), v, m.Slot().Field("m"), s.counter(kind, m)).Int()
	if err != nil {
		return false, fmt.Errorf("record the receipt of %s: %w", m, err)
	}
	return n == 1, nil
}

// Hold notes that message m waits for the end of quiet hours, until.
func (s *Store) Hold(ctx context.Context, m recovery.MessageKey, until time.Time) error {
	v := strconv.FormatInt(until.UnixMilli(), 10) + "|" + strconv.FormatInt(s.now().UnixMilli(), 10)
	return holdScript.Run(ctx, s.rdb, []string{s.k.cart(m.Store, m.Cart), s.k.stats(m.Store, day(s.now()))}, m.Slot().Field("q"), v,
		recovery.Counter{Kind: recovery.CountSkipReason, Reason: recovery.SkipQuietHours}.Field()).Err()
}

// LastReminded returns the cart a customer (by email) was last reminded
// about in store, while it is within the attribution window: the only
// index by email (it serves cross-device orders), used by the dashboard's
// search.
func (s *Store) LastReminded(ctx context.Context, store, email string) (cartID string, ok bool, err error) {
	email = recovery.NormalizeEmail(email)
	if email == "" {
		return "", false, nil
	}
	id, err := s.rdb.Get(ctx, s.k.last(store, email)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up the last cart of a customer: %w", err)
	}
	return id, true, nil
}
