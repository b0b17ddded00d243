// Package server exposes cartrecovery over HTTP: platform webhooks,
// unsubscribe links, health, readiness and metrics. Domain errors are mapped
// to HTTP statuses in exactly one place (writeError).
package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/all"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/tenant"
)

// MaxBody is the largest webhook body accepted (1 MiB).
const MaxBody = 1 << 20

// Server holds what the handlers need.
type Server struct {
	Store Store
	// Platforms are the platforms whose webhooks are taken, each at POST
	// /webhooks/{name} (nil: every platform, platform/all).
	Platforms *platform.Registry
	// Tenants are every store's settings (shop, playbook, webhook
	// secrets): a request reads the snapshot that serves when it starts.
	Tenants *tenant.Live
	// TwilioToken is the Twilio account's auth token: it signs inbound SMS
	// and delivery receipts (X-Twilio-Signature).
	TwilioToken string
	Links       *link.Signer
	// Receipts, when set, is told each delivery receipt recorded (the
	// worker's cartrecovery_messages_total).
	Receipts func(channel, status string)
	// Version, when set, names the configuration serving (/readyz).
	Version func() string
	served  atomic.Pointer[settings] // derived from Tenants' snapshot (settings)

	// Lookup records an order known by its id only (BigCommerce's
	// store/order/created) for the worker to find its cart; nil when no
	// platform API is configured (such orders are then ignored).
	Lookup func(ctx context.Context, ev recovery.Event) (duplicate bool, err error)
	// AdminToken guards the admin API and the dashboard; empty disables them.
	AdminToken string
	// PublicURL decides whether session cookies are Secure (https).
	PublicURL string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (http.trusted_proxies); none: the peer is the client.
	TrustedProxies []netip.Prefix
	// SessionTTL is how long a dashboard sign-in lasts (http.session_ttl;
	// zero means DefaultSessionTTL).
	SessionTTL time.Duration
	// OpsSeparate leaves /metrics out of Handler: OpsHandler serves it on
	// its own listener (http.ops_addr). The probes stay on both.
	OpsSeparate bool
	Ready       func(context.Context) error // readiness probe (Redis ping)
	Registry    *prometheus.Registry
	Log         *slog.Logger
	Now         func() time.Time

	webhooks *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	limiter  authLimiter // failed admin authentication per client
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	s.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cartrecovery_webhooks_total", Help: "Webhooks received, by platform and result.",
	}, []string{"platform", "result"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "cartrecovery_webhook_seconds", Help: "Time to verify, record and answer a webhook.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"platform"})
	s.Registry.MustRegister(s.webhooks, s.latency)

	mux := http.NewServeMux()
	for _, a := range s.platforms().All() {
		mux.HandleFunc("POST /webhooks/"+a.Name(), s.webhook(a))
	}
	mux.HandleFunc("POST /webhooks/twilio/inbound", s.twilioInbound)
	mux.HandleFunc("POST /webhooks/twilio/status", s.twilioStatus)
	supported := strings.Join(s.platforms().Names(), ", ")
	mux.HandleFunc("POST /webhooks/{platform}", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, s.Log, fmt.Errorf("platform %q: %w (supported: %s)", r.PathValue("platform"), recovery.ErrNotFound, supported))
	})
	mux.HandleFunc("GET /r/{token}", s.click)
	mux.HandleFunc("GET /api/report", s.apiReport)
	mux.HandleFunc("GET /dashboard", s.dashboard)
	mux.HandleFunc("POST /dashboard", s.dashboard) // the search form: an address never in a URL
	mux.HandleFunc("POST /dashboard/login", s.login)
	mux.HandleFunc("POST /dashboard/logout", s.logout)
	mux.HandleFunc("GET /api/carts/{store}/{cart}", s.apiCart)
	mux.HandleFunc("GET /unsubscribe/{token}", s.unsubscribe)
	mux.HandleFunc("POST /unsubscribe/{token}", s.unsubscribe)
	s.opsRoutes(mux, !s.OpsSeparate)
	return recoverPanics(s.Log, frameHeaders(mux))
}

// OpsHandler serves only /healthz, /readyz and /metrics: what a process
// running the worker role alone exposes for its probes and scrapes. It
// needs Ready, Registry and Log.
func (s *Server) OpsHandler() http.Handler {
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	mux := http.NewServeMux()
	s.opsRoutes(mux, true)
	return recoverPanics(s.Log, mux)
}

func (s *Server) opsRoutes(mux *http.ServeMux, metrics bool) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			s.Log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "redis: " + err.Error()})
			return
		}
		ready := map[string]string{"status": "ready"}
		if s.Version != nil {
			ready["config"] = s.Version()
		}
		writeJSON(w, http.StatusOK, ready)
	})
	if metrics {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, s.Log, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, recovery.ErrNotFound))
	})
}

// platforms are the platforms served: Platforms, else every one.
func (s *Server) platforms() *platform.Registry {
	if s.Platforms == nil {
		return all.Registry()
	}
	return s.Platforms
}

// webhookTopic names a delivery's topic as a platform does (the first
// topic header of a platform that has one: Shopify's, WooCommerce's),
// else the normalized kind.
func (s *Server) webhookTopic(r *http.Request, ev recovery.Event) string {
	for _, a := range s.platforms().All() {
		if tp, ok := a.(platform.Topics); ok {
			if t := tp.Topic(r.Header); t != "" {
				return recovery.Clip(t, 60)
			}
		}
	}
	return string(ev.Kind)
}

// lookup records an order known by its id only for the worker, which asks
// the platform for its cart.
func (s *Server) lookup(ctx context.Context, ev recovery.Event) (recovery.Result, error) {
	if s.Lookup == nil {
		return recovery.Result{Status: recovery.StatusIgnored,
			Reason: "an order without its cart needs the platform's API (platforms." + ev.Platform + " credentials) to be looked up"}, nil
	}
	dup, err := s.Lookup(ctx, ev)
	if errors.Is(err, recovery.ErrIgnored) {
		return recovery.Result{Status: recovery.StatusIgnored, Reason: err.Error()}, nil
	}
	if err != nil {
		return recovery.Result{}, fmt.Errorf("record order %s for lookup: %w", ev.Order.ID, err)
	}
	if dup {
		return recovery.Result{Status: recovery.StatusDuplicate}, nil
	}
	return recovery.Result{Status: recovery.StatusAccepted}, nil
}

func (s *Server) webhook(a platform.Adapter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		result := s.handleWebhook(w, r, a)
		s.webhooks.WithLabelValues(a.Name(), result).Inc()
		s.latency.WithLabelValues(a.Name()).Observe(time.Since(start).Seconds())
	}
}

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request, a platform.Adapter) string {
	// Nothing keeps the body past this handler (the event's strings are
	// copies), so its buffer is reused.
	buf := bodies.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			bodies.Put(buf)
		}
	}()
	buf.Grow(int(min(max(r.ContentLength, 0), MaxBody)) + bytes.MinRead)
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBody))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("body over %d bytes: %w", MaxBody, recovery.ErrTooLarge)
		} else {
			err = fmt.Errorf("read body: %v: %w", err, recovery.ErrInvalid)
		}
		return writeError(w, s.Log, err)
	}
	st := s.settings() // one snapshot for the whole request
	ev, t, err := s.parse(st, a, r, body)
	if err == nil {
		err = s.checkCartURLs(st, a, ev)
	}
	if err == nil && t != nil {
		err = st.sameTenant(ev, t)
	}
	if err == nil && ev.Kind == recovery.CartUpdated {
		segment(t, &ev)
	}
	if err == nil {
		if ev.OccurredAt.IsZero() {
			ev.OccurredAt = s.Now().UTC()
		}
		var res recovery.Result
		if ev.Kind == recovery.OrderLookup {
			res, err = s.lookup(r.Context(), ev)
		} else {
			// the policy the segment was chosen with: the same snapshot
			res, err = s.Store.Record(r.Context(), ev, st.set.Policy(ev.Store))
		}
		if err == nil {
			s.Log.Info("webhook", "platform", a.Name(), "topic", s.webhookTopic(r, ev), "store", ev.Store,
				"cart", recovery.Clip(ev.Cart.ID, 80), "customer", notify.MaskAddress(ev.Customer.Email), "outcome", res.Status, "reason", res.Reason)
			switch res.Status {
			case recovery.StatusDuplicate:
				writeRaw(w, http.StatusOK, statusDuplicate)
			case recovery.StatusAccepted:
				writeRaw(w, http.StatusAccepted, statusAccepted)
			default:
				writeJSON(w, http.StatusAccepted, map[string]string{"status": "ignored", "reason": res.Reason})
			}
			return string(res.Status)
		}
	}
	return writeError(w, s.Log, err)
}

// parse answers a platform's ping, reads the store the delivery names,
// verifies its signature with that store's secret and parses it; it
// returns the store's settings.
func (s *Server) parse(st *settings, a platform.Adapter, r *http.Request, body []byte) (recovery.Event, *served, error) {
	if p, ok := a.(platform.Pinger); ok && p.IsPing(r.Header, body) {
		return recovery.Event{}, nil, platform.ErrPing
	}
	store := ""
	// a store named in the body is read only when stores have settings
	// of their own: else every store has the default's
	if a.StoreField() == "" || st.perStore() {
		var err error
		if store, err = a.Store(r.Header, body); err != nil {
			return recovery.Event{}, nil, err
		}
	}
	secret, t, err := st.secretFor(a, store)
	if err != nil {
		return recovery.Event{}, nil, err
	}
	if err := a.Verify(r.Header, body, secret, s.Now()); err != nil {
		return recovery.Event{}, nil, err
	}
	ev, err := a.Parse(r.Header, body)
	return ev, t, err
}

// writeError is the one place domain errors become HTTP statuses. It
// returns the result label for metrics.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) string {
	status, label := http.StatusServiceUnavailable, "error"
	var limited *errRateLimited
	switch {
	case errors.Is(err, recovery.ErrIgnored):
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "ignored", "reason": err.Error()})
		return "ignored"
	case errors.Is(err, platform.ErrPing):
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return "ping"
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(limited.seconds()))
		status, label = http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, recovery.ErrInvalid):
		status, label = http.StatusBadRequest, "invalid"
	case errors.Is(err, recovery.ErrUnauthorized):
		status, label = http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, recovery.ErrForbidden):
		status, label = http.StatusForbidden, "forbidden"
	case errors.Is(err, recovery.ErrNotFound):
		status, label = http.StatusNotFound, "not_found"
	case errors.Is(err, recovery.ErrTooLarge):
		status, label = http.StatusRequestEntityTooLarge, "too_large"
	default:
		// Not the caller's fault (Redis unreachable, timeout): 503 makes the
		// platform retry, and nothing was acknowledged.
		log.Error("request failed", "err", err)
		writeJSON(w, status, map[string]string{"error": "temporarily unavailable, retry later"})
		return label
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
	return label
}

// bodies are the reused buffers webhook bodies are read into.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// The answers of most webhooks, encoded once.
var (
	statusAccepted  = []byte(`{"status":"accepted"}` + "\n")
	statusDuplicate = []byte(`{"status":"duplicate"}` + "\n")
)

// writeRaw answers with a JSON body encoded beforehand.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} - {{.Store}}</title>
<style>body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;background:#f4f4f5;color:#18181b;margin:0}
main{max-width:480px;margin:12vh auto;background:#fff;border-radius:12px;padding:32px;box-shadow:0 1px 3px rgba(0,0,0,.1)}
h1{font-size:1.4rem;margin:0 0 12px}button{background:#18181b;color:#fff;border:0;border-radius:8px;padding:12px 20px;font-size:1rem;cursor:pointer}
a{color:#2563eb}</style></head><body><main><h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Form}}<form method="post"><button type="submit" name="confirm" value="1">Unsubscribe</button></form>{{end}}
{{if .StoreURL}}<p><a href="{{.StoreURL}}">Back to {{.Store}}</a></p>{{end}}</main></body></html>`))

type page struct {
	Title, Text, Store, StoreURL string
	Form                         bool
}

func (s *Server) renderPage(w http.ResponseWriter, status int, p page) {
	if p.Store == "" {
		shop := s.settings().def.Shop
		p.Store, p.StoreURL = shop.Name, shop.URL
	}
	htmlHeaders(w.Header(), "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}

// unsubscribe shows a confirmation page on GET and unsubscribes on POST
// (which is also the RFC 8058 one-click request mail clients send).
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	f, err := s.Links.Verify("unsub", r.PathValue("token"), s.Now())
	if err != nil || len(f) != 3 || !recovery.ValidStore(f[0]) || (f[1] != "email" && f[1] != "sms") {
		s.renderPage(w, http.StatusBadRequest, page{Title: "This link is not valid",
			Text: "The unsubscribe link is incomplete or was changed. Please use the link from the latest message, or contact the store."})
		return
	}
	if r.Method == http.MethodGet {
		shop := s.settings().shop(f[0])
		s.renderPage(w, http.StatusOK, page{Title: "Unsubscribe from cart reminders?", Store: shop.Name, StoreURL: shop.URL,
			Text: "You will not receive any more reminders about carts you left at " + shop.Name + ".", Form: true})
		return
	}
	if err := s.Store.Suppress(r.Context(), f[0], f[1], f[2], "unsubscribe link"); err != nil {
		s.Log.Error("unsubscribe failed", "err", err)
		s.renderPage(w, http.StatusServiceUnavailable, page{Title: "Please try again", Text: "We could not record your request just now."})
		return
	}
	s.Log.Info("unsubscribed", "store", f[0], "channel", f[1])
	shop := s.settings().shop(f[0])
	s.renderPage(w, http.StatusOK, page{Title: "You are unsubscribed", Store: shop.Name, StoreURL: shop.URL,
		Text: "You will not receive any more cart reminders from " + strings.TrimSpace(shop.Name) + "."})
}

// click records a click on a message's link and redirects to the cart, with
// the step's discount applied where the platform has a URL for it.
func (s *Server) click(w http.ResponseWriter, r *http.Request) {
	gone := page{Title: "This link has expired",
		Text: "The link you followed is no longer valid. Your cart may still be waiting for you in the store."}
	id, err := s.Links.VerifyShort(r.PathValue("token"), s.Now())
	if err != nil {
		s.renderPage(w, http.StatusNotFound, gone)
		return
	}
	rec, ok, err := s.Store.ResolveLink(r.Context(), id)
	l := rec.Message
	if err != nil {
		s.Log.Error("resolve link", "err", err)
		s.renderPage(w, http.StatusServiceUnavailable, page{Title: "Please try again", Text: "We could not open your cart just now."})
		return
	}
	if !ok {
		s.renderPage(w, http.StatusNotFound, gone)
		return
	}
	st := s.settings() // one snapshot: the click is counted and redirected with it
	clicked, ok, err := s.Store.Click(recovery.WithPolicy(r.Context(), l.Store, st.set.Policy(l.Store)), l)
	cart, platform := clicked.Cart, clicked.Platform
	if err != nil {
		s.Log.Error("record click", "err", err)
	}
	t, _ := st.tenant(l.Store)
	target := t.Shop.URL
	if ok && cart.RecoveryURL != "" {
		if err := s.policyFor(st, platform, l.Store).check(cart.RecoveryURL); err != nil {
			// recorded before the URL policy existed, or the policy changed
			s.Log.Warn("recovery URL refused by the URL policy, redirecting to store.url", "store", l.Store, "cart", l.Cart,
				"url", redactURL(cart.RecoveryURL), "reason", err)
		} else {
			target = cart.RecoveryURL
			// the cart's unique code, else the static code the message
			// offered (as sent, whatever a reload made of the step since),
			// else the step's own now (a link saved before links kept it)
			code := cmp.Or(clicked.Code, rec.Code)
			if steps := t.Playbook.Sequence(l.Segment); code == "" && l.Step >= 0 && l.Step < len(steps) {
				code = steps[l.Step].VariantNamed(l.Variant).Discount.Code
			}
			target = s.withDiscount(platform, target, code)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target, http.StatusFound)
}

// withDiscount returns the URL that applies code on the way to target, where
// the platform has one (Shopify's /discount/CODE?redirect=PATH on the same
// host). Otherwise target as is.
func (s *Server) withDiscount(name, target, code string) string {
	if code == "" {
		return target
	}
	if a, ok := s.platforms().Lookup(name); ok {
		if d, ok := a.(platform.DiscountLinker); ok {
			return d.DiscountURL(target, code)
		}
	}
	return target
}
