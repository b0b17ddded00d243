// Package worker turns due carts into sent reminders.
//
// The Relay moves carts whose next step is due from the stores' due sets
// into asynq, one task per (cart, step, generation) with a deterministic
// TaskID, so a relay that crashes or runs twice enqueues nothing twice; it
// sleeps until the next cart is due. The Handler runs a task through the
// stages of stage.go: it re-reads the cart, applies the guards, claims each
// (step, channel) atomically right before the provider call, sends, records
// the outcome and schedules the next step. asynq provides retries with
// backoff, leases and recovery of tasks whose worker died.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/cartrecovery/cartrecovery/clock"
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

// Queues names the n asynq queues of a key prefix. asynq keeps each
// queue's keys in one hash slot, so on Redis Cluster one queue lives on one
// node: several queues spread the work over the nodes (worker.queues).
func Queues(prefix string, n int) []string {
	if n <= 1 {
		return []string{QueueName(prefix)}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = QueueName(prefix) + "-" + strconv.Itoa(i)
	}
	return out
}

// QueueFor picks the queue of a cart's tasks: always the same one for a
// cart, spread evenly over the queues.
func QueueFor(queues []string, store, cart string) string {
	if len(queues) == 1 {
		return queues[0]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(store + "\x00" + cart))
	return queues[h.Sum32()%uint32(len(queues))]
}

// NewTask builds the asynq task for p on queue.
func NewTask(p Payload, queue string, maxRetry int) *asynq.Task {
	b, _ := json.Marshal(p)
	return asynq.NewTask(TaskType, b, asynq.TaskID(TaskID(p)), asynq.Queue(queue),
		asynq.MaxRetry(maxRetry), asynq.Timeout(2*time.Minute))
}

// Relay hands due carts to asynq.
type Relay struct {
	Store  Schedule
	Client *asynq.Client
	// Queues are the asynq queues tasks are spread over (Queues); Queue
	// alone is one queue.
	Queues   []string
	Queue    string
	MaxRetry int
	// Interval is the longest the relay sleeps (default 200ms): it wakes
	// when the next cart is due, or after Interval to see carts scheduled
	// by other processes meanwhile.
	Interval time.Duration
	Batch    int           // carts leased per round (default 500)
	Lease    time.Duration // how long a leased cart is hidden from other relays (default 30s)
	// Clock tells the time and wakes the relay (default the system's;
	// tests pass a clock.Sim).
	Clock   clock.Clock
	Log     *slog.Logger
	Metrics *Metrics  // optional
	next    time.Time // when the next cart falls due, as the last Tick saw it

	// MaintainEvery is how often one relay of the deployment runs the
	// store's housekeeping (redis.Store.Maintain; default 5m).
	MaintainEvery time.Duration

	// SweepEvery is how often claims left without an outcome past their
	// lease (a worker died mid-send) are recorded as unknown (default 1s).
	SweepEvery time.Duration
}

func (r *Relay) defaults() {
	if r.SweepEvery <= 0 {
		r.SweepEvery = time.Second
	}
	if r.MaintainEvery <= 0 {
		r.MaintainEvery = 5 * time.Minute
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
	if r.Clock == nil {
		r.Clock = clock.Real{}
	}
	if len(r.Queues) == 0 {
		r.Queues = []string{r.Queue}
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
}

// Run relays until ctx is done. It sleeps until the next cart is due (at
// most Interval), so a reminder starts within milliseconds of its due time
// rather than within a polling period.
func (r *Relay) Run(ctx context.Context) {
	r.defaults()
	var swept, maintained time.Time
	for {
		if now := r.Clock.Now(); now.Sub(maintained) >= r.MaintainEvery {
			maintained = now
			if ran, err := r.Store.Maintain(ctx, r.MaintainEvery); err != nil && ctx.Err() == nil {
				r.Log.Error("relay: housekeeping failed", "err", err)
			} else if ran {
				r.Log.Debug("relay: housekeeping done")
			}
		}
		if now := r.Clock.Now(); now.Sub(swept) >= r.SweepEvery {
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
		case <-r.Clock.After(r.sleep()):
		}
	}
}

// sleep is how long to wait for the next due cart (as the last Tick saw
// it): until it is due, at most Interval, at least a millisecond.
func (r *Relay) sleep() time.Duration {
	if r.next.IsZero() {
		return r.Interval
	}
	return min(max(r.next.Sub(r.Clock.Now()), time.Millisecond), r.Interval)
}

// Tick relays one batch of due carts and returns how many were leased.
func (r *Relay) Tick(ctx context.Context) (int, error) {
	r.defaults()
	now := r.Clock.Now()
	until := now.Add(r.Lease)
	ds, next, leaseErr := r.Store.LeaseNext(ctx, now, until, r.Batch)
	r.next = next
	if len(ds) == 0 {
		return 0, leaseErr
	}
	var (
		mu   sync.Mutex
		done = make([]recovery.Due, 0, len(ds))
		errs = []error{leaseErr} // what one store's failure leased of the others is relayed
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 8)
	)
	for _, d := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func(d recovery.Due) {
			defer func() { <-sem; wg.Done() }()
			p := Payload{Store: d.Store, Cart: d.CartID, Step: d.Step, Gen: d.Gen}
			_, err := r.Client.EnqueueContext(ctx, NewTask(p, QueueFor(r.Queues, p.Store, p.Cart), r.MaxRetry))
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
	cs, err := r.Store.SweepClaims(ctx, r.Clock.Now(), 500)
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
// tasks are picked up within 50-150ms of being relayed, retries checked every second, and
// in-flight sends get 30s to finish on shutdown before being requeued.
func ServerConfig(queues []string, concurrency int, log *slog.Logger) asynq.Config {
	weights := make(map[string]int, len(queues))
	for _, q := range queues {
		weights[q] = 1
	}
	return asynq.Config{
		Concurrency:              concurrency,
		Queues:                   weights,
		TaskCheckInterval:        100 * time.Millisecond,
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
