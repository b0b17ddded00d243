package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/config"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/render"
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
  preview  [--config FILE]                           list the steps: delay, channels, template, discount, variants, locales
  preview  [--config FILE] --step NAME [--channel email|sms] [--variant V|all] [--locale L|all] [--cart FILE.json] [--out DIR]
                                                     render a step's messages as a send would, for a sample cart
  check    [--config FILE] [--online]                validate the config and every template and translation;
                                                     --online also tries each store's platform API credentials
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
		// every template of every sequence, as each store renders it
		seen := map[string]bool{}
		for _, e := range checkTemplates(cfg, r) {
			seen[e.Error()] = true
			errs = append(errs, e)
		}
		rs, err := storeRenderers(cfg, r)
		if err != nil {
			errs = append(errs, err)
		}
		for _, id := range cfg.StoreIDs() {
			tr := r
			if x, ok := rs[id]; ok {
				tr = x
			}
			for _, e := range checkTemplates(cfg.ForStore(id), tr) {
				if !seen[e.Error()] {
					seen[e.Error()] = true
					errs = append(errs, fmt.Errorf("stores.%s: %w", id, e))
				}
			}
		}
	}
	return cfg, src, r, errors.Join(errs...)
}

// checkTemplates renders the templates of every step and variant of cfg's
// sequence and segments with r.
func checkTemplates(cfg config.Config, r *render.Renderer) []error {
	var errs []error
	seqs := [][]config.Step{cfg.Sequence}
	for _, sg := range cfg.Segments {
		seqs = append(seqs, sg.Sequence)
	}
	for _, seq := range seqs {
		for _, st := range seq {
			errs = append(errs, r.Check(st.Template, st.Channels)...)
			for _, v := range st.Variants {
				errs = append(errs, r.Check(v.Template, st.Channels)...)
			}
		}
	}
	return errs
}

// storeRenderers loads the templates of each store that has its own
// folder (stores.<id>.templates.dir) over the shared ones, by store id.
func storeRenderers(cfg config.Config, shared *render.Renderer) (map[string]*render.Renderer, error) {
	out := map[string]*render.Renderer{}
	var errs []error
	for _, id := range cfg.StoreIDs() {
		dir := cfg.Stores[id].Templates.Dir
		if dir == "" {
			continue
		}
		r, err := render.Load(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("stores.%s.templates.dir: %w", id, err))
			continue
		}
		out[id] = r.Over(shared)
	}
	return out, errors.Join(errs...)
}

func check(args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := flags("check", stderr)
	online := fs.Bool("online", false, "also try each store's platform API credentials (a Shopify app's token and its scopes)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	cfg, src, _, err := load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stdout, err)
		return fmt.Errorf("config %s is invalid", src)
	}
	for _, n := range cfg.Notes() {
		fmt.Fprintln(stdout, "note: "+n)
	}
	notes, warnings := cfg.PlatformNotes(time.Now())
	for _, n := range notes {
		fmt.Fprintln(stdout, "note: "+n)
	}
	for _, w := range warnings {
		fmt.Fprintln(stdout, "warning: "+w)
	}
	if *online {
		if err := checkOnline(cfg, stdout); err != nil {
			return fmt.Errorf("config %s: %w", src, err)
		}
	}
	fmt.Fprintf(stdout, "config %s and its templates are valid", src)
	if n, m := len(cfg.Segments), len(cfg.Stores); n+m > 0 {
		fmt.Fprintf(stdout, " (%d segments, %d stores configured on their own, every store's templates rendered)", n, m)
	}
	fmt.Fprintln(stdout)
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
	watch := fs.Bool("watch", true, "reload on a change of the config file or the templates (SIGHUP reloads either way)")
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
	log.Info("starting cartrecovery", "version", version, "commit", commit, "role", *role, "config", src)
	logConfig(log, cfg)
	notes, warnings := cfg.PlatformNotes(time.Now())
	for _, n := range notes {
		log.Info("platform", "note", n)
	}
	for _, w := range warnings {
		log.Warn("platform", "warning", w)
	}
	return runApp(ctx, App{Config: cfg, Role: *role, Renderer: renderer, Log: log, ConfigPath: *cfgPath, Watch: *watch})
}

// logConfig logs the effective configuration with every secret masked (as
// config.LogValue shows it): one "config" record per section, without the
// keys left empty, and one per step of the sequence, so that it reads as
// lines in the text format and each section can be picked out of JSON logs.
func logConfig(log *slog.Logger, cfg config.Config) {
	for _, a := range cfg.LogValue().Group() {
		switch {
		case a.Key == "sequence":
			for i, st := range cfg.Steps() {
				args := []any{"section", "sequence", "step", i + 1, "name", st.Name, "delay", shortDuration(st.Delay),
					"channels", strings.Join(recovery.ChannelNames(st.Channels), "+"), "template", st.Template, "discount", discountSummary(st.Discount)}
				for _, v := range st.Variants {
					v = st.VariantNamed(v.Name)
					args = append(args, "variant."+v.Name, fmt.Sprintf("%d%% %s, %s", v.Weight, v.Template, discountSummary(v.Discount)))
				}
				log.Info("config", args...)
			}
		case a.Value.Kind() == slog.KindGroup:
			// unset keys are left out, and 12h0m0s is written 12h
			args := []any{"section", a.Key}
			for _, g := range a.Value.Group() {
				if g.Value.Kind() == slog.KindString {
					v := g.Value.String()
					if v == "" {
						continue
					}
					if d, err := time.ParseDuration(v); err == nil && strings.HasSuffix(v, "m0s") {
						g.Value = slog.StringValue(shortDuration(d))
					}
				}
				args = append(args, g)
			}
			log.Info("config", args...)
		default: // templates.dir
			section, key, ok := strings.Cut(a.Key, ".")
			if !ok {
				section, key = a.Key, "value"
			}
			log.Info("config", "section", section, key, a.Value)
		}
	}
	for i, sg := range cfg.Playbook().Segments {
		steps := make([]string, len(sg.Steps))
		for j, st := range sg.Steps {
			steps[j] = fmt.Sprintf("%s@%s:%s:%s", st.Name, shortDuration(st.Delay), strings.Join(recovery.ChannelNames(st.Channels), "+"), discountSummary(st.Discount))
		}
		holdout := sg.Holdout
		if holdout < 0 {
			holdout = cfg.Rules.HoldoutPercent
		}
		log.Info("config", "section", "segments", "segment", i+1, "name", sg.Name, "when", whenSummary(cfg.Segments[i].When),
			"holdout_percent", holdout, "steps", strings.Join(steps, ", "))
	}
	for _, id := range cfg.StoreIDs() {
		log.Info("config", "section", "stores", "store", id, "overrides", cfg.Stores[id])
	}
}

// checkOnline tries the platform API credentials of the top level and of
// each listed store (platform.OnlineChecker), a line each; an error names
// every one that failed.
func checkOnline(cfg config.Config, stdout io.Writer) error {
	var failed []string
	cfg.EachPlatform(func(key string, p platform.Config) {
		oc, ok := p.(platform.OnlineChecker)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		switch msg, err := oc.CheckOnline(ctx); {
		case err != nil:
			fmt.Fprintf(stdout, "online: %s: %v\n", key, err)
			failed = append(failed, key)
		case msg != "":
			fmt.Fprintf(stdout, "online: %s: %s\n", key, msg)
		}
	})
	if len(failed) > 0 {
		return fmt.Errorf("online check failed for %s", strings.Join(failed, ", "))
	}
	return nil
}
