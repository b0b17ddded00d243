package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cartrecovery/cartrecovery/clock"
	"github.com/cartrecovery/cartrecovery/config"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/all"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/server"
	"github.com/cartrecovery/cartrecovery/tenant"
	"github.com/cartrecovery/cartrecovery/worker"
)

// App is the whole service, built from its configuration in this one place
// (the only code that reads config besides the commands): Redis, the store,
// the worker and its relay, the HTTP listeners. serve runs it; tests start
// it in-process with http.addr "127.0.0.1:0" and learn the bound addresses
// from Ready.
type App struct {
	Config   config.Config
	Role     string // all | web | worker
	Renderer *render.Renderer
	Log      *slog.Logger
	// Ready, when set, is called once every listener is bound, with the
	// address of each ("http.addr", "http.ops_addr").
	Ready func(addrs map[string]string)
	// Clock is the clock of the store, the relay, the worker and the HTTP
	// handlers (default the system's; tests pass a clock.Sim).
	Clock clock.Clock
	// Notify adjusts the transports (tests pass TLS roots).
	Notify []notify.Option
	// ConfigPath is the --config the app was started with ("": the
	// environment's or the default lookup): reloads read it again. Watch
	// (default on in serve) reloads on a change of it or of the templates;
	// SIGHUP reloads too.
	ConfigPath string
	Watch      bool
	// Reloaded, when set, is told each reload applied (tests).
	Reloaded func(version string)
}

// Conversions from the configuration to each package's own options.

func storeOptions(c config.Config, tenants *tenant.Live, now func() time.Time) redis.Options {
	return redis.Options{Prefix: c.Redis.Prefix, Policies: tenants, Now: now, Retention: c.Rules.Retention,
		SendTimeout: c.Worker.SendTimeout}
}

func emailOptions(c config.Email) notify.EmailOptions {
	return notify.EmailOptions{Transport: c.Transport, From: c.From, Outbox: c.Outbox, SMTP: notify.SMTPOptions(c.SMTP)}
}

func smsOptions(c config.SMS) notify.SMSOptions {
	return notify.SMSOptions{Transport: c.Transport, Twilio: notify.TwilioOptions(c.Twilio)}
}

func rules(c config.Rules) tenant.Rules {
	return tenant.Rules{EmailConsentRequired: c.EmailConsent == "required", MinCartValue: c.MinCartValue,
		QuietHours: c.QuietHours.Domain(), PlatformCheck: c.PlatformCheck, PlatformCheckTimeout: c.PlatformCheckTimeout,
		HoldoutPercent: c.HoldoutPercent, Window: c.AttributionWindow, Cooldown: c.Cooldown, MaxCartAge: c.MaxCartAge}
}

// tenants is the snapshot of every store's settings that c describes: the
// catch-all's (else the top level's) for every store not listed, each
// listed store's own (what it does not set is the top level's), and
// whether other stores are refused. A store's templates folder that no
// longer loads (changed since the check) renders with the shared
// templates, logged.
func tenants(c config.Config, shared *render.Renderer, log *slog.Logger) *tenant.Set {
	rs, err := storeRenderers(c, shared)
	if err != nil {
		log.Error("store templates not loaded; those stores use templates.dir", "err", err)
	}
	of := func(id string) *tenant.Tenant {
		rc := c.ForStore(id)
		r := shared
		if x, ok := rs[id]; ok {
			r = x
		}
		return &tenant.Tenant{Shop: rc.Shop(), Playbook: rc.Playbook(), Secrets: rc.Platforms.Secrets(), SMSHelp: rc.SMSHelp(),
			Renderer: r, Platforms: rc.Platforms.Clients()}
	}
	_, catchAll := c.Stores[config.CatchAll]
	set := tenant.Set{Default: of(config.CatchAll), Stores: map[string]*tenant.Tenant{},
		Strict: len(c.Stores) > 0 && !catchAll, SMSHelp: c.SMSHelp(), Rules: rules(c.Rules)}
	for _, id := range c.StoreIDs() {
		if id != config.CatchAll {
			set.Stores[id] = of(id)
		}
	}
	return tenant.New(set)
}

// statusURL is where Twilio posts delivery receipts: only when
// http.public_url can be reached from the internet (https, not this
// machine or a private network), else Twilio would post into the void.
func statusURL(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "localhost" {
		return ""
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast()) {
		return ""
	}
	return strings.TrimSuffix(publicURL, "/") + "/webhooks/twilio/status"
}

// lookupClient is the client that looks up an order of ev's store known
// by its id only (recovery.OrderLookup), with the API credentials of that
// store (the top level's, or the store's own under stores); else the
// platform's reason why there is none (wrapping recovery.ErrIgnored).
func lookupClient(set *tenant.Set, ev recovery.Event) (platform.OrderFinder, error) {
	t, _ := set.For(ev.Store)
	cl := t.Platforms[ev.Platform]
	if f, ok := cl.(platform.OrderFinder); ok && cl.Store() == ev.Store {
		return f, nil
	}
	if a, ok := all.Registry().Lookup(ev.Platform); ok {
		if l, ok := a.(platform.OrderLookup); ok {
			return nil, l.NoLookup(ev.Store)
		}
	}
	return nil, fmt.Errorf("store %s: %s orders are not looked up: %w", ev.Store, recovery.Clip(ev.Platform, 40), recovery.ErrIgnored)
}

// runApp builds the app and runs it until ctx is done or a listener fails,
// then shuts it down in order: webhooks first, then the relay, then the
// sends in flight.
func runApp(ctx context.Context, a App) error {
	cfg, log := a.Config, a.Log
	// SIGHUP reloads: caught from the start (its default would end the
	// process), applied once the app is up
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// Bind the listeners before anything else starts, so that a busy port
	// is the first and only error, and nothing was started in vain.
	type listener struct {
		key, addr string
		ops       bool // serves /metrics and the probes only
		ln        net.Listener
	}
	var listeners []listener
	switch {
	case a.Role != "worker":
		listeners = append(listeners, listener{key: "http.addr", addr: cfg.HTTP.Addr})
	case cfg.HTTP.OpsAddr == "":
		listeners = append(listeners, listener{key: "http.addr", addr: cfg.HTTP.Addr, ops: true})
	}
	if cfg.HTTP.OpsAddr != "" {
		listeners = append(listeners, listener{key: "http.ops_addr", addr: cfg.HTTP.OpsAddr, ops: true})
	}
	defer func() {
		// the ones not served yet, on an early return (served ones are
		// closed by Shutdown; closing again is harmless)
		for _, l := range listeners {
			if l.ln != nil {
				_ = l.ln.Close()
			}
		}
	}()
	for i := range listeners {
		ln, err := net.Listen("tcp", listeners[i].addr)
		if err != nil {
			return fmt.Errorf("%s: %w", listeners[i].key, err)
		}
		listeners[i].ln = ln
	}
	if a.Clock == nil {
		a.Clock = clock.Real{}
	}
	now := a.Clock.Now
	conn, err := redis.Open(ctx, cfg.Redis.Mode, cfg.Redis.URL, log)
	if err != nil {
		return err
	}
	defer conn.Close()
	if conn.Embedded && a.Role != "all" {
		return fmt.Errorf("--role %s needs a shared Redis: set redis.url (the embedded engine lives in one process)", a.Role)
	}
	// one snapshot of every store's settings, read by the store, the
	// worker and the server; a reload swaps it
	live := tenant.NewLive(tenants(cfg, a.Renderer, log))
	store := redis.NewStore(conn.Client, storeOptions(cfg, live, now))
	if n, err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("redis: move the schedule of an earlier release: %w", err)
	} else if n > 0 {
		log.Info("moved the schedule of an earlier release to per-store keys", "entries", n)
	}
	linkKey, err := link.LoadKey(ctx, conn.Client, store.LinkKeyName())
	if err != nil {
		return fmt.Errorf("redis: load link signing key: %w", err)
	}
	signer := link.New(linkKey)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	metrics := worker.NewMetrics(reg, store, now)
	queues := worker.Queues(cfg.Redis.Prefix, cfg.QueueCount())
	var (
		srv       *asynq.Server
		client    *asynq.Client
		relayDone = make(chan struct{})
	)
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRelay()
	close(relayDone)
	if a.Role != "web" {
		opts := append([]notify.Option{notify.WithTimeout(cfg.Worker.SendTimeout)}, a.Notify...)
		email, err := notify.NewEmail(emailOptions(cfg.Email), log, opts...)
		if err != nil {
			return fmt.Errorf("email: %w", err)
		}
		defer email.Close()
		sms, err := notify.NewSMS(smsOptions(cfg.SMS), log, opts...)
		if err != nil {
			return fmt.Errorf("sms: %w", err)
		}
		h := &worker.Handler{Store: store, Tenants: live, PublicURL: cfg.HTTP.PublicURL, Links: signer, Now: now,
			Senders: map[string]notify.Sender{"email": email, "sms": sms}, Log: log.With("component", "worker"),
			Metrics: metrics, SendTimeout: cfg.Worker.SendTimeout, StatusURL: statusURL(cfg.HTTP.PublicURL)}
		client = asynq.NewClientFromRedisClient(conn.Client)
		srv = asynq.NewServerFromRedisClient(conn.Client, worker.ServerConfig(queues, cfg.Worker.Concurrency, log))
		mux := asynq.NewServeMux()
		mux.Handle(worker.TaskType, h)
		mux.HandleFunc(worker.LookupTaskType, h.ProcessLookup)
		if err := srv.Start(mux); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		relay := &worker.Relay{Store: store, Client: client, Queues: queues, MaxRetry: 8, Clock: a.Clock,
			Log: log.With("component", "relay"), Metrics: h.Metrics}
		relayDone = make(chan struct{})
		go func() { defer close(relayDone); relay.Run(relayCtx) }()
		log.Info("worker started", "queues", len(queues), "concurrency", cfg.Worker.Concurrency)
	}

	// The web role serves everything; the worker role alone serves its
	// probes and metrics on the same address. With http.ops_addr, /metrics
	// and the probes are served there, and http.addr no longer serves
	// /metrics (a worker alone then listens on http.ops_addr only).
	s := &server.Server{Store: store, Tenants: live, TwilioToken: cfg.SMS.Twilio.AuthToken, Receipts: metrics.Receipt, Links: signer,
		AdminToken: cfg.HTTP.AdminToken, PublicURL: cfg.HTTP.PublicURL, TrustedProxies: cfg.HTTP.Proxies(),
		SessionTTL: cfg.HTTP.SessionTTL, OpsSeparate: cfg.HTTP.OpsAddr != "",
		Ready: store.Ping, Registry: reg, Log: log.With("component", "http"), Now: now}
	rl := newReloader(a.ConfigPath, cfg, log.With("component", "config"), reg, func(c config.Config, r *render.Renderer) {
		// The one reload point. API clients are built again from the
		// running top-level values (platforms.* need a restart) and each
		// store's own.
		live.Store(tenants(c, r, log))
	})
	s.Version = func() string {
		if p := rl.Pending(); len(p) > 0 {
			return rl.Version() + " (restart pending: " + strings.Join(p, ", ") + ")"
		}
		return rl.Version()
	}
	reload := func(trigger string) {
		rl.reload(trigger)
		if a.Reloaded != nil {
			a.Reloaded(rl.Version())
		}
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload("SIGHUP")
			}
		}
	}()
	if a.Watch {
		if err := config.Watch(ctx, config.File(a.ConfigPath), cfg.Templates.Dir, 300*time.Millisecond, log, func() { reload("file change") }); err != nil {
			log.Warn("configuration not watched (SIGHUP still reloads)", "err", err)
		}
	}
	// an order its webhook names by id only (recovery.OrderLookup) is
	// recorded as a task in Redis before the answer, for a worker to find
	// its cart with the API credentials of the order's store (the top
	// level's, or the store's own under stores)
	lookups := asynq.NewClientFromRedisClient(conn.Client)
	defer lookups.Close()
	s.Lookup = func(ctx context.Context, ev recovery.Event) (bool, error) {
		if _, err := lookupClient(live.Load(), ev); err != nil {
			return false, err
		}
		return worker.EnqueueLookup(ctx, lookups, queues[0], ev)
	}
	var httpSrvs []*http.Server
	httpErr := make(chan error, len(listeners))
	bound := map[string]string{}
	for _, l := range listeners {
		ln, handler := l.ln, s.Handler
		if l.ops {
			handler = s.OpsHandler
		}
		hs := &http.Server{Handler: handler(), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		httpSrvs = append(httpSrvs, hs)
		bound[l.key] = ln.Addr().String()
		if l.key == "http.ops_addr" {
			log.Info("listening", "addr", ln.Addr().String(), "key", l.key, "serves", "/metrics /healthz /readyz")
		} else {
			log.Info("listening", "addr", ln.Addr().String(), "role", a.Role, "public_url", cfg.HTTP.PublicURL)
		}
		go func() { httpErr <- hs.Serve(ln) }()
	}
	if a.Ready != nil {
		a.Ready(bound)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-httpErr:
		log.Error("http server stopped", "err", err)
	}
	// 1. stop taking webhooks, let in-flight requests finish
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	for _, hs := range httpSrvs {
		if err := hs.Shutdown(sctx); err != nil {
			log.Warn("http shutdown", "err", err)
		}
	}
	cancel()
	// 2. stop relaying, let in-flight sends finish (unfinished ones go back to the queue)
	stopRelay()
	<-relayDone
	if srv != nil {
		srv.Shutdown()
	}
	if client != nil {
		_ = client.Close()
	}
	log.Info("stopped")
	return nil
}
