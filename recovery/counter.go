package recovery

import (
	"fmt"
	"strings"
)

// The report counters live in one hash per store and UTC day. A field is a
// Counter encoded by Field: its kind alone for cart-level counts
// ("tracked"), or kind|step|channel|variant for message-level ones
// ("sent|first-reminder|email|a"), with |currency after them for revenue
// ("rev|first-reminder|email|a|EUR"; "revt|EUR" for the total). Steps are
// named by their configured name, so reports survive a reordered sequence.
// The Lua scripts build message-level fields by joining a kind with the
// suffix that MessageSuffix encodes (they receive both from Go); a test
// reads back every field a full flow writes with ParseCounter.
type CounterKind string

// Counter kinds. Those marked holdout count the control group apart.
const (
	// Cart-level.
	CountTracked          CounterKind = "tracked"
	CountTrackedHoldout   CounterKind = "tracked_h"
	CountAbandoned        CounterKind = "abandoned"
	CountAbandonedHoldout CounterKind = "abandoned_h"
	CountReminded         CounterKind = "reminded"
	CountClickedCarts     CounterKind = "clicked_carts"
	CountOrders           CounterKind = "orders"
	CountRecovered        CounterKind = "recovered"
	CountRecoveredClicked CounterKind = "recovered_clicked"
	CountConvertedBefore  CounterKind = "converted_before"
	CountConvertedLate    CounterKind = "converted_late"
	CountConvertedHoldout CounterKind = "converted_h"
	// CountVerifiedOrdered: orders found by the check with the platform
	// right before a send (their webhook had not come).
	CountVerifiedOrdered CounterKind = "verified_ordered"
	// Message-level (step, channel, variant).
	CountSent        CounterKind = "sent"
	CountFailed      CounterKind = "failed"
	CountUnknown     CounterKind = "unknown"
	CountSkipped     CounterKind = "skipped"
	CountClicked     CounterKind = "clicked"
	CountRecoveredBy CounterKind = "recovered" // with a suffix: credited message
	// Delivery receipts (SMS): delivered, and undelivered or failed.
	CountDelivered   CounterKind = "delivered"
	CountUndelivered CounterKind = "undelivered"
	// CountReached: carts that got at least one message of a step (by step
	// and variant): the A/B tests' denominator.
	CountReached CounterKind = "reached"
	// CountCreditClick: recoveries credited to the last clicked message
	// (the click rule) rather than the last one sent.
	CountCreditClick CounterKind = "credit_click"
	// CountSkipReason: messages skipped, or held by quiet hours, by reason
	// code (SkipCode): "skipr|no_consent".
	CountSkipReason CounterKind = "skipr"
	// CountRecoveredIn: recovered carts by the order's currency
	// ("recc|EUR"): with revt, the average recovered order value.
	CountRecoveredIn CounterKind = "recc"
	// Unique discount codes by step and variant (no channel: one code per
	// cart and step): registered with the platform, and carried by an order.
	CountCodesIssued   CounterKind = "codes_issued"
	CountCodesRedeemed CounterKind = "codes_redeemed"
	// Revenue in minor units: by message and currency, and by currency.
	CountRevenue      CounterKind = "rev"
	CountRevenueTotal CounterKind = "revt"
)

var cartKinds = map[CounterKind]bool{
	CountTracked: true, CountTrackedHoldout: true, CountAbandoned: true, CountAbandonedHoldout: true,
	CountReminded: true, CountClickedCarts: true, CountOrders: true, CountRecovered: true,
	CountRecoveredClicked: true, CountConvertedBefore: true, CountConvertedLate: true, CountConvertedHoldout: true,
	CountVerifiedOrdered: true, CountCreditClick: true,
}

// segmentKinds have a copy per segment (kind@segment): the cart-level
// counts of carts, and recovered revenue by currency.
var segmentKinds = map[CounterKind]bool{
	CountTracked: true, CountTrackedHoldout: true, CountAbandoned: true, CountAbandonedHoldout: true,
	CountReminded: true, CountClickedCarts: true, CountRecovered: true, CountRecoveredClicked: true,
	CountConvertedBefore: true, CountConvertedLate: true, CountConvertedHoldout: true, CountCreditClick: true,
	CountRevenueTotal: true, CountRecoveredIn: true,
}

// stepKinds are counted per step and variant: kind|step|variant.
var stepKinds = map[CounterKind]bool{CountCodesIssued: true, CountCodesRedeemed: true, CountReached: true}

// labelKinds are counted per label: kind|label (a currency, a reason code).
var labelKinds = map[CounterKind]bool{CountRevenueTotal: true, CountSkipReason: true, CountRecoveredIn: true}

var messageKinds = map[CounterKind]bool{
	CountSent: true, CountFailed: true, CountUnknown: true, CountSkipped: true,
	CountClicked: true, CountRecoveredBy: true, CountRevenue: true, CountDelivered: true, CountUndelivered: true,
}

// Counter is one report counter.
type Counter struct {
	Kind     CounterKind
	Step     string // step name; message-level kinds only
	Channel  string
	Variant  string
	Currency string // CountRevenue, CountRevenueTotal, CountRecoveredIn
	Reason   string // CountSkipReason: a SkipCode
	// Segment: a segment's copy of a cart-level or per-currency counter
	// ("recovered@high-value", "revt@high-value|EUR"), counted besides
	// the plain one for carts of that segment (see SegmentCopy). Message
	// and step counters name it in their qualified step
	// ("sent|high-value/first|email|a"); ParseCounter sets it from there.
	Segment string
}

// SegmentCopy reports whether the counter is a segment's copy of a
// cart-level or per-currency counter: the plain counter counts the same
// carts, so totals skip the copies.
func (c Counter) SegmentCopy() bool { return c.Segment != "" && c.Step == "" }

// SegmentSuffix is what a segment's copy adds to a counter's kind: "@name",
// or "" for the default sequence.
func SegmentSuffix(segment string) string {
	if segment == "" {
		return ""
	}
	return "@" + segment
}

// MessageSuffix is the "step|channel|variant" part of a message-level
// counter.
func MessageSuffix(step, channel, variant string) string {
	if variant == "" {
		variant = BaseVariant
	}
	return step + "|" + channel + "|" + variant
}

// StepSuffix is the "step|variant" part of a step-level counter.
func StepSuffix(step, variant string) string {
	if variant == "" {
		variant = BaseVariant
	}
	return step + "|" + variant
}

// Message reports whether the counter is per message (has a step).
func (c Counter) Message() bool { return c.Step != "" }

// Field is the counter's hash field.
func (c Counter) Field() string {
	var b strings.Builder
	b.WriteString(string(c.Kind))
	if c.Step == "" {
		b.WriteString(SegmentSuffix(c.Segment))
	}
	switch {
	case stepKinds[c.Kind]:
		b.WriteString("|" + StepSuffix(c.Step, c.Variant))
	case c.Step != "":
		b.WriteString("|" + MessageSuffix(c.Step, c.Channel, c.Variant))
	}
	if c.Currency != "" {
		b.WriteString("|" + c.Currency)
	}
	if c.Reason != "" {
		b.WriteString("|" + c.Reason)
	}
	return b.String()
}

// ParseCounter parses a hash field written by Field (or by a script that
// joins a kind and a MessageSuffix). An unknown kind or shape is an error:
// nothing writes a counter that nothing reads.
func ParseCounter(f string) (Counter, error) {
	p := strings.Split(f, "|")
	kind, seg, copied := strings.Cut(p[0], "@")
	c := Counter{Kind: CounterKind(kind), Segment: seg}
	if copied && (!ValidSegmentName(seg) || !segmentKinds[c.Kind]) {
		return Counter{}, fmt.Errorf("counter %q: not a known counter", f)
	}
	switch {
	case len(p) == 1 && cartKinds[c.Kind]:
		return c, nil
	case len(p) == 3 && stepKinds[c.Kind] && p[1] != "" && p[2] != "":
		c.Step, c.Variant, c.Segment = p[1], p[2], SegmentOf(p[1])
		return c, nil
	case len(p) == 2 && labelKinds[c.Kind] && p[1] != "":
		if c.Kind == CountSkipReason {
			c.Reason = p[1]
		} else {
			c.Currency = p[1]
		}
		return c, nil
	case len(p) == 4 && messageKinds[c.Kind] && c.Kind != CountRevenue,
		len(p) == 5 && c.Kind == CountRevenue:
		c.Step, c.Channel, c.Variant, c.Segment = p[1], p[2], p[3], SegmentOf(p[1])
		if copied {
			break
		}
		if len(p) == 5 {
			c.Currency = p[4]
		}
		if c.Step == "" || c.Channel == "" || c.Variant == "" || (len(p) == 5 && c.Currency == "") {
			break
		}
		return c, nil
	}
	return Counter{}, fmt.Errorf("counter %q: not a known counter", f)
}

// Skip reason codes, as the reports count them (CountSkipReason).
var skipCodes = []struct{ prefix, code string }{
	{"no email address", "no_email"},
	{"no phone number", "no_phone"},
	{"no email consent", "no_email_consent"},
	{"no sms consent", "no_sms_consent"},
	{"cart total below", "below_min"},
	{"cart total is not a decimal", "bad_total"},
	{"unsubscribed", "unsubscribed"},
	{"cooldown", "cooldown"},
	{"too old", "too_old"},
	{ReasonHoldout, "holdout"},
	{"the platform no longer has", "gone"},
	{"the step's unique code could not", "no_code"},
	{"the step offers a unique code", "no_registrar"},
	{"the platform could not confirm", "not_verified"},
	{"channel not configured", "channel_off"},
	{"unknown channel", "channel_off"},
}

// SkipQuietHours is the reason code of a message held by quiet hours (sent
// when they end).
const SkipQuietHours = "quiet_hours"

// SkipCode is the reason code of a skip reason: a short, stable name the
// reports group by ("other" for a reason not listed).
func SkipCode(reason string) string {
	for _, c := range skipCodes {
		if strings.HasPrefix(reason, c.prefix) {
			return c.code
		}
	}
	return "other"
}
