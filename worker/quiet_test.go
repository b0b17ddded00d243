package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/report"
	"github.com/cartrecovery/cartrecovery/tenant"
)

// TestQuietHoursHoldSMSUntilTheyEnd runs a step with email and SMS while
// the customer's quiet hours hold SMS back: the email goes, the SMS waits,
// the cart stays on the step, and when the window is over the SMS alone is
// sent and the sequence moves on. A customer in a zone where it is daytime
// gets both at once.
func TestQuietHoursHoldSMSUntilTheyEnd(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour, 24*time.Hour))
	// the second step is due a day from now: quiet hours from an hour
	// before to an hour after, in the customer's zone
	due := b.clock.Now().Add(24 * time.Hour).UTC()
	minutes := func(t time.Time) int { return t.Hour()*60 + t.Minute() }
	end := due.Add(time.Hour)
	b.rules.QuietHours = recovery.QuietHours{On: true, Start: minutes(due.Add(-time.Hour)), End: minutes(end), Channels: []recovery.Channel{"sms"}}
	b.startWorker()
	ctx := context.Background()

	b.ingest(cart("night", b.clock.Now())) // no time zone: the store's (UTC), inside the window
	day := cart("day", b.clock.Now())
	day.Customer.Timezone = "Asia/Tokyo" // UTC+9: outside a two-hour window around the due time
	b.ingest(day)

	b.advance(24 * time.Hour)
	if b.email.count("default/night/1/email") != 1 || b.email.count("default/day/1/email") != 1 {
		t.Fatalf("step 2 email sent %d and %d times, want once to each cart",
			b.email.count("default/night/1/email"), b.email.count("default/day/1/email"))
	}
	if n := b.sms.count("default/day/1/sms"); n != 1 {
		t.Fatalf("the daytime customer's sms sent %d times, want 1", n)
	}
	if n := b.sms.count("default/night/1/sms"); n != 0 {
		t.Fatalf("sms sent %d times inside quiet hours", n)
	}
	c := b.load("night")
	if c.Step != 1 {
		t.Fatalf("cart moved to step %d while its sms waits", c.Step)
	}
	// the hold is on the cart when it happens (its timeline shows it)
	if h := c.Holds[recovery.Slot{Step: 1, Channel: "sms"}]; !h.Until.Equal(end) || !h.At.Equal(due) || len(c.Holds) != 1 {
		t.Fatalf("holds %v, want step 1's sms held at %v until %v", c.Holds, due, end)
	}
	if len(b.load("day").Holds) != 0 {
		t.Fatal("the daytime customer's sms was noted as held")
	}
	next, ok, err := b.store.NextDue(ctx, "default", "night")
	if err != nil || !ok || !next.Equal(end) {
		t.Fatalf("next run at %v (ok %v, err %v), want the end of quiet hours, %v", next, ok, err, end)
	}

	b.advance(time.Hour - time.Minute)
	if n := b.sms.count("default/night/1/sms"); n != 0 {
		t.Fatalf("sms sent %d times a minute before quiet hours end", n)
	}
	b.advance(time.Minute) // the end of quiet hours
	if n := b.sms.count("default/night/1/sms"); n != 1 {
		t.Fatalf("sms sent %d times after quiet hours, want 1", n)
	}
	if c := b.load("night"); c.Step != 2 {
		t.Fatalf("cart on step %d after its sms, want the sequence done (2)", c.Step)
	}
	if n := b.email.count("default/night/1/email"); n != 1 {
		t.Errorf("step 2 email sent %d times", n)
	}
}

// TestCooldownSkipsTheCustomersOtherCart: one customer leaves two carts due
// at about the same time; one is reminded, the other's reminder is skipped
// for the cooldown and its sequence moves on. Which one goes first is the
// workers' race; that only one goes is the claim's guarantee.
func TestCooldownSkipsTheCustomersOtherCart(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour), func(_ *redis.Options, r *tenant.Rules) { r.Cooldown = time.Hour })
	b.startWorker()
	ca, cb := cart("a", b.clock.Now()), cart("b", b.clock.Now())
	cb.Customer.Email = ca.Customer.Email
	b.ingest(ca)
	b.ingest(cb)
	b.advance(time.Hour)
	sent, skipped := 0, 0
	for _, id := range []string{"a", "b"} {
		n := b.email.count("default/" + id + "/0/email")
		cs := b.load(id)
		o, _, d := cs.Sends[recovery.Slot{Step: 0, Channel: "email"}].Split()
		switch {
		case cs.Step != 1:
			t.Errorf("cart %s on step %d, want 1", id, cs.Step)
		case n == 1 && o == recovery.OutcomeSent:
			sent++
		case n == 0 && o == recovery.OutcomeSkipped && d == recovery.ReasonCooldown:
			skipped++
		default:
			t.Errorf("cart %s: sent %d times, outcome %q %q", id, n, o, d)
		}
	}
	if sent != 1 || skipped != 1 {
		t.Errorf("%d sent and %d skipped for cooldown, want one of each", sent, skipped)
	}
}

// TestABVariants runs a step with a variant b (its own template and
// discount) for half the carts: each cart gets the version PickVariant
// chose, its counters and clicks are kept under that variant, and the
// report by variant splits the step.
func TestABVariants(t *testing.T) {
	parallel(t)
	st := steps(time.Hour)
	st[0].Variants = []recovery.Variant{{Name: "b", Template: "last-chance", Weight: 50, Discount: recovery.Discount{Code: "BTEST", Label: "15% off"}}}
	b := setup(t, st)
	b.startWorker()
	const n = 40
	for i := range n {
		b.ingest(cart(fmt.Sprintf("v%02d", i), b.clock.Now()))
	}
	b.advance(time.Hour)
	if got := len(b.email.all()); got != n {
		t.Fatalf("%d reminders, want one to each of %d carts", got, n)
	}
	want := map[string]int64{}
	for i := range n {
		id := fmt.Sprintf("v%02d", i)
		v := st[0].PickVariant("default", id)
		want[v.Name]++
		var got sent
		for _, s := range b.email.all() {
			if s.ID == "default/"+id+"/0/email" {
				got = s
			}
		}
		// b: last-chance's template with code BTEST; a: the step's own, no code
		if (v.Name == "b") != strings.HasPrefix(got.Subject, "Last reminder") || (v.Name == "b") != strings.Contains(got.Text, "BTEST") {
			t.Errorf("cart %s (variant %s) got %q with code BTEST %v", id, v.Name, got.Subject, strings.Contains(got.Text, "BTEST"))
		}
	}
	if want["a"] == 0 || want["b"] == 0 {
		t.Fatalf("assignment %v: the test needs both variants", want)
	}
	r := reportBy(t, b.store, "variant", st, b.clock.Now())
	rows := map[string]int64{}
	for _, row := range r.Rows {
		rows[row.Key] = row.Sent
	}
	if rows["first-reminder/a"] != want["a"] || rows["first-reminder/b"] != want["b"] {
		t.Errorf("report by variant %v, sent %v", rows, want)
	}
}

// reportBy builds the report of the days around now (the store's clock).
func reportBy(t *testing.T, st *redis.Store, by string, steps []recovery.Step, now time.Time) report.Report {
	t.Helper()
	ctx := context.Background()
	stores, err := st.Stores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now = now.UTC()
	from, to := now.AddDate(0, 0, -1), now.AddDate(0, 0, 1)
	c, err := st.Counters(ctx, stores, report.Days(from, to))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.Name
	}
	r, err := report.Build(c, report.Query{From: from, To: to, By: by, Steps: names})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
