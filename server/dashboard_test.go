package server_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/report"
)

// dashSeed is what seedDashboard recorded.
type dashSeed struct {
	held      int
	recovered string // a treated cart with an order, in store "default"
	email     string // its customer's address
}

// seedDashboard records the history the dashboard test looks at: 24
// customers in two stores, about half of them in the holdout group.
// Treated carts are reminded by email (the worker's calls) on the first
// step, an A/B test (carts d1, d5, d9, ... get variant b); their second
// step is skipped (cooldown, or no phone number for SMS) or held by quiet
// hours; some customers click. Every third customer orders, in EUR or USD.
func seedDashboard(t *testing.T, e *env) dashSeed {
	t.Helper()
	ctx := context.Background()
	variant := func(cart string) string {
		if n, _ := strconv.Atoi(strings.TrimPrefix(cart, "d")); n%4 == 1 {
			return "b"
		}
		return "a"
	}
	var seed dashSeed
	for i := range 24 {
		id, email := fmt.Sprintf("d%d", i), fmt.Sprintf("c%d@example.com", i)
		store := "default"
		if i%6 == 5 {
			store = "outlet"
		}
		cur := []string{"EUR", "USD"}[i%2]
		inStore := func(body []byte) []byte { return append([]byte(`{"store":"`+store+`",`), body[1:]...) }
		b := inStore([]byte(strings.NewReplacer(`"EUR"`, `"`+cur+`"`, "ana@example.com", email).
			Replace(string(genericBody("e"+id, "cart.updated", id, time.Now().Add(-3*time.Hour))))))
		if r := e.post("/webhooks/generic", genericHeaders(b), b); r.Code != 202 {
			t.Fatalf("cart %d: %+v", i, r)
		}
		c, _, _ := e.store.Load(ctx, store, id)
		if c.Holdout != recovery.InHoldout(store, email, 50) {
			t.Fatalf("cart %d: holdout flag %v", i, c.Holdout)
		}
		m := c.Message(0, "email", variant(id))
		if c.Holdout {
			seed.held++
			if err := e.store.Skip(ctx, m, recovery.ReasonHoldout); err != nil {
				t.Fatal(err)
			}
		} else {
			if r, _ := e.store.Claim(ctx, m, c.Gen, c.Email(), ""); r != recovery.ClaimOK {
				t.Fatal(r)
			}
			_ = e.store.Finish(ctx, m, c.Email(), recovery.OutcomeSent, "")
			if i%4 == 0 {
				if _, _, err := e.store.Click(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			switch i % 3 {
			case 0:
				err = e.store.Skip(ctx, c.Message(1, "email", "a"), recovery.ReasonCooldown)
			case 1:
				err = e.store.Skip(ctx, c.Message(1, "sms", "a"), "no phone number")
			case 2:
				err = e.store.Hold(ctx, c.Message(1, "email", "a"), time.Now().Add(8*time.Hour))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		_ = e.store.Advance(ctx, store, id, "", 0)
		if i%3 == 0 || (!c.Holdout && i%3 == 1) {
			o := inStore([]byte(strings.NewReplacer(`"currency":"EUR"`, `"currency":"`+cur+`"`, "ana@example.com", email,
				`"order":{"id":"o1"`, `"order":{"id":"order-`+id+`"`).Replace(string(genericBody("o"+id, "order.created", id, time.Now())))))
			if r := e.post("/webhooks/generic", genericHeaders(o), o); r.Code != 202 {
				t.Fatalf("order %d: %+v", i, r)
			}
			if !c.Holdout && store == "default" && seed.recovered == "" {
				seed.recovered, seed.email = id, email
			}
		}
	}
	if seed.held == 0 || seed.held == 24 || seed.recovered == "" {
		t.Fatalf("setup: %d of 24 carts held, recovered cart %q", seed.held, seed.recovered)
	}
	return seed
}

// scraped is what the page shows, read by data-* attributes.
type scraped struct {
	Metrics     map[string]string                       `json:"metrics"`
	Rows        map[string]map[string]string            `json:"rows"`
	RowOrder    []string                                `json:"rowOrder"`
	Funnel      map[string]string                       `json:"funnel"`
	FunnelRates map[string]string                       `json:"funnelRates"`
	Skips       map[string]string                       `json:"skips"`
	Experiments map[string]string                       `json:"experiments"`
	Variants    map[string]map[string]string            `json:"variants"`
	Charts      map[string]map[string]map[string]string `json:"charts"` // chart → series → day → value
	CSV         string                                  `json:"csv"`
	Notice      string                                  `json:"notice"`
	Carts       []string                                `json:"carts"`
	Events      []string                                `json:"events"`
	Customer    string                                  `json:"customer"`
	SearchNote  string                                  `json:"searchNote"`
	HTML        string                                  `json:"html"`
	ScrollWidth int                                     `json:"scrollWidth"`
	Width       int                                     `json:"width"`
}

const scrapeJS = `(() => {
  const txt = e => e ? e.textContent.trim().replace(/\s+/g, ' ') : '';
  const fields = el => { const o = {}; el.querySelectorAll('[data-field]').forEach(f => o[f.dataset.field] = txt(f)); return o; };
  const out = {metrics: {}, rows: {}, rowOrder: [], funnel: {}, funnelRates: {}, skips: {}, experiments: {}, variants: {}, charts: {},
    csv: '', notice: txt(document.querySelector('[data-notice]')), carts: [], events: [],
    customer: txt(document.querySelector('[data-cart] [data-field=customer]')), searchNote: txt(document.querySelector('[data-search-note]')),
    html: document.documentElement.outerHTML, scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth};
  document.querySelectorAll('[data-metric]').forEach(e => out.metrics[e.dataset.metric] = txt(e));
  document.querySelectorAll('table[data-table] tr[data-row]').forEach(tr => { out.rows[tr.dataset.row] = fields(tr); out.rowOrder.push(tr.dataset.row); });
  document.querySelectorAll('[data-funnel]').forEach(e => out.funnel[e.dataset.funnel] = txt(e));
  document.querySelectorAll('[data-funnel-rate]').forEach(e => out.funnelRates[e.dataset.funnelRate] = txt(e));
  document.querySelectorAll('tr[data-skip]').forEach(tr => out.skips[tr.dataset.skip] = fields(tr).count);
  document.querySelectorAll('[data-experiment]').forEach(d => out.experiments[d.dataset.experiment] = txt(d.querySelector('h3 [data-field=verdict]')));
  document.querySelectorAll('tr[data-variant]').forEach(tr => out.variants[tr.dataset.variant] = fields(tr));
  document.querySelectorAll('[data-chart]').forEach(c => {
    const ch = {};
    c.querySelectorAll('svg').forEach(svg => { // the one shown at this width
      if (svg.getBoundingClientRect().width === 0) return;
      svg.querySelectorAll('g[data-series]').forEach(g => { const s = {}; g.querySelectorAll('[data-day]').forEach(p => s[p.dataset.day] = p.dataset.value); ch[g.dataset.series] = s; });
    });
    out.charts[c.dataset.chart] = ch;
  });
  document.querySelectorAll('[data-cart]').forEach(c => out.carts.push(c.dataset.cart));
  document.querySelectorAll('[data-cart] [data-event]').forEach(r => out.events.push(r.dataset.event));
  const a = document.querySelector('a[data-export]');
  if (a) out.csv = a.getAttribute('href');
  return out;
})()`

// artifactDir is where the screenshots go: $CARTRECOVERY_ARTIFACTS, else
// the test's artifact directory when go test runs with -artifacts, else
// artifacts/ at the repository's root.
func artifactDir(t *testing.T) string {
	if dir := os.Getenv("CARTRECOVERY_ARTIFACTS"); dir != "" {
		return dir
	}
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	return filepath.Join("..", "artifacts")
}

// TestDashboardInChromium signs in to the dashboard in headless Chromium,
// opens every view (by step, channel, variant, store and day), a store, the
// date presets, a bad custom range and a cart search, and checks each
// number shown against GET /api/report for the same query (the CSV
// export link's); the export answers with the browser's session. At 375 px
// wide nothing scrolls sideways. It saves screenshots at 1280 and 375 px
// (artifactDir) and prints their paths.
func TestDashboardInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CARTRECOVERY_REQUIRE_CHROMIUM") != "" {
			t.Fatal("chromium is not installed (make test installs it)")
		}
		t.Skip("chromium is not installed, so the dashboard is not checked in a browser: run make test (it installs chromium), or set CARTRECOVERY_REQUIRE_CHROMIUM=1 to fail instead")
	}
	tok := "0123456789abcdef-token"
	e, _ := adminEnv(t, tok, func(o *redis.Options) {
		o.Policies = o.Policies.(recovery.PolicyMap).With(func(p *recovery.Policy) { p.HoldoutPercent = 50 })
	})
	seed := seedDashboard(t, e)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	// This cdproto predates some events of recent Chromium; their decode
	// errors are noise, anything else is logged.
	bctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(f string, a ...any) {
		if msg := fmt.Sprintf(f, a...); !strings.Contains(msg, "could not unmarshal event") {
			t.Logf("chromedp: %s", msg)
		}
	}))
	defer cancel()
	bctx, cancel = context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(bctx, actions...); err != nil {
			t.Fatalf("chromium, %s: %v", what, err)
		}
	}
	scrape := func() scraped {
		t.Helper()
		var s scraped
		run("read the page", chromedp.Evaluate(scrapeJS, &s))
		return s
	}
	// loaded waits for the page whose query has all of want (asking again
	// while the browser navigates there).
	loaded := func(want ...string) chromedp.Action {
		cond := "document.readyState === 'complete'"
		for _, w := range want {
			k, v, _ := strings.Cut(w, "=")
			cond += fmt.Sprintf(" && new URLSearchParams(location.search).get(%q) === %q", k, v)
		}
		return chromedp.ActionFunc(func(ctx context.Context) error {
			deadline := time.Now().Add(30 * time.Second)
			for {
				var ok bool
				err := chromedp.Evaluate(cond, &ok).Do(ctx)
				if err == nil && ok {
					return nil
				}
				if time.Now().After(deadline) {
					var at string
					_ = chromedp.Evaluate("location.href", &at).Do(ctx)
					return fmt.Errorf("no page with %v at %s (last error %v)", want, at, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	dir := artifactDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	screenshot := func(name string) {
		t.Helper()
		var shot []byte
		run("screenshot "+name, chromedp.FullScreenshot(&shot, 100))
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(p)
		t.Logf("screenshot: %s", abs)
	}

	run("sign in",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(e.url+"/dashboard"),
		chromedp.WaitVisible(`#token`, chromedp.ByQuery),
		chromedp.SendKeys(`#token`, tok, chromedp.ByQuery),
		chromedp.Submit(`#token`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-metric="recovered"]`, chromedp.ByQuery))
	var session string
	run("session cookie", chromedp.ActionFunc(func(ctx context.Context) error {
		cs, err := network.GetCookies().WithUrls([]string{e.url}).Do(ctx)
		for _, c := range cs {
			if c.Name == "cartrecovery_session" {
				session = c.Value
			}
		}
		return err
	}))
	if session == "" {
		t.Fatal("no session cookie in the browser")
	}

	today := time.Now().UTC().Format(time.DateOnly) // the test shop has no time zone: UTC
	// every view, reached by its tab
	for _, view := range report.Dimensions {
		run("view "+view, chromedp.Click(`a[data-view="`+view+`"]`, chromedp.ByQuery), loaded("by="+view),
			chromedp.WaitVisible(`table[data-table="`+view+`"]`, chromedp.ByQuery))
		page := scrape()
		api := checkAgainstAPI(t, e, tok, session, view, page)
		if api.From != time.Now().UTC().AddDate(0, 0, -29).Format(time.DateOnly) || api.To != today {
			t.Errorf("view %s: default range %s to %s, want the last 30 days to %s", view, api.From, api.To, today)
		}
		switch view {
		case "step":
			if len(api.Experiments) == 0 || len(api.Totals.SkipReasons) < 3 || api.Totals.Recovered == 0 || api.Holdout.Lift == nil {
				t.Errorf("setup: the report has too little to check: %+v", api)
			}
			screenshot("dashboard.png")
		case "channel":
			if page.Rows["email"] == nil || page.Rows["sms"] == nil {
				t.Errorf("by channel: rows %v", page.RowOrder)
			}
		case "variant":
			if page.Rows["first-reminder/b"] == nil || page.Rows["first-reminder/a"] == nil {
				t.Errorf("by variant: rows %v", page.RowOrder)
			}
		case "store":
			if page.Rows["default"] == nil || page.Rows["outlet"] == nil {
				t.Errorf("by store: rows %v", page.RowOrder)
			}
		case "day":
			if len(page.Rows) != 30 {
				t.Errorf("by day: %d rows, want 30", len(page.Rows))
			}
		}
	}

	// one store, chosen in its form
	run("store outlet", chromedp.SetValue(`form[data-form="store"] select`, "outlet", chromedp.ByQuery),
		chromedp.Click(`form[data-form="store"] button`, chromedp.ByQuery), loaded("store=outlet"))
	outlet := checkAgainstAPI(t, e, tok, session, "store outlet", scrape())
	run("every store", chromedp.SetValue(`form[data-form="store"] select`, "", chromedp.ByQuery),
		chromedp.Click(`form[data-form="store"] button`, chromedp.ByQuery), loaded("store="),
		chromedp.Click(`a[data-view="step"]`, chromedp.ByQuery), loaded("by=step"))
	all := checkAgainstAPI(t, e, tok, session, "step, every store", scrape())
	if outlet.Totals.Carts == 0 || outlet.Totals.Carts >= all.Totals.Carts {
		t.Errorf("store outlet: %d carts of %d", outlet.Totals.Carts, all.Totals.Carts)
	}

	// the presets, and a custom range
	now := time.Now().UTC()
	firstOfMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	presets := map[string][2]time.Time{
		"7d":         {now.AddDate(0, 0, -6), now},
		"90d":        {now.AddDate(0, 0, -89), now},
		"this-month": {firstOfMonth, now},
		"last-month": {firstOfMonth.AddDate(0, -1, 0), firstOfMonth.AddDate(0, 0, -1)},
	}
	for _, key := range []string{"7d", "90d", "this-month", "last-month"} {
		run("preset "+key, chromedp.Click(`a[data-range="`+key+`"]`, chromedp.ByQuery), loaded("range="+key))
		api := checkAgainstAPI(t, e, tok, session, "preset "+key, scrape())
		want := presets[key]
		if api.From != want[0].Format(time.DateOnly) || api.To != want[1].Format(time.DateOnly) {
			t.Errorf("preset %s: %s to %s, want %s to %s", key, api.From, api.To, want[0].Format(time.DateOnly), want[1].Format(time.DateOnly))
		}
	}
	from := now.AddDate(0, 0, -2).Format(time.DateOnly)
	run("custom range", chromedp.Navigate(e.url+"/dashboard?range=custom&by=variant&from="+from+"&to="+today), loaded("range=custom"))
	if api := checkAgainstAPI(t, e, tok, session, "custom range", scrape()); api.From != from || api.To != today {
		t.Errorf("custom range: %s to %s", api.From, api.To)
	}
	// bad input: said on the page, the default range shown
	run("bad range", chromedp.Navigate(e.url+"/dashboard?range=custom&by=channel&from=2026-02-30&to="+today), loaded("from=2026-02-30"))
	bad := scrape()
	if !strings.Contains(bad.Notice, "from") || !strings.Contains(bad.Notice, "2026-02-30") || !strings.Contains(bad.Notice, "last 30 days") {
		t.Errorf("bad range: notice %q", bad.Notice)
	}
	if api := checkAgainstAPI(t, e, tok, session, "bad range", bad); api.From != now.AddDate(0, 0, -29).Format(time.DateOnly) || api.By != "channel" {
		t.Errorf("bad range: shows %s to %s by %s", api.From, api.To, api.By)
	}

	// 375 px: no sideways scrolling, on every view
	run("phone width", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	for _, view := range report.Dimensions {
		run("phone "+view, chromedp.Navigate(e.url+"/dashboard?by="+view), loaded("by="+view))
		if p := scrape(); p.Width != 375 || p.ScrollWidth > 375 {
			t.Errorf("at 375 px, by %s: the page is %d px wide in a %d px window", view, p.ScrollWidth, p.Width)
		}
		if view == "step" {
			checkAgainstAPI(t, e, tok, session, "phone, by step", scrape())
			screenshot("dashboard-phone.png")
		}
	}

	// searched waits for the results of a search (a POST: the page's
	// URL does not change) that shows shown
	searched := func(shown string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			cond := fmt.Sprintf("document.readyState === 'complete' && !!document.querySelector('#results') && document.querySelector('#results').dataset.search === %q", shown)
			deadline := time.Now().Add(30 * time.Second)
			for {
				var ok bool
				err := chromedp.Evaluate(cond, &ok).Do(ctx)
				if err == nil && ok {
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("no results for %q (last error %v)", shown, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	// search by cart id, in every store, from the phone
	run("search", chromedp.SetValue(`input[name="q"]`, seed.recovered, chromedp.ByQuery),
		chromedp.Submit(`input[name="q"]`, chromedp.ByQuery), searched(seed.recovered))
	found := scrape()
	if len(found.Carts) != 1 || found.Carts[0] != "default/"+seed.recovered {
		t.Fatalf("search %s: carts %v", seed.recovered, found.Carts)
	}
	if !contains(found.Events, "message.sent") || !contains(found.Events, "order.created") || !contains(found.Events, "cart.first_seen") {
		t.Errorf("timeline: %v", found.Events)
	}
	if want := string(seed.email[0]) + "***@example.com"; found.Customer != want {
		t.Errorf("customer shown as %q, want %q", found.Customer, want)
	}
	if strings.Contains(found.HTML, seed.email) {
		t.Errorf("the search page shows the address %s", seed.email)
	}
	if found.ScrollWidth > 375 {
		t.Errorf("at 375 px the cart's timeline is %d px wide", found.ScrollWidth)
	}
	var tl struct{ Events []struct{ Type string } }
	_, body, _ := get(t, e.url+"/api/carts/default/"+seed.recovered, tok)
	if err := json.Unmarshal(body, &tl); err != nil {
		t.Fatal(err)
	}
	if len(tl.Events) != len(found.Events) {
		t.Errorf("timeline: the page shows %d events, the API %d", len(found.Events), len(tl.Events))
	}
	screenshot("dashboard-cart-phone.png")
	run("search a missing cart", chromedp.Navigate(e.url+"/dashboard?q=nope&in=outlet"), loaded("q=nope"))
	if p := scrape(); len(p.Carts) != 0 || !strings.Contains(p.HTML, "No cart nope in store outlet") {
		t.Errorf("missing cart: %v", p.Carts)
	}
	// by email: the customer's last reminded cart, where the store can tell
	run("search an email", chromedp.SetValue(`select[name="in"]`, "", chromedp.ByQuery), // every store
		chromedp.SetValue(`input[name="q"]`, seed.email, chromedp.ByQuery),
		chromedp.Submit(`input[name="q"]`, chromedp.ByQuery), searched(string(seed.email[0])+"***@example.com"))
	var at string
	run("the address is in no URL", chromedp.Evaluate("location.href", &at))
	if strings.Contains(at, "@") || strings.Contains(at, "%40") {
		t.Errorf("after a search by email the URL is %s", at)
	}
	byEmail := scrape()
	if byEmail.SearchNote == "" && (len(byEmail.Carts) != 1 || byEmail.Carts[0] != "default/"+seed.recovered) {
		t.Errorf("search by email: carts %v, note %q", byEmail.Carts, byEmail.SearchNote)
	}
	if strings.Contains(byEmail.HTML, seed.email) {
		t.Errorf("the search page shows the address %s", seed.email)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkAgainstAPI compares every number of the page with GET /api/report
// for the query of its CSV export link, and checks that link with the
// browser's session. It returns the API's report.
func checkAgainstAPI(t *testing.T, e *env, tok, session, name string, p scraped) report.Report {
	t.Helper()
	u, err := url.Parse(p.CSV)
	if err != nil || u.Path != "/api/report" || u.Query().Get("format") != "csv" {
		t.Fatalf("%s: export link %q", name, p.CSV)
	}
	q := u.Query()
	q.Del("format")
	_, body, _ := get(t, e.url+"/api/report?"+q.Encode(), tok)
	var api report.Report
	if err := json.Unmarshal(body, &api); err != nil {
		t.Fatalf("%s: %v: %s", name, err, body)
	}
	q.Set("by", "day")
	_, body, _ = get(t, e.url+"/api/report?"+q.Encode(), tok)
	var byDay report.Report
	if err := json.Unmarshal(body, &byDay); err != nil {
		t.Fatalf("%s: %v: %s", name, err, body)
	}
	// the export, with the browser's session and with the token
	req, _ := http.NewRequest(http.MethodGet, e.url+p.CSV, nil)
	req.AddCookie(&http.Cookie{Name: "cartrecovery_session", Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, want, _ := get(t, e.url+p.CSV, tok)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || string(csv) != string(want) ||
		!strings.HasPrefix(string(csv), api.By+",sent,") {
		t.Errorf("%s: export with the session: %d %q\n%s", name, resp.StatusCode, resp.Header.Get("Content-Type"), csv)
	}

	errorf := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %s: dashboard shows %q, API says %q", name, what, got, want)
		}
	}
	n := func(i int64) string { return strconv.FormatInt(i, 10) }
	pct := func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }
	pts := func(f *float64) string {
		if f == nil {
			return "–"
		}
		return fmt.Sprintf("%+.1f pts", *f*100)
	}
	ratio := func(a, b int64) string {
		if b == 0 {
			return "–"
		}
		return pct(float64(a) / float64(b))
	}
	tot := api.Totals
	m := p.Metrics
	errorf("range", m["range"], api.From+" to "+api.To)
	for k, v := range map[string]int64{"carts": tot.Carts, "abandoned": tot.Abandoned, "recovered": tot.Recovered, "orders": tot.Orders,
		"converted_before_reminder": tot.ConvertedBeforeReminder, "orders_total": tot.Orders, "recovered_orders": tot.Recovered,
		"recovered_after_click": tot.RecoveredAfterClick, "credited_by_click": tot.CreditedByClick, "converted_before": tot.ConvertedBeforeReminder,
		"converted_after_window": tot.ConvertedAfterWindow, "verified_ordered": tot.VerifiedOrdered, "codes_issued": tot.CodesIssued,
		"codes_redeemed": tot.CodesRedeemed} {
		errorf(k, m[k], n(v))
	}
	errorf("recovery rate", m["recovery_rate"], pct(tot.RecoveryRate))
	errorf("recovered revenue", m["recovered_revenue"], report.RevenueText(tot.RecoveredRevenue, " · ", "0"))
	errorf("average recovered order", m["average_recovered_order"], report.RevenueText(tot.AverageRecoveredOrder, " · ", "–"))
	errorf("average recovered order (orders)", m["aov"], report.RevenueText(tot.AverageRecoveredOrder, " · ", "–"))
	if h := api.Holdout; h.Carts > 0 && h.Lift != nil {
		errorf("lift", m["lift"], pts(h.Lift))
		errorf("lift CI", m["lift_ci"], "95% CI "+pts(h.LiftLow)+" to "+pts(h.LiftHigh))
	}
	// the funnel, with the share of each stage in the one above
	stages := []struct {
		key string
		n   int64
	}{{"Tracked", tot.Carts}, {"Abandoned", tot.Abandoned}, {"Reminded", tot.Reminded}, {"Clicked", tot.Clicked}, {"Recovered", tot.Recovered}}
	for i, st := range stages {
		errorf("funnel "+st.key, p.Funnel[st.key], n(st.n))
		if i > 0 {
			errorf("funnel rate "+st.key, p.FunnelRates[st.key], ratio(st.n, stages[i-1].n))
		}
	}
	// skip reasons
	shown := 0
	for code, v := range tot.SkipReasons {
		if v > 0 {
			shown++
			errorf("skip reason "+code, p.Skips[code], n(v))
		}
	}
	if shown != len(p.Skips) {
		t.Errorf("%s: skip reasons: dashboard shows %v, API says %v", name, p.Skips, tot.SkipReasons)
	}
	// the rows of the view, in the API's order
	if p.Rows == nil || len(p.RowOrder) != len(api.Rows) {
		t.Errorf("%s: rows: dashboard shows %v, API has %d", name, p.RowOrder, len(api.Rows))
	}
	for i, r := range api.Rows {
		got := p.Rows[r.Key]
		if i < len(p.RowOrder) && p.RowOrder[i] != r.Key {
			t.Errorf("%s: row %d is %q, API says %q", name, i, p.RowOrder[i], r.Key)
		}
		for f, v := range map[string]int64{"sent": r.Sent, "delivered": r.Delivered, "undelivered": r.Undelivered, "failed": r.Failed,
			"unknown": r.Unknown, "skipped": r.Skipped, "clicked": r.Clicked, "recovered": r.Recovered, "reached": r.Reached,
			"codes_issued": r.CodesIssued, "codes_redeemed": r.CodesRedeemed} {
			errorf("row "+r.Key+" "+f, got[f], n(v))
		}
		errorf("row "+r.Key+" revenue", got["recovered_revenue"], report.RevenueText(r.RecoveredRevenue, " · ", "–"))
	}
	// the A/B experiments
	if len(p.Experiments) != len(api.Experiments) {
		t.Errorf("%s: experiments: dashboard shows %v, API has %d", name, p.Experiments, len(api.Experiments))
	}
	for _, x := range api.Experiments {
		errorf("experiment "+x.Step, p.Experiments[x.Step], x.Verdict)
		for _, v := range x.Variants {
			got := p.Variants[x.Step+"/"+v.Variant]
			ci := "–"
			if v.Diff != nil {
				ci = pts(v.Low) + " to " + pts(v.High)
			}
			for f, want := range map[string]string{"reached": n(v.Reached), "recovered": n(v.Recovered), "recovery_rate": pct(v.Rate),
				"diff_vs_a": pts(v.Diff), "ci95": ci, "verdict": v.Verdict} {
				errorf("variant "+x.Step+"/"+v.Variant+" "+f, got[f], want)
			}
		}
	}
	// the charts: messages sent and recovered revenue per day are by=day's
	sent := p.Charts["sent"]["sent"]
	var sentTotal int64
	for _, r := range byDay.Rows {
		sentTotal += r.Sent
	}
	if sentTotal == 0 && len(sent) == 0 {
		byDay.Rows = nil // "Nothing in this period" instead of the chart
	} else if len(sent) != len(byDay.Rows) {
		t.Errorf("%s: sent chart has %d days, the range %d", name, len(sent), len(byDay.Rows))
	}
	for _, r := range byDay.Rows {
		errorf("sent on "+r.Key, sent[r.Key], n(r.Sent))
		for cur, series := range p.Charts["recovered_revenue"] {
			want := r.RecoveredRevenue[cur]
			if want == "" {
				want = "0" // compared by value below
			}
			got := strings.TrimSuffix(series[r.Key], " "+cur)
			g, _ := strconv.ParseFloat(got, 64)
			w, _ := strconv.ParseFloat(want, 64)
			if g != w {
				t.Errorf("%s: revenue on %s: chart shows %q, API says %q %s", name, r.Key, series[r.Key], want, cur)
			}
		}
	}
	if len(p.Charts["recovered_revenue"]) != len(tot.RecoveredRevenue) {
		t.Errorf("%s: revenue chart series %v, API currencies %v", name, p.Charts["recovered_revenue"], tot.RecoveredRevenue)
	}
	return api
}

// TestDashboardPage checks the page without a browser: nothing loaded from
// elsewhere, bad parameters said on the page (status 400) over the default
// view, the export link of the view, a search that finds a cart in any
// store and masks its customer.
func TestDashboardPage(t *testing.T) {
	tok := "0123456789abcdef-token"
	e, _ := adminEnv(t, tok, func(o *redis.Options) {
		o.Policies = o.Policies.(recovery.PolicyMap).With(func(p *recovery.Policy) { p.HoldoutPercent = 50 })
	})
	seed := seedDashboard(t, e)
	today := time.Now().UTC().Format(time.DateOnly)
	month := time.Now().UTC().AddDate(0, 0, -29).Format(time.DateOnly)
	for _, c := range []struct {
		query  string
		status int
		has    []string
	}{
		{"", 200, []string{`data-metric="range">` + month + " to " + today, `data-export`,
			`href="/api/report?by=step&amp;format=csv&amp;from=` + month + `&amp;to=` + today + `"`}},
		{"?since=7d&by=channel&store=outlet", 200, []string{`data-metric="range">` + time.Now().UTC().AddDate(0, 0, -6).Format(time.DateOnly),
			`href="/api/report?by=channel&amp;format=csv&amp;from=`, `&amp;store=outlet"`, `data-row="email"`}},
		{"?by=week", 400, []string{`data-notice`, `View &#34;week&#34; is not one of step, channel, variant, day, store, segment: showing by step.`, `data-row="first-reminder"`}},
		{"?store=no%20such", 400, []string{`Store &#34;no such&#34; is not a store name: showing every store.`}},
		{"?range=custom&from=2026-13-01", 400, []string{`Custom range, from date: &#34;2026-13-01&#34; is not a date like 2026-11-01. Showing the last 30 days instead.`,
			`data-metric="range">` + month + " to " + today, `name="from" value="2026-13-01"`}},
		{"?range=custom&from=2026-03-10&to=2026-03-01", 400, []string{`is before from 2026-03-10`}},
		{"?range=fortnight", 400, []string{`Range &#34;fortnight&#34; is not one of 7d, 30d, 90d, this-month, last-month, nor a custom range.`}},
		{"?q=", 400, []string{`Search: the query is empty: enter a cart id or an email address.`, `data-metric="range"`}},
		{"?q=" + seed.recovered, 200, []string{`data-cart="default/` + seed.recovered + `"`, `data-event="message.sent"`, `data-field="customer">c***@example.com`}},
		{"?q=" + seed.recovered + "&in=outlet", 200, []string{`data-search-empty`, `No cart ` + seed.recovered + ` in store outlet.`}},
		{"?q=" + url.QueryEscape(seed.email), 400, []string{`Search: the q an email address is searched with the search form (POST), never in a URL`, `data-metric="range"`}},
	} {
		code, body, h := get(t, e.url+"/dashboard"+c.query, tok)
		page := string(body)
		if code != c.status {
			t.Errorf("%s: status %d, want %d", c.query, code, c.status)
		}
		for _, want := range c.has {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the page has no %s", c.query, want)
			}
		}
		if strings.Contains(page, seed.email) {
			t.Errorf("%s: the page shows %s", c.query, seed.email)
		}
		for _, ext := range []string{"src=", "http://", "https://", "<script", "@import", "url("} {
			if strings.Contains(page, ext) {
				t.Errorf("%s: the page has %q: nothing may be loaded from elsewhere", c.query, ext)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none';") {
			t.Errorf("%s: CSP %q", c.query, csp)
		}
	}
}

// The search form is a POST, so an email address lands in no URL (and no
// proxy's access log), taken from this site only: its Origin.
func TestDashboardSearchIsAPostFromThisSite(t *testing.T) {
	tok := "0123456789abcdef-token"
	e, _ := adminEnv(t, tok, func(o *redis.Options) {
		o.Policies = o.Policies.(recovery.PolicyMap).With(func(p *recovery.Policy) { p.HoldoutPercent = 50 })
	})
	seed := seedDashboard(t, e)
	post := func(origin string, form url.Values) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.url+"/dashboard?range=30d", strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	byEmail := url.Values{"q": {seed.email}}
	if code, page := post(e.url, byEmail); code != 200 || !strings.Contains(page, "Search: c***@example.com") || strings.Contains(page, seed.email) {
		t.Fatalf("search by email from the dashboard: %d\n%s", code, page)
	}
	if code, page := post(e.url, url.Values{"q": {seed.recovered}, "in": {"outlet"}}); code != 200 || !strings.Contains(page, "No cart "+seed.recovered+" in store outlet.") {
		t.Fatalf("search by cart id in a store: %d\n%s", code, page)
	}
	for _, origin := range []string{"", "null", "https://evil.example", strings.Replace(e.url, "127.0.0.1", "localhost", 1)} {
		if code, page := post(origin, byEmail); code != http.StatusForbidden || strings.Contains(page, "c***@example.com") {
			t.Errorf("Origin %q: %d, want 403 and no result", origin, code)
		}
	}
	big := url.Values{"q": {strings.Repeat("x", maxFormForTest)}}
	if code, _ := post(e.url, big); code != http.StatusBadRequest {
		t.Errorf("a form over 16 KiB: %d, want 400", code)
	}
}

// maxFormForTest is over the search form's limit (16 KiB).
const maxFormForTest = 17 << 10
