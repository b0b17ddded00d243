package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/tenant"
)

// A task runs through named stages, each a method of run:
//
//	load        read the task and the cart; stop if it moved on, wait if early
//	refresh     ask the platform for the cart's content (BigCommerce)
//	guards      skip what may not be sent (too old, holdout, consent, unsubscribed…)
//	quietHours  hold back channels in the customer's quiet hours
//	discount    the step's unique code: made once, registered with the
//	            platform before any message carries it
//	render      render each message, with the id its link will have
//	checkOrder  ask the platform whether the customer ordered meanwhile
//	            (an order webhook lost); one found stops the cart
//	(a stage that still fails on the task's last attempt skips the step
//	with its reason: the cart is never left without a schedule)
//	then, per channel: acquire the provider connection, save the link,
//	claim, send, record the outcome (deliver)
//	nextStep    schedule the next step, or the end of the quiet hours
//
// Rendering and the link come before the claim on purpose: once claimed,
// nothing may wait before the first byte to the provider (invariant 2), not
// even a Redis write. A message the claim refuses deletes its link, so a
// skipped or superseded message leaves no 30-day key behind.
type run struct {
	h    *Handler
	ctx  context.Context // the task's: cancelled on shutdown
	rec  context.Context // for records that must survive a shutdown after a send
	log  *slog.Logger
	p    Payload
	c    recovery.CartState
	step recovery.Step
	v    recovery.Variant

	retried     int
	lastAttempt bool
	firstSend   bool // the first provider call of this step: its lateness is measured

	send      []recovery.Channel // channels that passed the guards and quiet hours
	quietEnd  time.Time          // a channel waits for the end of quiet hours
	offer     render.Discount
	msgs      map[recovery.Channel]outgoing
	renderErr error
	retry     []error // retryable failures: the task is retried
}

// ProcessTask implements asynq.Handler.
func (h *Handler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	r, err := h.load(ctx, t)
	if r == nil || err != nil {
		return err
	}
	done, err := r.prepare()
	if err != nil && r.lastAttempt && r.ctx.Err() == nil {
		// Nothing was claimed. Giving up must not leave the cart without
		// a schedule (asynq archives the task, the cart would wait
		// forever): the step is skipped with the reason, the next one
		// scheduled.
		r.log.Error("step given up after its retries", "err", err)
		return r.skipStep(ReasonGaveUp + ": " + recovery.Clip(err.Error(), 200))
	}
	if done || err != nil {
		return err
	}
	for _, ch := range r.send {
		stop, err := r.deliver(ch)
		if err != nil || stop {
			return err
		}
	}
	if len(r.retry) > 0 {
		return errors.Join(r.retry...)
	}
	return r.nextStep(r.rec)
}

// ReasonGaveUp is the skip reason of a step whose preparation (the
// platform's cart, the order check, the unique code, the rendering) kept
// failing until its last attempt.
const ReasonGaveUp = "gave up after the retries"

// prepare runs the stages before any claim: refresh, guards, quiet hours,
// the unique code, rendering and, last, the order check. done is true when
// the step needs no send (skipped, held, stopped).
func (r *run) prepare() (done bool, err error) {
	if done, err := r.refresh(); done || err != nil {
		return true, err
	}
	if err := r.guards(); err != nil {
		return true, err
	}
	r.quietHours()
	if len(r.send) == 0 {
		return true, r.nextStep(r.ctx)
	}
	if done, err := r.discount(); done || err != nil {
		return true, err
	}
	if err := r.render(); err != nil {
		return true, err
	}
	// the order check comes last, right before the claims: an order
	// placed while the code was registered is still found
	return r.checkOrder()
}

// load reads the task's payload and its cart. It returns no run when there
// is nothing to do: the cart moved on (a newer update, another step, an
// order) or its step is not due yet by this host's clock (then it is put
// back on the schedule).
func (h *Handler) load(ctx context.Context, t *asynq.Task) (*run, error) {
	var p Payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Store == "" || p.Cart == "" {
		return nil, fmt.Errorf("bad task payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	if p.Step < 0 {
		return nil, fmt.Errorf("task %s: step %d: %w", TaskID(p), p.Step, asynq.SkipRetry)
	}
	log := h.Log.With("task", TaskID(p), "step", p.Step)
	h = h.forStore(p.Store)
	// storage records this task with the snapshot it read (a reload
	// meanwhile does not rename its counters or change its cooldown)
	ctx = recovery.WithPolicy(ctx, p.Store, h.t.Policy)
	c, ok, err := h.Store.Load(ctx, p.Store, p.Cart)
	if err != nil {
		return nil, err
	}
	if !ok || c.State != recovery.StateActive || c.Step != p.Step || c.Gen != p.Gen {
		log.Debug("task superseded", "exists", ok, "state", c.State, "cart_step", c.Step, "cart_gen", c.Gen)
		return nil, nil
	}
	steps := h.sequence(c.Segment)
	if p.Step >= len(steps) {
		// a reload removed this step: the cart's sequence ends here
		log.Info("step no longer in the sequence; the cart's sequence ends", "segment", c.Segment, "steps", len(steps))
		return nil, h.Store.Advance(ctx, p.Store, p.Cart, c.Segment, p.Step)
	}
	step := steps[p.Step]
	log = log.With("step", recovery.QualifiedStep(c.Segment, step.Name))
	if due := c.Activity.Add(step.Delay); h.Now().Before(due) {
		// Due set and clock disagree (skew between hosts): put it back.
		log.Debug("task early; rescheduled", "due", due)
		return nil, h.Store.Reschedule(ctx, p.Store, p.Cart, due)
	}
	r := &run{h: h, ctx: ctx, rec: context.WithoutCancel(ctx), log: log, p: p, c: c, step: step,
		v: step.PickVariant(c.Store, c.ID)}
	r.retried, _ = asynq.GetRetryCount(ctx)
	maxRetry, known := asynq.GetMaxRetry(ctx)
	r.lastAttempt = known && r.retried >= maxRetry
	r.firstSend = r.retried == 0 && !c.StepStarted(p.Step)
	return r, nil
}

func (r *run) key(ch recovery.Channel) recovery.MessageKey {
	return r.c.Message(r.p.Step, ch, r.v.Name)
}

// ReasonGone is the skip reason of a cart its platform no longer has.
const ReasonGone = "the platform no longer has this cart (converted, deleted or expired)"

// refresh asks the cart's platform, when one is configured for its store,
// for what the cart holds now (BigCommerce webhooks carry ids only), and
// records it. A cart the platform no longer has is skipped for this step
// (done). An error retries the task: nothing is claimed yet.
func (r *run) refresh() (done bool, err error) {
	p, ok := r.h.platform(r.c).(platform.CartSource)
	if !ok {
		return false, nil
	}
	cart, cu, err := p.Cart(r.ctx, r.c.ID)
	if errors.Is(err, recovery.ErrNotFound) {
		// BigCommerce deletes a cart that became an order: ask for one
		// before calling it gone
		if done, err := r.checkOrder(); done || err != nil {
			return true, err
		}
		r.log.Info("cart gone at the platform; step skipped", "platform", r.c.Platform)
		for _, ch := range r.step.Channels {
			if err := r.skip(r.ctx, ch, ReasonGone, recovery.OutcomeSkipped); err != nil {
				return true, err
			}
		}
		return true, r.nextStep(r.ctx)
	}
	if err != nil {
		return true, fmt.Errorf("ask %s for cart %s: %w", r.c.Platform, r.c.ID, err)
	}
	cart.RecoveryURL = r.c.Cart.RecoveryURL
	cu.FirstName, cu.Phone, cu.Timezone = r.c.Customer.FirstName, r.c.Customer.Phone, r.c.Customer.Timezone
	if cu.Locale == "" { // the cart's own locale (BigCommerce has one) comes first
		cu.Locale = r.c.Customer.Locale
	}
	cu.EmailConsent, cu.SMSConsent = r.c.Customer.EmailConsent, r.c.Customer.SMSConsent
	r.c.Cart, r.c.Customer = cart, cu
	if ok, err := r.h.Store.SetContent(r.ctx, r.c, r.c.Gen); err != nil || !ok {
		return true, err // !ok: an event changed the cart meanwhile; its own task follows
	}
	return false, nil
}

// skip records that ch is not sent and why.
func (r *run) skip(ctx context.Context, ch recovery.Channel, reason string, metric recovery.Outcome) error {
	if err := r.h.Store.Skip(ctx, r.key(ch), reason); err != nil {
		return err
	}
	r.h.Metrics.count(ch, metric)
	return nil
}

// guards records a skip for each channel that may not be used: a cart
// first seen too old, the holdout group, no address, no consent, a cart
// total below the minimum, an unsubscribed contact. Channels already
// handled by an earlier run of this step are left out.
func (r *run) guards() error {
	for _, ch := range r.step.Channels {
		switch _, done := r.c.Sends[recovery.Slot{Step: r.p.Step, Channel: ch}]; {
		case r.c.TooOld:
			if err := r.skip(r.ctx, ch, ReasonTooOld, recovery.OutcomeSkipped); err != nil {
				return err
			}
		case r.c.Holdout:
			if err := r.skip(r.ctx, ch, recovery.ReasonHoldout, outcomeHeld); err != nil {
				return err
			}
		case done:
		default:
			reason, err := r.h.guard(r.ctx, r.c, ch)
			if err != nil {
				return err
			}
			if reason == "" {
				r.send = append(r.send, ch)
				continue
			}
			r.log.Info("reminder skipped", "channel", ch, "reason", reason)
			if err := r.skip(r.ctx, ch, reason, recovery.OutcomeSkipped); err != nil {
				return err
			}
		}
	}
	return nil
}

// quietHours holds back the channels in the customer's quiet hours: the
// step runs again when they end and sends only what is still unsent.
func (r *run) quietHours() {
	send := r.send[:0]
	for _, ch := range r.send {
		if until, quiet := r.h.quietUntil(r.c, ch); quiet {
			r.log.Info("reminder waits for the end of quiet hours", "channel", ch, "until", until.UTC())
			r.h.Metrics.count(ch, outcomeDeferred)
			if err := r.h.Store.Hold(r.ctx, r.key(ch), until); err != nil {
				// the timeline misses a line; the hold itself stands
				r.log.Warn("note the quiet-hours hold", "channel", ch, "err", err)
			}
			r.quietEnd = until
			continue
		}
		send = append(send, ch)
	}
	r.send = send
}

// Skip reasons of the platform stages.
const (
	ReasonNotVerified = "the platform could not confirm that the customer has not ordered (rules.platform_check: strict)"
	ReasonNoRegistrar = "the step offers a unique code, and no platform API is configured to register it for this store"
	ReasonNoCode      = "the step's unique code could not be registered with the platform"
)

// skipStep records every channel still to send as skipped for reason and
// moves the cart on.
func (r *run) skipStep(reason string) error {
	chs := r.send
	if len(chs) == 0 { // given up before the guards: every channel not handled yet
		for _, ch := range r.step.Channels {
			if _, done := r.c.Sends[recovery.Slot{Step: r.p.Step, Channel: ch}]; !done {
				chs = append(chs, ch)
			}
		}
	}
	for _, ch := range chs {
		if err := r.skip(r.rec, ch, reason, recovery.OutcomeSkipped); err != nil {
			return err
		}
	}
	return r.nextStep(r.rec)
}

// checkOrder asks the cart's platform, where its API is configured,
// whether the checkout or its customer ordered since the cart began: the
// order webhook may have been lost (WooCommerce never retries one). An
// order found is recorded as if its webhook had come (the cart stops, the
// order is attributed, counted verified_ordered) and done is true. When
// the platform cannot answer in time, the send goes on, unless
// rules.platform_check is strict: then the task is retried, and the last
// attempt skips the step.
func (r *run) checkOrder() (done bool, err error) {
	if r.h.rules.PlatformCheck == tenant.CheckOff {
		return false, nil
	}
	p, ok := r.h.platform(r.c).(platform.OrderChecker)
	if !ok {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.h.rules.CheckTimeout())
	// an order placed while the cart's first webhook was on its way counts
	since := r.c.Created.Add(-time.Minute)
	o, found, err := p.OrderSince(ctx, r.c, since)
	cancel()
	switch {
	case err != nil && r.ctx.Err() != nil:
		return true, r.ctx.Err()
	case err != nil && r.h.rules.PlatformCheck == tenant.CheckStrict:
		r.h.Metrics.platformCall(r.c.Platform, "order_check", "failed")
		if r.lastAttempt {
			r.log.Error("the platform did not answer the order check; step skipped (strict)", "platform", r.c.Platform, "err", err)
			return true, r.skipStep(ReasonNotVerified)
		}
		r.log.Warn("the platform did not answer the order check; the send waits (strict)", "platform", r.c.Platform, "err", err)
		return true, fmt.Errorf("order check with %s: %w", r.c.Platform, err)
	case err != nil:
		r.h.Metrics.platformCall(r.c.Platform, "order_check", "failed")
		r.log.Warn("the platform did not answer the order check; sending anyway", "platform", r.c.Platform, "err", err)
		return false, nil
	case !found:
		r.h.Metrics.platformCall(r.c.Platform, "order_check", "ok")
		return false, nil
	}
	r.h.Metrics.platformCall(r.c.Platform, "order_check", "found")
	at := plausible(o.At, r.h.Now())
	ev := recovery.Event{ID: "verified:" + o.ID, Platform: r.c.Platform, Kind: recovery.OrderCreated, Store: r.c.Store,
		OccurredAt: at, Cart: recovery.Cart{ID: r.c.ID}, Customer: recovery.Customer{Email: r.c.Customer.Email},
		Order: o, Verified: true}
	res, err := r.h.Store.Record(r.rec, ev, r.h.t.Policy)
	if err != nil {
		return true, fmt.Errorf("record the order %s found with %s: %w", o.ID, r.c.Platform, err)
	}
	r.log.Info("order found with the platform before sending; cart stopped", "platform", r.c.Platform, "order", o.ID, "status", res.Status)
	return true, nil
}

// discount settles what the step offers. A static code is offered as is.
// A unique code is made once for the cart and step (kept in its record,
// with its expiry, reused by every retry) and registered with the cart's
// platform before any message carries it: when registration fails the
// task is retried and nothing is sent; the last attempt skips the step
// rather than send a code that does not work.
func (r *run) discount() (done bool, err error) {
	d := r.v.Discount
	if !d.Unique {
		r.offer = render.Discount{Code: d.Code, Label: d.Label}
		return false, nil
	}
	reg, ok := r.h.platform(r.c).(platform.CodeRegistrar)
	if !ok {
		r.log.Error("no platform API to register the step's unique code; step skipped", "platform", r.c.Platform)
		return true, r.skipStep(ReasonNoRegistrar)
	}
	code, stop, err := r.h.Store.CodeFor(r.ctx, r.c, r.p.Step, r.v.Name, d.Prefix, d.ExpiresAfter)
	if err != nil || stop {
		return true, err
	}
	if !code.Registered {
		req := recovery.CodeRequest{Store: r.c.Store, Cart: r.c.ID, Email: r.c.Email(), Code: code.Code, Label: d.Label,
			Percent: d.Percent, Amount: d.Amount, Currency: r.c.Cart.Currency, StartsAt: r.h.Now(), ExpiresAt: code.ExpiresAt}
		ctx, cancel := context.WithTimeout(r.ctx, r.h.rules.CheckTimeout()*2)
		err := reg.RegisterCode(ctx, req)
		cancel()
		if err != nil && r.ctx.Err() != nil {
			return true, r.ctx.Err() // shutting down: the task runs again
		}
		if err != nil {
			r.h.Metrics.platformCall(r.c.Platform, "register_code", "failed")
			if r.lastAttempt {
				r.log.Error("unique code not registered; step skipped", "platform", r.c.Platform, "err", err)
				return true, r.skipStep(ReasonNoCode + ": " + recovery.Clip(err.Error(), 200))
			}
			r.log.Warn("unique code not registered; the send waits and retries", "platform", r.c.Platform, "err", err)
			return true, fmt.Errorf("register the unique code with %s: %w", r.c.Platform, err)
		}
		r.h.Metrics.platformCall(r.c.Platform, "register_code", "ok")
		ok, err := r.h.Store.CodeRegistered(r.rec, r.c, r.p.Step, r.v.Name, code)
		if err != nil {
			return true, err
		}
		if !ok {
			return true, errors.New("the step's unique code changed while it was registered")
		}
	}
	r.offer = render.Discount{Code: code.Code, Label: d.Label, ExpiresAt: code.ExpiresAt}
	return false, nil
}

// render renders every message of the step. A template error is kept and
// recorded as each message's failure once claimed; a Redis error retries
// the task.
func (r *run) render() error {
	if p, ok := r.h.platform(r.c).(platform.CartSource); ok {
		// a link made now (BigCommerce's restore links are single use)
		u, err := p.RecoveryURL(r.ctx, r.c.ID)
		if err != nil {
			return fmt.Errorf("ask %s for a link to cart %s: %w", r.c.Platform, r.c.ID, err)
		}
		r.c.Cart.RecoveryURL = u
		if ok, err := r.h.Store.SetContent(r.ctx, r.c, r.c.Gen); err != nil || !ok {
			if err == nil {
				err = errors.New("the cart changed while its link was made")
			}
			return err
		}
	}
	r.msgs, r.renderErr = r.h.messages(r.c, r.p.Step, r.step, r.v, r.offer, r.send)
	if r.renderErr != nil && !errors.Is(r.renderErr, errRender) {
		return r.renderErr
	}
	return nil
}

// deliver sends the message of one channel: it holds the provider
// connection and saves the message's link first, so that the claim is the
// last step before the provider call, then claims, sends and records the
// outcome. stop is true when the cart must send nothing more (ordered,
// deleted, superseded).
func (r *run) deliver(ch recovery.Channel) (stop bool, err error) {
	conn, err := notify.Acquire(r.ctx, r.h.Senders[string(ch)])
	if err != nil {
		if notify.FailureOf(err) == notify.FailureRetryable && !r.lastAttempt {
			r.log.Warn("channel not available; will retry", "channel", ch, "err", err)
			r.retry = append(r.retry, fmt.Errorf("%s: %w", ch, err))
			r.h.Metrics.count(ch, outcomeRetry)
			return false, nil
		}
		conn = unavailable{err} // last attempt: claimed and recorded as failed
	}
	defer conn.Release() // even if the send panics: the pool keeps its slot
	key := r.key(ch)
	m := r.msgs[ch]
	if r.renderErr == nil {
		// The link is saved before the claim: once claimed, nothing may
		// wait before the first byte to the provider (invariant 2). A
		// message the claim refuses takes its link back.
		static := "" // a unique code is the cart's: the click finds it there
		if !r.v.Discount.Unique {
			static = r.offer.Code
		}
		if err := r.h.Store.SaveLink(r.ctx, m.link, key, static); err != nil {
			return false, fmt.Errorf("save the link of %s: %w", ch, err) // nothing claimed: the task is retried
		}
	}
	ok, stop, err := r.claim(key, recovery.ContactHash(contactOf(ch, m.Message.To)))
	if !ok || err != nil {
		if r.renderErr == nil {
			if e := r.h.Store.DeleteLink(r.rec, m.link); e != nil {
				r.log.Warn("delete the link of a message not sent", "channel", ch, "err", e)
			}
		}
		return stop, err
	}
	if r.renderErr != nil {
		r.log.Error("render failed", "channel", ch, "err", r.renderErr)
		r.h.Metrics.count(ch, recovery.OutcomeFailed)
		return false, r.record(key, recovery.OutcomeFailed, "render: "+r.renderErr.Error())
	}
	return false, r.sendAndRecord(conn, key, m)
}

// claim takes the message's claim in Redis. ok is false when it must not
// be sent: taken already, the customer's cooldown (recorded as a skip), or
// the cart ended or moved on (stop).
func (r *run) claim(key recovery.MessageKey, contactHash string) (ok, stop bool, err error) {
	// A claim taken must be followed by its send: never claim on a task
	// that is being cancelled, and never let a cancellation land between
	// the script's success and this process learning of it (that claim
	// would be swept as unknown though nothing was sent).
	if err := r.ctx.Err(); err != nil {
		return false, false, err
	}
	res, err := r.h.Store.Claim(r.rec, key, r.c.Gen, r.c.Email(), contactHash)
	if err != nil {
		return false, false, err
	}
	switch res {
	case recovery.ClaimOK:
		return true, false, nil
	case recovery.ClaimTaken:
		return false, false, nil
	case recovery.ClaimCooldown:
		r.log.Info("reminder skipped", "channel", key.Channel, "reason", recovery.ReasonCooldown)
		return false, false, r.skip(r.rec, key.Channel, recovery.ReasonCooldown, recovery.OutcomeSkipped)
	case recovery.ClaimUnsubscribed:
		r.log.Info("reminder skipped", "channel", key.Channel, "reason", "unsubscribed")
		return false, false, r.skip(r.rec, key.Channel, "unsubscribed", recovery.OutcomeSkipped)
	}
	// ordered, deleted, gone, superseded: this task must send nothing more
	r.log.Info("reminder stopped before sending", "channel", key.Channel, "reason", res)
	return false, true, nil
}

// sendAndRecord calls the provider and records what it answered; the
// worker acts on the failure's type.
func (r *run) sendAndRecord(conn notify.Conn, key recovery.MessageKey, m outgoing) error {
	ch := key.Channel
	if r.h.Claimed != nil {
		r.h.Claimed(m.Message.ID, time.Now())
	}
	sendCtx, cancel := context.WithTimeout(r.ctx, r.h.sendTimeout())
	err := conn.Send(sendCtx, m.Message)
	cancel()
	if r.firstSend {
		r.h.Metrics.sendDelay(r.h.Now().Sub(r.c.Activity.Add(r.step.Delay)))
		r.firstSend = false
	}
	to := notify.MaskAddress(m.Message.To)
	if err == nil {
		r.log.Info("reminder sent", "channel", ch, "to", to)
		r.h.Metrics.count(ch, recovery.OutcomeSent)
		return r.record(key, recovery.OutcomeSent, "")
	}
	failure := notify.FailureOf(err)
	if failure == notify.FailureRetryable && !r.lastAttempt {
		r.log.Warn("reminder not accepted; will retry", "channel", ch, "to", to, "attempt", r.retried+1, "err", err)
		r.retry = append(r.retry, fmt.Errorf("%s: %w", ch, err))
		r.h.Metrics.count(ch, outcomeRetry)
		return r.h.Store.Unclaim(r.rec, key)
	}
	detail, metric := err.Error(), recovery.OutcomeFailed
	switch failure {
	case notify.FailureRetryable:
		detail = "retries exhausted: " + detail
	case notify.FailureUnknown:
		// The provider may have taken it: recorded as unknown, not resent.
		detail, metric = "unknown outcome, not retried: "+detail, outcomeUnknown
	case notify.FailureOptedOut:
		if e := r.h.Store.Suppress(r.rec, r.c.Store, string(ch), recovery.ContactHash(contactOf(ch, m.Message.To)), "opted out with the provider"); e != nil {
			r.log.Error("record the provider's opt-out", "channel", ch, "err", e)
		}
	}
	r.log.Warn("reminder failed", "channel", ch, "to", to, "failure", failure.String(), "err", err)
	r.h.Metrics.count(ch, metric)
	return r.record(key, recovery.OutcomeFailed, detail)
}

// contactOf is the form a channel's contact is suppressed under.
func contactOf(channel recovery.Channel, to string) string {
	if channel == "email" {
		return recovery.NormalizeEmail(to)
	}
	return to
}

// record replaces the claim with the outcome. When the claim was swept as
// unknown meanwhile (this process stalled past the lease), the sweep's
// record stands and the late outcome is logged.
func (r *run) record(key recovery.MessageKey, outcome recovery.Outcome, detail string) error {
	err := r.h.Store.Finish(r.rec, key, r.c.Email(), outcome, detail)
	if errors.Is(err, recovery.ErrNoClaim) {
		r.log.Warn("outcome arrived after the claim was swept as unknown", "channel", key.Channel, "outcome", outcome)
		return nil
	}
	return err
}

// nextStep moves the cart to its next step, or, when a channel of this step
// waits for the end of quiet hours, puts the cart back on the schedule for
// then: the run at that time sends only what is still unsent.
func (r *run) nextStep(ctx context.Context) error {
	if r.quietEnd.IsZero() {
		return r.h.Store.Advance(ctx, r.c.Store, r.c.ID, r.c.Segment, r.p.Step)
	}
	// A margin keeps the next run clear of this task's own id.
	return r.h.Store.Reschedule(ctx, r.c.Store, r.c.ID, later(r.quietEnd, r.h.Now().Add(10*time.Second)))
}

// plausible is a platform's order time, or now when it is missing, in the
// future or before 2000 (recovery.Event.Check refuses those).
func plausible(at, now time.Time) time.Time {
	if at.IsZero() || at.After(now) || at.Year() < 2000 {
		return now
	}
	return at
}
