package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// previewConfig writes a config whose second step has a static code and
// two A/B variants (b with a unique code, c with the step's code), on a
// public URL with a path, and returns its path.
func previewConfig(t *testing.T) string {
	t.Helper()
	templates, _ := filepath.Abs("../../templates")
	p := filepath.Join(t.TempDir(), "cartrecovery.yaml")
	cfg := `
http: {public_url: "https://links.example.com/shop/"}
store: {name: "Preview Shop", url: "https://shop.example", address: "1 Main St, Town", timezone: "UTC"}
sequence:
  - {name: first-reminder, delay: 1h, channels: [email]}
  - name: second-reminder
    delay: 24h
    channels: [email, sms]
    discount: {code: "COMEBACK10", label: "10% off"}
    variants:
      - {name: b, template: last-chance, weight: 30, discount: {type: unique, percent: "15", expires_after: 72h, prefix: "CR-", label: "15% off"}}
      - {name: c, template: first-reminder, weight: 20}
  - {name: last-chance, delay: 72h, channels: [email], template: last-chance}
templates: {dir: ` + templates + `}
`
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runPreview(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"preview"}, args...), &out, &errb)
	return out.String(), errb.String(), err
}

// part returns the text under "==> name <==" in preview's printed output.
func part(t *testing.T, out, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "==> "+name+" <==\n")
	if !ok {
		t.Fatalf("no part %s in:\n%s", name, out)
	}
	body, _, _ := strings.Cut(rest, "\n==> ")
	return body
}

func TestPreviewListsSteps(t *testing.T) {
	cfg := previewConfig(t)
	out, stderr, err := runPreview(t, "--config", cfg)
	if err != nil {
		t.Fatalf("preview without --step: %v\n%s", err, stderr)
	}
	for _, re := range []string{
		`links on https://links\.example\.com/shop/`,
		`STEP +DELAY +CHANNELS +TEMPLATE +DISCOUNT +LOCALES`,
		`\nfirst-reminder +1h +email +first-reminder +none +default, de, es, fr\n`,
		`\nsecond-reminder +24h +email\+sms +second-reminder +code COMEBACK10, label "10% off" +default, de, es, fr\n`,
		`\n  variant a +50% +second-reminder +code COMEBACK10, label "10% off" +default, de, es, fr\n`,
		`\n  variant b +30% +last-chance +unique code CR-XXXXXXXXXX, 15% off, valid 72h, label "15% off" +default, de, es, fr\n`,
		`\n  variant c +20% +first-reminder +code COMEBACK10, label "10% off" +default, de, es, fr\n`,
		`\nlast-chance +72h +email +last-chance +none`,
		`preview --step NAME`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("list lacks %s:\n%s", re, out)
		}
	}
	// the other flags need a step
	if _, _, err := runPreview(t, "--config", cfg, "--channel", "sms"); exitCode(err) != 2 || !strings.Contains(err.Error(), "--channel: needs --step") {
		t.Errorf("--channel without --step: %v", err)
	}
	if _, _, err := runPreview(t, "--config", cfg, "--step", "nope"); exitCode(err) != 2 ||
		!strings.Contains(err.Error(), "first-reminder, second-reminder, last-chance") {
		t.Errorf("unknown step: %v", err)
	}
}

// TestPreviewRealLinks: the links are those a send makes, on
// http.public_url: a 27-character click-through token per message and the
// customer's signed email unsubscribe token.
func TestPreviewRealLinks(t *testing.T) {
	out, stderr, err := runPreview(t, "--config", previewConfig(t), "--step", "second-reminder")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	click := regexp.MustCompile(`https://links\.example\.com/shop/r/([A-Za-z0-9_-]+)`)
	text, sms := part(t, out, "email.txt"), part(t, out, "sms.txt")
	var tokens []string
	for name, body := range map[string]string{"email.txt": text, "sms.txt": sms, "email.html": part(t, out, "email.html")} {
		m := click.FindStringSubmatch(body)
		if m == nil || len(m[1]) != 27 {
			t.Errorf("%s: no click-through link of 27 characters on http.public_url: %v\n%s", name, m, body)
			continue
		}
		if name != "email.html" {
			tokens = append(tokens, m[1])
		}
	}
	if len(tokens) == 2 && tokens[0] == tokens[1] {
		t.Errorf("email and SMS share a link (%s): a send makes one per message", tokens[0])
	}
	m := regexp.MustCompile(`https://links\.example\.com/shop/unsubscribe/([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no unsubscribe link:\n%s", text)
	}
	body, err := base64.RawURLEncoding.DecodeString(m[1])
	if want := "unsub\x1f0\x1fdefault\x1femail\x1f" + recovery.ContactHash("ana@example.com"); err != nil || string(body) != want {
		t.Errorf("unsubscribe token carries %q, want %q", body, want)
	}
	if !strings.Contains(sms, "COMEBACK10") || !strings.Contains(text, "COMEBACK10") {
		t.Errorf("the step's code is missing:\n%s\n%s", sms, text)
	}
	// the count is of the SMS with its real link
	n := len([]rune(strings.TrimSpace(sms)))
	if !regexp.MustCompile(`(?m)^sms: ` + strconv.Itoa(n) + ` characters, 1 GSM-7 segment`).MatchString(stderr) {
		t.Errorf("segment line for %d characters missing:\n%s", n, stderr)
	}
}

// TestPreviewVariantDiscounts: each variant shows its own discount: a
// unique code as its prefix and 10 placeholders, valid expires_after from
// now; a variant without one shows the step's.
func TestPreviewVariantDiscounts(t *testing.T) {
	cfg := previewConfig(t)
	before := time.Now().Add(72 * time.Hour).UTC()
	out, stderr, err := runPreview(t, "--config", cfg, "--step", "second-reminder", "--variant", "b", "--channel", "email")
	after := time.Now().Add(72 * time.Hour).UTC()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	text := part(t, out, "email.txt")
	if !strings.Contains(text, "CR-XXXXXXXXXX") || strings.Contains(text, "COMEBACK10") {
		t.Errorf("variant b should offer its unique code:\n%s", text)
	}
	if !strings.Contains(text, before.Format("2 January 2006")) && !strings.Contains(text, after.Format("2 January 2006")) {
		t.Errorf("variant b's code should expire in 72h (%s):\n%s", before.Format("2 January 2006"), text)
	}
	if !strings.Contains(stderr, "last-chance.txt.tmpl") {
		t.Errorf("variant b renders last-chance: %s", stderr)
	}
	out, _, err = runPreview(t, "--config", cfg, "--step", "second-reminder", "--variant", "c", "--channel", "email")
	if err != nil || !strings.Contains(part(t, out, "email.txt"), "COMEBACK10") {
		t.Errorf("variant c keeps the step's code: %v\n%s", err, out)
	}
	if _, _, err := runPreview(t, "--config", cfg, "--step", "second-reminder", "--variant", "z"); exitCode(err) != 2 ||
		!strings.Contains(err.Error(), "a, b, c, or all") {
		t.Errorf("unknown variant: %v", err)
	}
}

// TestPreviewEveryVariantAndLocale: --variant all --locale all renders
// each variant in the default files and every translation.
func TestPreviewEveryVariantAndLocale(t *testing.T) {
	cfg := previewConfig(t)
	dir := t.TempDir()
	out, stderr, err := runPreview(t, "--config", cfg, "--step", "second-reminder", "--variant", "all", "--locale", "all", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 3*4*4 || strings.Count(out, "\n") != len(files) {
		t.Errorf("want 48 files (3 variants, 4 locales, 4 parts), got %d:\n%s", len(files), out)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
		}
		return string(b)
	}
	if s := read("second-reminder.a.default.sms.txt"); !strings.Contains(s, "COMEBACK10") || !strings.Contains(s, "Reply STOP") {
		t.Errorf("a, default: %s", s)
	}
	if s := read("second-reminder.a.es.sms.txt"); !strings.Contains(s, "Responde STOP") {
		t.Errorf("a, es: %s", s)
	}
	if s := read("second-reminder.b.de.email.txt"); !strings.Contains(s, "CR-XXXXXXXXXX") {
		t.Errorf("b, de: %s", s)
	}
	if s := read("second-reminder.c.fr.subject.txt"); s == "" {
		t.Error("c, fr: empty subject")
	}
	for _, want := range []string{`[second-reminder.b.es] locale "es": last-chance.es.subject.tmpl`, `[second-reminder.c.default] locale "": first-reminder.subject.tmpl`,
		`[second-reminder.a.fr] sms: `} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// printed, each part is headed by its step, variant and locale
	out, _, err = runPreview(t, "--config", cfg, "--step", "second-reminder", "--variant", "all", "--channel", "email", "--locale", "de")
	if err != nil || !strings.Contains(part(t, out, "second-reminder.b.email.txt"), "CR-XXXXXXXXXX") ||
		!strings.Contains(part(t, out, "second-reminder.a.email.txt"), "COMEBACK10") || strings.Count(out, "==> ") != 3*3 {
		t.Errorf("printed variants: %v\n%s", err, out)
	}
}
