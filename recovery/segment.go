package recovery

import (
	"math/big"
	"slices"
	"strings"

	"github.com/cartrecovery/cartrecovery/money"
)

// Playbook is what a store runs: its segments, tried in order (the first
// whose conditions match a cart wins), else the default sequence.
type Playbook struct {
	Steps    []Step // the default sequence (top-level sequence)
	Segments []Segment
}

// Segment is a sequence for the carts its conditions match.
type Segment struct {
	Name  string // lower-case letters, digits, - and _
	When  Condition
	Steps []Step
	// Holdout is the percent of the segment's customers kept as a control
	// group; -1 keeps rules.holdout_percent.
	Holdout int
}

// DefaultSegment names the default sequence in reports.
const DefaultSegment = "default"

// Sequence returns the steps of segment: the default sequence for "", none
// for a segment no longer configured (its carts' sequences end, as those
// waiting for a removed step do).
func (p Playbook) Sequence(segment string) []Step {
	if segment == "" || segment == DefaultSegment {
		return p.Steps
	}
	if s, ok := p.Segment(segment); ok {
		return s.Steps
	}
	return nil
}

// Segment returns the segment called name.
func (p Playbook) Segment(name string) (Segment, bool) {
	if name == "" {
		return Segment{}, false
	}
	for _, s := range p.Segments {
		if s.Name == name {
			return s, true
		}
	}
	return Segment{}, false
}

// NeedsHistory reports whether choosing a segment may need to know if the
// customer ordered before (a segment for new or returning customers).
func (p Playbook) NeedsHistory() bool {
	for _, s := range p.Segments {
		if s.When.Customer == CustomerNew || s.When.Customer == CustomerReturning {
			return true
		}
	}
	return false
}

// Choose returns the name of the first segment whose conditions ev
// matches, "" for the default sequence. orderedBefore tells whether an
// order of the customer was seen before in this deployment (with the
// platform's own count, when it gives one, it decides new or returning).
func (p Playbook) Choose(ev Event, orderedBefore bool) string {
	for _, s := range p.Segments {
		if s.When.Match(ev, orderedBefore) {
			return s.Name
		}
	}
	return ""
}

// QualifiedStep names a step in the counters: "segment/step", or the
// step's name alone in the default sequence.
func QualifiedStep(segment, step string) string {
	if segment == "" {
		return step
	}
	return segment + "/" + step
}

// SegmentOf returns the segment of a qualified step name ("" for the
// default sequence).
func SegmentOf(qualified string) string {
	seg, _, ok := strings.Cut(qualified, "/")
	if !ok {
		return ""
	}
	return seg
}

// ValidSegmentName reports whether name can name a segment: 1-40 lower-case
// letters, digits, - and _, and not "default" (the default sequence's
// name in reports).
func ValidSegmentName(name string) bool {
	if len(name) < 1 || len(name) > 40 || name == DefaultSegment {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Customer conditions.
const (
	CustomerAny       = "any"
	CustomerNew       = "new"       // no order known before this cart
	CustomerReturning = "returning" // ordered before (platform count, or an order seen here)
)

// Consent conditions.
const (
	ConsentAny = "any"
	ConsentYes = "yes"
	ConsentNo  = "no"
)

// Condition selects carts. Every condition set must hold; a list holds
// when any of its values does. The zero Condition matches every cart (a
// catch-all). Totals are decimals in the cart's own currency (pair them
// with Currencies when a shop sells in several): MinTotal inclusive,
// MaxTotal exclusive, so [0, 100) and [100, ∞) share no cart. Item counts
// add up quantities; both bounds inclusive.
type Condition struct {
	MinTotal, MaxTotal string
	Currencies         []string // ISO 4217 codes
	MinItems, MaxItems int      // 0: no bound
	Customer           string   // "", any, new, returning
	Stores, Platforms  []string
	// Locales are language tags: "es" matches es, es-ES, es_MX; "es-MX"
	// only es-MX (case and - or _ do not matter).
	Locales   []string
	Countries []string // ISO 3166-1 alpha-2, the customer's billing country
	// SKUs, Products and Tags hold when a line of the cart has one of them.
	SKUs, Products, Tags     []string
	EmailConsent, SMSConsent string // "", any, yes, no
}

// IsZero reports whether the condition matches every cart.
func (c Condition) IsZero() bool {
	return c.MinTotal == "" && c.MaxTotal == "" && len(c.Currencies) == 0 && c.MinItems == 0 && c.MaxItems == 0 &&
		(c.Customer == "" || c.Customer == CustomerAny) && len(c.Stores) == 0 && len(c.Platforms) == 0 &&
		len(c.Locales) == 0 && len(c.Countries) == 0 && len(c.SKUs) == 0 && len(c.Products) == 0 && len(c.Tags) == 0 &&
		(c.EmailConsent == "" || c.EmailConsent == ConsentAny) && (c.SMSConsent == "" || c.SMSConsent == ConsentAny)
}

// Match reports whether ev's cart and customer meet the condition. A
// condition on a value the event does not carry (no locale, no country, a
// total that is not a decimal) does not hold.
func (c Condition) Match(ev Event, orderedBefore bool) bool {
	if c.MinTotal != "" || c.MaxTotal != "" {
		t, ok := decimal(ev.Cart.Total)
		if !ok {
			return false
		}
		if m, ok := decimal(c.MinTotal); ok && t.Cmp(m) < 0 {
			return false
		}
		if m, ok := decimal(c.MaxTotal); ok && t.Cmp(m) >= 0 {
			return false
		}
	}
	if len(c.Currencies) > 0 && !containsFold(c.Currencies, ev.Cart.Currency) {
		return false
	}
	if c.MinItems > 0 || c.MaxItems > 0 {
		n, enough := 0, max(c.MinItems, c.MaxItems)+1
		for _, it := range ev.Cart.Items {
			n += min(max(it.Quantity, 0), enough) // counted no further than the bounds need
			n = min(n, enough)
		}
		if n < c.MinItems || c.MaxItems > 0 && n > c.MaxItems {
			return false
		}
	}
	switch c.Customer {
	case CustomerNew, CustomerReturning:
		returning := orderedBefore || ev.Customer.OrdersKnown && ev.Customer.Orders > 0
		if returning != (c.Customer == CustomerReturning) {
			return false
		}
	}
	if len(c.Stores) > 0 && !slices.Contains(c.Stores, ev.Store) {
		return false
	}
	if len(c.Platforms) > 0 && !slices.Contains(c.Platforms, ev.Platform) {
		return false
	}
	if len(c.Locales) > 0 && !localeMatch(c.Locales, ev.Customer.Locale) {
		return false
	}
	if len(c.Countries) > 0 && !containsFold(c.Countries, ev.Customer.Country) {
		return false
	}
	if len(c.SKUs) > 0 || len(c.Products) > 0 || len(c.Tags) > 0 {
		found := false
		for _, it := range ev.Cart.Items {
			if it.SKU != "" && slices.Contains(c.SKUs, it.SKU) || it.ProductID != "" && slices.Contains(c.Products, it.ProductID) {
				found = true
				break
			}
			for _, t := range it.Tags {
				if containsFold(c.Tags, t) {
					found = true
					break
				}
			}
		}
		if !found {
			return false
		}
	}
	return consentMatch(c.EmailConsent, ev.Customer.EmailConsent) && consentMatch(c.SMSConsent, ev.Customer.SMSConsent)
}

func consentMatch(want string, has bool) bool {
	switch want {
	case ConsentYes:
		return has
	case ConsentNo:
		return !has
	}
	return true
}

// decimal is an amount's value (money.Decimal: never 1/3, 1e9 or 0x10,
// which big.Rat alone would read).
func decimal(s string) (*big.Rat, bool) {
	d, ok := money.ParseDecimal(strings.TrimSpace(s))
	if !ok {
		return nil, false
	}
	return d.Rat(), true
}

func containsFold(list []string, v string) bool {
	if v == "" {
		return false
	}
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// localeMatch: a language alone matches every region of it; a tag with a
// region matches that tag only.
func localeMatch(want []string, locale string) bool {
	l := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(locale), "_", "-"))
	if l == "" {
		return false
	}
	for _, w := range want {
		w = strings.ToLower(strings.ReplaceAll(w, "_", "-"))
		if l == w || !strings.Contains(w, "-") && strings.HasPrefix(l, w+"-") {
			return true
		}
	}
	return false
}

// Overlap reports whether a cart could meet both conditions (a rough test
// for `check`, which notes such pairs: the first segment wins them). It
// compares each condition's own dimension; two conditions that constrain
// different dimensions overlap.
func (c Condition) Overlap(o Condition) bool {
	if !rangesMeet(c.MinTotal, c.MaxTotal, o.MinTotal, o.MaxTotal) {
		return false
	}
	if c.MinItems > 0 && o.MaxItems > 0 && c.MinItems > o.MaxItems || o.MinItems > 0 && c.MaxItems > 0 && o.MinItems > c.MaxItems {
		return false
	}
	if (c.Customer == CustomerNew && o.Customer == CustomerReturning) || (c.Customer == CustomerReturning && o.Customer == CustomerNew) {
		return false
	}
	for _, p := range [][2][]string{{c.Currencies, o.Currencies}, {c.Stores, o.Stores}, {c.Platforms, o.Platforms}, {c.Countries, o.Countries}} {
		if len(p[0]) > 0 && len(p[1]) > 0 && !slices.ContainsFunc(p[0], func(v string) bool { return containsFold(p[1], v) }) {
			return false
		}
	}
	if len(c.Locales) > 0 && len(o.Locales) > 0 && !slices.ContainsFunc(c.Locales, func(v string) bool {
		return localeMatch(o.Locales, v) || localeMatch([]string{v}, o.Locales[0]) || slices.ContainsFunc(o.Locales, func(w string) bool { return localeMatch([]string{v}, w) })
	}) {
		return false
	}
	for _, p := range [][2]string{{c.EmailConsent, o.EmailConsent}, {c.SMSConsent, o.SMSConsent}} {
		if (p[0] == ConsentYes && p[1] == ConsentNo) || (p[0] == ConsentNo && p[1] == ConsentYes) {
			return false
		}
	}
	return true
}

// rangesMeet: [a1, b1) and [a2, b2) share a value ("" is unbounded).
func rangesMeet(a1, b1, a2, b2 string) bool {
	lo := func(x, y string) bool { // x < y, as bounds, "" never
		xr, ok1 := decimal(x)
		yr, ok2 := decimal(y)
		return ok1 && ok2 && xr.Cmp(yr) < 0
	}
	// disjoint when b1 <= a2 or b2 <= a1
	if b1 != "" && a2 != "" && !lo(a2, b1) {
		return false
	}
	if b2 != "" && a1 != "" && !lo(a1, b2) {
		return false
	}
	return true
}
