package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
)

// TestDashboardInChromium signs in to the dashboard in headless Chromium and
// checks that the figures it shows are the JSON API's; it saves a
// screenshot under artifacts/ (or $CARTRECOVERY_ARTIFACTS).
func TestDashboardInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CARTRECOVERY_REQUIRE_CHROMIUM") != "" {
			t.Fatal("chromium is not installed (make test installs it)")
		}
		t.Skip("chromium not installed: run make test, which installs it")
	}
	tok := "0123456789abcdef-token"
	e, _ := adminEnv(t, tok, func(o *redis.Options) { o.HoldoutPercent = 50 })
	// an A/B test on the first step: carts d1, d5, d9, ... get variant b
	variant := func(cart string) string {
		if n, _ := strconv.Atoi(strings.TrimPrefix(cart, "d")); n%4 == 1 {
			return "b"
		}
		return "a"
	}
	ctx := context.Background()
	// History: 24 customers, about half of them in the holdout group. Treated
	// carts are reminded (the worker's calls); holdout carts are held. Every
	// third customer orders, in EUR or USD.
	held := 0
	for i := range 24 {
		id, email := fmt.Sprintf("d%d", i), fmt.Sprintf("c%d@example.com", i)
		cur := []string{"EUR", "USD"}[i%2]
		b := []byte(strings.NewReplacer(`"EUR"`, `"`+cur+`"`, "ana@example.com", email).
			Replace(string(generic("e"+id, "cart.updated", id, time.Now().Add(-3*time.Hour)))))
		if r := e.post("/webhooks/generic", genericHeaders(b), b); r.Code != 202 {
			t.Fatalf("cart %d: %+v", i, r)
		}
		c, _, _ := e.store.Load(ctx, "default", id)
		if c.Holdout != recovery.InHoldout("default", email, 50) {
			t.Fatalf("cart %d: holdout flag %v", i, c.Holdout)
		}
		m := c.Message(0, "email", variant(id))
		if c.Holdout {
			held++
			if err := e.store.Skip(ctx, m, recovery.ReasonHoldout); err != nil {
				t.Fatal(err)
			}
		} else {
			if r, _ := e.store.Claim(ctx, m, c.Gen, c.Email(), ""); r != recovery.ClaimOK {
				t.Fatal(r)
			}
			_ = e.store.Finish(ctx, m, c.Email(), recovery.OutcomeSent, "")
		}
		_ = e.store.Advance(ctx, "default", id, 0)
		if i%3 == 0 || (!c.Holdout && i%3 == 1) {
			o := []byte(strings.NewReplacer(`"currency":"EUR"`, `"currency":"`+cur+`"`, "ana@example.com", email).
				Replace(string(generic("o"+id, "order.created", id, time.Now()))))
			e.post("/webhooks/generic", genericHeaders(o), o)
		}
	}
	if held == 0 || held == 24 {
		t.Fatalf("setup: %d of 24 carts held", held)
	}
	_, body, _ := get(t, e.url+"/api/report?since=30d", tok)
	var api struct {
		Totals struct {
			Carts, Abandoned, Reminded, Clicked, Recovered int64
			RecoveryRate                                   float64           `json:"recovery_rate"`
			Revenue                                        map[string]string `json:"recovered_revenue"`
		}
		Rows []struct {
			Key       string
			Sent      int64
			Recovered int64
		}
		Holdout struct {
			Carts    int64
			Lift     *float64
			LiftLow  *float64 `json:"lift_ci95_low"`
			LiftHigh *float64 `json:"lift_ci95_high"`
		}
	}
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatal(err)
	}
	if api.Totals.Recovered == 0 || api.Holdout.Lift == nil || api.Holdout.Carts != int64(held) {
		t.Fatalf("setup: %s", body)
	}
	_, body, _ = get(t, e.url+"/api/report?since=30d&by=variant", tok)
	var byVariant struct {
		Rows []struct {
			Key             string
			Sent, Recovered int64
		}
	}
	if err := json.Unmarshal(body, &byVariant); err != nil {
		t.Fatal(err)
	}
	apiVariant := map[string][2]int64{}
	for _, r := range byVariant.Rows {
		apiVariant[r.Key] = [2]int64{r.Sent, r.Recovered}
	}
	if apiVariant["first-reminder/b"][0] == 0 || apiVariant["first-reminder/a"][0] == 0 {
		t.Fatalf("setup by variant: %s", body)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(1200, 1400))
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	// This cdproto predates some events of Chromium 156; their decode errors
	// are noise, anything else is logged.
	bctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(f string, a ...any) {
		if msg := fmt.Sprintf(f, a...); !strings.Contains(msg, "could not unmarshal event") {
			t.Logf("chromedp: %s", msg)
		}
	}))
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	var abandoned, recovered, rate, revenue, firstSent, firstRecovered, lift, liftCI, tracked, reminded string
	var aSent, bSent, bRecovered string
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
		chromedp.Text(`[data-metric="lift"]`, &lift, chromedp.ByQuery),
		chromedp.Text(`[data-metric="lift_ci"]`, &liftCI, chromedp.ByQuery),
		chromedp.TextContent(`[data-funnel="Tracked"]`, &tracked, chromedp.ByQuery),
		chromedp.TextContent(`[data-funnel="Reminded"]`, &reminded, chromedp.ByQuery),
		chromedp.Text(`tr[data-step="first-reminder"] [data-field="sent"]`, &firstSent, chromedp.ByQuery),
		chromedp.Text(`tr[data-step="first-reminder"] [data-field="recovered"]`, &firstRecovered, chromedp.ByQuery),
		chromedp.Text(`tr[data-variant="first-reminder/a"] [data-field="sent"]`, &aSent, chromedp.ByQuery),
		chromedp.Text(`tr[data-variant="first-reminder/b"] [data-field="sent"]`, &bSent, chromedp.ByQuery),
		chromedp.Text(`tr[data-variant="first-reminder/b"] [data-field="recovered"]`, &bRecovered, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100),
	)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dir := os.Getenv("CARTRECOVERY_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		p := filepath.Join(dir, "dashboard.png")
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
		"lift":           {lift, fmt.Sprintf("%+.1f pts", *api.Holdout.Lift*100)},
		"lift CI":        {liftCI, fmt.Sprintf("95%% CI %+.1f to %+.1f pts", *api.Holdout.LiftLow*100, *api.Holdout.LiftHigh*100)},
		"tracked":        {tracked, fmt.Sprint(api.Totals.Carts)},
		"reminded":       {reminded, fmt.Sprint(api.Totals.Reminded)},
		"a sent":         {aSent, fmt.Sprint(apiVariant["first-reminder/a"][0])},
		"b sent":         {bSent, fmt.Sprint(apiVariant["first-reminder/b"][0])},
		"b recovered":    {bRecovered, fmt.Sprint(apiVariant["first-reminder/b"][1])},
	}
	for name, c := range checks {
		if strings.TrimSpace(c[0]) != c[1] {
			t.Errorf("%s: dashboard shows %q, API says %q", name, c[0], c[1])
		}
	}
}
