package recovery

import (
	"hash/fnv"
	"slices"
	"time"
)

// Step is one reminder of a cart's sequence.
type Step struct {
	Name     string
	Delay    time.Duration // from the cart's last activity; strictly increasing
	Channels []Channel
	Template string // base name of its template files
	Discount Discount
	Variants []Variant // A/B test: alternatives to the step's own version (BaseVariant)
}

// Variant is a version of a step's messages, for an A/B test. The step's
// own template and discount are BaseVariant and get the carts the other
// variants' weights leave.
type Variant struct {
	Name     string // b, c, ... (lower-case letters and digits)
	Template string
	Weight   int      // percent of carts, 1-99; all variants together at most 99
	Discount Discount // empty: the step's
}

// BaseVariant names a step's own template and discount.
const BaseVariant = "a"

// PickVariant returns the variant of the step for a cart: a stable hash of
// store, cart and step picks it in proportion to the weights, so every run,
// process and retry agrees without storing the choice.
func (s Step) PickVariant(store, cart string) Variant {
	if len(s.Variants) == 0 {
		return s.VariantNamed(BaseVariant)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(store + "\x00" + cart + "\x00" + s.Name))
	bucket := int(h.Sum32() % 100)
	for _, v := range s.Variants {
		if bucket < v.Weight {
			return s.VariantNamed(v.Name)
		}
		bucket -= v.Weight
	}
	return s.VariantNamed(BaseVariant)
}

// VariantNamed returns the step's variant called name, with the step's
// discount when it has none of its own; the step's own template and
// discount (BaseVariant) for any other name.
func (s Step) VariantNamed(name string) Variant {
	for _, v := range s.Variants {
		if v.Name == name {
			if v.Discount.IsZero() {
				v.Discount = s.Discount
			}
			return v
		}
	}
	return Variant{Name: BaseVariant, Template: s.Template, Discount: s.Discount}
}

// Shop is the shop that messages speak for.
type Shop struct {
	Name     string
	URL      string
	Address  string
	Timezone string // IANA name; quiet hours use it when the customer's is unknown
	// AllowedHosts are hosts (and their subdomains) besides URL's that
	// recovery and item URLs may point to.
	AllowedHosts []string
	// EmailFrom is the sender of the shop's emails ("" the transport's
	// email.from); SMSFrom of its texts, an E.164 number or a Twilio
	// Messaging Service SID ("" sms.twilio's).
	EmailFrom, SMSFrom string
}

// QuietHours is a daily window, in the customer's time zone (else the
// shop's), in which the listed channels send nothing: a reminder that falls
// due inside it waits until the window ends.
type QuietHours struct {
	On         bool
	Start, End int // minutes after local midnight; the window crosses midnight when Start > End
	Channels   []Channel
}

// Applies reports whether quiet hours hold back channel.
func (q QuietHours) Applies(channel Channel) bool {
	return q.On && q.Start != q.End && slices.Contains(q.Channels, channel)
}

// Until reports whether now falls in the window, in loc, and if so the
// instant it ends.
func (q QuietHours) Until(now time.Time, loc *time.Location) (time.Time, bool) {
	if !q.On || q.Start == q.End {
		return time.Time{}, false
	}
	l := now.In(loc)
	m := l.Hour()*60 + l.Minute()
	var quiet bool
	day := 0 // the window ends today, or tomorrow
	if q.Start < q.End {
		quiet = m >= q.Start && m < q.End
	} else {
		quiet = m >= q.Start || m < q.End
		if m >= q.Start {
			day = 1
		}
	}
	if !quiet {
		return time.Time{}, false
	}
	y, mo, d := l.Date()
	return time.Date(y, mo, d+day, q.End/60, q.End%60, 0, 0, loc), true
}
