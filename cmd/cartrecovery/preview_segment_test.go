package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// segmentConfig writes a config with two segments and two stores, one
// with its own templates folder (a subject of its own), and returns its
// path.
func segmentConfig(t *testing.T) string {
	t.Helper()
	templates, _ := filepath.Abs("../../templates")
	own := t.TempDir()
	if err := os.WriteFile(filepath.Join(own, "first-reminder.subject.tmpl"), []byte("{{.Store.Name}}: your cart is waiting"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cartrecovery.yaml")
	cfg := `
http: {public_url: "https://links.example.com/"}
store: {name: "Top Shop", url: "https://shop.example", address: "1 Main St, Town", timezone: "UTC"}
sequence:
  - {name: first-reminder, delay: 1h, channels: [email]}
segments:
  - name: returning
    when: {customer: returning}
    sequence: [{name: first, delay: 1h, channels: [email], template: first-reminder}]
  - name: high-value
    when: {min_total: "100"}
    sequence: [{name: first, delay: 30m, channels: [email], template: second-reminder, discount: {code: "HIGH20", label: "20% off"}}]
stores:
  shop-a.example: {name: "Shop A", templates: {dir: ` + own + `}}
  shop-b.example: {name: "Shop B", segments: []}
templates: {dir: ` + templates + `}
`
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPreviewSegmentsAndStores: preview lists every segment's steps with
// its conditions, renders a segment's step as a store renders it (its
// name and its own template files), says which segment a cart would get,
// and names the valid choices when a flag is wrong; check notes the
// overlapping segments.
func TestPreviewSegmentsAndStores(t *testing.T) {
	cfg := segmentConfig(t)
	out, stderr, err := runPreview(t, "--config", cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, re := range []string{
		`the top-level sequence \(carts no segment takes\):`,
		`segment returning \(segments\[0\], when customer returning\):`,
		`segment high-value \(segments\[1\], when total ≥ 100\):\nSTEP .*\nfirst +30m +email +second-reminder +code HIGH20`,
		`--segment S`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("list lacks %s:\n%s", re, out)
		}
	}
	// shop B has no segments
	out, _, err = runPreview(t, "--config", cfg, "--store", "shop-b.example")
	if err != nil || strings.Contains(out, "segment high-value") || !strings.Contains(out, "for Shop B") {
		t.Errorf("shop B's list: %v\n%s", err, out)
	}
	// a segment's step as shop A renders it: its own subject, its name
	out, stderr, err = runPreview(t, "--config", cfg, "--store", "shop-a.example", "--step", "first", "--segment", "returning")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if s := strings.TrimSpace(part(t, out, "subject.txt")); s != "Shop A: your cart is waiting" {
		t.Errorf("shop A's subject %q", s)
	}
	out, _, err = runPreview(t, "--config", cfg, "--step", "first", "--segment", "high-value")
	if err != nil || !strings.Contains(part(t, out, "email.txt"), "HIGH20") {
		t.Errorf("high-value's offer: %v", err)
	}
	// with a cart: the segment it would get in its own store, without
	// --step the steps of that segment
	cartFile := func(store string) string {
		p := filepath.Join(t.TempDir(), "cart.json")
		body := `{"id":"e","type":"cart.updated",` + store + `"cart":{"id":"c","currency":"EUR","total":"150.00"},"customer":{"email":"a@example.com"}}`
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out, stderr, err = runPreview(t, "--config", cfg, "--cart", cartFile(`"store":"shop-a.example",`))
	if err != nil || !strings.Contains(stderr, "this cart (store shop-a.example) is put in high-value") ||
		!regexp.MustCompile(`segment high-value of Shop A:\nSTEP .*\nfirst +30m +email +second-reminder +code HIGH20`).MatchString(out) {
		t.Errorf("the cart's segment: %v\n%s\n%s", err, stderr, out)
	}
	out, stderr, err = runPreview(t, "--config", cfg, "--cart", cartFile(`"store":"shop-b.example",`), "--step", "first-reminder")
	if err != nil || !strings.Contains(stderr, "is put in the top-level sequence") || !strings.Contains(part(t, out, "email.txt"), "Shop B") {
		t.Errorf("shop B has no segments: %v\n%s", err, stderr)
	}
	// a cart of a store not configured
	if _, _, err := runPreview(t, "--config", cfg, "--cart", cartFile("")); exitCode(err) != 2 ||
		!strings.Contains(err.Error(), `--cart: store "default" is not a configured store`) {
		t.Errorf("a cart of an unconfigured store: %v", err)
	}
	for _, c := range []struct{ args, want string }{
		{"--store nope.example", "--store: store \"nope.example\" is not a configured store (shop-a.example, shop-b.example): its webhooks get 404"},
		{"--segment vip --step first", "--segment: \"vip\" is not a segment of the configuration (default, returning, high-value)"},
		{"--segment high-value --step first-reminder", "--step: \"first-reminder\" is not a step of segment high-value (first)"},
		{"--store shop-b.example --segment high-value --step first", "is not a segment of shop-b.example (default)"},
	} {
		_, _, err := runPreview(t, append([]string{"--config", cfg}, strings.Fields(c.args)...)...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("preview %s: %v, want %q", c.args, err, c.want)
		}
	}

	var buf bytes.Buffer
	if err := run(context.Background(), []string{"check", "--config", cfg}, &buf, &buf); err != nil {
		t.Fatalf("check: %v\n%s", err, buf.String())
	}
	for _, want := range []string{
		"note: segments[0] (returning) and segments[1] (high-value) can match the same cart: the first one wins it",
		"(2 segments, 2 stores configured on their own, every store's templates rendered)",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("check says:\n%s\nwant %q", buf.String(), want)
		}
	}
}
