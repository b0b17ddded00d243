package worker

import (
	"context"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Metrics are the worker's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	messages *prometheus.CounterVec
	delay    prometheus.Histogram
	platform *prometheus.CounterVec
}

// Message outcomes counted by cartrecovery_messages_total, beside the
// recorded outcomes sent, failed and skipped.
const (
	outcomeRetry    recovery.Outcome = "retry"    // not accepted; the task is retried
	outcomeDeferred recovery.Outcome = "deferred" // held for the end of quiet hours
	outcomeHeld     recovery.Outcome = "held"     // holdout group: never messaged
	// outcomeUnknown: recorded as failed, reason unknown — the provider
	// may have taken it, or the worker died mid-send (swept). Not resent.
	outcomeUnknown recovery.Outcome = "unknown"
)

// NewMetrics registers the worker's metrics on reg: messages by channel and
// outcome, the delay from a step's due time to its first send, and the
// number of carts due and not yet queued (read from store at each scrape).
func NewMetrics(reg prometheus.Registerer, store interface {
	DueCount(context.Context, time.Time) (int64, error)
}, now func() time.Time) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartrecovery_messages_total",
			Help: "Reminder messages by channel and outcome (sent, failed, unknown, skipped, retry, deferred, held; delivered, undelivered and failed receipts).",
		}, []string{"channel", "outcome"}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cartrecovery_send_delay_seconds",
			Help:    "Time from a step's due time to the start of its first send, retries and quiet hours included.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 6 * 3600, 12 * 3600},
		}),
	}
	m.platform = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cartrecovery_platform_calls_total",
		Help: "Calls to shop platforms at send time by platform, call (order_check, register_code) and result (ok, found, failed).",
	}, []string{"platform", "call", "result"})
	due := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cartrecovery_due_carts",
		Help: "Carts whose next step is due and not yet handed to the queue (a growing value means the relay is behind).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := store.DueCount(ctx, now())
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	})
	reg.MustRegister(m.messages, m.delay, m.platform, due)
	return m
}

func (m *Metrics) count(channel recovery.Channel, outcome recovery.Outcome) {
	if m != nil {
		m.messages.WithLabelValues(string(channel), string(outcome)).Inc()
	}
}

func (m *Metrics) sendDelay(d time.Duration) {
	if m != nil {
		m.delay.Observe(max(d, 0).Seconds())
	}
}

func (m *Metrics) platformCall(platform, call, result string) {
	if m != nil {
		m.platform.WithLabelValues(platform, call, result).Inc()
	}
}

// Receipt counts a delivery receipt (delivered, undelivered, failed) in
// cartrecovery_messages_total.
func (m *Metrics) Receipt(channel, status string) {
	m.count(recovery.Channel(channel), recovery.Outcome(status))
}
