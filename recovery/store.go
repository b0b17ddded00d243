package recovery

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/money"
)

// Cart states.
const (
	StateActive  = "active"
	StateOrdered = "ordered"
	StateDeleted = "deleted"
)

// Status is what ingestion did with an event.
type Status string

// Ingestion results. Only StatusDuplicate means "seen before"; ignored and
// stale events were recorded as seen too.
const (
	StatusAccepted  Status = "accepted"
	StatusDuplicate Status = "duplicate"
	StatusIgnored   Status = "ignored"
	StatusStale     Status = "stale"
)

// Result is the outcome of Ingest.
type Result struct {
	Status Status
	Reason string // why ignored/stale, for logs
}

// Options configure a Store.
type Options struct {
	Prefix string          // key prefix, e.g. "cartrecovery:"
	Delays []time.Duration // the sequence's delays, strictly increasing
	Now    func() time.Time
	// SeenTTL is how long delivery ids are remembered (default 72h; Shopify
	// retries for 4h, platforms may redeliver manually within days).
	SeenTTL time.Duration
	// Retention is how long a cart and its outcomes are kept after its last
	// change (default 90 days). Counters are kept.
	Retention time.Duration
	// Steps names the sequence's steps (counters are keyed by name).
	Steps []string
	// Window is rules.attribution_window (default 168h).
	Window time.Duration
	// HoldoutPercent (0-50) of customers get no messages.
	HoldoutPercent int
	// Cooldown is rules.cooldown: after a message about one cart, the
	// customer's other carts send nothing for this long (0 = off).
	Cooldown time.Duration
	// Variant names the A/B variant of a cart's step, for the counters
	// (nil: every message is Variant). It must be deterministic.
	Variant func(store, cart string, step int) string
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

// OrderGrace: an order stops the customer's other carts whose last update
// was received no later than this after the order was received. Webhooks
// of one customer can arrive out of order by seconds (retries by minutes);
// the comparison uses this service's receive times only, never a
// platform's clock.
const OrderGrace = 5 * time.Minute

// MaxFuture is how far ahead of this service's clock an event may be dated
// (platform clocks drift by minutes; a day ahead is a bug or an attack).
const MaxFuture = 24 * time.Hour

// minTime is the earliest plausible event date.
var minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Variant is the variant of a step without A/B variants.
const Variant = "a"

// Store keeps carts, the schedule and send claims in Redis. Every state
// change is one Lua script: one round trip, atomic.
type Store struct {
	rdb       redis.UniversalClient
	prefix    string
	delays    []string // ms, as script arguments
	now       func() time.Time
	seenTTL   string
	retention string
	steps     []string
	window    time.Duration
	cooldown  time.Duration
	variant   func(store, cart string, step int) string
	holdout   int
	counters  bool
	maxAge    time.Duration
	sendLease time.Duration
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient, o Options) *Store {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SeenTTL <= 0 {
		o.SeenTTL = 72 * time.Hour
	}
	if o.Retention <= 0 {
		o.Retention = 90 * 24 * time.Hour
	}
	longest := time.Duration(0)
	d := make([]string, len(o.Delays))
	for i, x := range o.Delays {
		d[i] = strconv.FormatInt(x.Milliseconds(), 10)
		longest = max(longest, x)
	}
	ret := max(o.Retention, longest+24*time.Hour)
	if o.Window <= 0 {
		o.Window = 168 * time.Hour
	}
	if o.MaxCartAge <= 0 {
		o.MaxCartAge = 168 * time.Hour
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	steps := make([]string, len(o.Delays))
	for i := range steps {
		steps[i] = strconv.Itoa(i)
		if i < len(o.Steps) && o.Steps[i] != "" {
			steps[i] = o.Steps[i]
		}
	}
	return &Store{
		rdb: rdb, prefix: o.Prefix, delays: d, now: o.Now, steps: steps, window: o.Window,
		holdout: o.HoldoutPercent, counters: !o.NoCounters, cooldown: o.Cooldown, variant: o.Variant,
		maxAge: o.MaxCartAge, sendLease: 2 * o.SendTimeout,
		seenTTL:   strconv.FormatInt(int64(o.SeenTTL/time.Second), 10),
		retention: strconv.FormatInt(int64(ret/time.Second), 10),
	}
}

// Steps returns the number of steps in the sequence.
func (s *Store) Steps() int { return len(s.delays) }

var storeRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// ValidStore reports whether name can be used as a store identifier.
func ValidStore(name string) bool { return storeRE.MatchString(name) }

func (s *Store) base(store string) string { return s.prefix + "{" + store + "}:" }

// CartKey is the Redis key of a cart hash.
func (s *Store) CartKey(store, id string) string { return s.base(store) + "cart:" + id }

func (s *Store) dataKey(store, id string) string { return s.base(store) + "d:" + id }

// DueKey is the sorted set of carts by the due time of their next step.
func (s *Store) DueKey() string { return s.prefix + "due" }

func member(store, id string) string { return store + "/" + id }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// NormalizeEmail is the form emails are indexed under.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// The cart content kept for the messages (the "d:<id>" key) holds only what
// templates use, and every pending cart pays for it, so it is a positional
// JSON array rather than an object with field names (about a fifth smaller):
//
//	[1, platform, currency, total, recovery_url,
//	 [[title, quantity, price, image_url, url], ...],
//	 [email, phone, first_name, locale, timezone, consent bits (1 email, 2 sms)]]
//
// with trailing empty values left out. The leading 1 is the format version.
// The cart id inside the recovery URL (Shopify's checkout token is in its
// path) is stored as a NUL byte, which no accepted URL contains.
// SKUs and platform customer ids are not kept. The email is left out when it
// is already in its normalized form, which the cart hash keeps as "em" (Load
// puts it back).
const (
	recordVersion = 1
	idMark        = "\x00"
)

func encodeRecord(platform string, c Cart, cu Customer) (string, error) {
	email := cu.Email
	if email == NormalizeEmail(email) {
		email = ""
	}
	items := make([]any, 0, len(c.Items))
	for _, it := range c.Items {
		items = append(items, trim([]any{it.Title, it.Quantity, it.Price, it.ImageURL, it.URL}))
	}
	consent := 0
	if cu.EmailConsent {
		consent |= 1
	}
	if cu.SMSConsent {
		consent |= 2
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "&" in URLs stays one byte, not "\u0026"
	u := c.RecoveryURL
	if c.ID != "" && !strings.Contains(u, idMark) {
		u = strings.ReplaceAll(u, c.ID, idMark)
	}
	err := enc.Encode(trim([]any{recordVersion, platform, c.Currency, c.Total, u, items,
		trim([]any{email, cu.Phone, cu.FirstName, cu.Locale, cu.Timezone, consent})}))
	return strings.TrimSuffix(b.String(), "\n"), err
}

// trim drops trailing empty strings, zeros and empty lists.
func trim(v []any) []any {
	for len(v) > 0 {
		switch x := v[len(v)-1].(type) {
		case string:
			if x != "" {
				return v
			}
		case int:
			if x != 0 {
				return v
			}
		case []any:
			if len(x) != 0 {
				return v
			}
		default:
			return v
		}
		v = v[:len(v)-1]
	}
	return v
}

func decodeRecord(id, data string) (Cart, Customer, error) {
	c, cu, _, err := decodeRecordPf(id, data)
	return c, cu, err
}

// fields decodes a positional array into the pointers given, in order;
// missing trailing values stay zero.
func fields(raw json.RawMessage, dst ...any) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return err
	}
	for i := 0; i < len(parts) && i < len(dst); i++ {
		if err := json.Unmarshal(parts[i], dst[i]); err != nil {
			return fmt.Errorf("position %d: %w", i, err)
		}
	}
	return nil
}

func decodeRecordPf(id, data string) (Cart, Customer, string, error) {
	c, cu := Cart{ID: id}, Customer{}
	if data == "" {
		return c, cu, "", nil
	}
	var (
		version     int
		platform    string
		items, cust json.RawMessage
		consent     int
		itemList    []json.RawMessage
		errDecode   error
	)
	errDecode = fields(json.RawMessage(data), &version, &platform, &c.Currency, &c.Total, &c.RecoveryURL, &items, &cust)
	if errDecode == nil && version != recordVersion {
		errDecode = fmt.Errorf("format version %d, want %d", version, recordVersion)
	}
	if errDecode == nil && len(items) > 0 {
		errDecode = json.Unmarshal(items, &itemList)
	}
	for _, raw := range itemList {
		var it Item
		if errDecode = fields(raw, &it.Title, &it.Quantity, &it.Price, &it.ImageURL, &it.URL); errDecode != nil {
			break
		}
		c.Items = append(c.Items, it)
	}
	if errDecode == nil && len(cust) > 0 {
		errDecode = fields(cust, &cu.Email, &cu.Phone, &cu.FirstName, &cu.Locale, &cu.Timezone, &consent)
	}
	if errDecode != nil {
		return Cart{ID: id}, Customer{}, "", fmt.Errorf("decode cart %q: %w", id, errDecode)
	}
	cu.EmailConsent, cu.SMSConsent = consent&1 != 0, consent&2 != 0
	c.RecoveryURL = strings.ReplaceAll(c.RecoveryURL, idMark, id)
	return c, cu, platform, nil
}

// Ingest records one normalized event atomically (one Lua script, one round
// trip) and reports what it did. It returns an error wrapping ErrInvalid for
// an event that cannot be keyed.
func (s *Store) Ingest(ctx context.Context, ev Event) (Result, error) {
	if !ValidStore(ev.Store) {
		return Result{}, Invalid("store", "must be 1-100 characters of A-Z a-z 0-9 . _ -")
	}
	if ev.ID == "" {
		return Result{}, Invalid("id", "is required")
	}
	nowT := s.now()
	now := nowT.UnixMilli()
	if !ev.OccurredAt.IsZero() {
		field := ev.TimeField
		if field == "" {
			field = "occurred_at"
		}
		if ev.OccurredAt.After(nowT.Add(MaxFuture)) {
			return Result{}, Invalid(field, fmt.Sprintf("%s is more than %s ahead of this server's clock (%s)",
				ev.OccurredAt.UTC().Format(time.RFC3339), MaxFuture, nowT.UTC().Format(time.RFC3339)))
		}
		if ev.OccurredAt.Before(minTime) {
			return Result{}, Invalid(field, fmt.Sprintf("%s is before 2000: not a plausible event time", ev.OccurredAt.UTC().Format(time.RFC3339)))
		}
	}
	base := s.base(ev.Store)
	seen := base + "seen:" + ev.Platform + ":" + ev.ID // deletes and orders
	email := NormalizeEmail(ev.Customer.Email)
	var (
		res []any
		err error
	)
	switch ev.Kind {
	case CartUpdated:
		if ev.Cart.ID == "" {
			return Result{}, Invalid("cart.id", "is required")
		}
		at := ms(ev.OccurredAt)
		if at <= 0 {
			at = now
		}
		data, err2 := encodeRecord(ev.Platform, ev.Cart, ev.Customer)
		if err2 != nil {
			return Result{}, err2
		}
		args := make([]any, 0, 20+len(s.delays))
		args = append(args, base, ev.Cart.ID, member(ev.Store, ev.Cart.ID), now, at, data, email,
			s.holdoutFlag(ev), deliveryFingerprint(ev.Platform, ev.ID), s.retention, s.seenTTL,
			s.maxAge.Milliseconds(), OrderGrace.Milliseconds(), len(s.delays))
		for _, d := range s.delays {
			args = append(args, d)
		}
		args = append(args, s.day(time.UnixMilli(at)), ev.Store)
		// Only the first ref is kept: it is the one lookups try first, and
		// every key costs memory for every pending cart.
		if len(ev.Refs) > 0 {
			args = append(args, ev.Refs[0])
		}
		res, err = updateScript.Run(ctx, s.rdb, []string{s.CartKey(ev.Store, ev.Cart.ID), s.dataKey(ev.Store, ev.Cart.ID),
			s.DueKey(), s.StoresKey(), s.base(ev.Store) + "ws:" + ev.Cart.ID}, args...).Slice()
	case CartDeleted:
		if ev.Cart.ID == "" && len(ev.Refs) == 0 {
			return Result{}, Invalid("cart.id", "is required")
		}
		args := []any{base, ev.Cart.ID, ev.Store, now, ms(ev.OccurredAt), s.seenTTL, s.retention}
		for _, r := range ev.Refs {
			args = append(args, r)
		}
		res, err = deleteScript.Run(ctx, s.rdb, []string{seen, s.DueKey()}, args...).Slice()
	case OrderCreated:
		at := ms(ev.OccurredAt)
		if at <= 0 || at > now {
			at = now
		}
		minor := ""
		if m, ok := money.ToMinor(ev.Order.Total, ev.Order.Currency); ok {
			minor = strconv.FormatInt(m, 10)
		}
		args := []any{base, ev.Cart.ID, ev.Store, now, at, s.seenTTL, s.retention,
			ev.Order.ID, ev.Order.Total, ev.Order.Currency, email, minor, s.window.Milliseconds(), s.day(time.UnixMilli(at))}
		for _, r := range ev.Refs {
			args = append(args, r)
		}
		res, err = orderScript.Run(ctx, s.rdb, []string{seen, s.DueKey()}, args...).Slice()
	default:
		return Result{}, Invalid("type", fmt.Sprintf("unknown event kind %q", ev.Kind))
	}
	if err != nil {
		return Result{}, fmt.Errorf("record %s %s/%s: %w", ev.Kind, ev.Store, ev.Cart.ID, err)
	}
	st, _ := res[0].(string)
	reason, _ := res[1].(string)
	return Result{Status: Status(st), Reason: reason}, nil
}

// day is the UTC date that names a counters hash; "" when counters are off.
func (s *Store) day(t time.Time) string {
	if !s.counters {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

func (s *Store) statsKey(store string, t time.Time) string {
	return s.base(store) + "stats:" + s.day(t)
}

// StoresKey is the set of stores that have sent carts.
func (s *Store) StoresKey() string { return s.prefix + "stores" }

// holdoutFlag assigns the customer (store + email, else customer id, else
// cart) to the holdout group deterministically.
func (s *Store) holdoutFlag(ev Event) string {
	if s.holdout <= 0 {
		return "0"
	}
	who := NormalizeEmail(ev.Customer.Email)
	if who == "" {
		who = ev.Customer.ID
	}
	if who == "" {
		who = ev.Cart.ID
	}
	if InHoldout(ev.Store, who, s.holdout) {
		return "1"
	}
	return "0"
}

// InHoldout reports whether who (in store) falls in the holdout percent.
func InHoldout(store, who string, percent int) bool {
	h := sha256.Sum256([]byte(store + "\x00" + who))
	return int(binary.BigEndian.Uint32(h[:4])%100) < percent
}

// CartState is a cart as the worker sees it.
type CartState struct {
	Store, ID string
	State     string
	Step, Gen int
	At        time.Time // platform time of newest event
	Activity  time.Time // delays count from here
	Created   time.Time
	Cart      Cart
	Customer  Customer
	OrderID   string
	// Sends maps "step:channel" to the raw send state ("sent|ts|detail"...).
	Sends map[string]string
	// Clicks maps "step:channel" to the first click on that message's link.
	Clicks  map[string]time.Time
	Holdout bool
	// TooOld: the cart's activity was older than rules.max_cart_age when
	// its newest update arrived; it is tracked, never messaged.
	TooOld    bool
	Abandoned time.Time // when the first step came due with no order
	Reminded  time.Time // first message accepted by a provider
	// LastTouch is "step|channel|variant|ms" of the last message sent.
	LastTouch     string
	Attribution   string    // set by the order: recovered|..., converted_before, ...
	OrderAt       time.Time // platform time of the order
	OrderReceived time.Time
	OrderTotal    string
	OrderCurrency string
	OrderMatch    string // how the order found the cart: id, ref, email
}

// Load reads one cart; ok is false when it does not exist (or expired).
func (s *Store) Load(ctx context.Context, store, id string) (CartState, bool, error) {
	var hc *redis.MapStringStringCmd
	var dc *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		hc = p.HGetAll(ctx, s.CartKey(store, id))
		dc = p.Get(ctx, s.dataKey(store, id))
		return nil
	})
	if err != nil && err != redis.Nil {
		return CartState{}, false, fmt.Errorf("load cart %s/%s: %w", store, id, err)
	}
	h := hc.Val()
	if len(h) == 0 {
		return CartState{}, false, nil
	}
	c := CartState{Store: store, ID: id, State: h["st"], OrderID: h["oid"],
		Sends: map[string]string{}, Clicks: map[string]time.Time{}, Holdout: h["ho"] == "1",
		Abandoned: msTime(h["ab"]), Reminded: msTime(h["rem"]), LastTouch: h["ls"], Attribution: h["att"],
		OrderAt: msTime(h["oat"]), OrderReceived: msTime(h["orx"]), OrderTotal: h["otot"], OrderCurrency: h["ocur"], OrderMatch: h["oby"]}
	c.Step, _ = strconv.Atoi(h["step"])
	c.Gen, _ = strconv.Atoi(h["gen"])
	c.At = msTime(h["at"])
	c.Activity = msTime(h["act"])
	c.Created = msTime(h["c0"])
	c.TooOld = h["old"] == "1"
	for k, v := range h {
		if strings.HasPrefix(k, "m:") {
			c.Sends[k[2:]] = v
		}
		if strings.HasPrefix(k, "k:") {
			c.Clicks[k[2:]] = msTime(v)
		}
	}
	c.Cart, c.Customer, err = decodeRecord(id, dc.Val())
	if c.Customer.Email == "" {
		c.Customer.Email = h["em"]
	}
	return c, true, err
}

func msTime(v string) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// Due is a cart whose next step is due, leased to a relay.
type Due struct {
	Store, CartID string
	Step, Gen     int
	member        string
}

// Lease takes up to limit carts due at now and hides them from other relays
// until leaseUntil. Pass them to Release once they are handed to the queue.
func (s *Store) Lease(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Due, error) {
	res, err := leaseScript.Run(ctx, s.rdb, []string{s.DueKey()},
		s.prefix, now.UnixMilli(), leaseUntil.UnixMilli(), limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("lease due carts: %w", err)
	}
	out := make([]Due, 0, len(res)/3)
	for i := 0; i+2 < len(res); i += 3 {
		store, id, _ := strings.Cut(res[i], "/")
		step, _ := strconv.Atoi(res[i+1])
		gen, _ := strconv.Atoi(res[i+2])
		out = append(out, Due{Store: store, CartID: id, Step: step, Gen: gen, member: res[i]})
	}
	return out, nil
}

// Release drops relayed carts from the due set, unless an update has
// re-scheduled them since the lease.
func (s *Store) Release(ctx context.Context, leaseUntil time.Time, ds []Due) error {
	if len(ds) == 0 {
		return nil
	}
	args := []any{strconv.FormatInt(leaseUntil.UnixMilli(), 10)}
	for _, d := range ds {
		args = append(args, d.member)
	}
	return releaseScript.Run(ctx, s.rdb, []string{s.DueKey()}, args...).Err()
}

// DueCount is how many carts are due at t and not yet handed to the queue
// (leased carts carry their lease deadline as score until released).
func (s *Store) DueCount(ctx context.Context, t time.Time) (int64, error) {
	return s.rdb.ZCount(ctx, s.DueKey(), "-inf", strconv.FormatInt(t.UnixMilli(), 10)).Result()
}

// NextDue returns the due time of a cart's next step, ok false when none is
// scheduled (tests and the timeline use it).
func (s *Store) NextDue(ctx context.Context, store, id string) (time.Time, bool, error) {
	sc, err := s.rdb.ZScore(ctx, s.DueKey(), member(store, id)).Result()
	if err == redis.Nil {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.UnixMilli(int64(sc)).UTC(), true, nil
}

// Reschedule puts a cart back on the due set at t (used when a task finds
// its step not due yet, e.g. clock skew between processes).
func (s *Store) Reschedule(ctx context.Context, store, id string, t time.Time) error {
	return s.rdb.ZAdd(ctx, s.DueKey(), redis.Z{Score: float64(t.UnixMilli()), Member: member(store, id)}).Err()
}

// Claim results other than ClaimOK say why the send must not start.
const (
	ClaimOK         = "ok"
	ClaimGone       = "gone"
	ClaimOrdered    = StateOrdered
	ClaimDeleted    = StateDeleted
	ClaimSuperseded = "superseded"
	ClaimTaken      = "claimed"
	// ClaimCooldown: another cart of the customer was reminded within
	// rules.cooldown; this channel is skipped, the sequence goes on.
	ClaimCooldown = "cooldown"
)

// ReasonCooldown is the skip reason of ClaimCooldown.
const ReasonCooldown = "cooldown: another cart of this customer was reminded recently"

func sendField(step int, channel string) string { return "m:" + strconv.Itoa(step) + ":" + channel }

// Claim atomically checks, right before the provider call, that the cart is
// still active on (step, gen), that its customer has not ordered since, and
// that nobody claimed (step, channel) yet; then claims it.
func (s *Store) Claim(ctx context.Context, store, id string, step, gen int, channel string) (string, error) {
	now := s.now()
	r, err := claimScript.Run(ctx, s.rdb, []string{s.CartKey(store, id), s.DueKey(), s.InflightKey()},
		s.base(store), sendField(step, channel), step, gen, now.UnixMilli(), member(store, id), s.cooldown.Milliseconds(), id,
		OrderGrace.Milliseconds(), now.Add(s.sendLease).UnixMilli(), inflightMember(store, id, step, channel)).Text()
	if err != nil {
		return "", fmt.Errorf("claim %s/%s step %d %s: %w", store, id, step, channel, err)
	}
	return r, nil
}

// Send outcomes recorded per (step, channel).
const (
	OutcomeSent    = "sent"
	OutcomeFailed  = "failed"
	OutcomeSkipped = "skipped"
)

func outcomeValue(outcome string, at time.Time, detail string) string {
	detail = strings.ReplaceAll(detail, "|", "/")
	if len(detail) > 300 {
		detail = detail[:300]
	}
	return outcome + "|" + strconv.FormatInt(at.UnixMilli(), 10) + "|" + detail
}

func (s *Store) counterSuffix(step int, channel, variant string) string {
	name := strconv.Itoa(step)
	if step >= 0 && step < len(s.steps) {
		name = s.steps[step]
	}
	if variant == "" {
		variant = Variant
	}
	return name + "|" + channel + "|" + variant
}

// variantOf is the A/B variant of a cart's step.
func (s *Store) variantOf(store, id string, step int) string {
	if s.variant == nil {
		return Variant
	}
	return s.variant(store, id, step)
}

// ErrNoClaim: Finish found no claim to record the outcome on (the claim was
// swept as unknown after its lease, e.g. a stalled process).
var ErrNoClaim = errors.New("no claim to finish")

// Finish records the outcome of a claimed send and counts it. A failure
// whose detail starts with "unknown" is also counted as unknown.
func (s *Store) Finish(ctx context.Context, store, id string, step int, channel, outcome, detail string) error {
	now := s.now()
	n, err := finishScript.Run(ctx, s.rdb, []string{s.CartKey(store, id), s.InflightKey()},
		sendField(step, channel), outcomeValue(outcome, now, detail), outcome, s.statsKey(store, now),
		s.counterSuffix(step, channel, s.variantOf(store, id, step)), now.UnixMilli(), s.base(store), int64(s.window/time.Second), id,
		inflightMember(store, id, step, channel)).Int()
	if err == nil && n == 0 {
		err = ErrNoClaim
	}
	return err
}

// Unclaim releases a claim after a failure that proved the provider did not
// accept the message, so a retry may claim it again.
func (s *Store) Unclaim(ctx context.Context, store, id string, step int, channel string) error {
	return finishScript.Run(ctx, s.rdb, []string{s.CartKey(store, id), s.InflightKey()}, sendField(step, channel), "",
		"", "", "", 0, "", 0, id, inflightMember(store, id, step, channel)).Err()
}

// InflightKey is the sorted set of claims awaiting their outcome, scored by
// the time after which they are swept.
func (s *Store) InflightKey() string { return s.prefix + "inflight" }

// inflightMember names a claim in the in-flight set: store|step|channel|cart
// (the cart id comes last: it may hold "|").
func inflightMember(store, id string, step int, channel string) string {
	return store + "|" + strconv.Itoa(step) + "|" + channel + "|" + id
}

// Claim is a send claimed and not finished within its lease.
type Claim struct {
	Store, Cart string
	Step        int
	Channel     string
}

// ReasonUnknown is recorded for a claim swept without an outcome.
const ReasonUnknown = "unknown: the worker stopped during the send (no outcome within worker.send_timeout x2); not resent"

// SweepClaims records every claim whose lease ended before now without an
// outcome as failed, reason unknown (counted as failed and unknown; never
// resent: a duplicate reminder is worse than a missed one), and returns
// them. At most limit per call.
func (s *Store) SweepClaims(ctx context.Context, now time.Time, limit int) ([]Claim, error) {
	ms, err := s.rdb.ZRangeByScore(ctx, s.InflightKey(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read in-flight claims: %w", err)
	}
	var out []Claim
	for _, m := range ms {
		parts := strings.SplitN(m, "|", 4)
		step, err := strconv.Atoi(parts[min(1, len(parts)-1)])
		if len(parts) != 4 || err != nil {
			s.rdb.ZRem(ctx, s.InflightKey(), m)
			continue
		}
		c := Claim{Store: parts[0], Step: step, Channel: parts[2], Cart: parts[3]}
		switch err := s.Finish(ctx, c.Store, c.Cart, c.Step, c.Channel, OutcomeFailed, ReasonUnknown); {
		case err == nil:
			out = append(out, c)
		case errors.Is(err, ErrNoClaim): // finished meanwhile
		default:
			return out, err
		}
	}
	return out, nil
}

// ReasonHoldout is the skip reason of the holdout group: counted apart from
// the treated group's skips.
const ReasonHoldout = "holdout group"

// Skip records that (step, channel) was not sent and why, unless it already
// has a state.
func (s *Store) Skip(ctx context.Context, store, id string, step int, channel, reason string) error {
	now := s.now()
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	counter := OutcomeSkipped
	if reason == ReasonHoldout {
		counter = "held"
	}
	return skipScript.Run(ctx, s.rdb, []string{s.CartKey(store, id)}, sendField(step, channel),
		OutcomeSkipped+"|"+ts+"|"+ts+"|"+strings.ReplaceAll(reason, "|", "/"), s.statsKey(store, now),
		s.counterSuffix(step, channel, s.variantOf(store, id, step)), counter).Err()
}

// Advance moves an active cart past step and schedules its next step from
// the last activity. It is a no-op if the cart moved on or ended.
func (s *Store) Advance(ctx context.Context, store, id string, step int) error {
	now := s.now()
	args := []any{member(store, id), step, s.statsKey(store, now), now.UnixMilli(), len(s.delays)}
	for _, d := range s.delays {
		args = append(args, d)
	}
	return advanceScript.Run(ctx, s.rdb, []string{s.CartKey(store, id), s.DueKey()}, args...).Err()
}

// SendState splits a raw send state into outcome, when it was recorded and
// detail.
func SendState(raw string) (outcome string, at time.Time, detail string) {
	outcome, at, _, detail = SendTimes(raw)
	return
}

// SendTimes also returns when the send started (its claim was taken).
func SendTimes(raw string) (outcome string, at, started time.Time, detail string) {
	parts := strings.SplitN(raw, "|", 4)
	outcome = parts[0]
	if len(parts) > 1 {
		at = msTime(parts[1])
	}
	if len(parts) > 2 {
		started = msTime(parts[2])
	}
	if len(parts) > 3 {
		detail = parts[3]
	}
	return
}

// deliveryFingerprint is the 48-bit fingerprint of a delivery kept with the
// cart (6 raw bytes each: a UUID would cost 36 in every pending cart).
func deliveryFingerprint(platform, id string) string {
	h := sha256.Sum256([]byte(platform + "\x00" + id))
	return string(h[:6])
}

// ContactHash is the pseudonymous form of a normalized email or phone used
// in suppression keys and links, so no address appears in a key or URL.
func ContactHash(normalized string) string {
	h := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(h[:12])
}

func (s *Store) suppressKey(store, channel, hash string) string {
	return s.base(store) + "unsub:" + channel + ":" + hash
}

// Suppress records that contactHash must receive nothing more on channel.
func (s *Store) Suppress(ctx context.Context, store, channel, contactHash, reason string) error {
	return s.rdb.Set(ctx, s.suppressKey(store, channel, contactHash),
		outcomeValue("unsub", s.now(), reason), 0).Err()
}

// Suppressed reports whether contactHash unsubscribed from channel.
func (s *Store) Suppressed(ctx context.Context, store, channel, contactHash string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.suppressKey(store, channel, contactHash)).Result()
	return n == 1, err
}

// Click records a click on the link l (a message's (cart, step, channel,
// variant)) and returns the cart for the redirect; ok is false when the cart
// no longer exists.
func (s *Store) Click(ctx context.Context, l Link) (c Cart, platform string, ok bool, err error) {
	now := s.now()
	data, err := clickScript.Run(ctx, s.rdb, []string{s.CartKey(l.Store, l.Cart), s.dataKey(l.Store, l.Cart)},
		"k:"+strconv.Itoa(l.Step)+":"+l.Channel, now.UnixMilli(), s.statsKey(l.Store, now), s.counterSuffix(l.Step, l.Channel, l.Variant)).Text()
	if err != nil {
		return Cart{}, "", false, fmt.Errorf("record click %s/%s: %w", l.Store, l.Cart, err)
	}
	if data == "" {
		return Cart{}, "", false, nil
	}
	c, _, platform, err = decodeRecordPf(l.Cart, data)
	return c, platform, err == nil, err
}

// Stores lists every store that has sent a cart.
func (s *Store) Stores(ctx context.Context) ([]string, error) {
	return s.rdb.SMembers(ctx, s.StoresKey()).Result()
}

// Counters returns the report counters of each store for each day (UTC
// dates "2006-01-02"), read in one pipelined round trip: the cost depends on
// stores x days, never on the number of carts.
func (s *Store) Counters(ctx context.Context, stores, days []string) (map[string]map[string]map[string]int64, error) {
	cmds := make(map[[2]string]*redis.MapStringStringCmd, len(stores)*len(days))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, st := range stores {
			for _, d := range days {
				cmds[[2]string{st, d}] = p.HGetAll(ctx, s.base(st)+"stats:"+d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	out := map[string]map[string]map[string]int64{}
	for k, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue
		}
		if out[k[0]] == nil {
			out[k[0]] = map[string]map[string]int64{}
		}
		m := make(map[string]int64, len(cmd.Val()))
		for f, v := range cmd.Val() {
			n, _ := strconv.ParseInt(v, 10, 64)
			m[f] = n
		}
		out[k[0]][k[1]] = m
	}
	return out, nil
}

// LinkTTL is how long click-through links in messages keep working.
const LinkTTL = 30 * 24 * time.Hour

// Link is what a click-through link points at.
type Link struct {
	Store, Cart string
	Step        int
	Channel     string
	Variant     string // "" counts as Variant
}

func (s *Store) linkKey(id [8]byte) string { return s.prefix + "l:" + hex.EncodeToString(id[:]) }

// NewLink records a click-through link for (cart, step, channel) and returns
// its id, valid for LinkTTL.
func (s *Store) NewLink(ctx context.Context, l Link) ([8]byte, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return id, err
	}
	v := l.Store + "/" + strconv.Itoa(l.Step) + "/" + l.Channel + "/" + l.Variant + "/" + l.Cart
	return id, s.rdb.Set(ctx, s.linkKey(id), v, LinkTTL).Err()
}

// ResolveLink returns the link record of id; ok is false when it expired.
func (s *Store) ResolveLink(ctx context.Context, id [8]byte) (Link, bool, error) {
	v, err := s.rdb.Get(ctx, s.linkKey(id)).Result()
	if err == redis.Nil {
		return Link{}, false, nil
	}
	if err != nil {
		return Link{}, false, err
	}
	parts := strings.SplitN(v, "/", 5) // the cart id comes last: it may hold "/"
	if len(parts) != 5 {
		return Link{}, false, nil
	}
	step, _ := strconv.Atoi(parts[1])
	return Link{Store: parts[0], Step: step, Channel: parts[2], Variant: parts[3], Cart: parts[4]}, true, nil
}
