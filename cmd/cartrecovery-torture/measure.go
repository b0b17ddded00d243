package main

// Measurement: everything here reads what the service left outside itself
// — the messages the SMTP server received and the cart hashes in Redis —
// and turns them into counts. Nothing here posts, kills or waits.

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
)

// cartPlan is what a scenario did to one cart and what it must see.
type cartPlan struct {
	Scenario  string
	Store, ID string
	Email     string   // the address the cart's reminders must go to
	Stale     []string // addresses of overwritten or replayed content: must receive nothing
	Phone     string   // grepped for in the logs
	FirstName string   // when set, the To display name must decode to it
	// StopAck is when the client got the 2xx of an order (or delete) that
	// must stop this cart: no reminder may start after it.
	StopAck time.Time
	// MayFail marks a recipient the SMTP server rejects: recorded failures
	// are legitimate.
	MayFail bool
	// MustDeliver: every step not legitimately skipped must be delivered
	// (hostile names).
	MustDeliver bool
	// NoSend: the cart must get no reminder at all (too old).
	NoSend bool
}

func (p *cartPlan) key() string { return prefix + "{" + p.Store + "}:cart:" + p.ID }

// messageID is the service's deterministic Message-ID for (cart, step,
// email): hex(sha256("store/cart/step/email")[:12]) @ the From domain. If
// the service changes it, messages are matched by recipient and arrival
// order instead (Metrics.UnmatchedIDs says so).
func (p *cartPlan) messageID(step int) string {
	h := sha256.Sum256([]byte(p.Store + "/" + p.ID + "/" + strconv.Itoa(step) + "/email"))
	_, domain, _ := strings.Cut(fromAddress, "@")
	return hex.EncodeToString(h[:12]) + "@" + domain
}

// sendRecord is one parsed cart hash field m:<step>:email.
type sendRecord struct {
	Kind    string // "", claimed, sent, failed, skipped
	ClaimMs int64  // when the claim was taken (0 = unknown)
	Detail  string
}

// parseRecord reads "claimed|ts", "sent|fin|claim|detail",
// "failed|fin|claim|detail", "skipped|ts|ts|reason" (and the older
// "outcome|ts|detail").
func parseRecord(v string) sendRecord {
	if v == "" {
		return sendRecord{}
	}
	parts := strings.SplitN(v, "|", 4)
	r := sendRecord{Kind: parts[0]}
	switch {
	case r.Kind == "claimed" && len(parts) >= 2:
		r.ClaimMs, _ = strconv.ParseInt(parts[1], 10, 64)
	case len(parts) == 4:
		if n, err := strconv.ParseInt(parts[2], 10, 64); err == nil {
			r.ClaimMs, r.Detail = n, parts[3]
		} else {
			r.Detail = parts[2] + "|" + parts[3]
		}
	case len(parts) == 3:
		r.Detail = parts[2]
	}
	return r
}

func (r sendRecord) unknown() bool {
	return r.Kind == "failed" && strings.HasPrefix(strings.ToLower(r.Detail), "unknown")
}

// final: the slot has an outcome (or a stop) the service will not change.
func (r sendRecord) final() bool {
	return r.Kind == "sent" || r.Kind == "failed" || r.Kind == "skipped"
}

// snapshot is the cart hashes read from Redis (absent carts are missing).
type snapshot map[string]map[string]string

// stopped: the cart ended (order, delete) or is too old to message, so a
// step without a record is legitimately not sent.
// A cart that must get nothing (NoSend) and was never stored (its event was
// rightly refused) is stopped too.
func stopped(p *cartPlan, h map[string]string) bool {
	if h == nil {
		return p.NoSend
	}
	return h["st"] == "ordered" || h["st"] == "deleted" || h["old"] == "1"
}

// msgIndex attributes SMTP messages to (cart, step).
type msgIndex struct {
	byID   map[string]slotRef
	byAddr map[string]*cartPlan
	stale  map[string]*cartPlan
}

type slotRef struct {
	plan *cartPlan
	step int
}

func newIndex(plans []*cartPlan) *msgIndex {
	x := &msgIndex{byID: map[string]slotRef{}, byAddr: map[string]*cartPlan{}, stale: map[string]*cartPlan{}}
	for _, p := range plans {
		for s := range steps {
			x.byID[p.messageID(s)] = slotRef{p, s}
		}
		x.byAddr[strings.ToLower(p.Email)] = p
		for _, a := range p.Stale {
			x.stale[strings.ToLower(a)] = p
		}
	}
	return x
}

// attributed is the messages of each slot, oldest MailAt first.
type attributed struct {
	slots      map[slotRef][]smtptest.Received
	toStale    map[*cartPlan]int // messages to an address the cart no longer has
	unmatched  int               // attributed by recipient, not by Message-ID
	unassigned int               // no cart of this run
}

func (x *msgIndex) attribute(msgs []smtptest.Received) attributed {
	a := attributed{slots: map[slotRef][]smtptest.Received{}, toStale: map[*cartPlan]int{}}
	sorted := append([]smtptest.Received(nil), msgs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].MailAt.Before(sorted[j].MailAt) })
	// fallback: a cart's distinct unknown Message-IDs in arrival order are its steps
	rank := map[*cartPlan]map[string]int{}
	for _, m := range sorted {
		to := ""
		if len(m.To) > 0 {
			to = strings.ToLower(m.To[0])
		}
		if p := x.stale[to]; p != nil {
			a.toStale[p]++
		}
		if ref, ok := x.byID[m.MessageID]; ok {
			a.slots[ref] = append(a.slots[ref], m)
			continue
		}
		p := x.byAddr[to]
		if p == nil {
			p = x.stale[to]
		}
		if p == nil {
			a.unassigned++
			continue
		}
		a.unmatched++
		if rank[p] == nil {
			rank[p] = map[string]int{}
		}
		s, ok := rank[p][m.MessageID]
		if !ok {
			s = len(rank[p])
			rank[p][m.MessageID] = s
		}
		ref := slotRef{p, s}
		a.slots[ref] = append(a.slots[ref], m)
	}
	return a
}

// Metrics are the counts of one scenario (or the total).
type Metrics struct {
	Carts    int
	Expected int // carts × steps
	Sent     int // slots with at least one message at the SMTP server
	Dup      int // extra messages with a Message-ID already received
	Late     int // messages whose MAIL FROM came after the stopping order's 2xx
	Unknown  int // records failed|…|unknown… in Redis
	Silent   int // records still claimed|… at the end
	Failed   int // recorded failures (not unknown), not delivered
	Skipped  int // recorded skips or a stopped cart, not delivered
	Lost     int // no message, no record, cart not stopped

	UnknownUndelivered int // unknown and not at the SMTP server
	SilentUndelivered  int
	FailedUnplanned    int // failures of recipients the server accepts

	Stale       int // messages to overwritten/replayed content
	NoSendSent  int // carts that must get nothing but got messages
	Undelivered int // MustDeliver slots not delivered
	Mangled     int // To display names that do not decode to the first name
	TooClose    int // consecutive steps closer than their configured spacing
	Unmatched   int // messages matched by recipient, not by Message-ID
	Unassigned  int

	Gaps []time.Duration // claim → MAIL FROM, per sent slot
}

// measure counts plans against what the SMTP server and Redis hold.
func measure(plans []*cartPlan, snap snapshot, a attributed) Metrics {
	var m Metrics
	for _, p := range plans {
		m.Carts++
		h := snap[p.key()]
		m.Stale += a.toStale[p]
		var prevMail time.Time
		got := 0
		for s := range steps {
			m.Expected++
			msgs := a.slots[slotRef{p, s}]
			rec := parseRecord(h["m:"+strconv.Itoa(s)+":email"])
			delivered := len(msgs) > 0
			got += len(msgs)
			if len(msgs) > 1 {
				m.Dup += len(msgs) - 1
			}
			if !p.StopAck.IsZero() {
				for _, msg := range msgs {
					if msg.MailAt.After(p.StopAck) {
						m.Late++
					}
				}
			}
			if rec.unknown() {
				m.Unknown++
			}
			if rec.Kind == "claimed" {
				m.Silent++
			}
			switch {
			case delivered:
				m.Sent++
			case rec.unknown():
				m.UnknownUndelivered++
			case rec.Kind == "claimed":
				m.SilentUndelivered++
			case rec.Kind == "failed":
				m.Failed++
				if !p.MayFail {
					m.FailedUnplanned++
				}
			case rec.Kind == "skipped" || (rec.Kind == "" && stopped(p, h)):
				m.Skipped++
			default:
				m.Lost++
			}
			if p.MustDeliver && !delivered && rec.Kind != "skipped" && !(rec.Kind == "" && stopped(p, h)) {
				m.Undelivered++
			}
			if delivered {
				first := msgs[0]
				if rec.Kind == "sent" && rec.ClaimMs > 0 {
					m.Gaps = append(m.Gaps, first.MailAt.Sub(time.UnixMilli(rec.ClaimMs)))
				}
				if s > 0 && !prevMail.IsZero() && first.MailAt.Sub(prevMail) < steps[s]-steps[s-1]-250*time.Millisecond {
					m.TooClose++
				}
				prevMail = first.MailAt
				if p.FirstName != "" {
					for _, msg := range msgs {
						if !nameMatches(msg, p.FirstName) {
							m.Mangled++
						}
					}
				}
			}
		}
		if p.NoSend && got > 0 {
			m.NoSendSent++
		}
	}
	return m
}

// nameMatches: the To header parses and its display name decodes to name.
func nameMatches(r smtptest.Received, name string) bool {
	msg, err := mail.ReadMessage(strings.NewReader(string(r.Data)))
	if err != nil {
		return false
	}
	to, err := msg.Header.AddressList("To")
	return err == nil && len(to) == 1 && to[0].Name == name
}

// add sums counts (for the total column).
func (m *Metrics) add(o Metrics) {
	m.Carts += o.Carts
	m.Expected += o.Expected
	m.Sent += o.Sent
	m.Dup += o.Dup
	m.Late += o.Late
	m.Unknown += o.Unknown
	m.Silent += o.Silent
	m.Failed += o.Failed
	m.Skipped += o.Skipped
	m.Lost += o.Lost
	m.UnknownUndelivered += o.UnknownUndelivered
	m.SilentUndelivered += o.SilentUndelivered
	m.FailedUnplanned += o.FailedUnplanned
	m.Stale += o.Stale
	m.NoSendSent += o.NoSendSent
	m.Undelivered += o.Undelivered
	m.Mangled += o.Mangled
	m.TooClose += o.TooClose
	m.Unmatched += o.Unmatched
	m.Unassigned += o.Unassigned
	m.Gaps = append(m.Gaps, o.Gaps...)
}

// percentile of d by nearest rank (q in (0,1]); 0 when empty.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// pending counts slots whose outcome may still change: no record on a
// live cart, or a claim younger than silentAfter.
func pending(plans []*cartPlan, snap snapshot, now time.Time, silentAfter time.Duration) int {
	n := 0
	for _, p := range plans {
		h := snap[p.key()]
		for s := range steps {
			rec := parseRecord(h["m:"+strconv.Itoa(s)+":email"])
			switch {
			case rec.final():
			case rec.Kind == "claimed":
				if now.Sub(time.UnixMilli(rec.ClaimMs)) < silentAfter {
					n++
				}
			case stopped(p, h):
			default:
				n++
			}
		}
	}
	return n
}
