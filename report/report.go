// Package report turns the pre-aggregated counters into recovery reports:
// totals, rows by step, channel, variant, day, store or segment, the A/B
// tests of the steps with variants, the holdout lift, and a summary per
// segment. It reads counters only (stores x days hashes), never carts.
//
// Segments. A cart belongs to one segment, chosen at its first event (the
// default sequence, named recovery.DefaultSegment in reports, when none).
// The steps of a segment are counted under their qualified name
// ("segment/step"), so message and step counters belong to one segment.
// The cart-level counters and the revenue by currency are counted once for
// every cart, and a second time for the carts of a segment, as the
// segment's copy ("recovered@vip"): totals skip the copies, and the
// default sequence's figures are the totals less every segment's copy.
package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Dimensions a report can be broken down by.
var Dimensions = []string{"step", "channel", "variant", "day", "store", "segment"}

// Report is the JSON shape of `report --format json` and GET /api/report.
type Report struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	By      string  `json:"by"`
	Totals  Totals  `json:"totals"`
	Rows    []Row   `json:"rows"`
	Holdout Holdout `json:"holdout"`
	// Experiments are the A/B tests: one per step with more than one
	// variant in the counters, in sequence order; never null.
	Experiments []Experiment `json:"experiments"`
	// Segments sum up each segment's carts, default sequence first; never
	// null, empty when the range has no counter of a segment.
	Segments []SegmentSummary `json:"segments"`
}

// SegmentSummary is one segment's carts (treated group), and its holdout
// group compared with them. Key is the segment's name, or
// recovery.DefaultSegment for the default sequence, whose figures are the
// totals less those of every segment.
type SegmentSummary struct {
	Key              string            `json:"key"`
	Carts            int64             `json:"carts"`
	Abandoned        int64             `json:"abandoned"`
	Reminded         int64             `json:"reminded"`
	Clicked          int64             `json:"clicked"` // carts with at least one click
	Recovered        int64             `json:"recovered"`
	RecoveryRate     float64           `json:"recovery_rate"` // recovered ÷ abandoned
	RecoveredRevenue map[string]string `json:"recovered_revenue"`
	// Holdout is the segment's control group: lift = the segment's
	// recovery rate − its holdout conversion rate, as Report.Holdout.
	Holdout Holdout `json:"holdout"`
}

// Totals are over the treated group (customers not in the holdout).
type Totals struct {
	Carts            int64             `json:"carts"`
	Abandoned        int64             `json:"abandoned"`
	Reminded         int64             `json:"reminded"`
	Clicked          int64             `json:"clicked"` // carts with at least one click (rows count clicked messages)
	Recovered        int64             `json:"recovered"`
	RecoveryRate     float64           `json:"recovery_rate"`
	RecoveredRevenue map[string]string `json:"recovered_revenue"`
	// RecoveredAfterClick counts recovered carts whose customer clicked a
	// reminder link.
	RecoveredAfterClick int64 `json:"recovered_after_click"`
	// ConvertedBeforeReminder counts orders on carts never reminded.
	ConvertedBeforeReminder int64 `json:"converted_before_reminder"`
	// ConvertedAfterWindow counts orders on reminded carts that came after
	// the attribution window: not credited.
	ConvertedAfterWindow int64 `json:"converted_after_window"`
	Orders               int64 `json:"orders"`
	// VerifiedOrdered counts orders found by the check with the platform
	// right before a send, whose webhook had not come (included in Orders).
	VerifiedOrdered int64 `json:"verified_ordered"`
	// CodesIssued counts unique discount codes registered with a platform;
	// CodesRedeemed those an order carried.
	CodesIssued   int64 `json:"codes_issued"`
	CodesRedeemed int64 `json:"codes_redeemed"`
	// CreditedByClick counts the recoveries credited by the click rule:
	// to the last message the customer clicked within the attribution
	// window, rather than to the last message sent (included in Recovered).
	CreditedByClick int64 `json:"credited_by_click"`
	// SkipReasons counts skipped messages by reason code (recovery.SkipCode:
	// no_email, no_sms_consent, cooldown, ... "other"), and under
	// "quiet_hours" the messages held by quiet hours (not skipped: sent
	// when they end, each counted once). Never null.
	SkipReasons map[string]int64 `json:"skip_reasons"`
	// AverageRecoveredOrder is, per currency, the recovered revenue ÷ the
	// recovered carts whose order was in that currency, as a decimal string
	// rounded half up to the currency's minor unit (integer arithmetic).
	// Only currencies with such carts; days recorded before that count
	// existed are left out of both sides.
	AverageRecoveredOrder map[string]string `json:"average_recovered_order"`
}

// Row is one value of the breakdown.
type Row struct {
	Key    string `json:"key"`
	Sent   int64  `json:"sent"`
	Failed int64  `json:"failed"`
	// Unknown counts the failed messages whose outcome is unknown (the
	// provider may have taken them, or their worker died mid-send); they
	// are not resent.
	Unknown          int64             `json:"unknown"`
	Skipped          int64             `json:"skipped"`
	Clicked          int64             `json:"clicked"`
	Recovered        int64             `json:"recovered"`
	RecoveredRevenue map[string]string `json:"recovered_revenue"`
	// Delivered and Undelivered count the providers' delivery receipts
	// (SMS through Twilio): a sent message has at most one of them.
	Delivered   int64 `json:"delivered"`
	Undelivered int64 `json:"undelivered"`
	// Unique discount codes of the row's step (not by channel: one code
	// serves every channel of a step).
	CodesIssued   int64 `json:"codes_issued"`
	CodesRedeemed int64 `json:"codes_redeemed"`
	// Reached counts carts that got at least one message of the row's step
	// (any channel), on the day of the first: by step (all variants), by
	// step/variant, and by day, store or segment summed over the steps (a cart
	// reached by two steps counts twice). Always 0 by channel: like the
	// codes, reached is per step, not per channel (a cart reminded by
	// email and SMS is one cart).
	Reached int64 `json:"reached"`
}

// Holdout compares the treated group with the control group that got no
// messages. Lift = recovery rate − holdout conversion rate, with a 95%
// confidence interval (normal approximation for a difference of
// proportions); null while either group has no abandoned cart.
type Holdout struct {
	Carts          int64    `json:"carts"`
	Abandoned      int64    `json:"abandoned"`
	Converted      int64    `json:"converted"`
	ConversionRate float64  `json:"conversion_rate"`
	Lift           *float64 `json:"lift"`
	LiftLow        *float64 `json:"lift_ci95_low"`
	LiftHigh       *float64 `json:"lift_ci95_high"`
}

// Query selects the days (inclusive, UTC dates) and the breakdown.
type Query struct {
	From, To time.Time
	By       string
	Stores   []string // empty: all
	// Steps are the configured steps' qualified names (recovery.QualifiedStep:
	// the default sequence's, then each segment's), in config order: the
	// row order for by=step.
	Steps []string
	// Segments are the configured segments' names, in config order: the
	// order of the segments after the default sequence (which comes first
	// unless listed, as recovery.DefaultSegment), for by=segment and in
	// Report.Segments. Segments no longer configured follow, by name.
	// Empty: by name.
	Segments []string
}

// ParseRange reads --since Nd (or Nh, rounded up to days) or --from/--to
// YYYY-MM-DD into an inclusive range of UTC days ending today.
func ParseRange(since, from, to string, now time.Time) (time.Time, time.Time, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	if from != "" || to != "" {
		if since != "" && since != "30d" {
			return time.Time{}, time.Time{}, fmt.Errorf("since: use either since or from/to")
		}
		// A missing end is today; a missing start is 30 days before the end.
		t := today
		var f time.Time
		var err error
		if to != "" {
			if t, err = time.Parse(time.DateOnly, to); err != nil {
				return f, t, fmt.Errorf("to: %q is not a date like 2026-11-30", to)
			}
		}
		f = t.AddDate(0, 0, -29)
		if from != "" {
			if f, err = time.Parse(time.DateOnly, from); err != nil {
				return f, t, fmt.Errorf("from: %q is not a date like 2026-11-01", from)
			}
		}
		if t.Before(f) {
			return f, t, fmt.Errorf("to: %s is before from %s", to, from)
		}
		if t.Sub(f) > 3660*24*time.Hour {
			return f, t, fmt.Errorf("from: range longer than 10 years")
		}
		return f, t, nil
	}
	if since == "" {
		since = "30d"
	}
	n, unit := strings.TrimRight(since, "dh"), strings.TrimLeft(since, "0123456789")
	days, err := strconv.Atoi(n)
	if err != nil || days <= 0 || (unit != "d" && unit != "h") {
		return time.Time{}, time.Time{}, fmt.Errorf("since: %q must look like 30d or 48h", since)
	}
	if unit == "h" {
		days = (days + 23) / 24
	}
	if days > 3660 {
		return time.Time{}, time.Time{}, fmt.Errorf("since: longer than 10 years")
	}
	return today.AddDate(0, 0, -(days - 1)), today, nil
}

// Days lists the UTC dates from..to inclusive.
func Days(from, to time.Time) []string {
	var out []string
	for d := from.UTC().Truncate(24 * time.Hour); !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(time.DateOnly))
	}
	return out
}

type revenue map[string]int64

func (r revenue) strings() map[string]string {
	out := map[string]string{}
	for cur, m := range r {
		out[cur] = money.FromMinor(m, cur)
	}
	return out
}

// segAcc is a segment's copies of the cart-level counters.
type segAcc struct {
	carts, abandoned, reminded, clicked, recovered int64
	hCarts, hAbandoned, hConverted                 int64
	rev                                            revenue
}

// add counts a segment's copy of a counter.
func (a *segAcc) add(c recovery.Counter, n int64) {
	switch c.Kind {
	case recovery.CountTracked:
		a.carts += n
	case recovery.CountAbandoned:
		a.abandoned += n
	case recovery.CountReminded:
		a.reminded += n
	case recovery.CountClickedCarts:
		a.clicked += n
	case recovery.CountRecovered:
		a.recovered += n
	case recovery.CountTrackedHoldout:
		a.hCarts += n
	case recovery.CountAbandonedHoldout:
		a.hAbandoned += n
	case recovery.CountConvertedHoldout:
		a.hConverted += n
	case recovery.CountRevenueTotal:
		a.rev[c.Currency] += n
	}
}

func (a *segAcc) summary(key string) SegmentSummary {
	rev := revenue{}
	for cur, n := range a.rev {
		if n != 0 { // the default sequence's remainder of a currency only segments had
			rev[cur] = n
		}
	}
	s := SegmentSummary{Key: key, Carts: a.carts, Abandoned: a.abandoned, Reminded: a.reminded, Clicked: a.clicked,
		Recovered: a.recovered, RecoveryRate: rate(a.recovered, a.abandoned), RecoveredRevenue: rev.strings(),
		Holdout: Holdout{Carts: a.hCarts, Abandoned: a.hAbandoned, Converted: a.hConverted}}
	s.Holdout.measure(a.recovered, a.abandoned)
	return s
}

// segmentOrder sorts segment names: the default sequence first unless
// q.Segments places it, then q.Segments in order, then the others by name.
func segmentOrder(q Query) func(a, b string) bool {
	rank := map[string]int{}
	if !slices.Contains(q.Segments, recovery.DefaultSegment) {
		rank[recovery.DefaultSegment] = 1
	}
	for _, s := range q.Segments {
		if rank[s] == 0 {
			rank[s] = len(rank) + 1
		}
	}
	return func(a, b string) bool {
		ra, rb := rank[a], rank[b]
		switch {
		case (ra == 0) != (rb == 0):
			return ra != 0
		case ra != rb:
			return ra < rb
		}
		return a < b
	}
}

type rowAcc struct {
	sent, failed, unknown, skipped, clicked, recovered int64
	issued, redeemed, delivered, undelivered, reached  int64
	rev                                                revenue
}

// Build aggregates counters (store → day → counter → value) into a report.
func Build(counters map[string]map[string]map[recovery.Counter]int64, q Query) (Report, error) {
	if q.By == "" {
		q.By = "step"
	}
	if !slices.Contains(Dimensions, q.By) {
		return Report{}, fmt.Errorf("by: %q is not one of %s", q.By, strings.Join(Dimensions, ", "))
	}
	rep := Report{From: q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly), By: q.By}
	tot := revenue{}
	rows := map[string]*rowAcc{}
	row := func(k string) *rowAcc {
		if rows[k] == nil {
			rows[k] = &rowAcc{rev: revenue{}}
		}
		return rows[k]
	}
	switch q.By {
	case "step":
		for _, s := range q.Steps {
			row(s)
		}
	case "day":
		for _, d := range Days(q.From, q.To) {
			row(d)
		}
	case "segment":
		row(recovery.DefaultSegment)
		for _, s := range q.Segments {
			row(s)
		}
	}
	// the row of a message or step counter
	key := func(c recovery.Counter, day, store string) string {
		switch q.By {
		case "step":
			return c.Step
		case "channel":
			return c.Channel
		case "variant": // a variant is a version of one step: rows are "step/variant"
			return c.Step + "/" + c.Variant
		case "day":
			return day
		case "store":
			return store
		}
		if c.Segment == "" {
			return recovery.DefaultSegment
		}
		return c.Segment
	}
	segs := map[string]*segAcc{} // the segments' copies
	seg := func(name string) *segAcc {
		if segs[name] == nil {
			segs[name] = &segAcc{rev: revenue{}}
		}
		return segs[name]
	}
	var h Holdout
	rep.Totals.SkipReasons = map[string]int64{}
	aovRev, aovCarts := revenue{}, map[string]int64{}
	ab := map[string]map[string]*armAcc{} // step → variant
	arm := func(step, variant string) *armAcc {
		if ab[step] == nil {
			ab[step] = map[string]*armAcc{}
		}
		if ab[step][variant] == nil {
			ab[step][variant] = &armAcc{recovered: map[string]int64{}}
		}
		return ab[step][variant]
	}
	firstReached := "" // the first day with a reached count
	wanted := map[string]bool{}
	for _, s := range q.Stores {
		wanted[s] = true
	}
	for store, days := range counters {
		if len(wanted) > 0 && !wanted[store] {
			continue
		}
		for day, fields := range days {
			for c, n := range fields {
				if c.Segment != "" {
					s := seg(c.Segment)
					if c.SegmentCopy() { // the plain counter counts the same carts
						s.add(c, n)
						continue
					}
				}
				if c.Kind == recovery.CountReached {
					if q.By != "channel" { // per step: no channel row
						row(key(c, day, store)).reached += n
					}
					a := arm(c.Step, c.Variant)
					a.reached += n
					a.present = true
					if firstReached == "" || day < firstReached {
						firstReached = day
					}
					continue
				}
				if c.Kind == recovery.CountCodesIssued || c.Kind == recovery.CountCodesRedeemed {
					r := &rowAcc{} // by channel: in the totals only
					if q.By != "channel" {
						r = row(key(c, day, store))
					}
					if c.Kind == recovery.CountCodesIssued {
						r.issued += n
						rep.Totals.CodesIssued += n
					} else {
						r.redeemed += n
						rep.Totals.CodesRedeemed += n
					}
					continue
				}
				if c.Message() {
					r := row(key(c, day, store))
					switch c.Kind {
					case recovery.CountSent:
						r.sent += n
						arm(c.Step, c.Variant).present = true
					case recovery.CountFailed:
						r.failed += n
					case recovery.CountUnknown:
						r.unknown += n
					case recovery.CountSkipped:
						r.skipped += n
					case recovery.CountClicked:
						r.clicked += n
					case recovery.CountRecoveredBy:
						r.recovered += n
						arm(c.Step, c.Variant).recovered[day] += n
					case recovery.CountRevenue:
						r.rev[c.Currency] += n
					case recovery.CountDelivered:
						r.delivered += n
					case recovery.CountUndelivered:
						r.undelivered += n
					}
					continue
				}
				switch c.Kind {
				case recovery.CountTracked:
					rep.Totals.Carts += n
				case recovery.CountTrackedHoldout:
					h.Carts += n
				case recovery.CountAbandoned:
					rep.Totals.Abandoned += n
				case recovery.CountAbandonedHoldout:
					h.Abandoned += n
				case recovery.CountConvertedHoldout:
					h.Converted += n
				case recovery.CountReminded:
					rep.Totals.Reminded += n
				case recovery.CountClickedCarts:
					rep.Totals.Clicked += n
				case recovery.CountRecoveredClicked:
					rep.Totals.RecoveredAfterClick += n
				case recovery.CountConvertedBefore:
					rep.Totals.ConvertedBeforeReminder += n
				case recovery.CountConvertedLate:
					rep.Totals.ConvertedAfterWindow += n
				case recovery.CountOrders:
					rep.Totals.Orders += n
				case recovery.CountVerifiedOrdered:
					rep.Totals.VerifiedOrdered += n
				case recovery.CountRevenueTotal:
					tot[c.Currency] += n
				case recovery.CountRecovered:
					rep.Totals.Recovered += n
				case recovery.CountCreditClick:
					rep.Totals.CreditedByClick += n
				case recovery.CountSkipReason:
					rep.Totals.SkipReasons[c.Reason] += n
				case recovery.CountRecoveredIn:
					// paired with the revenue of the same hash: days written
					// before recc existed have revenue but no count
					aovCarts[c.Currency] += n
					aovRev[c.Currency] += fields[recovery.Counter{Kind: recovery.CountRevenueTotal, Currency: c.Currency}]
				}
			}
		}
	}
	rep.Totals.RecoveredRevenue = tot.strings()
	rep.Totals.AverageRecoveredOrder = map[string]string{}
	for cur, n := range aovCarts {
		if n > 0 {
			rep.Totals.AverageRecoveredOrder[cur] = money.FromMinor(divRound(aovRev[cur], n), cur)
		}
	}
	rep.Totals.RecoveryRate = rate(rep.Totals.Recovered, rep.Totals.Abandoned)
	h.measure(rep.Totals.Recovered, rep.Totals.Abandoned)
	rep.Holdout = h
	rep.Segments = segmentSummaries(segs, rep.Totals, h, tot, q)
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	order := map[string]int{}
	for i, s := range q.Steps {
		order[s] = i + 1
	}
	bySegment := segmentOrder(q)
	sort.Slice(keys, func(i, j int) bool {
		if q.By == "segment" {
			return bySegment(keys[i], keys[j])
		}
		a, b := order[keys[i]], order[keys[j]]
		if q.By == "step" && a != b {
			if a == 0 || b == 0 {
				return a != 0
			}
			return a < b
		}
		return keys[i] < keys[j]
	})
	rep.Rows = []Row{}
	for _, k := range keys {
		r := rows[k]
		rep.Rows = append(rep.Rows, Row{Key: k, Sent: r.sent, Failed: r.failed, Unknown: r.unknown, Skipped: r.skipped,
			Clicked: r.clicked, Recovered: r.recovered, RecoveredRevenue: r.rev.strings(),
			CodesIssued: r.issued, CodesRedeemed: r.redeemed, Delivered: r.delivered, Undelivered: r.undelivered, Reached: r.reached})
	}
	rep.Experiments = experiments(ab, firstReached, order)
	return rep, nil
}

// segmentSummaries sums up each segment's copies, and the default
// sequence's figures: the totals (t, h, rev) less every segment's. None
// when the range has no counter of a segment.
func segmentSummaries(segs map[string]*segAcc, t Totals, h Holdout, rev revenue, q Query) []SegmentSummary {
	out := []SegmentSummary{}
	if len(segs) == 0 {
		return out
	}
	def := &segAcc{carts: t.Carts, abandoned: t.Abandoned, reminded: t.Reminded, clicked: t.Clicked, recovered: t.Recovered,
		hCarts: h.Carts, hAbandoned: h.Abandoned, hConverted: h.Converted, rev: revenue{}}
	for cur, n := range rev {
		def.rev[cur] = n
	}
	names := []string{recovery.DefaultSegment}
	for name, s := range segs {
		names = append(names, name)
		def.carts, def.abandoned, def.reminded, def.clicked, def.recovered = def.carts-s.carts, def.abandoned-s.abandoned,
			def.reminded-s.reminded, def.clicked-s.clicked, def.recovered-s.recovered
		def.hCarts, def.hAbandoned, def.hConverted = def.hCarts-s.hCarts, def.hAbandoned-s.hAbandoned, def.hConverted-s.hConverted
		for cur, n := range s.rev {
			def.rev[cur] -= n
		}
	}
	for _, name := range q.Segments { // configured, even without a cart in the range
		if name != recovery.DefaultSegment && segs[name] == nil {
			names = append(names, name)
		}
	}
	less := segmentOrder(q)
	sort.Slice(names, func(i, j int) bool { return less(names[i], names[j]) })
	for _, name := range names {
		switch {
		case name == recovery.DefaultSegment:
			out = append(out, def.summary(name))
		case segs[name] != nil:
			out = append(out, segs[name].summary(name))
		default:
			out = append(out, (&segAcc{rev: revenue{}}).summary(name))
		}
	}
	return out
}

// measure sets the holdout group's conversion rate, and its lift over the
// treated group's recovery rate (recovered ÷ abandoned) with a 95%
// confidence interval, the normal approximation for a difference of two
// proportions: d ± 1.96·√(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂). No lift while either
// group has no abandoned cart. A rate above 1 (recoveries on days after the
// abandonment, near the range's start) counts as 1 in the interval's width.
func (h *Holdout) measure(recovered, abandoned int64) {
	h.ConversionRate = rate(h.Converted, h.Abandoned)
	h.Lift, h.LiftLow, h.LiftHigh = nil, nil, nil
	if h.Abandoned <= 0 || abandoned <= 0 {
		return
	}
	p1, n1 := rate(recovered, abandoned), float64(abandoned)
	p2, n2 := h.ConversionRate, float64(h.Abandoned)
	variance := func(p, n float64) float64 {
		p = math.Max(0, math.Min(1, p))
		return p * (1 - p) / n
	}
	lift := p1 - p2
	se := math.Sqrt(variance(p1, n1) + variance(p2, n2))
	lo, hi := round(lift-z95*se), round(lift+z95*se)
	lift = round(lift)
	h.Lift, h.LiftLow, h.LiftHigh = &lift, &lo, &hi
}

// divRound divides n by d > 0, rounding half away from zero (half up for
// the non-negative amounts of revenue).
func divRound(n, d int64) int64 {
	q, r := n/d, n%d
	switch {
	case r >= 0 && r >= d-r:
		q++
	case r < 0 && -r >= d+r:
		q--
	}
	return q
}

func rate(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return round(float64(n) / float64(d))
}

func round(f float64) float64 { return math.Round(f*10000) / 10000 }

func revenueText(m map[string]string) string { return RevenueText(m, ", ", "-") }

// RevenueText formats revenue per currency as "59.90 EUR<sep>12.00 USD",
// currencies in alphabetical order; none is empty.
func RevenueText(m map[string]string, sep, none string) string {
	curs := make([]string, 0, len(m))
	for c := range m {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	parts := make([]string, len(curs))
	for i, c := range curs {
		parts[i] = m[c] + " " + c
	}
	if len(parts) == 0 {
		return none
	}
	return strings.Join(parts, sep)
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// pts formats a difference of two rates in percentage points.
func pts(f float64) string { return fmt.Sprintf("%+.1f pts", f*100) }

// WriteTable writes the report for a terminal.
func WriteTable(w io.Writer, r Report) error {
	t := r.Totals
	fmt.Fprintf(w, "Recovery report %s to %s (UTC days), by %s\n\n", r.From, r.To, r.By)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "carts\tabandoned\treminded\tclicked\trecovered\trecovery rate\t\n")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%s\t\n", t.Carts, t.Abandoned, t.Reminded, t.Clicked, t.Recovered, pct(t.RecoveryRate))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "recovered revenue: %s\n", revenueText(t.RecoveredRevenue))
	fmt.Fprintf(w, "average recovered order: %s\n", revenueText(t.AverageRecoveredOrder))
	fmt.Fprintf(w, "credited by click: %d of %d recoveries (the others to the last message sent)\n", t.CreditedByClick, t.Recovered)
	fmt.Fprintf(w, "orders: %d (converted before any reminder: %d, after the window: %d, found by the check with the platform: %d)\n",
		t.Orders, t.ConvertedBeforeReminder, t.ConvertedAfterWindow, t.VerifiedOrdered)
	if t.CodesIssued > 0 || t.CodesRedeemed > 0 {
		fmt.Fprintf(w, "unique codes: %d issued, %d redeemed\n", t.CodesIssued, t.CodesRedeemed)
	}
	fmt.Fprintln(w)
	// Keys left-aligned, numbers right-aligned: the key column is padded to
	// its widest value so that right alignment leaves it flush left.
	kw := len(r.By)
	for _, row := range r.Rows {
		kw = max(kw, len(row.Key))
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	codes := t.CodesIssued > 0 || t.CodesRedeemed > 0
	receipts := false
	for _, row := range r.Rows {
		receipts = receipts || row.Delivered+row.Undelivered > 0
	}
	head := "%-*s\tsent\tfailed\tof which unknown\tskipped\tclicked\trecovered\t  recovered revenue"
	if receipts {
		head += "\tdelivered\tundelivered"
	}
	if codes {
		head += "\tcodes issued\tredeemed"
	}
	if receipts || codes {
		head += "\t" // right-aligned to the last column too
	}
	fmt.Fprintf(tw, head+"\n", kw, r.By)
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t%d\t%d\t  %s", kw, row.Key, row.Sent, row.Failed, row.Unknown, row.Skipped, row.Clicked, row.Recovered, revenueText(row.RecoveredRevenue))
		if receipts {
			fmt.Fprintf(tw, "\t%d\t%d", row.Delivered, row.Undelivered)
		}
		if codes {
			fmt.Fprintf(tw, "\t%d\t%d", row.CodesIssued, row.CodesRedeemed)
		}
		if receipts || codes {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeSegments(w, r.Segments); err != nil {
		return err
	}
	if err := writeExperiments(w, r.Experiments); err != nil {
		return err
	}
	writeSkipReasons(w, t.SkipReasons)
	h := r.Holdout
	if h.Carts > 0 {
		fmt.Fprintf(w, "\nholdout: %d carts, %d abandoned, %d converted (%s)", h.Carts, h.Abandoned, h.Converted, pct(h.ConversionRate))
		if h.Lift != nil {
			fmt.Fprintf(w, "; lift %s (95%% CI %s to %s)", pts(*h.Lift), pts(*h.LiftLow), pts(*h.LiftHigh))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// writeSegments writes the by segment section: a line per segment with its
// carts and its lift over its own holdout group.
func writeSegments(w io.Writer, segs []SegmentSummary) error {
	if len(segs) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nby segment (carts; recovery rate = recovered ÷ abandoned; lift vs the segment's holdout, 95%% CI)\n")
	kw := len("segment")
	for _, s := range segs {
		kw = max(kw, len(s.Key))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tcarts\tabandoned\treminded\trecovered\trate\t  recovered revenue\tholdout lift\t95%% CI\t\n", kw, "segment")
	for _, s := range segs {
		lift, ci := "-", "-"
		if h := s.Holdout; h.Lift != nil {
			lift = pts(*h.Lift)
			ci = fmt.Sprintf("%+.1f to %+.1f", *h.LiftLow*100, *h.LiftHigh*100)
		}
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%d\t%d\t%s\t  %s\t%s\t%s\t\n", kw, s.Key, s.Carts, s.Abandoned, s.Reminded, s.Recovered,
			pct(s.RecoveryRate), revenueText(s.RecoveredRevenue), lift, ci)
	}
	return tw.Flush()
}

// writeExperiments writes the A/B tests section: per step its verdict, then
// a line per variant.
func writeExperiments(w io.Writer, exps []Experiment) error {
	if len(exps) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nA/B tests (recovery rate = recovered ÷ carts reached; difference with variant a, 95%% CI)\n")
	for _, e := range exps {
		fmt.Fprintf(w, "\n%s: %s\n", e.Step, e.Verdict)
		kw := len("variant")
		for _, v := range e.Variants {
			kw = max(kw, len(v.Variant))
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-*s\treached\trecovered\trate\tdiff vs a\t95%% CI\t  verdict\n", kw, "variant")
		for _, v := range e.Variants {
			diff, ci := "-", "-"
			if v.Diff != nil {
				diff = pts(*v.Diff)
				ci = fmt.Sprintf("%+.1f to %+.1f", *v.Low*100, *v.High*100)
			}
			fmt.Fprintf(tw, "%-*s\t%d\t%d\t%s\t%s\t%s\t  %s\n", kw, v.Variant, v.Reached, v.Recovered, pct(v.Rate), diff, ci, v.Verdict)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// writeSkipReasons lists the skip reason codes, biggest count first.
func writeSkipReasons(w io.Writer, m map[string]int64) {
	if len(m) == 0 {
		return
	}
	codes := make([]string, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if m[codes[i]] != m[codes[j]] {
			return m[codes[i]] > m[codes[j]]
		}
		return codes[i] < codes[j]
	})
	fmt.Fprintf(w, "\nskipped by reason:\n")
	for _, c := range codes {
		note := ""
		if c == recovery.SkipQuietHours {
			note = " (held, not skipped: sent when quiet hours end)"
		}
		fmt.Fprintf(w, "  %s: %d%s\n", c, m[c], note)
	}
}

// WriteCSV writes one line per row, with the totals as a last "total" row.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	// New columns ("unknown" of failed, then the others) come last, so
	// scripts that read the earlier columns by position keep working.
	_ = cw.Write([]string{r.By, "sent", "failed", "skipped", "clicked", "recovered", "recovered_revenue", "unknown", "codes_issued", "codes_redeemed", "delivered", "undelivered", "reached"})
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	for _, row := range r.Rows {
		_ = cw.Write([]string{row.Key, i(row.Sent), i(row.Failed), i(row.Skipped), i(row.Clicked), i(row.Recovered), revenueText(row.RecoveredRevenue), i(row.Unknown),
			i(row.CodesIssued), i(row.CodesRedeemed), i(row.Delivered), i(row.Undelivered), i(row.Reached)})
	}
	var s, f, u, k, c, dl, ud, re int64
	for _, row := range r.Rows {
		s, f, u, k, c = s+row.Sent, f+row.Failed, u+row.Unknown, k+row.Skipped, c+row.Clicked
		dl, ud, re = dl+row.Delivered, ud+row.Undelivered, re+row.Reached
	}
	// reached is per step: by channel the rows have none, and neither has
	// the total row
	_ = cw.Write([]string{"total", i(s), i(f), i(k), i(c), i(r.Totals.Recovered), revenueText(r.Totals.RecoveredRevenue), i(u),
		i(r.Totals.CodesIssued), i(r.Totals.CodesRedeemed), i(dl), i(ud), i(re)})
	cw.Flush()
	return cw.Error()
}

// Point is one day of the dashboard's series.
type Point struct {
	Day          string            `json:"day"`
	Abandoned    int64             `json:"abandoned"`
	Recovered    int64             `json:"recovered"`
	RecoveryRate float64           `json:"recovery_rate"`
	Revenue      map[string]string `json:"recovered_revenue"`
	revenue      revenue
}

// Daily returns the per-day series (treated group) over q's range.
func Daily(counters map[string]map[string]map[recovery.Counter]int64, q Query) []Point {
	wanted := map[string]bool{}
	for _, s := range q.Stores {
		wanted[s] = true
	}
	idx := map[string]int{}
	var out []Point
	for i, d := range Days(q.From, q.To) {
		idx[d] = i
		out = append(out, Point{Day: d, revenue: revenue{}})
	}
	for store, days := range counters {
		if len(wanted) > 0 && !wanted[store] {
			continue
		}
		for day, fields := range days {
			i, ok := idx[day]
			if !ok {
				continue
			}
			p := &out[i]
			p.Abandoned += fields[recovery.Counter{Kind: recovery.CountAbandoned}]
			p.Recovered += fields[recovery.Counter{Kind: recovery.CountRecovered}]
			for c, n := range fields {
				if c.Kind == recovery.CountRevenueTotal && !c.SegmentCopy() {
					p.revenue[c.Currency] += n
				}
			}
		}
	}
	for i := range out {
		out[i].RecoveryRate = rate(out[i].Recovered, out[i].Abandoned)
		out[i].Revenue = out[i].revenue.strings()
	}
	return out
}

// RevenueMinor returns the minor units of the point's revenue in currency.
func (p Point) RevenueMinor(currency string) int64 { return p.revenue[currency] }
