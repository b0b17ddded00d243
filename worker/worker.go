// Package worker turns due carts into sent reminders.
//
// The Relay moves carts whose next step is due from the recovery due set
// into asynq, one task per (cart, step, generation) with a deterministic
// TaskID, so a relay that crashes or runs twice enqueues nothing twice. The
// Handler runs a task: it re-reads the cart, applies the guards, claims each
// (step, channel) atomically right before the provider call, sends, records
// the outcome and schedules the next step. asynq provides retries with
// backoff, leases and recovery of tasks whose worker died.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// TaskType is the asynq task type of a reminder step.
const TaskType = "cartrecovery:step"

// Payload is a task's payload: the cart key, the step and the generation of
// the cart it was scheduled for. Cart contents stay in the cart hash.
type Payload struct {
	Store string `json:"s"`
	Cart  string `json:"c"`
	Step  int    `json:"n"`
	Gen   int    `json:"g"`
}

// TaskID is the deterministic asynq task id of a (cart, step, generation).
func TaskID(p Payload) string {
	return p.Store + "/" + p.Cart + "/" + strconv.Itoa(p.Step) + "/" + strconv.Itoa(p.Gen)
}

// NewTask builds the asynq task for p on queue.
func NewTask(p Payload, queue string, maxRetry int) *asynq.Task {
	b, _ := json.Marshal(p)
	return asynq.NewTask(TaskType, b, asynq.TaskID(TaskID(p)), asynq.Queue(queue),
		asynq.MaxRetry(maxRetry), asynq.Timeout(2*time.Minute))
}

// Relay hands due carts to asynq.
type Relay struct {
	Store    *recovery.Store
	Client   *asynq.Client
	Queue    string
	MaxRetry int
	Interval time.Duration // how often to look for due carts (default 200ms)
	Batch    int           // carts leased per round (default 500)
	Lease    time.Duration // how long a leased cart is hidden from other relays (default 30s)
	Now      func() time.Time
	Log      *slog.Logger
	Metrics  *Metrics // optional
	// SweepEvery is how often claims left without an outcome past their
	// lease (a worker died mid-send) are recorded as unknown (default 1s).
	SweepEvery time.Duration
}

func (r *Relay) defaults() {
	if r.SweepEvery <= 0 {
		r.SweepEvery = time.Second
	}
	if r.Interval <= 0 {
		r.Interval = 200 * time.Millisecond
	}
	if r.Batch <= 0 {
		r.Batch = 500
	}
	if r.Lease <= 0 {
		r.Lease = 30 * time.Second
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
}

// Run relays until ctx is done.
func (r *Relay) Run(ctx context.Context) {
	r.defaults()
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	var swept time.Time
	for {
		if now := time.Now(); now.Sub(swept) >= r.SweepEvery {
			swept = now
			if _, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
				r.Log.Error("relay: sweep of unfinished claims failed", "err", err)
			}
		}
		n, err := r.Tick(ctx)
		if err != nil && ctx.Err() == nil {
			r.Log.Error("relay: round failed", "err", err)
		}
		if n == r.Batch && err == nil {
			continue // backlog: go on at once
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick relays one batch of due carts and returns how many were leased.
func (r *Relay) Tick(ctx context.Context) (int, error) {
	r.defaults()
	now := r.Now()
	until := now.Add(r.Lease)
	ds, err := r.Store.Lease(ctx, now, until, r.Batch)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	var (
		mu   sync.Mutex
		done = make([]recovery.Due, 0, len(ds))
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 8)
	)
	for _, d := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func(d recovery.Due) {
			defer func() { <-sem; wg.Done() }()
			p := Payload{Store: d.Store, Cart: d.CartID, Step: d.Step, Gen: d.Gen}
			_, err := r.Client.EnqueueContext(ctx, NewTask(p, r.Queue, r.MaxRetry))
			mu.Lock()
			defer mu.Unlock()
			if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
				errs = append(errs, fmt.Errorf("enqueue %s: %w", TaskID(p), err))
				return // stays leased; another round retries it after the lease
			}
			done = append(done, d)
		}(d)
	}
	wg.Wait()
	if err := r.Store.Release(context.WithoutCancel(ctx), until, done); err != nil {
		errs = append(errs, err)
	}
	return len(ds), errors.Join(errs...)
}

// Sweep records claims whose lease ended without an outcome (their worker
// died mid-send) as failed, reason unknown, and counts them. They are not
// resent.
func (r *Relay) Sweep(ctx context.Context) (int, error) {
	r.defaults()
	cs, err := r.Store.SweepClaims(ctx, r.Now(), 500)
	for _, c := range cs {
		r.Log.Warn("send outcome unknown: its worker stopped during the send; recorded as failed, not resent",
			"store", c.Store, "cart", c.Cart, "step", c.Step, "channel", c.Channel)
		r.Metrics.count(c.Channel, outcomeUnknown)
	}
	return len(cs), err
}

// RetryDelay is the backoff between attempts of a step whose send failed
// temporarily: 30s, 1m, 2m, ... capped at 1h. A task whose worker died
// (asynq found its lease expired) is resumed after 1s: nothing failed, and
// its reminder is already late.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return time.Second
	}
	d := 30 * time.Second << min(n, 7)
	return min(d, time.Hour)
}

// slogAdapter lets asynq log through slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }

// ServerConfig is the asynq server configuration cartrecovery runs with:
// tasks are picked up within ~200ms, retries checked every second, and
// in-flight sends get 30s to finish on shutdown before being requeued.
func ServerConfig(queue string, concurrency int, log *slog.Logger) asynq.Config {
	return asynq.Config{
		Concurrency:              concurrency,
		Queues:                   map[string]int{queue: 1},
		TaskCheckInterval:        200 * time.Millisecond,
		DelayedTaskCheckInterval: time.Second,
		ShutdownTimeout:          30 * time.Second,
		RetryDelayFunc:           RetryDelay,
		Logger:                   slogAdapter{log.With("component", "asynq")},
		LogLevel:                 asynq.WarnLevel,
		IsFailure:                func(err error) bool { return err != nil },
	}
}

// QueueName is the asynq queue for a key prefix (asynq's own keys cannot be
// prefixed; naming the queue after the prefix keeps deployments apart).
func QueueName(prefix string) string {
	return strings.TrimSuffix(prefix, ":") + ":reminders"
}
