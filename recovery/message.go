package recovery

import (
	"fmt"
	"strconv"
	"strings"
)

// Channel is how a reminder reaches the customer.
type Channel string

// The channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// Valid reports whether c is a channel this service sends on.
func (c Channel) Valid() bool { return c == ChannelEmail || c == ChannelSMS }

// MessageKey is the identity of one reminder: a step of a cart's sequence
// on one channel, in one A/B variant. Every place that names a message (the
// in-flight claim, the click-through link, the counters' suffix, the
// cart's send fields) encodes it here and parses it back with
// ParseMessageKey; nothing else splits these strings.
type MessageKey struct {
	Store   string
	Cart    string
	Step    int
	Channel Channel
	Variant string // "" is BaseVariant
	// Segment is the cart's segment ("" the default sequence): Step is an
	// index into its steps.
	Segment string
}

// ExternalID is the message's id outside this service,
// "<store>/<cart>/<step>/<channel>": the same for every variant and every
// retry, so the email's Message-ID (derived from it) marks a resend as the
// same message.
func (m MessageKey) ExternalID() string {
	return m.Store + "/" + m.Cart + "/" + strconv.Itoa(m.Step) + "/" + string(m.Channel)
}

// Slot is a message within its cart: (step, channel).
type Slot struct {
	Step    int
	Channel Channel
}

// Slot returns the message's place within its cart.
func (m MessageKey) Slot() Slot { return Slot{Step: m.Step, Channel: m.Channel} }

// String is "<step>|<channel>|<variant>|<store>|<cart>", the step as
// "<segment>/<index>" in a segment. The cart id comes last because it may
// contain "|"; store names cannot (ValidStore), and channels, variant and
// segment names are checked by the configuration.
func (m MessageKey) String() string {
	v := m.Variant
	if v == "" {
		v = BaseVariant
	}
	step := strconv.Itoa(m.Step)
	if m.Segment != "" {
		step = m.Segment + "/" + step
	}
	return step + "|" + string(m.Channel) + "|" + v + "|" + m.Store + "|" + m.Cart
}

// ParseMessageKey parses String's form.
func ParseMessageKey(s string) (MessageKey, error) {
	p := strings.SplitN(s, "|", 5)
	if len(p) != 5 || p[1] == "" || p[3] == "" || p[4] == "" {
		return MessageKey{}, fmt.Errorf("message key %q: want step|channel|variant|store|cart", s)
	}
	seg, n, inSegment := strings.Cut(p[0], "/")
	if !inSegment {
		seg, n = "", p[0]
	} else if !ValidSegmentName(seg) {
		return MessageKey{}, fmt.Errorf("message key %q: segment %q is not a segment name", s, seg)
	}
	step, err := strconv.Atoi(n)
	if err != nil || step < 0 {
		return MessageKey{}, fmt.Errorf("message key %q: step %q is not an index", s, p[0])
	}
	return MessageKey{Step: step, Channel: Channel(p[1]), Variant: p[2], Store: p[3], Cart: p[4], Segment: seg}, nil
}

// Field is the cart hash field of a slot with the given one-letter kind
// ("m" send state, "k" first click): "m:<step>:<channel>".
func (s Slot) Field(kind string) string {
	return kind + ":" + strconv.Itoa(s.Step) + ":" + string(s.Channel)
}

// ParseSlotField parses Field's form; ok is false for any other field.
func ParseSlotField(f string) (kind string, s Slot, ok bool) {
	kind, rest, ok := strings.Cut(f, ":")
	if !ok || len(kind) != 1 {
		return "", Slot{}, false
	}
	n, ch, ok := strings.Cut(rest, ":")
	step, err := strconv.Atoi(n)
	if !ok || err != nil || ch == "" {
		return "", Slot{}, false
	}
	return kind, Slot{Step: step, Channel: Channel(ch)}, true
}

// String is "<step>:<channel>", as the timeline shows it.
func (s Slot) String() string { return strconv.Itoa(s.Step) + ":" + string(s.Channel) }

// ChannelNames are chs as strings (for joining and for the templates).
func ChannelNames(chs []Channel) []string {
	out := make([]string, len(chs))
	for i, c := range chs {
		out[i] = string(c)
	}
	return out
}
