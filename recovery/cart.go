package recovery

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
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

// Result is the outcome of recording an event.
type Result struct {
	Status Status
	Reason string // why ignored/stale, for logs
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

// ValidStore reports whether name can be used as a store identifier: 1-100
// characters of A-Z a-z 0-9 . _ - (it is in every key of the store, and
// checked on every webhook, so it is a loop rather than a regexp).
func ValidStore(name string) bool {
	if len(name) < 1 || len(name) > 100 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NormalizeEmail is the form emails are indexed under.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// ContactHash is the pseudonymous form of a normalized email or phone used
// in suppression keys and links, so no address appears in a key or URL.
func ContactHash(normalized string) string {
	h := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(h[:12])
}

// InHoldout reports whether who (in store) falls in the holdout percent.
func InHoldout(store, who string, percent int) bool {
	h := sha256.Sum256([]byte(store + "\x00" + who))
	return int(binary.BigEndian.Uint32(h[:4])%100) < percent
}

// HoldoutWho is whom the holdout assignment of ev is about: the store's
// customer by email, else by customer id, else the cart.
func HoldoutWho(ev Event) string {
	if who := NormalizeEmail(ev.Customer.Email); who != "" {
		return who
	}
	if ev.Customer.ID != "" {
		return ev.Customer.ID
	}
	return ev.Cart.ID
}

// Check validates what every event needs before it is recorded: a store
// name, an id, a plausible time (naming the platform's field) and a known
// kind with its cart id. now is this service's clock.
func (ev Event) Check(now time.Time) error {
	if !ValidStore(ev.Store) {
		return Invalid("store", "must be 1-100 characters of A-Z a-z 0-9 . _ -")
	}
	if ev.ID == "" {
		return Invalid("id", "is required")
	}
	if !ev.OccurredAt.IsZero() {
		field := ev.TimeField
		if field == "" {
			field = "occurred_at"
		}
		if ev.OccurredAt.After(now.Add(MaxFuture)) {
			return Invalid(field, fmt.Sprintf("%s is more than %s ahead of this server's clock (%s)",
				ev.OccurredAt.UTC().Format(time.RFC3339), MaxFuture, now.UTC().Format(time.RFC3339)))
		}
		if ev.OccurredAt.Before(minTime) {
			return Invalid(field, fmt.Sprintf("%s is before 2000: not a plausible event time", ev.OccurredAt.UTC().Format(time.RFC3339)))
		}
	}
	switch ev.Kind {
	case CartUpdated:
		if ev.Cart.ID == "" {
			return Invalid("cart.id", "is required")
		}
	case CartDeleted:
		if ev.Cart.ID == "" && len(ev.Refs) == 0 {
			return Invalid("cart.id", "is required")
		}
	case OrderCreated:
	case OrderLookup:
		if ev.Order.ID == "" {
			return Invalid("order.id", "is required")
		}
	default:
		return Invalid("type", fmt.Sprintf("unknown event kind %q", ev.Kind))
	}
	return nil
}

// Outcome is the state of one message (step, channel) of a cart. A
// claimed message has OutcomeClaimed until its outcome is recorded.
type Outcome string

// The outcomes.
const (
	OutcomeClaimed Outcome = "claimed"
	OutcomeSent    Outcome = "sent"
	OutcomeFailed  Outcome = "failed"
	OutcomeSkipped Outcome = "skipped"
)

// Send is the state of one message of a cart.
type Send struct {
	Outcome Outcome
	At      time.Time // when the outcome was recorded (the claim's time while claimed)
	Started time.Time // when the claim was taken (= At for skips)
	Detail  string    // the provider's error or the skip reason
}

// CartState is a cart as the worker sees it.
type CartState struct {
	Store, ID string
	Platform  string // where the cart's events come from
	State     string
	Step, Gen int
	// Segment is the segment the cart was put in at its first event ("" the
	// default sequence): Step indexes its steps.
	Segment  string
	At       time.Time // platform time of newest event
	Activity time.Time // delays count from here
	Created  time.Time
	Cart     Cart
	Customer Customer
	OrderID  string
	Sends    map[Slot]Send
	// Codes are the unique discount codes made for the cart, by step.
	Codes map[int]Code
	// Receipts are the providers' delivery receipts of sent messages (SMS).
	Receipts map[Slot]Receipt
	// Holds are the messages held back by quiet hours: until when (the
	// last hold of each).
	Holds map[Slot]Hold
	// Clicks holds the first click on each message's link.
	Clicks  map[Slot]time.Time
	Holdout bool
	// TooOld: the cart's activity was older than rules.max_cart_age when
	// its newest update arrived; it is tracked, never messaged.
	TooOld    bool
	Abandoned time.Time // when the first step came due with no order
	Reminded  time.Time // first message accepted by a provider
	// LastTouch is the counter suffix (MessageSuffix) of the last message
	// sent, and LastTouchAt when it was sent.
	LastTouch   string
	LastTouchAt time.Time
	Attribution string // set by the order: recovered|..., converted_before, ...
	// AttributionRule says how a recovery was credited: "click" (the last
	// message clicked within the window) or "send" (the last message sent).
	AttributionRule string
	OrderAt         time.Time // platform time of the order
	OrderReceived   time.Time
	Deleted         time.Time // when a cart.deleted ended it
	OrderTotal      string
	OrderCurrency   string
	OrderMatch      string // how the order found the cart: id, ref, email
}

// Email is the cart's customer email in the form it is indexed under.
func (c CartState) Email() string { return NormalizeEmail(c.Customer.Email) }

// Message is the key of the cart's message for (step, channel, variant).
func (c CartState) Message(step int, channel Channel, variant string) MessageKey {
	return MessageKey{Store: c.Store, Cart: c.ID, Step: step, Channel: channel, Variant: variant, Segment: c.Segment}
}

// StepStarted reports whether any channel of step already has a state
// (this run follows a quiet-hours hold or a partial failure).
func (c CartState) StepStarted(step int) bool {
	for s := range c.Sends {
		if s.Step == step {
			return true
		}
	}
	return false
}

// Due is a cart whose next step is due, leased to a relay.
type Due struct {
	Store, CartID string
	Step, Gen     int
}

// ClaimResult is what the claim before a send found: ClaimOK, or why the
// send must not start.
type ClaimResult string

// The claim results.
const (
	ClaimOK         ClaimResult = "ok"
	ClaimGone       ClaimResult = "gone"
	ClaimOrdered    ClaimResult = StateOrdered
	ClaimDeleted    ClaimResult = StateDeleted
	ClaimSuperseded ClaimResult = "superseded"
	ClaimTaken      ClaimResult = "claimed"
	// ClaimCooldown: another cart of the customer was reminded within
	// rules.cooldown; this channel is skipped, the sequence goes on.
	ClaimCooldown ClaimResult = "cooldown"
	// ClaimUnsubscribed: the channel's contact unsubscribed (or replied
	// STOP) since the guards ran; this channel is skipped.
	ClaimUnsubscribed ClaimResult = "unsubscribed"
)

// Receipt is a provider's delivery receipt of a sent message (Twilio's
// status callback): the first final status is kept.
type Receipt struct {
	Status string    // ReceiptDelivered, ReceiptUndelivered, ReceiptFailed
	At     time.Time // when it was received
	Error  string    // the provider's error code, if any
}

// Final delivery statuses.
const (
	ReceiptDelivered   = "delivered"
	ReceiptUndelivered = "undelivered"
	ReceiptFailed      = "failed"
)

// Hold is a message held back by quiet hours.
type Hold struct {
	At    time.Time // when it was held
	Until time.Time // the end of the quiet hours
}

// Skip and failure reasons the reports and the timeline show.
const (
	ReasonCooldown = "cooldown: another cart of this customer was reminded recently"
	// ReasonHoldout is the skip reason of the holdout group: counted apart
	// from the treated group's skips.
	ReasonHoldout = "holdout group"
	// ReasonUnknown is recorded for a claim swept without an outcome.
	ReasonUnknown = "unknown: the worker stopped during the send (no outcome within worker.send_timeout x2); not resent"
)

// ErrNoClaim: an outcome found no claim to record on (the claim was swept
// as unknown after its lease, e.g. a stalled process).
var ErrNoClaim = errors.New("no claim to finish")

// LinkTTL is how long click-through links in messages keep working.
const LinkTTL = 30 * 24 * time.Hour

// Split returns the outcome, when it was recorded and the detail.
func (s Send) Split() (outcome Outcome, at time.Time, detail string) {
	return s.Outcome, s.At, s.Detail
}
