package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
)

// The measurement must see what it is there to see: a planted duplicate, a
// send after the order, a silent claim, an unknown outcome, a lost step,
// and match messages by recipient when the Message-ID scheme is not known.
func TestMeasureCountsPlantedFaults(t *testing.T) {
	t0 := time.Now()
	plain := &cartPlan{Scenario: "x", Store: "s", ID: "a", Email: "a@example.com"}
	ordered := &cartPlan{Scenario: "x", Store: "s", ID: "b", Email: "b@example.com", StopAck: t0.Add(time.Second)}
	broken := &cartPlan{Scenario: "x", Store: "s", ID: "c", Email: "c@example.com"}
	foreign := &cartPlan{Scenario: "x", Store: "s", ID: "d", Email: "d@example.com"}
	plans := []*cartPlan{plain, ordered, broken, foreign}
	msg := func(p *cartPlan, step int, mailAt time.Time) smtptest.Received {
		return smtptest.Received{To: []string{p.Email}, MailAt: mailAt, At: mailAt.Add(100 * time.Millisecond), MessageID: p.messageID(step)}
	}
	sent := func(claim time.Time) string {
		return fmt.Sprintf("sent|%d|%d|", claim.Add(time.Second).UnixMilli(), claim.UnixMilli())
	}
	msgs := []smtptest.Received{
		msg(plain, 0, t0.Add(3*time.Millisecond)),
		msg(plain, 1, t0.Add(3*time.Second)),
		msg(plain, 1, t0.Add(4*time.Second)), // planted duplicate
		msg(plain, 2, t0.Add(6*time.Second)),
		msg(ordered, 0, t0.Add(500*time.Millisecond)),
		msg(ordered, 1, t0.Add(3*time.Second)), // after the order's 2xx
		msg(broken, 0, t0),
		// another Message-ID scheme: matched by recipient and arrival order
		{To: []string{foreign.Email}, MailAt: t0, MessageID: "x1@elsewhere"},
		{To: []string{foreign.Email}, MailAt: t0.Add(3 * time.Second), MessageID: "x2@elsewhere"},
		{To: []string{foreign.Email}, MailAt: t0.Add(6 * time.Second), MessageID: "x3@elsewhere"},
		{To: []string{"nobody@example.com"}, MailAt: t0, MessageID: "zz@elsewhere"},
	}
	snap := snapshot{
		plain.key(): {"st": "active", "m:0:email": sent(t0), "m:1:email": sent(t0.Add(3 * time.Second)), "m:2:email": sent(t0.Add(6 * time.Second))},
		ordered.key(): {"st": "ordered", "m:0:email": sent(t0.Add(500 * time.Millisecond)),
			"m:1:email": sent(t0.Add(3 * time.Second))},
		broken.key(): {"st": "active", "m:0:email": "failed|1|" + strconv.FormatInt(t0.UnixMilli(), 10) + "|unknown outcome: worker died",
			"m:1:email": "claimed|" + strconv.FormatInt(t0.UnixMilli(), 10)},
		foreign.key(): {"st": "active", "m:0:email": "sent|1|2|", "m:1:email": "sent|1|2|", "m:2:email": "sent|1|2|"},
	}
	att := newIndex(plans).attribute(msgs)
	m := measure(plans, snap, att)
	want := Metrics{Carts: 4, Expected: 12, Sent: 9, Dup: 1, Late: 1, Unknown: 1, Silent: 1, Skipped: 1, Lost: 1}
	got := Metrics{Carts: m.Carts, Expected: m.Expected, Sent: m.Sent, Dup: m.Dup, Late: m.Late, Unknown: m.Unknown,
		Silent: m.Silent, Skipped: m.Skipped, Lost: m.Lost}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("measured\n%+v\nwant\n%+v", got, want)
	}
	if att.unmatched != 3 || att.unassigned != 1 {
		t.Errorf("unmatched %d unassigned %d, want 3 and 1", att.unmatched, att.unassigned)
	}
	// claim → MAIL FROM: 3 ms for the first message (claims are in ms)
	if len(m.Gaps) == 0 || m.Gaps[0] < 3*time.Millisecond || m.Gaps[0] >= 4*time.Millisecond {
		t.Errorf("gaps %v", m.Gaps)
	}
	row := Row{Name: "x", M: m}
	if f := verdict(row); len(f) != 5 { // dup, late, silent, unknown > 0 kills, lost
		t.Errorf("verdict %q", f)
	}
	// the broken cart: unknown (not delivered? it was delivered: sent) and
	// a silent claim not delivered
	if m.SilentUndelivered != 1 {
		t.Errorf("silent undelivered %d", m.SilentUndelivered)
	}
	// pending: the young claim is pending, an old one is not; the ordered
	// cart's missing step is not; the missing step of an active cart is.
	if n := pending(plans, snap, t0.Add(time.Second), 10*time.Second); n != 2 {
		t.Errorf("pending %d, want 2 (young claim, lost step)", n)
	}
	if n := pending(plans, snap, t0.Add(time.Minute), 10*time.Second); n != 1 {
		t.Errorf("pending %d, want 1 (lost step)", n)
	}
}

func TestParseRecord(t *testing.T) {
	for in, want := range map[string]sendRecord{
		"claimed|1700":                  {Kind: "claimed", ClaimMs: 1700},
		"sent|1800|1700|":               {Kind: "sent", ClaimMs: 1700},
		"failed|1800|1700|unknown: x|y": {Kind: "failed", ClaimMs: 1700, Detail: "unknown: x|y"},
		"skipped|1|1|too old":           {Kind: "skipped", ClaimMs: 1, Detail: "too old"},
		"sent|1800|provider id":         {Kind: "sent", Detail: "provider id"},
		"":                              {},
	} {
		if got := parseRecord(in); got != want {
			t.Errorf("parseRecord(%q) = %+v, want %+v", in, got, want)
		}
	}
	if !parseRecord("failed|1|2|unknown outcome").unknown() || parseRecord("failed|1|2|550 rejected").unknown() {
		t.Error("unknown()")
	}
}

func TestPIINeedles(t *testing.T) {
	ps := []*cartPlan{{Email: "qwrtzp.kills.00001@example.com", Phone: "+34 600 123 456"}, {Email: "ñandú.qwrtzp@ejemplo.es"}}
	n := piiNeedles(ps, "qwrtzp")
	want := map[string]bool{"qwrtzp": true, "qwrtzp.kills.00001@example.com": true, "ñandú.qwrtzp@ejemplo.es": true, "ñandú": true,
		"3460012": true, "4600123": true, "6001234": true, "0012345": true, "0123456": true}
	if len(n) != len(want) {
		t.Fatalf("needles %q", n)
	}
	for _, s := range n {
		if !want[s] {
			t.Errorf("unexpected needle %q", s)
		}
	}
	dir := t.TempDir()
	log := dir + "/w.log"
	lines := "to=q***@example.com ok\n" + // a mask: fine
		"to=‹ñandú.***@…›\n" + // half a non-ASCII address
		"err=\"550 <q***@example.com> rejected 346001234\"\n" + // digits of a phone
		"cart=k00001 store=kills\n"
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	got, ex, err := piiInLogs([]string{log, dir + "/absent.log"}, n)
	if err != nil || got != 2 || len(ex) != 2 {
		t.Errorf("PII lines %d %q %v, want 2", got, ex, err)
	}
}
