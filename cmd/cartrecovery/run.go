package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cartrecovery/cartrecovery/config"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/server"
	"github.com/cartrecovery/cartrecovery/worker"
)

// Set by -ldflags at build time.
var (
	version = "dev"
	commit  = "none"
)

// usageError makes main exit 2.
type usageError struct{ error }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

const usage = `usage: cartrecovery <command> [flags]

commands:
  serve    [--config FILE] [--role all|web|worker]   run the HTTP endpoints and/or the worker
  report   [--config FILE] [--since 30d | --from D --to D] [--by step|channel|variant|day|store]
           [--store NAME] [--format table|csv|json]          recovery report from the counters
  preview  [--config FILE] --step NAME [--channel email|sms] [--variant V] [--cart FILE.json] [--out DIR]
                                                     render a step's messages for a sample cart
  check    [--config FILE]                           validate the config and every template
  version                                            print version and commit
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("missing command")}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "report":
		return reportCmd(ctx, args[1:], stdout, stderr)
	case "preview":
		return preview(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "cartrecovery %s (commit %s)\n", version, commit)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", args[0])}
	}
}

func flags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (default: $CARTRECOVERY_CONFIG, else ./config/cartrecovery.yaml if present, else built-in defaults)")
	return fs, cfgPath
}

// load reads and validates the config and parses every template: the checks
// shared by check and serve.
func load(path string) (config.Config, string, *render.Renderer, error) {
	cfg, src, err := config.Load(path)
	if err != nil {
		return cfg, src, nil, err
	}
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	r, err := render.Load(cfg.Templates.Dir)
	if err != nil {
		errs = append(errs, err)
	} else {
		for _, st := range cfg.Sequence {
			errs = append(errs, r.Check(st.Template, st.Channels)...)
			for _, v := range st.Variants {
				errs = append(errs, r.Check(v.Template, st.Channels)...)
			}
		}
	}
	return cfg, src, r, errors.Join(errs...)
}

func check(args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := flags("check", stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	_, src, _, err := load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stdout, err)
		return fmt.Errorf("config %s is invalid", src)
	}
	fmt.Fprintf(stdout, "config %s and its templates are valid\n", src)
	return nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs, cfgPath := flags("serve", stderr)
	role := fs.String("role", "all", "all | web | worker")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *role != "all" && *role != "web" && *role != "worker" {
		return usageError{fmt.Errorf("--role: %q is not one of all, web, worker", *role)}
	}
	cfg, src, renderer, err := load(*cfgPath)
	if err != nil {
		return fmt.Errorf("config %s is invalid:\n%w", src, err)
	}
	log := newLogger(cfg.Log, stderr)
	log.Info("starting cartrecovery", "version", version, "commit", commit, "role", *role, "config_source", src, "config", cfg)

	conn, err := redis.Open(ctx, cfg.Redis.Mode, cfg.Redis.URL, log)
	if err != nil {
		return err
	}
	defer conn.Close()
	if conn.Embedded && *role != "all" {
		return fmt.Errorf("--role %s needs a shared Redis: set redis.url (the embedded engine lives in one process)", *role)
	}
	delays := make([]time.Duration, len(cfg.Sequence))
	for i, st := range cfg.Sequence {
		delays[i] = st.Delay
	}
	names := make([]string, len(cfg.Sequence))
	for i, st := range cfg.Sequence {
		names[i] = st.Name
	}
	store := redis.NewStore(conn.Client, redis.Options{Prefix: cfg.Redis.Prefix, Delays: delays, Steps: names,
		Window: cfg.Rules.AttributionWindow, HoldoutPercent: cfg.Rules.HoldoutPercent, Retention: cfg.Rules.Retention,
		Cooldown: cfg.Rules.Cooldown, MaxCartAge: cfg.Rules.MaxCartAge, SendTimeout: cfg.Worker.SendTimeout})
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

	queues := worker.Queues(cfg.Redis.Prefix, cfg.QueueCount())
	var (
		srv       *asynq.Server
		client    *asynq.Client
		relayDone = make(chan struct{})
	)
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRelay()
	close(relayDone)
	if *role != "web" {
		email, err := notify.NewEmail(cfg.Email, log, notify.WithTimeout(cfg.Worker.SendTimeout))
		if err != nil {
			return fmt.Errorf("email: %w", err)
		}
		defer email.Close()
		sms, err := notify.NewSMS(cfg.SMS, log, notify.WithTimeout(cfg.Worker.SendTimeout))
		if err != nil {
			return fmt.Errorf("sms: %w", err)
		}
		h := &worker.Handler{Store: store, Steps: cfg.Sequence, Rules: cfg.Rules, Shop: cfg.Store,
			PublicURL: cfg.HTTP.PublicURL, Renderer: renderer, Links: signer, Now: time.Now,
			Senders: map[string]notify.Sender{"email": email, "sms": sms}, Log: log.With("component", "worker"),
			Metrics: worker.NewMetrics(reg, store, time.Now), SendTimeout: cfg.Worker.SendTimeout}
		client = asynq.NewClientFromRedisClient(conn.Client)
		srv = asynq.NewServerFromRedisClient(conn.Client, worker.ServerConfig(queues, cfg.Worker.Concurrency, log))
		mux := asynq.NewServeMux()
		mux.Handle(worker.TaskType, h)
		if err := srv.Start(mux); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		relay := &worker.Relay{Store: store, Client: client, Queues: queues, MaxRetry: 8, Log: log.With("component", "relay"), Metrics: h.Metrics}
		relayDone = make(chan struct{})
		go func() { defer close(relayDone); relay.Run(relayCtx) }()
		log.Info("worker started", "queues", len(queues), "concurrency", cfg.Worker.Concurrency)
	}

	// The web role serves everything; the worker role alone serves its
	// probes and metrics on the same address. With http.ops_addr, /metrics
	// and the probes are served there, and http.addr no longer serves
	// /metrics (a worker alone then listens on http.ops_addr only).
	s := &server.Server{Store: store, Platforms: cfg.Platforms, Shop: cfg.Store, Links: signer, Steps: cfg.Sequence, AdminToken: cfg.HTTP.AdminToken, PublicURL: cfg.HTTP.PublicURL,
		Redis: conn.Client, Prefix: cfg.Redis.Prefix, SessionTTL: cfg.HTTP.SessionTTL, OpsSeparate: cfg.HTTP.OpsAddr != "",
		Ready:    func(ctx context.Context) error { return conn.Client.Ping(ctx).Err() },
		Registry: reg, Log: log.With("component", "http")}
	type listener struct {
		key, addr string
		handler   func() http.Handler
	}
	var listeners []listener
	switch {
	case *role != "worker":
		listeners = append(listeners, listener{"http.addr", cfg.HTTP.Addr, s.Handler})
	case cfg.HTTP.OpsAddr == "":
		listeners = append(listeners, listener{"http.addr", cfg.HTTP.Addr, s.OpsHandler})
	}
	if cfg.HTTP.OpsAddr != "" {
		listeners = append(listeners, listener{"http.ops_addr", cfg.HTTP.OpsAddr, s.OpsHandler})
	}
	var httpSrvs []*http.Server
	httpErr := make(chan error, len(listeners))
	for _, l := range listeners {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, hs := range httpSrvs {
				_ = hs.Close()
			}
			return fmt.Errorf("%s: %w", l.key, err)
		}
		hs := &http.Server{Handler: l.handler(), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		httpSrvs = append(httpSrvs, hs)
		if l.key == "http.ops_addr" {
			log.Info("listening", "addr", ln.Addr().String(), "key", l.key, "serves", "/metrics /healthz /readyz")
		} else {
			log.Info("listening", "addr", ln.Addr().String(), "role", *role, "public_url", cfg.HTTP.PublicURL)
		}
		go func() { httpErr <- hs.Serve(ln) }()
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
