package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// TestDashboardInChromium signs in to the dashboard in headless Chromium and
// checks that the figures it shows are the JSON API's; it saves a
// screenshot under artifacts/ (or $CARTRECOVERY_ARTIFACTS).
func TestDashboardInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (the Makefile's test target installs it)")
		}
		t.Skip("chromium not installed: run make test, which installs it")
	}
	tok := "0123456789abcdef-token"
	e, _ := adminEnv(t, tok)
	ctx := context.Background()
	// some history: three carts reminded, one recovered in EUR, one in USD
	for i, cur := range []string{"EUR", "USD", "EUR"} {
		id := fmt.Sprintf("d%d", i)
		b := []byte(strings.Replace(string(generic("e"+id, "cart.updated", id, time.Now().Add(-3*time.Hour))), `"EUR"`, `"`+cur+`"`, 1))
		e.post("/webhooks/generic", genericHeaders(b), b)
		c, _, _ := e.store.Load(ctx, "default", id)
		if r, _ := e.store.Claim(ctx, "default", id, 0, c.Gen, "email"); r != recovery.ClaimOK {
			t.Fatal(r)
		}
		_ = e.store.Finish(ctx, "default", id, 0, "email", recovery.OutcomeSent, "")
		_ = e.store.Advance(ctx, "default", id, 0)
		if i < 2 {
			o := []byte(strings.NewReplacer(`"currency":"EUR"`, `"currency":"`+cur+`"`, "ana@example.com", fmt.Sprintf("c%d@example.com", i)).
				Replace(string(generic("o"+id, "order.created", id, time.Now()))))
			e.post("/webhooks/generic", genericHeaders(o), o)
		}
	}
	_, body, _ := get(t, e.url+"/api/report?since=30d", tok)
	var api struct {
		Totals struct {
			Abandoned, Recovered int64
			RecoveryRate         float64           `json:"recovery_rate"`
			Revenue              map[string]string `json:"recovered_revenue"`
		}
		Rows []struct {
			Key       string
			Sent      int64
			Recovered int64
		}
	}
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatal(err)
	}
	if api.Totals.Recovered != 2 {
		t.Fatalf("setup: %s", body)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(1200, 1400))
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	var abandoned, recovered, rate, revenue, firstSent, firstRecovered string
	var shot []byte
	err = chromedp.Run(bctx,
		chromedp.Navigate(e.url+"/dashboard"),
		chromedp.WaitVisible(`#token`, chromedp.ByQuery),
		chromedp.SendKeys(`#token`, tok, chromedp.ByQuery),
		chromedp.Submit(`#token`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-metric="recovered"]`, chromedp.ByQuery),
		chromedp.Text(`[data-metric="abandoned"]`, &abandoned, chromedp.ByQuery),
		chromedp.Text(`[data-metric="recovered"]`, &recovered, chromedp.ByQuery),
		chromedp.Text(`[data-metric="recovery_rate"]`, &rate, chromedp.ByQuery),
		chromedp.Text(`[data-metric="recovered_revenue"]`, &revenue, chromedp.ByQuery),
		chromedp.Text(`tr[data-step="first-reminder"] [data-field="sent"]`, &firstSent, chromedp.ByQuery),
		chromedp.Text(`tr[data-step="first-reminder"] [data-field="recovered"]`, &firstRecovered, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 90),
	)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dir := os.Getenv("CARTRECOVERY_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		p := filepath.Join(dir, "dashboard.jpg")
		if err := os.WriteFile(p, shot, 0o644); err == nil {
			t.Logf("screenshot: %s", p)
		}
	}
	checks := map[string][2]string{
		"abandoned":      {abandoned, fmt.Sprint(api.Totals.Abandoned)},
		"recovered":      {recovered, fmt.Sprint(api.Totals.Recovered)},
		"recovery rate":  {rate, fmt.Sprintf("%.1f%%", api.Totals.RecoveryRate*100)},
		"revenue":        {revenue, api.Totals.Revenue["EUR"] + " EUR · " + api.Totals.Revenue["USD"] + " USD"},
		"step sent":      {firstSent, fmt.Sprint(api.Rows[0].Sent)},
		"step recovered": {firstRecovered, fmt.Sprint(api.Rows[0].Recovered)},
	}
	for name, c := range checks {
		if strings.TrimSpace(c[0]) != c[1] {
			t.Errorf("%s: dashboard shows %q, API says %q", name, c[0], c[1])
		}
	}
}
