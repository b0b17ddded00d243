package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartrecovery/cartrecovery/config"
	"github.com/cartrecovery/cartrecovery/render"
)

// reloader applies a changed configuration file or templates folder to the
// running app: the file is read again (with its environment overrides),
// validated and every template parsed and rendered, exactly as at start.
// A valid version replaces the sequence, the rules, the store's details,
// the SMS help text and the templates for every send and request that
// starts afterwards (one in flight finishes with its own); an invalid one
// is refused with one log line per problem and the last good version keeps
// serving. Keys that need a restart (listeners, Redis, transports,
// platform credentials, worker sizing, logging, the templates folder's
// path) are named in a warning and not applied.
type reloader struct {
	path  string // --config ("" : $CARTRECOVERY_CONFIG or the default lookup)
	log   *slog.Logger
	apply func(config.Config, *render.Renderer)
	count *prometheus.CounterVec

	start config.Config // as the process started: its restart-only keys stay

	mu      sync.Mutex
	version string
	applied config.Config // what serves: a change of a secret (left out of version) is a change too
	pending []string      // restart-only keys changed in the file since the start
}

func newReloader(path string, cfg config.Config, log *slog.Logger, reg prometheus.Registerer, apply func(config.Config, *render.Renderer)) *reloader {
	r := &reloader{path: path, start: cfg, log: log, apply: apply,
		count: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartrecovery_config_reloads_total",
			Help: "Configuration reloads by result: ok (applied), invalid (refused; the last good version serves), unchanged.",
		}, []string{"result"})}
	reg.MustRegister(r.count)
	r.version, r.applied = versionOf(cfg), cfg
	return r
}

// Version is the hash of the configuration and templates serving (as
// /readyz shows it).
func (r *reloader) Version() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.version
}

// reload reads and applies the configuration; trigger says why (SIGHUP, a
// file change) for the log.
func (r *reloader) reload(trigger string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, src, rend, err := load(r.path)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				r.log.Error("configuration refused; the last good version keeps serving", "problem", line, "trigger", trigger,
					"version", r.version)
			}
		}
		r.count.WithLabelValues("invalid").Inc()
		return
	}
	// What serves is the new file with the restart-only keys of the start:
	// it must be valid as such (a new SMS step needs the transport that
	// runs, not the one the file names for after a restart).
	r.pending = restartKeys(r.start, cfg)
	cfg = keepRestartKeys(cfg, r.start)
	if len(r.pending) > 0 {
		r.log.Warn("changed keys need a restart; until then the running values stay", "keys", strings.Join(r.pending, ", "))
		if err := cfg.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				r.log.Error("configuration refused; the last good version keeps serving", "problem", line,
					"trigger", trigger, "with", "the running values of the keys that need a restart")
			}
			r.count.WithLabelValues("invalid").Inc()
			return
		}
	}
	v := versionOf(cfg)
	if v == r.version && reflect.DeepEqual(cfg, r.applied) {
		r.count.WithLabelValues("unchanged").Inc()
		r.log.Debug("configuration unchanged", "trigger", trigger, "version", v)
		return
	}
	if gone := removedSegments(r.applied, cfg); len(gone) > 0 {
		r.log.Warn("segments removed (or renamed): the carts in them end their sequences, as carts waiting for a removed step do",
			"segments", strings.Join(gone, ", "))
	}
	r.apply(cfg, rend)
	r.version, r.applied = v, cfg
	r.count.WithLabelValues("ok").Inc()
	r.log.Info("configuration reloaded", "trigger", trigger, "config", src, "version", v,
		"sequence", len(cfg.Sequence))
}

// removedSegments names the segments old has and cur no longer has, as
// "name" (or "stores.<id>: name" for a store's own), sorted.
func removedSegments(old, cur config.Config) []string {
	names := func(c config.Config) map[string]bool {
		out := map[string]bool{}
		for _, sg := range c.Segments {
			out[sg.Name] = true
		}
		for id, st := range c.Stores { // a store's own segments
			for _, sg := range st.Segments {
				out["stores."+id+": "+sg.Name] = true
			}
		}
		return out
	}
	now := names(cur)
	var gone []string
	for k := range names(old) {
		if !now[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(gone)
	return gone
}

// Pending names the restart-only keys changed since the start (/readyz).
func (r *reloader) Pending() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.pending...)
}

// restartOnly are the keys read only at start, each as a pointer to its
// value in a Config: one list for naming what changed and for keeping the
// running values.
var restartOnly = []struct {
	name  string
	field func(*config.Config) any
}{
	{"http", func(c *config.Config) any { return &c.HTTP }},
	{"redis", func(c *config.Config) any { return &c.Redis }},
	{"platforms", func(c *config.Config) any { return &c.Platforms }},
	{"email", func(c *config.Config) any { return &c.Email }},
	{"sms.transport", func(c *config.Config) any { return &c.SMS.Transport }},
	{"sms.twilio", func(c *config.Config) any { return &c.SMS.Twilio }},
	{"worker", func(c *config.Config) any { return &c.Worker }},
	{"log", func(c *config.Config) any { return &c.Log }},
	{"templates.dir", func(c *config.Config) any { return &c.Templates.Dir }},
	{"rules.retention", func(c *config.Config) any { return &c.Rules.Retention }},
}

// keepRestartKeys is cur with the restart-only keys of start.
func keepRestartKeys(cur, start config.Config) config.Config {
	for _, k := range restartOnly {
		reflect.ValueOf(k.field(&cur)).Elem().Set(reflect.ValueOf(k.field(&start)).Elem())
	}
	return cur
}

// restartKeys names the restart-only keys that differ, sorted.
func restartKeys(old, cur config.Config) []string {
	var out []string
	for _, k := range restartOnly {
		if !reflect.DeepEqual(k.field(&old), k.field(&cur)) {
			out = append(out, k.name)
		}
	}
	sort.Strings(out)
	return out
}

// versionOf is a short hash of the effective configuration, its secrets
// left out (/readyz is public), and of the template files the renderer
// reads (<templates.dir>/*.tmpl).
func versionOf(cfg config.Config) string {
	c := cfg
	c.HTTP.AdminToken, c.Redis.URL, c.Email.SMTP.Password, c.SMS.Twilio.AuthToken = "", "", "", ""
	c.Platforms = config.Platforms{}
	c.Stores = nil
	h := sha256.New()
	// JSON, not %#v: a pointer (segments[].holdout_percent) hashes by value
	b, _ := json.Marshal(c)
	h.Write(b)
	dirs := []string{cfg.Templates.Dir}
	for _, id := range cfg.StoreIDs() {
		sc := cfg.Stores[id]
		sc.Platforms = config.Platforms{}
		b, _ := json.Marshal(sc)
		fmt.Fprintf(h, "\x00%q%s", id, b)
		if sc.Templates.Dir != "" {
			dirs = append(dirs, sc.Templates.Dir)
		}
	}
	var files []string
	for _, d := range dirs {
		fs, _ := filepath.Glob(filepath.Join(d, "*.tmpl"))
		files = append(files, fs...)
	}
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			fmt.Fprintf(h, "\x00%s\x00%d\x00", p, len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
