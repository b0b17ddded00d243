package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/render"
)

// templatesDir creates every default template file in a temp dir.
func templatesDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range []string{"first-reminder", "second-reminder", "last-chance"} {
		for _, ch := range []string{"email", "sms"} {
			for _, f := range render.Files(n, ch) {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return dir
}

func writeFile(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsAreValid(t *testing.T) {
	t.Chdir(t.TempDir())
	c, src, err := Load("")
	if err != nil || src != "defaults" {
		t.Fatal(src, err)
	}
	c.Templates.Dir = templatesDir(t)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Sequence) != 3 || c.Sequence[1].Delay != 24*time.Hour || c.Sequence[1].Discount.Code != "COMEBACK10" ||
		c.Rules.AttributionWindow != 168*time.Hour || c.Email.SMTP.Port != 587 || c.Redis.Prefix != "cartrecovery:" {
		t.Fatalf("%+v", c)
	}
}

func TestShippedConfigsAreValid(t *testing.T) {
	for _, f := range []string{"cartrecovery.example.yaml", "demo.yaml"} {
		c, _, err := Load(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c.Templates.Dir = "../templates"
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

func TestLookupOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_ = os.MkdirAll("config", 0o755)
	_ = os.WriteFile(DefaultPath, []byte(`store: {name: "From default path"}`), 0o644)
	c, src, _ := Load("")
	if src != DefaultPath || c.Store.Name != "From default path" {
		t.Fatalf("default path: %s %q", src, c.Store.Name)
	}
	env := writeFile(t, `store: {name: "From env"}`)
	t.Setenv("CARTRECOVERY_CONFIG", env)
	if c, src, _ = Load(""); src != env || c.Store.Name != "From env" {
		t.Fatalf("env: %s %q", src, c.Store.Name)
	}
	flag := writeFile(t, `store: {name: "From flag"}`)
	if c, _, _ = Load(flag); c.Store.Name != "From flag" {
		t.Fatalf("flag: %q", c.Store.Name)
	}
	if _, _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("missing explicit file accepted")
	}
}

func TestEnvOverrides(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CARTRECOVERY_EMAIL_SMTP_PASSWORD", "s3cret")
	t.Setenv("CARTRECOVERY_REDIS_URL", "redis://r:6379/2")
	t.Setenv("CARTRECOVERY_WORKER_CONCURRENCY", "3")
	t.Setenv("CARTRECOVERY_SEQUENCE", `[{"name":"only","delay":"90m","channels":["email"],"template":"first-reminder"}]`)
	c, _, err := Load(writeFile(t, "email: {smtp: {host: mail}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Email.SMTP.Password != "s3cret" || c.Email.SMTP.Host != "mail" || c.Redis.URL != "redis://r:6379/2" || c.Worker.Concurrency != 3 ||
		len(c.Sequence) != 1 || c.Sequence[0].Delay != 90*time.Minute {
		t.Fatalf("%+v", c)
	}
	t.Setenv("CARTRECOVERY_SEQUENCE", `not json`)
	if _, _, err := Load(""); err == nil || !strings.Contains(err.Error(), "sequence") {
		t.Fatalf("bad sequence env: %v", err)
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	for body, want := range map[string]string{
		"emial: {from: x}\n": "emial",
		"sequence:\n  - {name: a, dealy: 1h, channels: [email], template: t}\n":                                                "dealy",
		"sequence:\n  - {name: a, delay: 1hour, channels: [email], template: t}\n":                                             "sequence[0].delay",
		"worker: {concurrency: many}\n":                                                                                        "worker.concurrency",
		"sequence:\n  - {name: a, delay: 1h, channels: [email], template: t, variants: [{name: b, template: t, wieght: 5}]}\n": "wieght",
		"http:\n  addr: [1\n": "c.yaml",
	} {
		_, _, err := Load(writeFile(t, body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want it to name %q", body, err, want)
		}
	}
}

func TestValidateOneLinePerProblem(t *testing.T) {
	t.Chdir(t.TempDir())
	base, _, _ := Load("")
	base.Templates.Dir = templatesDir(t)
	tests := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.HTTP.Addr = "8080" }, "http.addr:"},
		{func(c *Config) { c.HTTP.PublicURL = "localhost" }, "http.public_url:"},
		{func(c *Config) { c.HTTP.AdminToken = "short" }, "http.admin_token:"},
		{func(c *Config) { c.Redis.URL = "http://x" }, "redis.url:"},
		{func(c *Config) { c.Redis.Prefix = "" }, "redis.prefix:"},
		{func(c *Config) { c.Redis.Mode = "ring" }, "redis.mode: \"ring\" is not one of single, sentinel, cluster"},
		{func(c *Config) { c.Redis.Mode, c.Redis.URL = "sentinel", "redis://10.0.0.1:26379/0" }, "redis.url: sentinel mode needs"},
		{func(c *Config) { c.Redis.Mode, c.Redis.URL = "sentinel", "redis-sentinel://10.0.0.1:26379/0" }, "redis.url: sentinel mode needs"},
		{func(c *Config) { c.Redis.Mode, c.Redis.URL = "cluster", "" }, "redis.url: cluster mode needs"},
		{func(c *Config) { c.Worker.Queues = 65 }, "worker.queues:"},
		{func(c *Config) { c.Platforms.BigCommerce.StoreHash = "abc123" }, "platforms.bigcommerce.access_token: store_hash and access_token go together"},
		{func(c *Config) { c.Platforms.BigCommerce.StoreHash, c.Platforms.BigCommerce.AccessToken = "../x", "t" }, "platforms.bigcommerce.store_hash:"},
		{func(c *Config) {
			c.Platforms.BigCommerce.StoreHash, c.Platforms.BigCommerce.AccessToken, c.Platforms.BigCommerce.APIURL = "abc", "t", "api.bigcommerce.com"
		}, "platforms.bigcommerce.api_url:"},
		{func(c *Config) { c.Store.Timezone = "Mars/Base" }, "store.timezone:"},
		{func(c *Config) { c.Sequence = nil }, "sequence:"},
		{func(c *Config) { c.Sequence[1].Delay = time.Hour }, "sequence[1].delay: must be greater than sequence[0].delay (1h0m0s)"},
		{func(c *Config) { c.Sequence[0].Delay = 0 }, "sequence[0].delay:"},
		{func(c *Config) { c.Sequence[0].Channels = []string{"fax"} }, "sequence[0].channels[0]: unknown channel"},
		{func(c *Config) { c.Sequence[0].Channels = []string{"email", "email"} }, "sequence[0].channels[1]:"},
		{func(c *Config) { c.Sequence[2].Name = "first-reminder" }, "sequence[2].name:"},
		{func(c *Config) { c.Sequence[0].Template = "../etc/passwd" }, "sequence[0].template:"},
		{func(c *Config) { c.Sequence[0].Template = "nope" }, "nope.subject.tmpl is missing"},
		{func(c *Config) { c.Sequence[0].Discount.Label = "5%" }, "sequence[0].discount.code:"},
		{func(c *Config) { c.Sequence[0].Variants = []Variant{{Name: "B", Template: "last-chance", Weight: 50}} }, "sequence[0].variants[0].name:"},
		{func(c *Config) { c.Sequence[0].Variants = []Variant{{Name: "a", Template: "last-chance", Weight: 50}} }, "sequence[0].variants[0].name:"},
		{func(c *Config) {
			c.Sequence[0].Variants = []Variant{{Name: "b", Template: "last-chance", Weight: 10}, {Name: "b", Template: "last-chance", Weight: 10}}
		}, "sequence[0].variants[1].name:"},
		{func(c *Config) { c.Sequence[0].Variants = []Variant{{Name: "b", Template: "last-chance", Weight: 0}} }, "sequence[0].variants[0].weight:"},
		{func(c *Config) {
			c.Sequence[0].Variants = []Variant{{Name: "b", Template: "last-chance", Weight: 60}, {Name: "c", Template: "last-chance", Weight: 40}}
		}, "sequence[0].variants: weights add up to 100%"},
		{func(c *Config) { c.Sequence[0].Variants = []Variant{{Name: "b", Template: "nope", Weight: 50}} }, "sequence[0].variants[0].template:"},
		{func(c *Config) {
			c.Sequence[0].Variants = []Variant{{Name: "b", Template: "last-chance", Weight: 50, Discount: Discount{Label: "x"}}}
		}, "sequence[0].variants[0].discount.code:"},
		{func(c *Config) { c.Rules.EmailConsent = "maybe" }, "rules.email_consent:"},
		{func(c *Config) { c.Rules.SMSConsent = "any" }, "rules.sms_consent:"},
		{func(c *Config) { c.Rules.MinCartValue = "-1" }, "rules.min_cart_value:"},
		{func(c *Config) { c.Rules.AttributionWindow = 0 }, "rules.attribution_window:"},
		{func(c *Config) { c.Rules.HoldoutPercent = 60 }, "rules.holdout_percent:"},
		{func(c *Config) { c.Rules.Retention = time.Hour }, "rules.retention:"},
		{func(c *Config) { c.Rules.Cooldown = -time.Hour }, "rules.cooldown:"},
		{func(c *Config) { c.Rules.Cooldown = 1000 * time.Hour }, "rules.cooldown:"},
		{func(c *Config) { c.Rules.QuietHours.Start = "9pm" }, "rules.quiet_hours.start:"},
		{func(c *Config) { c.Rules.QuietHours.End = "24:00" }, "rules.quiet_hours.end:"},
		{func(c *Config) { c.Rules.QuietHours.End = "8:00" }, "rules.quiet_hours.end:"},
		{func(c *Config) { c.Rules.QuietHours.End = "" }, "rules.quiet_hours.end:"},
		{func(c *Config) { c.Rules.QuietHours.End = c.Rules.QuietHours.Start }, "rules.quiet_hours.end: equals start"},
		{func(c *Config) { c.Rules.QuietHours.Channels = nil }, "rules.quiet_hours.channels:"},
		{func(c *Config) { c.Rules.QuietHours.Channels = []string{"sms", "fax"} }, "rules.quiet_hours.channels[1]:"},
		{func(c *Config) { c.Rules.QuietHours.Channels = []string{"sms", "sms"} }, "rules.quiet_hours.channels[1]:"},
		{func(c *Config) { c.Email.Transport = "pigeon" }, "email.transport:"},
		{func(c *Config) { c.Email.From = "not an address" }, "email.from:"},
		{func(c *Config) { c.Email.Transport = "smtp" }, "email.smtp.host:"},
		{func(c *Config) { c.Email.SMTP.TLS = "ssl" }, "email.smtp.tls:"},
		{func(c *Config) { c.Email.Transport, c.Email.SMTP.Host, c.Email.SMTP.Password = "smtp", "h", "p" }, "email.smtp.username:"},
		{func(c *Config) { c.SMS.Transport = "twilio" }, "sms.twilio.account_sid:"},
		{func(c *Config) { c.SMS.Transport = "twilio" }, "sms.twilio.from: set from"},
		{func(c *Config) {
			c.SMS.Transport, c.SMS.Twilio.AccountSID, c.SMS.Twilio.AuthToken, c.SMS.Twilio.From = "twilio", "AC0123456789abcdef0123456789abcdef", "tok", "555"
		}, "sms.twilio.from:"},
		{func(c *Config) { c.Worker.Concurrency = 0 }, "worker.concurrency:"},
		{func(c *Config) { c.Worker.SendTimeout = 0 }, "worker.send_timeout:"},
		{func(c *Config) { c.Worker.SendTimeout = time.Hour }, "worker.send_timeout:"},
		{func(c *Config) { c.HTTP.SessionTTL = time.Second }, "http.session_ttl:"},
		{func(c *Config) { c.HTTP.OpsAddr = "9090" }, "http.ops_addr:"},
		{func(c *Config) { c.HTTP.OpsAddr = c.HTTP.Addr }, "http.ops_addr: must differ"},
		{func(c *Config) { c.Store.AllowedHosts = []string{"https://cdn.example.com"} }, "store.allowed_hosts[0]:"},
		{func(c *Config) { c.Store.AllowedHosts = []string{"ok.example.com", "bad host"} }, "store.allowed_hosts[1]:"},
		{func(c *Config) { c.Rules.MaxCartAge = time.Minute }, "rules.max_cart_age:"},
		{func(c *Config) { c.Rules.MaxCartAge = 2 * time.Hour; c.Sequence[0].Delay = 3 * time.Hour }, "rules.max_cart_age:"},
		{func(c *Config) { c.Email.Transport, c.Email.SMTP.Host, c.Email.SMTP.Pool = "smtp", "h", 0 }, "email.smtp.pool:"},
		{func(c *Config) { c.Log.Level = "loud" }, "log.level:"},
	}
	for _, tc := range tests {
		c := base
		c.Sequence = append([]Step(nil), base.Sequence...)
		c.Rules.QuietHours.Channels = append([]string(nil), base.Rules.QuietHours.Channels...)
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
	c := base
	c.Sequence = append([]Step(nil), base.Sequence...)
	c.HTTP.Addr, c.Log.Level, c.Sequence[0].Delay = "x", "x", -1
	if lines := strings.Split(c.Validate().Error(), "\n"); len(lines) != 3 {
		t.Errorf("3 problems, %d lines: %q", len(lines), lines)
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	t.Chdir(t.TempDir())
	c, _, _ := Load("")
	c.HTTP.AdminToken = "ADMINTOKEN-0123456789"
	c.Redis.URL = "redis://user:REDISPASS@redis:6379/0"
	c.Platforms.Shopify.Secret, c.Platforms.Generic.Secret = "SHOPIFYSECRET", "GENERICSECRET"
	c.Email.SMTP.Password, c.SMS.Twilio.AuthToken = "SMTPPASS", "TWILIOTOKEN"
	c.Platforms.BigCommerce.ClientSecret, c.Platforms.BigCommerce.AccessToken = "BCCLIENTSECRET", "BCACCESSTOKEN"
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("start", "config", c)
	out := b.String()
	for _, s := range []string{"ADMINTOKEN", "REDISPASS", "SHOPIFYSECRET", "GENERICSECRET", "SMTPPASS", "TWILIOTOKEN", "BCCLIENTSECRET", "BCACCESSTOKEN"} {
		if strings.Contains(out, s) {
			t.Errorf("log contains %s: %s", s, out)
		}
	}
	if !strings.Contains(out, "redis://user:***@redis:6379/0") || !strings.Contains(out, `"smtp.password":"***"`) {
		t.Errorf("masked values missing: %s", out)
	}
	// a sentinel URL: the master's password and the sentinels' own
	c.Redis.Mode, c.Redis.URL = "sentinel", "redis-sentinel://:MASTERPASS@s1:26379,s2:26379/2?master=shop&sentinel_password=SENTINELPASS"
	b.Reset()
	slog.New(slog.NewJSONHandler(&b, nil)).Info("start", "config", c)
	if out := b.String(); strings.Contains(out, "MASTERPASS") || strings.Contains(out, "SENTINELPASS") || !strings.Contains(out, "sentinel_password=***") {
		t.Errorf("sentinel URL not masked: %s", out)
	}
	c.Templates.Dir = templatesDir(t)
	if err := c.Validate(); err != nil && strings.Contains(err.Error(), "redis.") {
		t.Errorf("a valid sentinel URL refused: %v", err)
	}
}

func TestQuietHoursWindow(t *testing.T) {
	cases := []struct {
		q          QuietHours
		start, end int
		on         bool
		sms, email bool
	}{
		{QuietHours{Start: "21:00", End: "08:00", Channels: []string{"sms"}}, 21 * 60, 8 * 60, true, true, false},
		{QuietHours{Start: "00:30", End: "06:15", Channels: []string{"email", "sms"}}, 30, 6*60 + 15, true, true, true},
		{QuietHours{Channels: []string{"sms"}}, 0, 0, false, false, false},
		{QuietHours{Start: "21:00", End: "21:00", Channels: []string{"sms"}}, 0, 0, false, false, false},
	}
	for _, c := range cases {
		s, e, on := c.q.Window()
		if s != c.start || e != c.end || on != c.on || c.q.Domain().Applies("sms") != c.sms || c.q.Domain().Applies("email") != c.email {
			t.Errorf("%+v: window %d-%d %v, sms %v email %v", c.q, s, e, on, c.q.Domain().Applies("sms"), c.q.Domain().Applies("email"))
		}
	}
	// off is valid; the default is on for SMS, 21:00 to 08:00
	d, _, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Rules.QuietHours.Domain().Applies("sms") || d.Rules.QuietHours.Domain().Applies("email") {
		t.Errorf("default quiet hours %+v", d.Rules.QuietHours)
	}
	d.Rules.QuietHours.Start, d.Rules.QuietHours.End, d.Templates.Dir = "", "", "../templates"
	if err := d.Validate(); err != nil {
		t.Errorf("quiet hours off: %v", err)
	}
}

func TestVariantsLoad(t *testing.T) {
	t.Chdir(t.TempDir())
	c, _, err := Load(writeFile(t, `sequence:
  - name: first-reminder
    delay: 1h
    channels: [email]
    template: first-reminder
    variants:
      - {name: b, template: last-chance, weight: 30, discount: {code: "B15", label: "15% off"}}
      - {name: c, template: second-reminder, weight: 20}
`))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Sequence[0].Variants
	if len(v) != 2 || v[0].Name != "b" || v[0].Weight != 30 || v[0].Discount.Code != "B15" || v[1].Template != "second-reminder" {
		t.Fatalf("variants %+v", v)
	}
	c.Templates.Dir = templatesDir(t)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CARTRECOVERY_SEQUENCE", `[{"name":"only","delay":"1h","channels":["email"],"template":"first-reminder","variants":[{"name":"b","template":"last-chance","weight":50}]}]`)
	c, _, err = Load("")
	if err != nil || len(c.Sequence[0].Variants) != 1 || c.Sequence[0].Variants[0].Weight != 50 {
		t.Fatalf("variants from the environment: %+v %v", c.Sequence, err)
	}
}

// TestDurationsNeedAUnit: a bare number for any duration key is an error
// naming the key, whether it comes from YAML, the environment or
// CARTRECOVERY_SEQUENCE; it used to be read as nanoseconds.
func TestDurationsNeedAUnit(t *testing.T) {
	t.Chdir(t.TempDir())
	step := func(delay string) string {
		return "sequence:\n  - {name: a, delay: " + delay + ", channels: [email], template: first-reminder}\n"
	}
	const seqEnv = "CARTRECOVERY_SEQUENCE"
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want string
	}{
		{"yaml int", step("10"), nil, "sequence[0].delay: 10 has no unit; write 10s, 10m or 10h"},
		{"yaml numeric string", step(`"10"`), nil, "sequence[0].delay: 10 has no unit"},
		{"yaml float", step("1.5"), nil, "sequence[0].delay: 1.5 has no unit; write 1.5s, 1.5m or 1.5h"},
		{"yaml big float", step("1e6"), nil, "sequence[0].delay: 1000000 has no unit"},
		{"yaml negative int", step("-5"), nil, "sequence[0].delay: -5 has no unit"},
		{"yaml bad unit", step("1hour"), nil, `sequence[0].delay: "1hour" is not a duration`},
		{"yaml days", step("7d"), nil, `sequence[0].delay: "7d" is not a duration`},
		{"yaml second step", "sequence:\n  - {name: a, delay: 1h, channels: [email], template: t}\n  - {name: b, delay: 3600, channels: [email], template: t}\n",
			nil, "sequence[1].delay: 3600 has no unit"},
		{"yaml attribution_window", "rules: {attribution_window: 168}\n", nil, "rules.attribution_window: 168 has no unit"},
		{"yaml cooldown string", "rules: {cooldown: \"24\"}\n", nil, "rules.cooldown: 24 has no unit"},
		{"yaml max_cart_age", "rules: {max_cart_age: 168}\n", nil, "rules.max_cart_age: 168 has no unit"},
		{"yaml retention", "rules: {retention: 2160}\n", nil, "rules.retention: 2160 has no unit"},
		{"yaml session_ttl", "http: {session_ttl: 43200}\n", nil, "http.session_ttl: 43200 has no unit"},
		{"yaml send_timeout", "worker: {send_timeout: 30}\n", nil, "worker.send_timeout: 30 has no unit"},
		{"env cooldown", "", map[string]string{"CARTRECOVERY_RULES_COOLDOWN": "10"},
			"rules.cooldown: 10 has no unit; write 10s, 10m or 10h (from CARTRECOVERY_RULES_COOLDOWN)"},
		{"env send_timeout", "", map[string]string{"CARTRECOVERY_WORKER_SEND_TIMEOUT": "30.5"}, "worker.send_timeout: 30.5 has no unit"},
		{"env session_ttl", "", map[string]string{"CARTRECOVERY_HTTP_SESSION_TTL": "12"}, "http.session_ttl: 12 has no unit"},
		{"env overrides a valid file", "rules: {cooldown: 24h}\n", map[string]string{"CARTRECOVERY_RULES_COOLDOWN": "24"}, "rules.cooldown: 24 has no unit"},
		{"env bad unit", "", map[string]string{"CARTRECOVERY_RULES_MAX_CART_AGE": "1 week"}, `rules.max_cart_age: "1 week" is not a duration`},
		{"sequence json number", "", map[string]string{seqEnv: `[{"name":"a","delay":10,"channels":["email"],"template":"t"}]`},
			"sequence[0].delay: 10 has no unit; write 10s, 10m or 10h (from CARTRECOVERY_SEQUENCE)"},
		{"sequence json string", "", map[string]string{seqEnv: `[{"name":"a","delay":"1h","channels":["email"],"template":"t"},{"name":"b","delay":"90","channels":["email"],"template":"t"}]`},
			"sequence[1].delay: 90 has no unit"},
		{"sequence json float", "", map[string]string{seqEnv: `[{"name":"a","delay":0.5,"channels":["email"],"template":"t"}]`},
			"sequence[0].delay: 0.5 has no unit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			path := ""
			if tc.yaml != "" {
				path = writeFile(t, tc.yaml)
			}
			_, _, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestDurationsWithUnitsLoad(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CARTRECOVERY_WORKER_SEND_TIMEOUT", "45s")
	c, _, err := Load(writeFile(t, `http: {session_ttl: 2h30m}
rules: {cooldown: 0, attribution_window: "72h", retention: 2160h, max_cart_age: 96h}
sequence:
  - {name: a, delay: 90m, channels: [email], template: first-reminder}
  - {name: b, delay: 1h45m30s, channels: [email], template: last-chance}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.SessionTTL != 150*time.Minute || c.Rules.Cooldown != 0 || c.Rules.AttributionWindow != 72*time.Hour ||
		c.Rules.MaxCartAge != 96*time.Hour || c.Worker.SendTimeout != 45*time.Second ||
		c.Sequence[0].Delay != 90*time.Minute || c.Sequence[1].Delay != time.Hour+45*time.Minute+30*time.Second {
		t.Fatalf("%+v", c)
	}
	for _, zero := range []string{`0`, `"0"`, `0s`, `0.0`} {
		c, _, err := Load(writeFile(t, "rules: {cooldown: "+zero+"}\n"))
		if err != nil || c.Rules.Cooldown != 0 {
			t.Errorf("cooldown %s: %v %v", zero, c.Rules.Cooldown, err)
		}
	}
}

// TestUnknownEnvVariable: a misspelt CARTRECOVERY_* variable stops Load,
// naming it and the closest valid variable; the tools' own variables pass.
func TestUnknownEnvVariable(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct{ name, want string }{
		{"CARTRECOVERY_REDIS_ULR", "CARTRECOVERY_REDIS_ULR: unknown setting; did you mean CARTRECOVERY_REDIS_URL?"},
		{"CARTRECOVERY_EMAIL_SMTP_PASWORD", "did you mean CARTRECOVERY_EMAIL_SMTP_PASSWORD?"},
		{"CARTRECOVERY_WORKER_CONCURENCY", "did you mean CARTRECOVERY_WORKER_CONCURRENCY?"},
		{"CARTRECOVERY_SEQUENSE", "did you mean CARTRECOVERY_SEQUENCE?"},
		{"CARTRECOVERY_CONFIGG", "did you mean CARTRECOVERY_CONFIG?"},
		{"CARTRECOVERY_TEST_REDIS_ULR", "did you mean CARTRECOVERY_TEST_REDIS_URL?"},
		{"CARTRECOVERY_HTTP_SESSIONTTL", "did you mean CARTRECOVERY_HTTP_SESSION_TTL?"},
		{"CARTRECOVERY_EMAIL_SMTP", "CARTRECOVERY_EMAIL_SMTP: unknown setting"},
		{"CARTRECOVERY_SOMETHING_ELSE_ENTIRELY", "CARTRECOVERY_SOMETHING_ELSE_ENTIRELY: unknown setting (CARTRECOVERY_ + a config key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.name, "x")
			_, _, err := Load("")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("all reported", func(t *testing.T) {
		t.Setenv("CARTRECOVERY_REDIS_ULR", "x")
		t.Setenv("CARTRECOVERY_LOG_LEVL", "debug")
		_, _, err := Load("")
		if err == nil || len(strings.Split(err.Error(), "\n")) != 2 {
			t.Fatalf("want one line per unknown variable: %v", err)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		for _, name := range []string{"CARTRECOVERY_TEST_REDIS_URL", "CARTRECOVERY_REQUIRE_CHROMIUM", "CARTRECOVERY_ARTIFACTS",
			"CARTRECOVERY_UPDATE_GOLDEN", "CARTRECOVERY_REDIS_URL", "CARTRECOVERY_STORE_ALLOWED_HOSTS", "CARTRECOVERY_HTTP_SESSION_TTL"} {
			t.Setenv(name, "1h")
		}
		t.Setenv("CARTRECOVERY_REDIS_URL", "redis://r:6379/0")
		t.Setenv("CARTRECOVERY_SEQUENCE", `[{"name":"a","delay":"1h","channels":["email"],"template":"t"}]`)
		t.Setenv("CARTRECOVERY_CONFIG", writeFile(t, "store: {name: Env}\n"))
		t.Setenv("cartrecovery_lower_case_is_not_ours", "x")
		t.Setenv("CARTRECOVERYX", "x")
		c, _, err := Load("")
		if err != nil || c.Store.Name != "Env" || c.Redis.URL != "redis://r:6379/0" || c.HTTP.SessionTTL != time.Hour {
			t.Fatalf("%v %+v", err, c)
		}
	})
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"URL", "URL", 0}, {"ULR", "URL", 1}, {"URL", "URI", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"PASWORD", "PASSWORD", 1}, {"ñandú", "nandu", 2},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, _, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.HTTP.TrustedProxies) != 0 || len(c.HTTP.Proxies()) != 0 {
		t.Fatalf("trusted by default: %v", c.HTTP.TrustedProxies)
	}
	c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.1", "::ffff:192.0.2.9", "proxy.internal", "10.0.0.0/99"}
	err = c.Validate()
	for _, want := range []string{`http.trusted_proxies[3]: "proxy.internal" is not an IP address or a CIDR range`, `http.trusted_proxies[4]: "10.0.0.0/99"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "trusted_proxies[0]") {
		t.Errorf("a CIDR range refused: %v", err)
	}
	got := fmt.Sprint(c.HTTP.Proxies())
	if got != "[10.0.0.0/8 192.0.2.1/32 192.0.2.9/32]" {
		t.Fatalf("proxies %s", got)
	}
}
