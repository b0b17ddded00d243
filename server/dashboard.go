package server

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/report"
)

// The dashboard is server-rendered HTML with inline CSS and SVG charts:
// nothing is loaded from elsewhere, so it works offline and behind strict
// content security policies.

type bar struct {
	Label, Value string
	X, Y, W, H   float64
}

type chart struct {
	Title string
	Bars  []bar
	Max   string
	W, H  float64
	Empty bool
}

type dashboardData struct {
	Store    string
	Since    string
	Ranges   []string
	Report   report.Report
	Funnel   []bar
	Charts   []chart
	Revenue  string
	Lift     string
	LiftCI   string
	Holdout  bool
	Variants []report.Row // by step/variant, when some step has an A/B test
	Rate     string
	Error    string
	LoggedIn bool
}

func percent(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	if s.AdminToken == "" {
		s.renderPage(w, http.StatusNotFound, page{Title: "Dashboard disabled", Text: "Set http.admin_token to enable the dashboard."})
		return
	}
	if err := s.authorized(r); err != nil {
		var limited *errRateLimited
		switch {
		case errors.Is(err, recovery.ErrUnauthorized):
			s.renderDashboard(w, http.StatusOK, dashboardData{})
		case errors.As(err, &limited):
			w.Header().Set("Retry-After", strconv.Itoa(limited.seconds()))
			s.renderDashboard(w, http.StatusTooManyRequests, dashboardData{Error: limitText(limited)})
		default:
			s.Log.Error("dashboard session", "err", err)
			s.renderPage(w, http.StatusServiceUnavailable, page{Title: "Please try again", Text: "The dashboard cannot check your session just now."})
		}
		return
	}
	since := r.URL.Query().Get("since")
	if since == "" {
		since = "30d"
		q := r.URL.Query()
		q.Set("since", since)
		r.URL.RawQuery = q.Encode()
	}
	rep, counters, q, err := s.reportData(r)
	if err != nil {
		writeError(w, s.Log, err)
		return
	}
	daily := report.Daily(counters, q)
	q.By = "variant"
	byVariant, err := report.Build(counters, q)
	if err != nil {
		writeError(w, s.Log, err)
		return
	}
	d := dashboardData{LoggedIn: true, Report: rep, Since: since, Ranges: []string{"7d", "30d", "90d"},
		Store: r.URL.Query().Get("store"), Rate: percent(rep.Totals.RecoveryRate), Revenue: report.RevenueText(rep.Totals.RecoveredRevenue, " · ", "0")}
	t := rep.Totals
	steps := []struct {
		label string
		n     int64
	}{{"Tracked", t.Carts}, {"Abandoned", t.Abandoned}, {"Reminded", t.Reminded}, {"Clicked", t.Clicked}, {"Recovered", t.Recovered}}
	for i, st := range steps {
		wdt := 0.0
		if t.Carts > 0 {
			wdt = 520 * float64(st.n) / float64(t.Carts)
		}
		d.Funnel = append(d.Funnel, bar{Label: st.label, Value: fmt.Sprint(st.n), X: 110, Y: float64(i * 34), W: max(wdt, 1), H: 24})
	}
	rates := chart{Title: "Recovery rate per day", W: 640, H: 160}
	peak := 0.0
	for _, p := range daily {
		peak = max(peak, p.RecoveryRate)
	}
	for i, p := range daily {
		h := 0.0
		if peak > 0 {
			h = 140 * p.RecoveryRate / peak
		}
		bw := 640 / float64(len(daily))
		rates.Bars = append(rates.Bars, bar{Label: p.Day, Value: percent(p.RecoveryRate), X: float64(i) * bw, Y: 150 - h, W: max(bw-2, 1), H: h})
	}
	rates.Max, rates.Empty = percent(peak), peak == 0
	d.Charts = append(d.Charts, rates)
	curs := make([]string, 0, len(t.RecoveredRevenue))
	for c := range t.RecoveredRevenue {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	for _, cur := range curs {
		c := chart{Title: "Recovered revenue per day (" + cur + ")", W: 640, H: 160}
		var top int64
		for _, p := range daily {
			top = max(top, p.RevenueMinor(cur))
		}
		for i, p := range daily {
			h := 0.0
			if top > 0 {
				h = 140 * float64(p.RevenueMinor(cur)) / float64(top)
			}
			bw := 640 / float64(len(daily))
			c.Bars = append(c.Bars, bar{Label: p.Day, Value: money.FromMinor(p.RevenueMinor(cur), cur) + " " + cur, X: float64(i) * bw, Y: 150 - h, W: max(bw-2, 1), H: h})
		}
		c.Max, c.Empty = money.FromMinor(top, cur)+" "+cur, top == 0
		d.Charts = append(d.Charts, c)
	}
	for _, row := range byVariant.Rows {
		if !strings.HasSuffix(row.Key, "/"+recovery.BaseVariant) {
			d.Variants = byVariant.Rows // some message went out as another variant
			break
		}
	}
	if h := rep.Holdout; h.Carts > 0 {
		d.Holdout = true
		if h.Lift != nil {
			d.Lift, d.LiftCI = fmt.Sprintf("%+.1f pts", *h.Lift*100), fmt.Sprintf("%+.1f to %+.1f pts", *h.LiftLow*100, *h.LiftHigh*100)
		} else {
			d.Lift = "not enough data"
		}
	}
	s.renderDashboard(w, http.StatusOK, d)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.AdminToken == "" {
		s.renderPage(w, http.StatusNotFound, page{Title: "Dashboard disabled", Text: "Set http.admin_token to enable the dashboard."})
		return
	}
	var limited *errRateLimited
	if err := s.checkLimit(r); errors.As(err, &limited) {
		w.Header().Set("Retry-After", strconv.Itoa(limited.seconds()))
		s.renderDashboard(w, http.StatusTooManyRequests, dashboardData{Error: limitText(limited)})
		return
	}
	if !tokenEqual(r.PostFormValue("token"), s.AdminToken) {
		s.authFailed(r, "login")
		s.renderDashboard(w, http.StatusUnauthorized, dashboardData{Error: "That token is not right."})
		return
	}
	value, exp, err := s.newSession(r.Context())
	if err != nil {
		s.Log.Error("dashboard sign-in", "err", err)
		s.renderDashboard(w, http.StatusServiceUnavailable, dashboardData{Error: "Could not sign you in just now; please try again."})
		return
	}
	s.Log.Info("dashboard signed in", "client", maskAddr(r.RemoteAddr), "expires", exp)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true,
		Secure: s.secureCookies(r), SameSite: http.SameSiteStrictMode, Expires: exp, MaxAge: int(exp.Sub(s.Now()).Seconds())})
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// logout ends the session on the server too: the cookie, even replayed, no
// longer signs in.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.endSession(r); err != nil {
		s.Log.Error("dashboard sign-out", "err", err)
		s.renderPage(w, http.StatusServiceUnavailable, page{Title: "Please try again", Text: "Could not sign you out just now."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secureCookies(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

func limitText(e *errRateLimited) string {
	return fmt.Sprintf("Too many failed attempts. Try again in %d seconds.", e.seconds())
}

// secureCookies is true unless the service is plainly served over http.
func (s *Server) secureCookies(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" || strings.HasPrefix(s.PublicURL, "https://")
}

func (s *Server) renderDashboard(w http.ResponseWriter, status int, d dashboardData) {
	htmlHeaders(w.Header(), "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'")
	w.WriteHeader(status)
	if err := dashboardTmpl.Execute(w, d); err != nil {
		s.Log.Error("render dashboard", "err", err)
	}
}

var dashboardTmpl = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"mul100":  func(f float64) float64 { return f * 100 },
	"revenue": func(m map[string]string) string { return report.RevenueText(m, " · ", "") },
	"ratio": func(n, d int64) string {
		if d == 0 {
			return "–"
		}
		return percent(float64(n) / float64(d))
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>cartrecovery dashboard</title>
<style>
*{box-sizing:border-box}body{margin:0;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;background:#f4f4f5;color:#18181b}
header{background:#18181b;color:#fff;padding:14px 24px;display:flex;justify-content:space-between;align-items:center}
header a,header button{color:#fff;background:none;border:0;font:inherit;cursor:pointer;text-decoration:underline}
main{max-width:1100px;margin:0 auto;padding:24px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin-bottom:20px}
.card{background:#fff;border-radius:10px;padding:16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.card .k{font-size:13px;color:#71717a}.card .v{font-size:26px;font-weight:700;margin-top:4px}
section{background:#fff;border-radius:10px;padding:18px;margin-bottom:20px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{font-size:16px;margin:0 0 12px}table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:8px;border-bottom:1px solid #e4e4e7;text-align:right}th:first-child,td:first-child{text-align:left}
.ranges a{margin-right:10px;color:#2563eb}.ranges a.on{font-weight:700;color:#18181b;text-decoration:none}
svg text{font-size:12px;fill:#3f3f46}.muted{color:#71717a;font-size:13px}
form.login{max-width:360px;margin:12vh auto;background:#fff;padding:28px;border-radius:12px}
form.login input{width:100%;padding:10px;margin:8px 0 14px;border:1px solid #d4d4d8;border-radius:8px;font-size:15px}
form.login button{background:#18181b;color:#fff;border:0;border-radius:8px;padding:10px 18px;font-size:15px}
.err{color:#b91c1c}
</style></head><body>
{{if not .LoggedIn}}
<form class="login" method="post" action="/dashboard/login">
  <h2>cartrecovery dashboard</h2>
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required>
  {{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
  <button type="submit">Sign in</button>
</form>
{{else}}
<header><strong>cartrecovery</strong>
  <form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form></header>
<main>
  <p class="ranges">{{range .Ranges}}<a href="/dashboard?since={{.}}" {{if eq . $.Since}}class="on"{{end}}>last {{.}}</a>{{end}}
  <span class="muted">{{.Report.From}} to {{.Report.To}} (UTC){{if .Store}}, store {{.Store}}{{end}}</span></p>
  <div class="cards">
    <div class="card"><div class="k">Abandoned carts</div><div class="v" data-metric="abandoned">{{.Report.Totals.Abandoned}}</div></div>
    <div class="card"><div class="k">Recovered carts</div><div class="v" data-metric="recovered">{{.Report.Totals.Recovered}}</div></div>
    <div class="card"><div class="k">Recovery rate</div><div class="v" data-metric="recovery_rate">{{.Rate}}</div></div>
    <div class="card"><div class="k">Recovered revenue</div><div class="v" data-metric="recovered_revenue">{{.Revenue}}</div></div>
    {{if .Holdout}}<div class="card"><div class="k">Incremental lift vs holdout</div><div class="v" data-metric="lift">{{.Lift}}</div>
      <div class="muted" data-metric="lift_ci">95% CI {{.LiftCI}}</div></div>{{end}}
  </div>
  <section><h2>Funnel</h2>
    <svg width="100%" height="170" viewBox="0 0 700 170" role="img" aria-label="funnel">
    {{range .Funnel}}<text x="0" y="{{.Y}}" dy="17">{{.Label}}</text>
      <rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" rx="4" fill="#18181b"></rect>
      <text x="{{.X}}" y="{{.Y}}" dx="{{.W}}" dy="17" transform="translate(8,0)" data-funnel="{{.Label}}">{{.Value}}</text>{{end}}
    </svg>
  </section>
  {{range .Charts}}<section><h2>{{.Title}}</h2>
    {{if .Empty}}<p class="muted">Nothing yet in this period.</p>{{else}}
    <svg width="100%" viewBox="0 0 {{.W}} {{.H}}" preserveAspectRatio="none" role="img" aria-label="{{.Title}}">
      {{range .Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="#16a34a"><title>{{.Label}}: {{.Value}}</title></rect>{{end}}
      <line x1="0" y1="150" x2="{{.W}}" y2="150" stroke="#a1a1aa"></line>
    </svg><p class="muted">peak {{.Max}}</p>{{end}}
  </section>{{end}}
  <section><h2>By step</h2>
    <table><thead><tr><th>Step</th><th>Sent</th><th>Failed</th><th>Skipped</th><th>Clicked</th><th>Recovered</th><th>Recovered revenue</th></tr></thead><tbody>
    {{range .Report.Rows}}<tr data-step="{{.Key}}"><td>{{.Key}}</td><td data-field="sent">{{.Sent}}</td><td data-field="failed">{{.Failed}}</td>
      <td data-field="skipped">{{.Skipped}}</td><td data-field="clicked">{{.Clicked}}</td><td data-field="recovered">{{.Recovered}}</td>
      <td>{{revenue .RecoveredRevenue}}</td></tr>{{end}}
    </tbody></table>
  </section>
  {{if .Variants}}<section><h2>A/B variants</h2>
    <table><thead><tr><th>Step / variant</th><th>Sent</th><th>Clicked</th><th>Click rate</th><th>Recovered</th><th>Recovered per sent</th></tr></thead><tbody>
    {{range .Variants}}<tr data-variant="{{.Key}}"><td>{{.Key}}</td><td data-field="sent">{{.Sent}}</td><td data-field="clicked">{{.Clicked}}</td>
      <td>{{ratio .Clicked .Sent}}</td><td data-field="recovered">{{.Recovered}}</td><td>{{ratio .Recovered .Sent}}</td></tr>{{end}}
    </tbody></table>
  </section>{{end}}
  {{if .Holdout}}<section><h2>Holdout</h2><p>
    {{.Report.Holdout.Carts}} carts kept as a control group got no message; {{.Report.Holdout.Converted}} of their
    {{.Report.Holdout.Abandoned}} abandoned carts converted ({{printf "%.1f" (mul100 .Report.Holdout.ConversionRate)}}%).
    Lift = recovery rate − holdout conversion rate.</p></section>
  {{else}}<section><h2>Holdout</h2><p class="muted">No holdout group in this period, so the incremental lift cannot be measured.
    Set <code>rules.holdout_percent</code> (for example 10) to keep that share of customers unmessaged as a control group.</p></section>{{end}}
  <p class="muted">Definitions: abandoned = reached the first step's due time with no order; recovered = reminded and ordered within
  the attribution window of the last message, credited to that message. Revenue is per currency.</p>
</main>
{{end}}
</body></html>`))
