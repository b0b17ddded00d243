package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/report"
)

// TestQuietHoursHoldSMSUntilTheyEnd runs a step with email and SMS while
// the customer's quiet hours hold SMS back: the email goes, the SMS waits,
// the cart stays on the step, and when the window is over the SMS alone is
// sent and the sequence moves on. A customer in a zone where it is daytime
// gets both at once.
func TestQuietHoursHoldSMSUntilTheyEnd(t *testing.T) {
	h := newHarness(t, steps(100*time.Millisecond, 300*time.Millisecond))
	var skew atomic.Int64
	h.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	now := time.Now().UTC()
	minutes := func(t time.Time) int { return t.Hour()*60 + t.Minute() }
	h.rules.QuietHours = recovery.QuietHours{On: true, Start: minutes(now.Add(-time.Hour)), End: minutes(now.Add(time.Hour)), Channels: []string{"sms"}}
	h.startWorker()
	ctx := context.Background()

	h.ingest(cart("night", time.Now())) // no time zone: the store's (UTC), inside the window
	day := cart("day", time.Now())
	day.Customer.Timezone = "Asia/Tokyo" // UTC+9: outside a two-hour window around now
	h.ingest(day)

	waitFor(t, "step 2 email of both carts", 10*time.Second, func() bool {
		return h.email.count("default/night/1/email") == 1 && h.email.count("default/day/1/email") == 1
	})
	waitFor(t, "the daytime customer's sms", 5*time.Second, func() bool { return h.sms.count("default/day/1/sms") == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := h.sms.count("default/night/1/sms"); n != 0 {
		t.Fatalf("sms sent %d times inside quiet hours", n)
	}
	c := h.load("night")
	if c.Step != 1 {
		t.Fatalf("cart moved to step %d while its sms waits", c.Step)
	}
	due, ok, err := h.store.NextDue(ctx, "default", "night")
	if err != nil || !ok || due.Before(now.Add(55*time.Minute)) || due.After(now.Add(62*time.Minute)) {
		t.Fatalf("next run at %v (ok %v, err %v), want the end of quiet hours near %v", due, ok, err, now.Add(time.Hour))
	}

	// Two hours later (the handler's clock; the due set is moved for the relay).
	skew.Store(int64(2 * time.Hour))
	if err := h.store.Reschedule(ctx, "default", "night", time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sms after quiet hours", 10*time.Second, func() bool { return h.sms.count("default/night/1/sms") == 1 })
	waitFor(t, "sequence done", 5*time.Second, func() bool { return h.load("night").Step == 2 })
	if n := h.email.count("default/night/1/email"); n != 1 {
		t.Errorf("step 2 email sent %d times", n)
	}
}

// TestCooldownSkipsTheCustomersOtherCart: one customer leaves two carts due
// at about the same time; one is reminded, the other's reminder is skipped
// for the cooldown and its sequence moves on. Which one goes first is the
// workers' race; that only one goes is the claim's guarantee.
func TestCooldownSkipsTheCustomersOtherCart(t *testing.T) {
	h := newHarness(t, steps(100*time.Millisecond))
	h.store = redis.NewStore(h.rdb, redis.Options{Prefix: "test:", Delays: []time.Duration{100 * time.Millisecond}, Cooldown: time.Hour})
	h.startWorker()
	a, b := cart("a", time.Now()), cart("b", time.Now())
	b.Customer.Email = a.Customer.Email
	h.ingest(a)
	h.ingest(b)
	waitFor(t, "both carts through their step", 10*time.Second, func() bool { return h.load("a").Step == 1 && h.load("b").Step == 1 })
	sent, skipped := 0, 0
	for _, id := range []string{"a", "b"} {
		n := h.email.count("default/" + id + "/0/email")
		o, _, d := h.load(id).Sends[recovery.Slot{Step: 0, Channel: "email"}].Split()
		switch {
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
	st := steps(100 * time.Millisecond)
	st[0].Variants = []recovery.Variant{{Name: "b", Template: "last-chance", Weight: 50, Discount: recovery.Discount{Code: "BTEST", Label: "15% off"}}}
	h := newHarness(t, st)
	h.store = redis.NewStore(h.rdb, redis.Options{Prefix: "test:", Delays: []time.Duration{100 * time.Millisecond},
		Steps: []string{st[0].Name}})
	h.startWorker()
	const n = 40
	for i := range n {
		h.ingest(cart(fmt.Sprintf("v%02d", i), time.Now()))
	}
	waitFor(t, "every cart through its step", 15*time.Second, func() bool { return len(h.email.all()) == n })
	want := map[string]int64{}
	for i := range n {
		id := fmt.Sprintf("v%02d", i)
		v := st[0].PickVariant("default", id)
		want[v.Name]++
		var got sent
		for _, s := range h.email.all() {
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
	r := reportBy(t, h.store, "variant", st)
	rows := map[string]int64{}
	for _, row := range r.Rows {
		rows[row.Key] = row.Sent
	}
	if rows["first-reminder/a"] != want["a"] || rows["first-reminder/b"] != want["b"] {
		t.Errorf("report by variant %v, sent %v", rows, want)
	}
}

func reportBy(t *testing.T, st *redis.Store, by string, steps []recovery.Step) report.Report {
	t.Helper()
	ctx := context.Background()
	stores, err := st.Stores(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
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
