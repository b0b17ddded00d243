package worker_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/clock"
	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/report"
	"github.com/cartrecovery/cartrecovery/tenant"
	"github.com/cartrecovery/cartrecovery/worker"
)

// sim drives the real Store and Handler on a simulated clock: due carts are
// leased and their tasks run synchronously, as the relay and asynq would.
type sim struct {
	t     *testing.T
	clock *clock.Sim
	store *redis.Store
	h     *worker.Handler
	email *transport
	sms   *transport
	steps []recovery.Step
}

func newSim(t *testing.T, holdout int) *sim {
	st := steps(time.Hour, 24*time.Hour, 72*time.Hour)
	b := setup(t, st, func(o *redis.Options, r *tenant.Rules) {
		o.Prefix, r.Window, r.HoldoutPercent = "sim:", 168*time.Hour, holdout
	})
	return &sim{t: t, clock: b.clock, store: b.store, h: b.handler(), email: b.email, sms: b.sms, steps: st}
}

// advance moves the clock to t and runs every task that became due, each
// at its due time (as a running worker would).
func (s *sim) advance(t time.Time) {
	ctx := context.Background()
	for {
		next := s.step(ctx)
		if next.IsZero() || next.After(t) {
			if !s.clock.Now().Before(t) {
				return
			}
			next = t
		}
		s.clock.Set(next) // never backwards
	}
}

// step runs the tasks due at the clock's time and returns when the next
// cart falls due (zero: none scheduled).
func (s *sim) step(ctx context.Context) time.Time {
	t := s.clock.Now()
	for {
		ds, next, err := s.store.LeaseNext(ctx, t, t.Add(time.Minute), 1000)
		if err != nil {
			s.t.Fatal(err)
		}
		if len(ds) == 0 {
			return next
		}
		for _, d := range ds {
			p := worker.Payload{Store: d.Store, Cart: d.CartID, Step: d.Step, Gen: d.Gen}
			if err := s.h.ProcessTask(ctx, worker.NewTask(p, "q", 3)); err != nil {
				s.t.Fatalf("task %v: %v", p, err)
			}
		}
		if err := s.store.Release(ctx, t.Add(time.Minute), ds); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *sim) ingest(ev recovery.Event) {
	s.t.Helper()
	if _, err := s.store.Ingest(context.Background(), ev); err != nil {
		s.t.Fatal(err)
	}
}

func simCart(store, id, email, cur, total string, at time.Time) recovery.Event {
	return recovery.Event{ID: "u-" + id + at.String(), Platform: "generic", Kind: recovery.CartUpdated, Store: store, OccurredAt: at,
		Cart: recovery.Cart{ID: id, Currency: cur, Total: total, RecoveryURL: "https://shop.example/c/" + id,
			Items: []recovery.Item{{Title: "Thing", Quantity: 1, Price: total}}},
		Customer: recovery.Customer{Email: email, Phone: "+34600000001", EmailConsent: true, SMSConsent: true}}
}

func simOrder(store, cartID, email, cur, total string, at time.Time) recovery.Event {
	return recovery.Event{ID: "o-" + cartID + email + at.String(), Platform: "generic", Kind: recovery.OrderCreated, Store: store,
		OccurredAt: at, Cart: recovery.Cart{ID: cartID}, Customer: recovery.Customer{Email: email},
		Order: recovery.Order{ID: "o-" + cartID, Total: total, Currency: cur}}
}

func (s *sim) report(by string) report.Report {
	s.t.Helper()
	ctx := context.Background()
	stores, _ := s.store.Stores(ctx)
	from, to := day0.AddDate(0, 0, -1), s.clock.Now().AddDate(0, 0, 1)
	c, err := s.store.Counters(ctx, stores, report.Days(from, to))
	if err != nil {
		s.t.Fatal(err)
	}
	r, err := report.Build(c, report.Query{From: from, To: to, By: by, Steps: []string{"first-reminder", "second-reminder", "last-chance"}})
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

func TestAttributionDefinitions(t *testing.T) {
	parallel(t)
	s := newSim(t, 0)
	at := day0
	// a: reminded (step 1 at +1h), then ordered on another device by email
	s.ingest(simCart("s", "a", "ana@example.com", "EUR", "50.00", at))
	// b: ordered 30 min after leaving: before any reminder
	s.ingest(simCart("s", "b", "bob@example.com", "EUR", "20.00", at))
	// c: reminded, ordered after the window
	s.ingest(simCart("s", "c", "cy@example.com", "USD", "70.00", at))
	// d, e: two carts of one customer; the order names e only
	s.ingest(simCart("s", "d", "dee@example.com", "JPY", "3000", at))
	s.ingest(simCart("s", "e", "dee@example.com", "JPY", "5000", at.Add(10*time.Minute)))
	s.advance(at.Add(30 * time.Minute))
	s.ingest(simOrder("s", "b", "bob@example.com", "EUR", "20.00", s.clock.Now()))
	s.advance(at.Add(2 * time.Hour))                                              // first reminders for a, c, d, e
	s.ingest(simOrder("s", "", "ana@example.com", "EUR", "50.00", s.clock.Now())) // cross-device: no cart id
	s.ingest(simOrder("s", "e", "dee@example.com", "JPY", "5000", s.clock.Now())) // names e
	// c's last reminder goes at +72h; its order comes 8 days after that
	s.advance(at.Add(73 * time.Hour))
	s.advance(at.Add(73*time.Hour + 169*time.Hour))
	s.ingest(simOrder("s", "c", "cy@example.com", "USD", "70.00", s.clock.Now()))

	for id, want := range map[string]string{
		"a": "recovered|first-reminder|email|a", "b": "converted_before", "c": "converted_late",
		"e": "recovered|first-reminder|email|a",
	} {
		c, _, _ := s.store.Load(context.Background(), "s", id)
		if c.Attribution != want {
			t.Errorf("cart %s: attribution %q, want %q", id, c.Attribution, want)
		}
	}
	// d: same customer as e, not named by the order: stopped, not credited twice
	d, _, _ := s.store.Load(context.Background(), "s", "d")
	if d.Attribution != "" || len(s.email.all()) == 0 {
		t.Errorf("cart d attribution %q", d.Attribution)
	}
	for _, m := range s.email.all() {
		if strings.HasPrefix(m.ID, "s/d/1") || strings.HasPrefix(m.ID, "s/a/1") || strings.HasPrefix(m.ID, "s/e/1") || strings.HasPrefix(m.ID, "s/b/") {
			t.Errorf("reminder %s after its customer ordered", m.ID)
		}
	}
	r := s.report("step")
	tot := r.Totals
	if tot.Carts != 5 || tot.Abandoned != 4 || tot.Reminded != 4 || tot.Recovered != 2 || tot.ConvertedBeforeReminder != 1 || tot.ConvertedAfterWindow != 1 {
		t.Errorf("totals %+v", tot)
	}
	if tot.RecoveryRate != 0.5 {
		t.Errorf("recovery rate %v, want 0.5 (2 of 4 abandoned)", tot.RecoveryRate)
	}
	if tot.RecoveredRevenue["EUR"] != "50.00" || tot.RecoveredRevenue["JPY"] != "5000" || len(tot.RecoveredRevenue) != 2 {
		t.Errorf("revenue per currency %v", tot.RecoveredRevenue)
	}
	if r.Rows[0].Key != "first-reminder" || r.Rows[0].Recovered != 2 || r.Rows[0].Sent != 4 {
		t.Errorf("first row %+v", r.Rows[0])
	}
}

func TestHoldoutIsNeverMessaged(t *testing.T) {
	parallel(t)
	s := newSim(t, 50)
	var hold, treated []string
	for i := 0; i < 200; i++ {
		id, em := fmt.Sprintf("c%03d", i), fmt.Sprintf("u%03d@example.com", i)
		s.ingest(simCart("s", id, em, "EUR", "10.00", day0))
		if recovery.InHoldout("s", em, 50) {
			hold = append(hold, id)
		} else {
			treated = append(treated, id)
		}
	}
	if len(hold) < 70 || len(treated) < 70 {
		t.Fatalf("split %d/%d is far from 50%%", len(hold), len(treated))
	}
	s.advance(day0.Add(2 * time.Hour))
	for _, id := range hold[:10] { // some holdout customers come back on their own
		s.ingest(simOrder("s", id, "", "EUR", "10.00", s.clock.Now()))
	}
	s.advance(day0.Add(100 * time.Hour))
	for _, m := range append(s.email.all(), s.sms.all()...) {
		for _, id := range hold {
			if strings.HasPrefix(m.ID, "s/"+id+"/") {
				t.Fatalf("holdout cart %s got %s", id, m.ID)
			}
		}
	}
	r := s.report("step")
	if r.Holdout.Carts != int64(len(hold)) || r.Holdout.Abandoned != int64(len(hold)) || r.Holdout.Converted != 10 {
		t.Fatalf("holdout %+v", r.Holdout)
	}
	if r.Totals.Carts != int64(len(treated)) || r.Holdout.Lift == nil || *r.Holdout.LiftLow > *r.Holdout.Lift || *r.Holdout.Lift > *r.Holdout.LiftHigh {
		t.Fatalf("totals %+v holdout %+v", r.Totals, r.Holdout)
	}
}

// TestCountersEqualRecount runs thousands of random carts through the real
// pipeline and checks that the report's counters equal a recount from each
// cart's recorded outcomes.
func TestCountersEqualRecount(t *testing.T) {
	parallel(t)
	const n = 2000
	s := newSim(t, 10)
	rng := rand.New(rand.NewPCG(7, 11))
	type ev struct {
		at time.Time
		do func()
	}
	var evs []ev
	curs := []string{"EUR", "USD", "JPY"}
	for i := 0; i < n; i++ {
		store := []string{"s1", "s2"}[i%2]
		id, email := fmt.Sprintf("c%04d", i), fmt.Sprintf("u%04d@example.com", rng.IntN(n*3/4))
		cur := curs[rng.IntN(3)]
		total := fmt.Sprintf("%d.%02d", 5+rng.IntN(200), rng.IntN(100))
		if cur == "JPY" {
			total = fmt.Sprint(500 + rng.IntN(20000))
		}
		start := day0.Add(time.Duration(rng.IntN(72*60)) * time.Minute)
		if rng.IntN(10) == 0 {
			email = "" // no address: skipped
		}
		evs = append(evs, ev{start, func() { s.ingest(simCart(store, id, email, cur, total, start)) }})
		if rng.IntN(3) == 0 { // an update a bit later
			up := start.Add(time.Duration(rng.IntN(90)) * time.Minute)
			evs = append(evs, ev{up, func() { s.ingest(simCart(store, id, email, cur, total, up)) }})
		}
		if k := rng.IntN(10); k < 6 { // 60% order, at a random time
			at := start.Add(time.Duration(rng.IntN(12*24*60)) * time.Minute)
			cartID := id
			if k == 0 {
				cartID = "" // cross-device: found by email only
			}
			evs = append(evs, ev{at, func() { s.ingest(simOrder(store, cartID, email, cur, total, at)) }})
		}
		if rng.IntN(4) == 0 { // a click some time later (if a message went out)
			at := start.Add(time.Duration(60+rng.IntN(5*24*60)) * time.Minute)
			step := rng.IntN(2)
			evs = append(evs, ev{at, func() {
				c, _, _ := s.store.Load(context.Background(), store, id)
				if o, _, _ := c.Sends[recovery.Slot{Step: step, Channel: "email"}].Split(); o == recovery.OutcomeSent {
					if _, _, err := s.store.Click(context.Background(), recovery.MessageKey{Store: store, Cart: id, Step: step, Channel: "email"}); err != nil {
						t.Fatal(err)
					}
				}
			}})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	s.email.errs = nil
	for _, e := range evs {
		s.advance(e.at)
		e.do()
	}
	s.advance(day0.Add(16 * 24 * time.Hour))

	// recount from the carts
	type key struct{ what, k string }
	want := map[key]int64{}
	for i := 0; i < n; i++ {
		store := []string{"s1", "s2"}[i%2]
		c, ok, err := s.store.Load(context.Background(), store, fmt.Sprintf("c%04d", i))
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if c.Holdout {
			want[key{"holdout", ""}]++
			continue
		}
		want[key{"carts", ""}]++
		if !c.Abandoned.IsZero() {
			want[key{"abandoned", ""}]++
		}
		if !c.Reminded.IsZero() {
			want[key{"reminded", ""}]++
		}
		for sk, raw := range c.Sends {
			o, _, _ := raw.Split()
			step := s.steps[sk.Step].Name
			want[key{string(o), step}]++
		}
		for sk := range c.Clicks {
			want[key{"clicked", s.steps[sk.Step].Name}]++
		}
		if len(c.Clicks) > 0 {
			want[key{"clicked", ""}]++
		}
		if strings.HasPrefix(c.Attribution, "recovered|") {
			want[key{"recovered", strings.Split(c.Attribution, "|")[1]}]++
			want[key{"recovered", ""}]++
			m, _ := money.ToMinor(c.OrderTotal, c.OrderCurrency)
			want[key{"rev", c.OrderCurrency}] += m
		}
	}
	r := s.report("step")
	got := map[key]int64{{"carts", ""}: r.Totals.Carts, {"abandoned", ""}: r.Totals.Abandoned,
		{"reminded", ""}: r.Totals.Reminded, {"recovered", ""}: r.Totals.Recovered, {"holdout", ""}: r.Holdout.Carts,
		{"clicked", ""}: r.Totals.Clicked}
	for cur, v := range r.Totals.RecoveredRevenue {
		m, _ := money.ToMinor(v, cur)
		got[key{"rev", cur}] = m
	}
	for _, row := range r.Rows {
		for what, v := range map[string]int64{"sent": row.Sent, "failed": row.Failed, "skipped": row.Skipped, "clicked": row.Clicked, "recovered": row.Recovered} {
			if v != 0 {
				got[key{what, row.Key}] = v
			}
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %s: counters say %d, recount says %d", k.what, k.k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok && v != 0 {
			t.Errorf("%s %s: counters say %d, recount finds none", k.what, k.k, v)
		}
	}
	t.Logf("%d carts: %d sent emails, totals %+v", n, len(s.email.all()), r.Totals)
	if r.Totals.Recovered == 0 || r.Totals.ConvertedBeforeReminder == 0 || r.Totals.Clicked == 0 || r.Holdout.Carts == 0 {
		t.Fatal("the scenario did not exercise every outcome")
	}
}
