package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/tenant"
	"github.com/cartrecovery/cartrecovery/worker"
)

// poolResult is one run of reminders through the real SMTP transport.
type poolResult struct {
	pool, carts int
	rate        float64         // messages accepted per second, first MAIL FROM to last reply
	gaps        []time.Duration // claim to MAIL FROM at the server, per message
}

// benchPool sends one reminder for each of n carts, all due at once,
// through the real worker (asynq, concurrency conc) and go-mail with pool
// connections, to an in-process SMTP server that takes latency per message.
// For every message it measures the gap between the claim (the last "has
// this customer ordered?" check) and the MAIL FROM the server received.
func benchPool(ctx context.Context, rdb *redis.Client, pool, n, conc int, latency time.Duration) (poolResult, error) {
	_ = rdb.FlushAll(ctx).Err()
	srv, err := smtptest.New(smtptest.Options{Latency: latency})
	if err != nil {
		return poolResult{}, err
	}
	defer srv.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	email, err := notify.NewEmail(notify.EmailOptions{Transport: "smtp", From: "Bench <shop@example.com>",
		SMTP: notify.SMTPOptions{Host: srv.Host(), Port: srv.Port(), TLS: "none", Pool: pool}}, log)
	if err != nil {
		return poolResult{}, err
	}
	defer email.Close()
	rend, err := render.Load(*tmplDir)
	if err != nil {
		return poolResult{}, err
	}
	delay := time.Hour
	store := newStore(rdb, delay)
	var mu sync.Mutex
	claims := map[string]time.Time{} // Message-ID → claim instant
	h := &worker.Handler{Store: store, Tenants: tenant.One(&tenant.Tenant{
		Playbook: recovery.Playbook{Steps: []recovery.Step{{Name: "first-reminder", Delay: delay, Channels: []recovery.Channel{"email"}, Template: "first-reminder"}}},
		Shop:     recovery.Shop{Name: "Bench", URL: "https://shop.example"}, Renderer: rend}, tenant.Rules{MinCartValue: "0"}),
		PublicURL: "http://localhost:8080", Senders: map[string]notify.Sender{"email": email},
		Links: link.New([]byte("bench-key-bench-key-bench-key-32")), Now: time.Now, Log: log,
		Claimed: func(id string, at time.Time) {
			mu.Lock()
			claims[notify.MessageIDFor(id, "example.com")] = at
			mu.Unlock()
		}}
	past := time.Now().Add(-2 * delay).UTC()
	for i := range n {
		ev := twoItemCart(i, past)
		ev.Customer.Email = "c" + strconv.Itoa(i) + "@example.com"
		if _, err := store.Ingest(ctx, ev); err != nil {
			return poolResult{}, err
		}
	}
	queue := "bench:pool"
	asrv := asynq.NewServerFromRedisClient(rdb, worker.ServerConfig([]string{queue}, conc, log))
	mux := asynq.NewServeMux()
	mux.Handle(worker.TaskType, h)
	if err := asrv.Start(mux); err != nil {
		return poolResult{}, err
	}
	defer asrv.Shutdown()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	relay := &worker.Relay{Store: store, Client: asynq.NewClientFromRedisClient(rdb), Queue: queue, MaxRetry: 8, Log: log}
	go relay.Run(rctx)
	deadline := time.Now().Add(time.Duration(n)*latency/time.Duration(max(1, pool)) + time.Minute)
	for srv.Count() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	msgs := srv.Messages()
	if len(msgs) != n {
		return poolResult{}, fmt.Errorf("pool %d: %d of %d messages arrived", pool, len(msgs), n)
	}
	first, last := msgs[0].MailAt, msgs[0].At
	res := poolResult{pool: pool, carts: n}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range msgs {
		first, last = minTime(first, m.MailAt), maxTime(last, m.At)
		c, ok := claims[m.MessageID]
		if !ok {
			return poolResult{}, fmt.Errorf("pool %d: message %s has no claim", pool, m.MessageID)
		}
		res.gaps = append(res.gaps, m.MailAt.Sub(c))
	}
	res.rate = float64(n) / last.Sub(first).Seconds()
	return res, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func printPool(latency time.Duration, conc int, rs ...poolResult) {
	fmt.Printf("== SMTP pool: %s per message at the server, worker concurrency %d ==\n", latency, conc)
	fmt.Printf("%-24s %10s %12s %10s %10s %10s\n", "", "emails/s", "vs limit", "gap p50", "gap p99", "gap max")
	for _, r := range rs {
		limit := float64(r.pool) / latency.Seconds()
		fmt.Printf("%-24s %10.1f %11.2fx %10s %10s %10s\n", fmt.Sprintf("pool %d (%d carts)", r.pool, r.carts), r.rate, r.rate/limit,
			pct(r.gaps, 50), pct(r.gaps, 99), pct(r.gaps, 100))
	}
	if len(rs) > 1 {
		fmt.Printf("pool %d vs one connection: %.2fx the rate\n", rs[0].pool, rs[0].rate/rs[len(rs)-1].rate)
	}
	fmt.Println("gap: claim (last order check) to MAIL FROM at the server; limit: pool / latency")
	fmt.Println("target: gap p99 <= 5ms; emails/s >= 0.8x limit")
	fmt.Println()
}
