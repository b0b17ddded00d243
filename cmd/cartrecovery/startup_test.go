package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeConfig writes yaml (with templates.dir set to the shipped templates)
// and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	templates, _ := filepath.Abs("../../templates")
	p := filepath.Join(t.TempDir(), "cartrecovery.yaml")
	if err := os.WriteFile(p, []byte(yaml+"\ntemplates: {dir: "+templates+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStepTemplateDefaultsToName: a step without template uses the files
// named after it; they must still exist.
func TestStepTemplateDefaultsToName(t *testing.T) {
	cfg, _, _, err := load(writeConfig(t, `
sequence:
  - {name: first-reminder, delay: 1h, channels: [email]}
  - {name: second-reminder, delay: 2h, channels: [email, sms], variants: [{name: b, template: last-chance, weight: 50}]}
`))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got := cfg.Sequence[0].Template + " " + cfg.Sequence[1].Template + " " + cfg.Sequence[1].Variants[0].Template; got != "first-reminder second-reminder last-chance" {
		t.Errorf("templates %q", got)
	}
	_, _, _, err = load(writeConfig(t, "sequence:\n  - {name: welcome-back, delay: 1h, channels: [email]}\n"))
	if err == nil || !strings.Contains(err.Error(), "sequence[0].template: ") || !strings.Contains(err.Error(), "welcome-back.subject.tmpl is missing") {
		t.Errorf("a step named after no template: %v", err)
	}
	// a variant names its own
	_, _, _, err = load(writeConfig(t, "sequence:\n  - {name: first-reminder, delay: 1h, channels: [email], variants: [{name: b, weight: 50}]}\n"))
	if err == nil || !strings.Contains(err.Error(), "sequence[0].variants[0].template: is required") {
		t.Errorf("a variant without template: %v", err)
	}
	// the sequence from the environment too
	t.Setenv("CARTRECOVERY_SEQUENCE", `[{"name":"last-chance","delay":"1h","channels":["email"]}]`)
	if cfg, _, _, err := load(writeConfig(t, "")); err != nil || cfg.Sequence[0].Template != "last-chance" {
		t.Errorf("CARTRECOVERY_SEQUENCE step: %v %+v", err, cfg.Sequence)
	}
}

// TestConfigLogLines: the start-up config is one record per section and
// per step, readable in the text format (no unset keys, short durations),
// every secret masked, and each record is a "config" message with its
// section in JSON.
func TestConfigLogLines(t *testing.T) {
	cfg, _, _, err := load(writeConfig(t, `
http: {admin_token: "ADMINTOKEN-0123456789"}
redis: {url: "redis://u:REDISPASS@127.0.0.1:6379/0"}
platforms: {generic: {secret: "GENERICSECRET"}}
email: {transport: smtp, smtp: {host: smtp.example, username: u, password: SMTPPASS}}
sequence:
  - {name: first-reminder, delay: 1h, channels: [email]}
  - {name: second-reminder, delay: 24h, channels: [email, sms], discount: {code: C10, label: "10% off"},
     variants: [{name: b, template: last-chance, weight: 30}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	logConfig(slog.New(slog.NewTextHandler(&text, nil)), cfg)
	out := text.String()
	for _, s := range []string{"ADMINTOKEN", "REDISPASS", "GENERICSECRET", "SMTPPASS"} {
		if strings.Contains(out, s) {
			t.Errorf("log shows %s:\n%s", s, out)
		}
	}
	if strings.Contains(out, `=""`) {
		t.Errorf("unset keys are left out:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	sections := map[string]int{}
	for _, l := range lines {
		if !strings.Contains(l, " msg=config section=") {
			t.Errorf("not a config line: %s", l)
			continue
		}
		_, rest, _ := strings.Cut(l, " section=")
		name, _, _ := strings.Cut(rest, " ")
		sections[name]++
	}
	for _, s := range []string{"http", "redis", "store", "platforms", "rules", "email", "sms", "templates", "worker", "log"} {
		if sections[s] != 1 {
			t.Errorf("section %s: %d lines", s, sections[s])
		}
	}
	if sections["sequence"] != 2 {
		t.Errorf("one line per step, got %d", sections["sequence"])
	}
	for _, s := range []string{
		"section=http addr=:8080 public_url=http://localhost:8080 admin_token=*** session_ttl=12h\n",
		"retention=2160h ",
		"section=redis url=redis://u:***@127.0.0.1:6379/0",
		"generic.secret=***",
		"smtp.password=***",
		`section=sequence step=1 name=first-reminder delay=1h channels=email template=first-reminder discount=none`,
		`section=sequence step=2 name=second-reminder delay=24h channels=email+sms template=second-reminder discount="code C10, label \"10% off\"" variant.b="30% last-chance, code C10, label \"10% off\""`,
		"section=templates dir=",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %s:\n%s", s, out)
		}
	}
	var js bytes.Buffer
	logConfig(slog.New(slog.NewJSONHandler(&js, nil)), cfg)
	for _, l := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["msg"] != "config" || rec["section"] == "" {
			t.Errorf("JSON record %s: %v", l, err)
		}
	}
	if !strings.Contains(js.String(), `"section":"email","transport":"smtp"`) || strings.Contains(js.String(), "SMTPPASS") {
		t.Errorf("JSON:\n%s", js.String())
	}
}

// TestBusyPortFirst: serve on a taken http.addr fails with the listen
// error, and before it starts nothing: no Redis, no worker, no error or
// warning logged.
func TestBusyPortFirst(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfgPath := writeConfig(t, `
http: {addr: "`+taken.Addr().String()+`"}
redis: {url: ""}
email: {outbox: `+filepath.Join(t.TempDir(), "outbox")+`}
`)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = run(ctx, []string{"serve", "--config", cfgPath}, &stdout, &stderr)
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) || !strings.HasPrefix(err.Error(), "http.addr: listen tcp "+taken.Addr().String()+": bind: address already in use") {
		t.Fatalf("serve on a taken port: %v\n%s", err, stderr.String())
	}
	if exitCode(err) != 1 {
		t.Errorf("exit code %d", exitCode(err))
	}
	logs := stderr.String()
	for _, s := range []string{"level=WARN", "level=ERROR", "worker started", "embedded", "listening"} {
		if strings.Contains(logs, s) {
			t.Errorf("logged %q before the listen error:\n%s", s, logs)
		}
	}
	if !strings.Contains(logs, "starting cartrecovery") {
		t.Errorf("start line missing:\n%s", logs)
	}

	// the ops listener too, and the main one is let go
	ops := freeAddr(t)
	cfg, _, renderer, err := load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Addr, cfg.HTTP.OpsAddr = ops, taken.Addr().String()
	err = runApp(ctx, App{Config: cfg, Role: "all", Renderer: renderer, Log: slog.New(slog.NewTextHandler(&stderr, nil))})
	if err == nil || !strings.HasPrefix(err.Error(), "http.ops_addr: listen tcp") {
		t.Errorf("busy ops_addr: %v", err)
	}
	if l, err := net.Listen("tcp", ops); err != nil {
		t.Errorf("http.addr still held after the failed start: %v", err)
	} else {
		l.Close()
	}
}

// TestConfigLogSegmentsAndStores: each segment and each store has its
// start-up line; a store's secrets and tokens are masked.
func TestConfigLogSegmentsAndStores(t *testing.T) {
	cfg, _, _, err := load(writeConfig(t, `
sequence:
  - {name: first-reminder, delay: 1h, channels: [email]}
segments:
  - {name: high-value, when: {min_total: "100"}, holdout_percent: 10,
     sequence: [{name: first, delay: 30m, channels: [email], template: first-reminder, discount: {code: HIGH20}}]}
stores:
  shop-a.myshopify.com: {name: "Shop A", platforms: {shopify: {secret: "STORESECRET", admin_token: "STORETOKEN"}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	logConfig(slog.New(slog.NewTextHandler(&text, nil)), cfg)
	out := text.String()
	for _, s := range []string{"STORESECRET", "STORETOKEN"} {
		if strings.Contains(out, s) {
			t.Errorf("log shows %s:\n%s", s, out)
		}
	}
	for _, s := range []string{
		`section=segments segment=1 name=high-value when="total ≥ 100" holdout_percent=10 steps="first@30m:email:code HIGH20"`,
		`section=stores store=shop-a.myshopify.com overrides.name="Shop A" overrides.shopify.secret=*** overrides.shopify.admin_token=***`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %s:\n%s", s, out)
		}
	}
}
