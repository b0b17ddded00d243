package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/cartrecovery/cartrecovery/config"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/render"
)

// Handler processes reminder tasks.
type Handler struct {
	Store     *redis.Store
	Steps     []config.Step
	Rules     config.Rules
	Shop      config.Store
	PublicURL string
	Renderer  *render.Renderer
	Senders   map[string]notify.Sender // by channel: "email", "sms"
	Links     *link.Signer
	Now       func() time.Time
	Log       *slog.Logger
	Metrics   *Metrics // optional
	// SendTimeout bounds one provider call (worker.send_timeout; default
	// 30s). The store sweeps claims older than twice this.
	SendTimeout time.Duration
	// Claimed, when set, is told each claim taken (message id, instant),
	// right before its provider call: the benchmark and the fault-injection
	// suite measure the claim-to-provider gap with it.
	Claimed func(messageID string, at time.Time)

	zones sync.Map // time zone name → *time.Location
}

// ReasonTooOld is the skip reason of a cart first seen idle longer than
// rules.max_cart_age.
const ReasonTooOld = "too old: first seen idle longer than rules.max_cart_age"

// ProcessTask implements asynq.Handler.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p Payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Store == "" || p.Cart == "" {
		return fmt.Errorf("bad task payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	if p.Step < 0 || p.Step >= len(h.Steps) {
		return fmt.Errorf("task %s: step %d outside the configured sequence (%d steps): %w",
			TaskID(p), p.Step, len(h.Steps), asynq.SkipRetry)
	}
	log := h.Log.With("task", TaskID(p), "step", h.Steps[p.Step].Name)
	c, ok, err := h.Store.Load(ctx, p.Store, p.Cart)
	if err != nil {
		return err
	}
	if !ok || c.State != recovery.StateActive || c.Step != p.Step || c.Gen != p.Gen {
		log.Debug("task superseded", "exists", ok, "state", c.State, "cart_step", c.Step, "cart_gen", c.Gen)
		return nil
	}
	step := h.Steps[p.Step]
	if due := c.Activity.Add(step.Delay); h.Now().Before(due) {
		// Due set and clock disagree (skew between hosts): put it back.
		log.Debug("task early; rescheduled", "due", due)
		return h.Store.Reschedule(ctx, p.Store, p.Cart, due)
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, known := asynq.GetMaxRetry(ctx)
	lastAttempt := known && retried >= maxRetry

	// Guards first: a channel that may not be used is recorded as skipped;
	// one in its quiet hours waits (quietEnd) and is sent on a later run.
	variant := step.PickVariant(c.Store, c.ID)
	msg := func(ch string) recovery.MessageKey { return c.Message(p.Step, ch, variant.Name) }
	var send []string
	var quietEnd time.Time
	for _, ch := range step.Channels {
		if c.TooOld {
			if err := h.Store.Skip(ctx, msg(ch), ReasonTooOld); err != nil {
				return err
			}
			h.Metrics.count(ch, recovery.OutcomeSkipped)
			continue
		}
		if c.Holdout {
			if err := h.Store.Skip(ctx, msg(ch), recovery.ReasonHoldout); err != nil {
				return err
			}
			h.Metrics.count(ch, outcomeHeld)
			continue
		}
		if _, done := c.Sends[recovery.Slot{Step: p.Step, Channel: ch}]; done {
			continue
		}
		reason, err := h.guard(ctx, c, ch)
		if err != nil {
			return err
		}
		if reason != "" {
			log.Info("reminder skipped", "channel", ch, "reason", reason)
			if err := h.Store.Skip(ctx, msg(ch), reason); err != nil {
				return err
			}
			h.Metrics.count(ch, recovery.OutcomeSkipped)
			continue
		}
		if until, quiet := h.quietUntil(c, ch); quiet {
			log.Info("reminder waits for the end of quiet hours", "channel", ch, "until", until.UTC())
			h.Metrics.count(ch, outcomeDeferred)
			quietEnd = until
			continue
		}
		send = append(send, ch)
	}
	if len(send) == 0 {
		return h.finishStep(ctx, c, p.Step, quietEnd)
	}

	msgs, renderErr := h.messages(c, p.Step, variant, send)
	if renderErr != nil && !errors.Is(renderErr, errRender) {
		return renderErr // Redis: retry the task
	}
	// Recording must survive a shutdown that cancels ctx after a send.
	rec := context.WithoutCancel(ctx)
	var retry []error
	firstSend := retried == 0 && !c.StepStarted(p.Step)
	for _, ch := range send {
		// Hold the channel's connection first: the claim is the last step
		// before the provider call, with nothing to wait for in between.
		conn, err := notify.Acquire(ctx, h.Senders[ch])
		if err != nil {
			if errors.Is(err, notify.ErrTemporary) && !lastAttempt {
				log.Warn("channel not available; will retry", "channel", ch, "err", err)
				retry = append(retry, fmt.Errorf("%s: %w", ch, err))
				h.Metrics.count(ch, outcomeRetry)
				continue
			}
			conn = unavailable{err} // last attempt: claimed and recorded as failed
		}
		stop, err := func() (bool, error) {
			defer conn.Release() // even if the send panics: the pool keeps its slot
			return h.sendOne(ctx, rec, log, conn, c, msg(ch), msgs[ch], renderErr, lastAttempt, retried, &firstSend, &retry)
		}()
		if err != nil || stop {
			return err
		}
	}
	if len(retry) > 0 {
		return errors.Join(retry...)
	}
	return h.finishStep(rec, c, p.Step, quietEnd)
}

// sendOne claims (step, ch) and, if the claim holds, sends m on conn and
// records the outcome. stop is true when the cart must send nothing more
// (ordered, deleted, superseded).
func (h *Handler) sendOne(ctx, rec context.Context, log *slog.Logger, conn notify.Conn, c recovery.CartState, key recovery.MessageKey,
	m outgoing, renderErr error, lastAttempt bool, retried int, firstSend *bool, retry *[]error) (stop bool, err error) {
	stepIdx, ch := key.Step, key.Channel
	// A claim taken must be followed by its send: never claim on a task that
	// is being cancelled, and never let a cancellation land between the
	// script's success and this process learning of it (that claim would be
	// swept as unknown though nothing was sent).
	if err := ctx.Err(); err != nil {
		return false, err
	}
	res, err := h.Store.Claim(rec, key, c.Gen, c.Email())
	if err != nil {
		return false, err
	}
	switch res {
	case recovery.ClaimOK:
	case recovery.ClaimTaken:
		return false, nil
	case recovery.ClaimCooldown:
		log.Info("reminder skipped", "channel", ch, "reason", recovery.ReasonCooldown)
		if err := h.Store.Skip(rec, key, recovery.ReasonCooldown); err != nil {
			return false, err
		}
		h.Metrics.count(ch, recovery.OutcomeSkipped)
		return false, nil
	default: // ordered, deleted, gone, superseded: this task must send nothing more
		log.Info("reminder stopped before sending", "channel", ch, "reason", res)
		return true, nil
	}
	if renderErr != nil {
		log.Error("render failed", "channel", ch, "err", renderErr)
		h.Metrics.count(ch, recovery.OutcomeFailed)
		return false, h.finish(rec, log, c, key, recovery.OutcomeFailed, "render: "+renderErr.Error())
	}
	// The link is made only now that the message is claimed: a skipped or
	// superseded message leaves none behind.
	if err := h.Store.SaveLink(rec, m.link, key); err != nil {
		log.Error("save the message's link", "channel", ch, "err", err)
		h.Metrics.count(ch, recovery.OutcomeFailed)
		return false, h.finish(rec, log, c, key, recovery.OutcomeFailed, "link: "+err.Error())
	}
	if h.Claimed != nil {
		h.Claimed(m.Message.ID, time.Now())
	}
	sendCtx, cancel := context.WithTimeout(ctx, h.sendTimeout())
	err = conn.Send(sendCtx, m.Message)
	cancel()
	if *firstSend {
		h.Metrics.sendDelay(h.Now().Sub(c.Activity.Add(h.Steps[stepIdx].Delay)))
		*firstSend = false
	}
	to := notify.MaskAddress(m.Message.To)
	switch {
	case err == nil:
		log.Info("reminder sent", "channel", ch, "to", to)
		h.Metrics.count(ch, recovery.OutcomeSent)
		return false, h.finish(rec, log, c, key, recovery.OutcomeSent, "")
	case errors.Is(err, notify.ErrTemporary) && !lastAttempt:
		log.Warn("reminder not accepted; will retry", "channel", ch, "to", to, "attempt", retried+1, "err", err)
		*retry = append(*retry, fmt.Errorf("%s: %w", ch, err))
		h.Metrics.count(ch, outcomeRetry)
		return false, h.Store.Unclaim(rec, key)
	}
	detail, outcome := err.Error(), recovery.OutcomeFailed
	metric := outcome
	switch {
	case errors.Is(err, notify.ErrTemporary):
		detail = "retries exhausted: " + detail
	case !errors.Is(err, notify.ErrPermanent):
		// The provider may have taken it: recorded as unknown, not resent.
		detail, metric = "unknown outcome, not retried: "+detail, outcomeUnknown
	}
	log.Warn("reminder failed", "channel", ch, "to", to, "err", err)
	if ch == "sms" && isOptOut(err) {
		if e := h.Store.Suppress(rec, c.Store, "sms", recovery.ContactHash(m.Message.To), "carrier opt-out"); e != nil {
			log.Error("record sms opt-out", "err", e)
		}
	}
	h.Metrics.count(ch, metric)
	return false, h.finish(rec, log, c, key, outcome, detail)
}

// unavailable is a channel that could not be acquired: its send fails with
// the acquire error, so the last attempt records the failure.
type unavailable struct{ err error }

func (u unavailable) Send(context.Context, notify.Message) error { return u.err }
func (unavailable) Release()                                     {}

// finish records a claimed send's outcome. When the claim was swept as
// unknown meanwhile (this process stalled past the lease), the sweep's
// record stands and the late outcome is logged.
func (h *Handler) finish(ctx context.Context, log *slog.Logger, c recovery.CartState, key recovery.MessageKey, outcome, detail string) error {
	err := h.Store.Finish(ctx, key, c.Email(), outcome, detail)
	if errors.Is(err, recovery.ErrNoClaim) {
		log.Warn("outcome arrived after the claim was swept as unknown", "channel", key.Channel, "outcome", outcome)
		return nil
	}
	return err
}

func (h *Handler) sendTimeout() time.Duration {
	if h.SendTimeout > 0 {
		return h.SendTimeout
	}
	return 30 * time.Second
}

// finishStep moves the cart to its next step, or, when a channel of this
// step waits for the end of quiet hours, puts the cart back in the due set
// for then: the run at that time sends only what is still unsent.
func (h *Handler) finishStep(ctx context.Context, c recovery.CartState, step int, quietEnd time.Time) error {
	if quietEnd.IsZero() {
		return h.Store.Advance(ctx, c.Store, c.ID, step)
	}
	// A margin keeps the next run clear of this task's own id.
	return h.Store.Reschedule(ctx, c.Store, c.ID, later(quietEnd, h.Now().Add(10*time.Second)))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// quietUntil reports whether channel is in its quiet hours for c's customer
// (their time zone, else the store's) and, if so, when they end.
func (h *Handler) quietUntil(c recovery.CartState, channel string) (time.Time, bool) {
	q := h.Rules.QuietHours
	if !q.Applies(channel) {
		return time.Time{}, false
	}
	start, end, _ := q.Window()
	return QuietUntil(h.Now(), h.location(c.Customer.Timezone), start, end)
}

// location is the customer's zone when known and valid, else the store's.
func (h *Handler) location(customerTZ string) *time.Location {
	for _, name := range []string{customerTZ, h.Shop.Timezone} {
		if name == "" {
			continue
		}
		if v, ok := h.zones.Load(name); ok {
			return v.(*time.Location)
		}
		if loc, err := time.LoadLocation(name); err == nil {
			h.zones.Store(name, loc)
			return loc
		}
	}
	return time.UTC
}

// QuietUntil reports whether now falls in the daily window [start, end)
// (minutes after local midnight in loc; it crosses midnight when start >
// end) and, if so, the instant the window ends.
func QuietUntil(now time.Time, loc *time.Location, start, end int) (time.Time, bool) {
	l := now.In(loc)
	m := l.Hour()*60 + l.Minute()
	var quiet bool
	day := 0 // the window ends today, or tomorrow
	if start < end {
		quiet = m >= start && m < end
	} else {
		quiet = m >= start || m < end
		if m >= start {
			day = 1
		}
	}
	if !quiet {
		return time.Time{}, false
	}
	y, mo, d := l.Date()
	return time.Date(y, mo, d+day, end/60, end%60, 0, 0, loc), true
}

var errRender = errors.New("render")

func isOptOut(err error) bool { return strings.Contains(err.Error(), "21610") }

// guard returns why channel must not be used for c, or "".
func (h *Handler) guard(ctx context.Context, c recovery.CartState, channel string) (string, error) {
	if below, err := belowMin(c.Cart.Total, h.Rules.MinCartValue); err != nil {
		return "cart total is not a decimal: " + err.Error(), nil
	} else if below {
		return "cart total below rules.min_cart_value", nil
	}
	var contact string
	switch channel {
	case "email":
		contact = recovery.NormalizeEmail(c.Customer.Email)
		if contact == "" {
			return "no email address", nil
		}
		if h.Rules.EmailConsent == "required" && !c.Customer.EmailConsent {
			return "no email consent", nil
		}
	case "sms":
		contact = c.Customer.Phone
		if contact == "" {
			return "no phone number", nil
		}
		if !c.Customer.SMSConsent {
			return "no sms consent", nil
		}
	default:
		return "unknown channel " + channel, nil
	}
	if h.Senders[channel] == nil {
		return "channel not configured", nil
	}
	sup, err := h.Store.Suppressed(ctx, c.Store, channel, recovery.ContactHash(contact))
	if err != nil {
		return "", err
	}
	if sup {
		return "unsubscribed", nil
	}
	return "", nil
}

func belowMin(total, minimum string) (bool, error) {
	if minimum == "" || minimum == "0" {
		return false, nil
	}
	t, ok := new(big.Rat).SetString(total)
	if !ok {
		return false, fmt.Errorf("%q", total)
	}
	m, ok := new(big.Rat).SetString(minimum)
	if !ok {
		return false, nil
	}
	return t.Cmp(m) < 0, nil
}

// UnsubscribeToken signs a channel-specific unsubscribe token for contact.
func UnsubscribeToken(s *link.Signer, store, channel, normalizedContact string) string {
	return s.Sign("unsub", time.Time{}, store, channel, recovery.ContactHash(normalizedContact))
}

// outgoing is a rendered message and the id of its click-through link,
// which is saved only once the message is claimed.
type outgoing struct {
	Message notify.Message
	link    [8]byte
}

// messages renders the step for c and builds one message per channel, each
// with its own click-through link.
func (h *Handler) messages(c recovery.CartState, stepIdx int, variant config.Variant, channels []string) (map[string]outgoing, error) {
	step := h.Steps[stepIdx]
	email := c.Email()
	base := strings.TrimSuffix(h.PublicURL, "/")
	unsub := base + "/unsubscribe/" + UnsubscribeToken(h.Links, c.Store, "email", email)
	d := render.Data{
		Store:          render.Store{Name: h.Shop.Name, URL: h.Shop.URL, Address: h.Shop.Address},
		Customer:       render.Customer{FirstName: c.Customer.FirstName, Email: c.Customer.Email, Phone: c.Customer.Phone, Locale: c.Customer.Locale},
		Cart:           render.Cart{ID: c.ID, Total: c.Cart.Total, Currency: c.Cart.Currency},
		Discount:       render.Discount{Code: variant.Discount.Code, Label: variant.Discount.Label},
		UnsubscribeURL: unsub,
		Step:           render.Step{Name: step.Name, Index: stepIdx},
	}
	for _, it := range c.Cart.Items {
		d.Cart.Items = append(d.Cart.Items, render.Item{Title: it.Title, Quantity: it.Quantity, Price: it.Price, ImageURL: it.ImageURL, URL: it.URL})
	}
	id := fmt.Sprintf("%s/%s/%d", c.Store, c.ID, stepIdx)
	out := map[string]outgoing{}
	for _, ch := range channels {
		lid := link.NewID()
		d.RecoveryURL = base + "/r/" + h.Links.ShortToken(lid, h.Now().Add(recovery.LinkTTL))
		r, err := h.Renderer.Render(variant.Template, []string{ch}, d)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errRender, err)
		}
		switch ch {
		case "email":
			out[ch] = outgoing{link: lid, Message: notify.Message{Channel: ch, To: c.Customer.Email, ToName: c.Customer.FirstName,
				Subject: r.Subject, Text: r.Text, HTML: r.HTML, ID: id + "/email",
				Headers: map[string]string{
					"List-Unsubscribe":      "<" + unsub + ">",
					"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				}}}
		case "sms":
			out[ch] = outgoing{link: lid, Message: notify.Message{Channel: ch, To: c.Customer.Phone, Text: r.SMS, ID: id + "/sms"}}
		}
	}
	return out, nil
}
