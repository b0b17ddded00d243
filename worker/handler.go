package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/tenant"
)

// Handler processes reminder tasks.
type Handler struct {
	Store Store
	// Tenants are every store's settings (shop, playbook, templates,
	// platform APIs) and the rules: a task reads the snapshot current when
	// it starts and runs with it to the end.
	Tenants   *tenant.Live
	PublicURL string
	// StatusURL, when set, is where Twilio posts each SMS's delivery
	// receipts (http.public_url + /webhooks/twilio/status, when public).
	StatusURL string
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

	// set by forStore, for one task
	t     *tenant.Tenant
	rules tenant.Rules
}

// forStore is the handler of a task about store: with the store's tenant
// (its own, else the default) and the rules of the snapshot that serves
// now, read once.
func (h *Handler) forStore(store string) *Handler {
	set := h.Tenants.Load()
	c := *h
	c.t, _ = set.For(store)
	c.rules = set.Rules
	return &c
}

// sequence is the steps of a cart in segment ("" or one no longer
// configured: the default sequence).
func (h *Handler) sequence(segment string) []recovery.Step {
	return h.t.Playbook.Sequence(segment)
}

// zones caches time zones by name (*time.Location).
var zones sync.Map

// ReasonTooOld is the skip reason of a cart first seen idle longer than
// rules.max_cart_age.
const ReasonTooOld = "too old: first seen idle longer than rules.max_cart_age"

// unavailable is a channel that could not be acquired: its send fails with
// the acquire error, so the last attempt records the failure.
type unavailable struct{ err error }

func (u unavailable) Send(context.Context, notify.Message) error { return u.err }
func (unavailable) Release()                                     {}

func (h *Handler) sendTimeout() time.Duration {
	if h.SendTimeout > 0 {
		return h.SendTimeout
	}
	return 30 * time.Second
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// quietUntil reports whether channel is in its quiet hours for c's customer
// (their time zone, else the store's) and, if so, when they end.
func (h *Handler) quietUntil(c recovery.CartState, channel recovery.Channel) (time.Time, bool) {
	q := h.rules.QuietHours
	if !q.Applies(channel) {
		return time.Time{}, false
	}
	return q.Until(h.Now(), h.location(c.Customer.Timezone))
}

// location is the customer's zone when known and valid, else the store's.
func (h *Handler) location(customerTZ string) *time.Location {
	for _, name := range []string{customerTZ, h.t.Shop.Timezone} {
		if name == "" {
			continue
		}
		if v, ok := zones.Load(name); ok {
			return v.(*time.Location)
		}
		if loc, err := time.LoadLocation(name); err == nil {
			zones.Store(name, loc)
			return loc
		}
	}
	return time.UTC
}

var errRender = errors.New("render")

// guard returns why channel must not be used for c, or "".
func (h *Handler) guard(ctx context.Context, c recovery.CartState, channel recovery.Channel) (string, error) {
	if below, err := belowMin(c.Cart.Total, h.rules.MinCartValue); err != nil {
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
		if h.rules.EmailConsentRequired && !c.Customer.EmailConsent {
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
		return "unknown channel " + string(channel), nil
	}
	if h.Senders[string(channel)] == nil {
		return "channel not configured", nil
	}
	sup, err := h.Store.Suppressed(ctx, c.Store, string(channel), recovery.ContactHash(contact))
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
	t, ok := money.ParseDecimal(total)
	if !ok {
		return false, fmt.Errorf("%q", total)
	}
	m, ok := money.ParseDecimal(minimum)
	if !ok {
		return false, nil
	}
	return t.Rat().Cmp(m.Rat()) < 0, nil
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
func (h *Handler) messages(c recovery.CartState, stepIdx int, step recovery.Step, variant recovery.Variant, discount render.Discount, channels []recovery.Channel) (map[recovery.Channel]outgoing, error) {
	email := c.Email()
	base := strings.TrimSuffix(h.PublicURL, "/")
	unsub := base + "/unsubscribe/" + UnsubscribeToken(h.Links, c.Store, "email", email)
	d := render.Data{Store: render.StoreOf(h.t.Shop), Customer: render.CustomerOf(c.Customer), Cart: render.CartOf(c.ID, c.Cart),
		Discount: discount, UnsubscribeURL: unsub, Step: render.Step{Name: step.Name, Index: stepIdx}}
	out := map[recovery.Channel]outgoing{}
	for _, ch := range channels {
		id := c.Message(stepIdx, ch, variant.Name).ExternalID()
		lid := link.NewID()
		d.RecoveryURL = base + "/r/" + h.Links.ShortToken(lid, h.Now().Add(recovery.LinkTTL))
		r, err := h.t.Renderer.Render(variant.Template, []string{string(ch)}, d)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errRender, err)
		}
		switch ch {
		case "email":
			out[ch] = outgoing{link: lid, Message: notify.Message{Channel: string(ch), To: c.Customer.Email, ToName: c.Customer.FirstName,
				Subject: r.Subject, Text: r.Text, HTML: r.HTML, ID: id, From: h.t.Shop.EmailFrom,
				Headers: map[string]string{
					"List-Unsubscribe":      "<" + unsub + ">",
					"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				}}}
		case "sms":
			msg := notify.Message{Channel: string(ch), To: c.Customer.Phone, Text: r.SMS, ID: id, From: h.t.Shop.SMSFrom}
			if h.StatusURL != "" {
				// the receipt names its message; Twilio signs the whole URL
				msg.StatusCallback = h.StatusURL + "?m=" + url.QueryEscape(c.Message(stepIdx, ch, variant.Name).String())
			}
			out[ch] = outgoing{link: lid, Message: msg}
		}
	}
	return out, nil
}

// platform returns the API of c's platform when it answers for c's store.
func (h *Handler) platform(c recovery.CartState) platform.Client {
	p := h.t.Platforms[c.Platform]
	if p == nil || (p.Store() != "" && p.Store() != c.Store) {
		return nil
	}
	return p
}
