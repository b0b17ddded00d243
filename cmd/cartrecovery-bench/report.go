package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/report"
	"github.com/cartrecovery/cartrecovery/server"
	"github.com/cartrecovery/cartrecovery/tenant"
)

var (
	nReport    = flag.Int("report-carts", 1_000_000, "tracked carts behind the report latency measurement (0 skips it)")
	reportDays = flag.Int("report-days", 90, "days the report carts are spread over")
	nReportRun = flag.Int("report-runs", 200, "report requests timed")
	rounds     = flag.Int("rounds", 3, "alternating rounds of the counters on/off ingest measurement")
)

// benchCounters measures Store.Ingest with the report counters on and off,
// alternating rounds so that drift hits both alike; it returns the median
// round of each.
func benchCounters(ctx context.Context, rdb *goredis.Client) (on, off result, err error) {
	var ons, offs []result
	now := time.Now()
	for r := 0; r < *rounds; r++ {
		for _, counters := range []bool{false, true} {
			_ = rdb.FlushAll(ctx).Err()
			st := redis.NewStore(rdb, redis.Options{Prefix: "cartrecovery:", NoCounters: !counters,
				Policies: recovery.SequenceOf(time.Hour, 24*time.Hour, 72*time.Hour)})
			name := "Store.Ingest, counters off"
			if counters {
				name = "Store.Ingest, counters on"
			}
			res, err := measure(name, *nOps, *conc, func(i int) error {
				_, err := st.Ingest(ctx, twoItemCart(i, now))
				return err
			})
			if err != nil {
				return on, off, err
			}
			if counters {
				ons = append(ons, res)
			} else {
				offs = append(offs, res)
			}
		}
	}
	return median(ons), median(offs), nil
}

// reportFixture is what benchReport built: the population and what the
// report said about it.
type reportFixture struct {
	carts, reminded, held, orders int
	fill                          result
	keys                          int64
	totals                        report.Totals
	holdout                       report.Holdout
}

// benchReport records *nReport carts over *reportDays days and three stores
// through the real Store calls the webhook and the worker make (ingest; for
// one cart in ten, the first reminder sent or held for the holdout and the
// step advanced; for one in fifteen, an order), then times the report: the
// counters read and aggregated in process, and GET /api/report over HTTP.
func benchReport(ctx context.Context, rdb *goredis.Client) (fx reportFixture, timed []result, err error) {
	_ = rdb.FlushAll(ctx).Err()
	stores := []string{"north.myshopify.com", "south.myshopify.com", "west.example"}
	steps := []string{"first-reminder", "second-reminder"}
	delays := []time.Duration{time.Hour, 24 * time.Hour}
	const holdout = 10
	today := time.Now().UTC().Truncate(24 * time.Hour)
	// One Store per day, its clock fixed at noon of that day, so that the
	// worker's counters land on the day the cart was active.
	perDay := make([]*redis.Store, *reportDays)
	noon := make([]time.Time, *reportDays)
	for d := range perDay {
		at := today.AddDate(0, 0, -d).Add(12 * time.Hour)
		noon[d] = at
		perDay[d] = redis.NewStore(rdb, redis.Options{Prefix: "cartrecovery:",
			Policies: recovery.NamedSequence(steps, delays...).With(func(p *recovery.Policy) { p.HoldoutPercent = holdout }), Now: func() time.Time { return at }})
	}
	var reminded, held, orders atomic.Int64
	fx.fill, err = measure("populate", *nReport, *conc, func(i int) error {
		d := i % *reportDays
		st := perDay[d]
		ev := twoItemCart(i, noon[d].Add(-2*time.Hour))
		ev.Store = stores[i%len(stores)]
		if _, err := st.Ingest(ctx, ev); err != nil {
			return err
		}
		if i%10 == 0 {
			if recovery.InHoldout(ev.Store, ev.Customer.Email, holdout) {
				if err := st.Skip(ctx, recovery.MessageKey{Store: ev.Store, Cart: ev.Cart.ID, Step: 0, Channel: "email"}, recovery.ReasonHoldout); err != nil {
					return err
				}
				held.Add(1)
			} else {
				r, err := st.Claim(ctx, recovery.MessageKey{Store: ev.Store, Cart: ev.Cart.ID, Step: 0, Channel: "email"}, 1, recovery.NormalizeEmail(ev.Customer.Email), "")
				if err != nil {
					return err
				}
				if r != recovery.ClaimOK {
					return fmt.Errorf("claim cart %d: %s", i, r)
				}
				if err := st.Finish(ctx, recovery.MessageKey{Store: ev.Store, Cart: ev.Cart.ID, Step: 0, Channel: "email"}, recovery.NormalizeEmail(ev.Customer.Email), recovery.OutcomeSent, ""); err != nil {
					return err
				}
				reminded.Add(1)
			}
			if err := st.Advance(ctx, ev.Store, ev.Cart.ID, "", 0); err != nil {
				return err
			}
		}
		if i%15 == 0 { // half on reminded carts, half on carts never reminded
			o := ev
			o.ID, o.Kind, o.OccurredAt = "order-"+ev.Cart.ID, recovery.OrderCreated, noon[d]
			o.Order = recovery.Order{ID: "o" + ev.Cart.ID, Total: ev.Cart.Total, Currency: []string{"USD", "EUR"}[i%2]}
			if _, err := st.Ingest(ctx, o); err != nil {
				return err
			}
			orders.Add(1)
		}
		return nil
	})
	if err != nil {
		return fx, nil, err
	}
	fx.carts, fx.reminded, fx.held, fx.orders = *nReport, int(reminded.Load()), int(held.Load()), int(orders.Load())
	fx.keys, _ = rdb.DBSize(ctx).Result()

	reader := perDay[0]
	since := fmt.Sprintf("%dd", *reportDays)
	from, to, err := report.ParseRange(since, "", "", time.Now())
	if err != nil {
		return fx, nil, err
	}
	names, err := reader.Stores(ctx)
	if err != nil {
		return fx, nil, err
	}
	inProcess, err := measure("Counters+Build, "+since+" by step", *nReportRun, 1, func(int) error {
		c, err := reader.Counters(ctx, names, report.Days(from, to))
		if err != nil {
			return err
		}
		rep, err := report.Build(c, report.Query{From: from, To: to, By: "step", Steps: steps})
		fx.totals, fx.holdout = rep.Totals, rep.Holdout
		return err
	})
	if err != nil {
		return fx, nil, err
	}
	const token = "bench-admin-token-0123456789"
	srv := &server.Server{Store: reader, AdminToken: token, Tenants: tenant.One(&tenant.Tenant{
		Playbook: recovery.Playbook{Steps: []recovery.Step{{Name: steps[0], Delay: delays[0]}, {Name: steps[1], Delay: delays[1]}}}}, tenant.Rules{}),
		Ready: func(context.Context) error { return nil }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	timed = append(timed, inProcess)
	for _, by := range []string{"step", "day", "store"} {
		url := ts.URL + "/api/report?since=" + since + "&by=" + by
		r, err := measure("GET /api/report "+since+" by "+by, *nReportRun, 1, func(int) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var rep report.Report
			if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d: %v", resp.StatusCode, err)
			}
			if rep.Totals.Carts+rep.Holdout.Carts != int64(*nReport) {
				return fmt.Errorf("report counts %d+%d carts, %d were tracked", rep.Totals.Carts, rep.Holdout.Carts, *nReport)
			}
			return nil
		})
		if err != nil {
			return fx, nil, err
		}
		timed = append(timed, r)
	}
	return fx, timed, nil
}
