package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/config"
)

// copyTemplates copies the shipped templates into a folder the test may
// change.
func copyTemplates(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("../../templates/*.tmpl")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func (b *appBundle) readyVersion(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(b.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r["config"] == "" {
		t.Fatalf("readyz: %v %v", r, err)
	}
	return r["config"]
}

// waitReload waits for the next reload attempt and returns the version
// serving after it.
func (b *appBundle) waitReload(t *testing.T) string {
	t.Helper()
	select {
	case v := <-b.reloads:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("no reload\n%s", b.logs.String())
		return ""
	}
}

func (b *appBundle) subjectOf(t *testing.T, n int) string {
	t.Helper()
	msgs := b.smtp.WaitMessages(t, n, 10*time.Second)
	hdr, _, _, err := msgs[n-1].Parsed()
	if err != nil {
		t.Fatal(err)
	}
	return hdr.Get("Subject")
}

func (b *appBundle) metric(t *testing.T, line string) bool {
	t.Helper()
	resp, err := http.Get(b.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	all, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(all), line)
}

// A change of a template or of the config file applies to the next cart
// without a restart; an invalid change is refused with one log line per
// problem, the last good version keeps serving, and /readyz names the
// version serving.
func TestAppReloadsOnChange(t *testing.T) {
	tmpl := copyTemplates(t)
	b := startAppIn(t, appSetup{templates: tmpl, watch: true, sequence: `
  - {name: first-reminder, delay: 1h, channels: [email], template: first-reminder}`})
	v1 := b.readyVersion(t)

	if err := os.WriteFile(filepath.Join(tmpl, "first-reminder.subject.tmpl"), []byte("Reloaded: your cart at {{.Store.Name}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	v2 := b.waitReload(t)
	if v2 == v1 || b.readyVersion(t) != v2 {
		t.Fatalf("version %s after the change, was %s; /readyz says %s", v2, v1, b.readyVersion(t))
	}
	b.post(t, "cart.updated", "e1", "c1", "ana@example.com", "10.00")
	b.waitScheduled(t, "c1", 0)
	b.advance(t, time.Hour)
	if s := b.subjectOf(t, 1); s != "Reloaded: your cart at App Shop" {
		t.Fatalf("subject %q: the changed template was not used", s)
	}

	// the delay changes in the file: the next cart waits 2h
	changed := strings.Replace(b.cfgText, "delay: 1h", "delay: 2h", 1)
	if err := os.WriteFile(b.cfgPath, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	b.waitReload(t)
	b.post(t, "cart.updated", "e2", "c2", "bea@example.com", "10.00")
	b.waitScheduled(t, "c2", 0)
	b.advance(t, time.Hour)
	b.advance(t, time.Minute)
	if n := b.smtp.Count(); n != 1 {
		t.Fatalf("%d emails an hour after the second cart: the new delay (2h) was not used", n)
	}
	b.advance(t, time.Hour)
	b.smtp.WaitMessages(t, 2, 10*time.Second)

	// an invalid change: refused, one line per problem, the last good
	// version serves on
	good := b.readyVersion(t)
	bad := strings.Replace(changed, "delay: 2h", "delay: -5m", 1)
	bad = strings.Replace(bad, `name: "App Shop"`, `name: ""`, 1)
	if err := os.WriteFile(b.cfgPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if v := b.waitReload(t); v != good || b.readyVersion(t) != good {
		t.Fatalf("an invalid change moved the version to %s (was %s)", v, good)
	}
	logs := b.logs.String()
	if !strings.Contains(logs, "configuration refused") || !strings.Contains(logs, "sequence[0].delay") || !strings.Contains(logs, "store.name") {
		t.Fatalf("the refusal does not name each problem:\n%s", logs)
	}
	if !b.metric(t, `cartrecovery_config_reloads_total{result="invalid"}`) || !b.metric(t, `cartrecovery_config_reloads_total{result="ok"}`) {
		t.Fatal("reloads not counted in cartrecovery_config_reloads_total")
	}
	b.post(t, "cart.updated", "e3", "c3", "cy@example.com", "10.00")
	b.waitScheduled(t, "c3", 0)
	b.advance(t, 2*time.Hour)
	if s := b.subjectOf(t, 3); s != "Reloaded: your cart at App Shop" {
		t.Fatalf("after the refused change the subject is %q", s)
	}
}

// SIGHUP reloads (and no longer stops the process).
func TestAppReloadsOnSIGHUP(t *testing.T) {
	tmpl := copyTemplates(t)
	b := startAppIn(t, appSetup{templates: tmpl, sequence: `
  - {name: first-reminder, delay: 1h, channels: [email], template: first-reminder}`})
	v1 := b.readyVersion(t)
	if err := os.WriteFile(filepath.Join(tmpl, "first-reminder.subject.tmpl"), []byte("After SIGHUP"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if v := b.waitReload(t); v == v1 {
		t.Fatal("SIGHUP did not apply the change")
	}
	b.post(t, "cart.updated", "h1", "c1", "ana@example.com", "10.00")
	b.waitScheduled(t, "c1", 0)
	b.advance(t, time.Hour)
	if s := b.subjectOf(t, 1); s != "After SIGHUP" {
		t.Fatalf("subject %q", s)
	}
}

// The restart-only keys are named when they change and keep their running
// values; the others are applied.
func TestRestartOnlyKeys(t *testing.T) {
	var start config.Config
	start.HTTP.AdminToken, start.SMS.Transport, start.Store.Name = "old-token-0123456789", "log", "Old"
	cur := start
	cur.HTTP.AdminToken, cur.SMS.Transport, cur.Store.Name = "new-token-0123456789", "twilio", "New"
	if got := strings.Join(restartKeys(start, cur), ","); got != "http,sms.transport" {
		t.Fatalf("restart keys %q", got)
	}
	kept := keepRestartKeys(cur, start)
	if kept.HTTP.AdminToken != start.HTTP.AdminToken || kept.SMS.Transport != "log" || kept.Store.Name != "New" {
		t.Fatalf("kept %+v", kept)
	}
	if len(restartKeys(start, kept)) != 0 {
		t.Fatal("keepRestartKeys left a restart-only key changed")
	}
}
