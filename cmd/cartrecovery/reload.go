package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
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

	mu      sync.Mutex
	cfg     config.Config // the version serving
	version string
}

func newReloader(path string, cfg config.Config, log *slog.Logger, reg prometheus.Registerer, apply func(config.Config, *render.Renderer)) *reloader {
	r := &reloader{path: path, cfg: cfg, log: log, apply: apply,
		count: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartrecovery_config_reloads_total",
			Help: "Configuration reloads by result: ok (applied), invalid (refused; the last good version serves), unchanged.",
		}, []string{"result"})}
	reg.MustRegister(r.count)
	r.version = versionOf(cfg)
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
	v := versionOf(cfg)
	if v == r.version {
		r.count.WithLabelValues("unchanged").Inc()
		r.log.Debug("configuration unchanged", "trigger", trigger, "version", v)
		return
	}
	if keys := restartKeys(r.cfg, cfg); len(keys) > 0 {
		r.log.Warn("changed keys need a restart; the rest is applied", "keys", strings.Join(keys, ", "))
	}
	r.apply(cfg, rend)
	r.cfg, r.version = cfg, v
	r.count.WithLabelValues("ok").Inc()
	r.log.Info("configuration reloaded", "trigger", trigger, "config", src, "version", v,
		"sequence", len(cfg.Sequence))
}

// restartKeys names the top-level sections that changed and are only read
// at start.
func restartKeys(old, cur config.Config) []string {
	var out []string
	for name, pair := range map[string][2]any{
		"http":            {old.HTTP, cur.HTTP},
		"redis":           {old.Redis, cur.Redis},
		"platforms":       {old.Platforms, cur.Platforms},
		"email":           {old.Email, cur.Email},
		"sms.transport":   {old.SMS.Transport, cur.SMS.Transport},
		"sms.twilio":      {old.SMS.Twilio, cur.SMS.Twilio},
		"worker":          {old.Worker, cur.Worker},
		"log":             {old.Log, cur.Log},
		"templates.dir":   {old.Templates.Dir, cur.Templates.Dir},
		"rules.retention": {old.Rules.Retention, cur.Rules.Retention},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// versionOf is a short hash of the effective configuration and of every
// file in its templates folder.
func versionOf(cfg config.Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "%#v", cfg)
	_ = filepath.WalkDir(cfg.Templates.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil {
			fmt.Fprintf(h, "\x00%s\x00%d\x00", p, len(b))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
