package server

import (
	"html/template"
	"net/http"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/report"
)

// The dashboard page: inline CSS and SVG, no script and nothing loaded
// from elsewhere (the CSP allows neither), a layout that stacks down to a
// 375 px wide phone (tables and charts scroll inside their card).

func (s *Server) renderDashboard(w http.ResponseWriter, status int, d dashboardData) {
	htmlHeaders(w.Header(), "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'")
	w.WriteHeader(status)
	if err := dashboardTmpl.Execute(w, d); err != nil {
		s.Log.Error("render dashboard", "err", err)
	}
}

var dashboardTmpl = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"revenue": func(m map[string]string) string { return report.RevenueText(m, " · ", "–") },
	"ratio":   ratio,
	"percent": percent,
	"pts":     ptsPtr,
	"add":     func(a, b float64) float64 { return a + b },
	"half":    func(a, b float64) float64 { return (a + b) / 2 },
	"time":    timelineTime,
	"next":    func(i int) int { return i + 1 },
	"deref":   func(t *time.Time) time.Time { return *t },
	// the default sequence's name in the segment view
	"defaultSegment": func() string { return recovery.DefaultSegment },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>cartrecovery dashboard</title>
<style>
*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.45 -apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;background:#f4f4f5;color:#18181b}
header{background:#18181b;color:#fff;padding:12px 20px;display:flex;flex-wrap:wrap;gap:8px;justify-content:space-between;align-items:center}
header form{margin:0}header button{color:#fff;background:none;border:0;font:inherit;cursor:pointer;text-decoration:underline;padding:0}
main{max-width:1180px;margin:0 auto;padding:20px}
section{background:#fff;border-radius:10px;padding:16px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.06);min-width:0}
h2{font-size:17px;margin:0 0 10px}h3{font-size:15px;margin:14px 0 6px}
a{color:#2563eb}.muted{color:#71717a;font-size:13px}.err{color:#b91c1c}
.notice{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;border-radius:10px;padding:12px 14px;margin-bottom:16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,165px),1fr));gap:10px;margin-bottom:16px}
.card{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.06);min-width:0}
.card .k{font-size:13px;color:#71717a}.card .v{font-size:24px;font-weight:700;margin-top:2px;overflow-wrap:anywhere}
.card .s{font-size:12px;color:#71717a;overflow-wrap:anywhere}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,340px),1fr));gap:16px}.cols>section{margin-bottom:16px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:7px 9px;border-bottom:1px solid #e4e4e7;text-align:right;white-space:nowrap}
th{font-weight:600;color:#52525b;font-size:12px;white-space:normal;vertical-align:bottom}th:first-child,td:first-child{text-align:left}
td.wrap{white-space:normal;text-align:left;min-width:160px;overflow-wrap:anywhere}
.tabs{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 10px;padding:0;list-style:none}
.tabs a{display:inline-block;padding:5px 12px;border-radius:999px;background:#f4f4f5;color:#18181b;text-decoration:none;font-size:14px}
.tabs a.on{background:#18181b;color:#fff}
form.inline{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;margin:0 0 8px}
form.inline label{display:flex;flex-direction:column;font-size:13px;color:#52525b;gap:2px;min-width:0;max-width:100%}
input,select,button{font:inherit;font-size:14px;padding:6px 9px;border:1px solid #d4d4d8;border-radius:8px;background:#fff;color:#18181b;max-width:100%;min-width:0}
form.inline button,form.login button{background:#18181b;color:#fff;border-color:#18181b;cursor:pointer}
input[name=q]{width:260px}
.bar-head{display:flex;flex-wrap:wrap;gap:8px;justify-content:space-between;align-items:center}
.funnel{list-style:none;margin:0;padding:0}
.funnel .stage{display:grid;grid-template-columns:120px 1fr 70px;gap:10px;align-items:center}
.funnel .track{background:#f4f4f5;border-radius:6px;height:26px;overflow:hidden}.funnel .fill{display:block;height:100%;background:#18181b;border-radius:6px;min-width:2px}
.funnel b{text-align:right}.funnel .conv{padding:3px 0 3px 130px;font-size:13px;color:#52525b}
figure{margin:0}.chart svg{display:block;width:100%;height:auto;max-width:980px}.chart svg.narrow{display:none}
.chart text{font-size:12px;fill:#3f3f46}.chart text.title{font-size:12px;fill:#52525b}.chart .grid{stroke:#e4e4e7}.chart .axis{stroke:#71717a}
.legend{display:flex;flex-wrap:wrap;gap:14px;list-style:none;margin:6px 0 0;padding:0;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:5px;vertical-align:-1px}
.sig{color:#15803d;font-weight:600}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,140px),1fr));gap:8px 16px;margin:0}
.facts dt{font-size:12px;color:#71717a}.facts dd{margin:0;overflow-wrap:anywhere}
.timeline{list-style:none;margin:0;padding:0 0 0 14px;border-left:2px solid #e4e4e7}
.timeline li{padding:6px 0 8px;overflow-wrap:anywhere}.timeline time{color:#52525b;font-size:13px;margin-right:6px}
form.login{max-width:360px;margin:12vh auto;background:#fff;padding:28px;border-radius:12px}
form.login input{width:100%;padding:10px;margin:8px 0 14px;font-size:15px}form.login button{padding:10px 18px;border-radius:8px;font-size:15px}
@media (max-width:640px){.chart svg.wide{display:none}.chart svg.narrow{display:block}main{padding:10px}section{padding:12px}header{padding:10px 12px}.card .v{font-size:20px}
 .funnel .stage{grid-template-columns:86px 1fr 52px;gap:6px}.funnel .conv{padding-left:92px}input[name=q]{width:100%}}
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
<header><strong>cartrecovery{{if .Shop}} · {{.Shop}}{{end}}</strong>
  <form method="post" action="/dashboard/logout"><button type="submit">Sign out</button></form></header>
<main>
  {{if .Notice}}<div class="notice" role="alert" data-notice>{{.Notice}}</div>{{end}}
  {{template "search" .}}
  {{if .Search}}{{template "results" .}}{{else}}{{template "report" .}}{{end}}
</main>
{{end}}
</body></html>

{{define "hidden"}}<input type="hidden" name="range" value="{{.Q.Range}}">{{if eq .Q.Range "custom"}}<input type="hidden" name="from" value="{{.Q.From}}"><input type="hidden" name="to" value="{{.Q.To}}">{{end}}{{end}}

{{define "search"}}<section id="search"><h2>Find a cart</h2>
  <form class="inline" method="post" action="/dashboard" data-form="search">
    <label>Cart id or customer email <input name="q" value="{{if .Search}}{{if not .Search.Email}}{{.Search.Query}}{{end}}{{end}}" maxlength="500" required autocomplete="off"></label>
    <label>Store <select name="in"><option value="">every store</option>{{range .Stores}}<option value="{{.}}" {{if eq . $.SearchIn}}selected{{end}}>{{.}}</option>{{end}}</select></label>
    {{template "hidden" .}}<input type="hidden" name="by" value="{{.Q.By}}">{{if .Q.Store}}<input type="hidden" name="store" value="{{.Q.Store}}">{{end}}
    <button type="submit">Find</button>
  </form>
  <p class="muted">A cart id opens the cart's timeline. An email address finds the customer's last reminded cart, while its
  attribution window lasts{{if not .EmailReady}} (not available in this version yet: search by cart id){{end}}.</p>
</section>{{end}}

{{define "results"}}<section id="results" data-search="{{.Search.Shown}}"><div class="bar-head"><h2>Search: {{.Search.Shown}}</h2>
  <a href="{{.Q.Link}}">Back to the report</a></div>
  {{if .Search.Note}}<p class="muted" data-search-note>{{.Search.Note}}</p>{{end}}
  {{if not .Search.Carts}}{{if not .Search.Note}}<p data-search-empty>No cart {{.Search.Shown}} in {{if .Search.Store}}store {{.Search.Store}}{{else}}any of the {{.Search.Searched}} stores{{end}}.
  Carts are kept for a while after their last event; an older cart has expired.</p>{{end}}{{end}}
  {{range .Search.Carts}}<article data-cart="{{.Store}}/{{.CartID}}">
    <h3>Cart {{.CartID}} <span class="muted">in store {{.Store}}</span></h3>
    <dl class="facts">
      <div><dt>State</dt><dd data-field="state">{{.State}}</dd></div>
      <div><dt>Outcome</dt><dd data-field="outcome">{{.Outcome}}{{if .AttributionRule}} (credited by {{.AttributionRule}}){{end}}</dd></div>
      <div><dt>Customer</dt><dd data-field="customer">{{if .Customer}}{{.Customer}}{{else}}–{{end}}</dd></div>
      <div><dt>Cart</dt><dd data-field="total">{{.Total}} {{.Currency}}, {{.Items}} item{{if ne .Items 1}}s{{end}}</dd></div>
      <div><dt>Last activity</dt><dd>{{time .LastActivity}}</dd></div>
      <div><dt>Next step</dt><dd>{{if .NextDue}}step {{next .Step}} due {{time (deref .NextDue)}}{{else}}none scheduled{{end}}</dd></div>
      <div><dt>Segment</dt><dd data-field="segment">{{.Segment}}</dd></div>
      <div><dt>Holdout group</dt><dd>{{if .Holdout}}yes (never messaged){{else}}no{{end}}</dd></div>
      <div><dt>Platform</dt><dd>{{.Platform}}</dd></div>
    </dl>
    <h3>Timeline</h3>
    <ol class="timeline" data-timeline>{{range .Events}}
      <li data-event="{{.Type}}"><div><time>{{time .At}}</time> <strong>{{.Type}}</strong></div>{{if .Detail}}<div class="muted">{{.Detail}}</div>{{end}}</li>{{end}}
    </ol>
    <p class="muted">The same as <a href="{{.Link}}">{{.Link}}</a> (JSON). Addresses are masked.</p>
  </article>{{end}}
</section>{{end}}

{{define "segments"}}<h3>Carts by segment</h3>
    {{if .Report.Segments}}<div class="scroll"><table data-segments><thead><tr><th>Segment</th><th>Tracked carts</th><th>Abandoned</th><th>Reminded</th>
      <th>Clicked</th><th>Recovered</th><th>Recovery rate</th><th>Recovered revenue</th><th>Holdout carts</th><th>Holdout abandoned</th>
      <th>Holdout converted</th><th>Lift vs holdout</th><th>95% interval</th></tr></thead><tbody>
    {{range .Report.Segments}}<tr data-segment="{{.Key}}"><td>{{.Key}}</td><td data-field="carts">{{.Carts}}</td><td data-field="abandoned">{{.Abandoned}}</td>
      <td data-field="reminded">{{.Reminded}}</td><td data-field="clicked">{{.Clicked}}</td><td data-field="recovered">{{.Recovered}}</td>
      <td data-field="recovery_rate">{{percent .RecoveryRate}}</td><td data-field="recovered_revenue">{{revenue .RecoveredRevenue}}</td>
      <td data-field="holdout_carts">{{.Holdout.Carts}}</td><td data-field="holdout_abandoned">{{.Holdout.Abandoned}}</td>
      <td data-field="holdout_converted">{{.Holdout.Converted}}</td><td data-field="lift">{{pts .Holdout.Lift}}</td>
      <td data-field="lift_ci95">{{if .Holdout.Lift}}{{pts .Holdout.LiftLow}} to {{pts .Holdout.LiftHigh}}{{else}}–{{end}}</td></tr>{{end}}
    </tbody></table></div>
    <p class="muted">A cart follows one segment, chosen at its first event ({{defaultSegment}}: the default sequence, whose
    figures are the totals less every segment's). Recovery rate = recovered ÷ abandoned carts of the segment; lift = that
    rate − the conversion rate of the segment's own holdout group, with a 95% interval; – while either group has no
    abandoned cart.</p>
    {{else}}<p class="muted" data-segments-empty>No cart of a segment in this period: every cart followed the default sequence.</p>{{end}}
{{end}}

{{define "report"}}
  <section id="range" aria-label="date range and store">
    <nav><ul class="tabs">{{range .Presets}}<li><a href="{{$.Q.Link "range" .Key}}" data-range="{{.Key}}" {{if eq .Key $.Q.Range}}class="on" aria-current="page"{{end}}>{{.Label}}</a></li>{{end}}</ul></nav>
    <div class="bar-head">
    <form class="inline" method="get" action="/dashboard" data-form="range">
      <input type="hidden" name="range" value="custom"><input type="hidden" name="by" value="{{.Q.By}}">{{if .Q.Store}}<input type="hidden" name="store" value="{{.Q.Store}}">{{end}}
      <label>From <input type="date" name="from" value="{{.FormFrom}}" required></label>
      <label>To <input type="date" name="to" value="{{.FormTo}}" required></label>
      <button type="submit">Show range</button>
    </form>
    <form class="inline" method="get" action="/dashboard" data-form="store">
      {{template "hidden" .}}<input type="hidden" name="by" value="{{.Q.By}}">
      <label>Store <select name="store"><option value="">every store</option>{{range .Stores}}<option value="{{.}}" {{if eq . $.Q.Store}}selected{{end}}>{{.}}</option>{{end}}</select></label>
      <button type="submit">Show store</button>
    </form></div>
    <p class="muted"><strong data-metric="range">{{.Report.From}} to {{.Report.To}}</strong> ({{.Days}} day{{if ne .Days 1}}s{{end}}){{if .Q.Store}}, store <strong>{{.Q.Store}}</strong>{{else}}, every store{{end}}.
    Presets count back from today in the store's time zone ({{.TZ}}, today {{.Today}}); the counters are kept per UTC day,
    so each day shown is a UTC day.</p>
  </section>

  <div class="cards">
    <div class="card"><div class="k">Tracked carts</div><div class="v" data-metric="carts">{{.Report.Totals.Carts}}</div></div>
    <div class="card"><div class="k">Abandoned carts</div><div class="v" data-metric="abandoned">{{.Report.Totals.Abandoned}}</div></div>
    <div class="card"><div class="k">Recovered carts</div><div class="v" data-metric="recovered">{{.Report.Totals.Recovered}}</div></div>
    <div class="card"><div class="k">Recovery rate</div><div class="v" data-metric="recovery_rate">{{.Rate}}</div><div class="s">recovered ÷ abandoned</div></div>
    <div class="card"><div class="k">Recovered revenue</div><div class="v" data-metric="recovered_revenue">{{.Revenue}}</div></div>
    <div class="card"><div class="k">Average recovered order</div><div class="v" data-metric="average_recovered_order">{{.AOV}}</div></div>
    <div class="card"><div class="k">Orders</div><div class="v" data-metric="orders">{{.Report.Totals.Orders}}</div></div>
    <div class="card"><div class="k">Converted before any reminder</div><div class="v" data-metric="converted_before_reminder">{{.Report.Totals.ConvertedBeforeReminder}}</div></div>
    {{if .Holdout}}<div class="card"><div class="k">Incremental lift vs holdout</div><div class="v" data-metric="lift">{{.Lift}}</div>
      <div class="s" data-metric="lift_ci">95% CI {{.LiftCI}}</div></div>{{end}}
  </div>

  <section id="funnel"><h2>Funnel</h2>
    <ol class="funnel">{{range .Funnel}}
      {{if .Prev}}<li class="conv">↓ <strong data-funnel-rate="{{.Key}}">{{.FromPrev}}</strong> of {{.Prev}}{{if .Also}} · {{.Also}}{{end}}</li>{{end}}
      <li class="stage"><span>{{.Label}}</span><span class="track"><span class="fill" style="width:{{.OfTracked}}%"></span></span><b data-funnel="{{.Key}}">{{.N}}</b></li>{{end}}
    </ol>
    <p class="muted">Percentages are of the stage above. Clicked counts carts whose customer opened a reminder link;
    recovered counts reminded carts ordered within the attribution window, clicked or not.</p>
  </section>

  {{range .Charts}}{{$c := .}}<section class="chart" data-chart="{{.ID}}"><h2>{{.Title}}</h2>
    {{if .Empty}}<p class="muted" data-empty>Nothing in this period.</p>{{else}}<figure>
    {{range .Views}}{{$v := .}}<svg class="{{.Class}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{$c.Title}}: {{$c.YLabel}} by {{$c.XLabel}}">
      {{range .YTicks}}<line class="grid" x1="{{$v.Left}}" x2="{{$v.Right}}" y1="{{.At}}" y2="{{.At}}"></line>
      <text x="{{add $v.Left -6}}" y="{{.At}}" dy="4" text-anchor="end">{{.Label}}</text>{{end}}
      {{range .XTicks}}<line class="axis" x1="{{.At}}" x2="{{.At}}" y1="{{$v.Bottom}}" y2="{{add $v.Bottom 5}}"></line>
      <text x="{{.At}}" y="{{add $v.Bottom 20}}" text-anchor="middle">{{.Label}}</text>{{end}}
      <line class="axis" x1="{{.Left}}" x2="{{.Right}}" y1="{{.Bottom}}" y2="{{.Bottom}}"></line>
      <line class="axis" x1="{{.Left}}" x2="{{.Left}}" y1="{{.Top}}" y2="{{.Bottom}}"></line>
      <text class="title" transform="translate(12 {{half .Top .Bottom}}) rotate(-90)" text-anchor="middle">{{$c.YLabel}}</text>
      <text class="title" x="{{half .Left .Right}}" y="{{add .H -8}}" text-anchor="middle">{{$c.XLabel}}</text>
      {{range .Series}}{{$s := .}}<g data-series="{{.Name}}">
        {{if .Bars}}{{range .Points}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{$s.Color}}" data-day="{{.Day}}" data-value="{{.Value}}"><title>{{.Day}}: {{.Value}}</title></rect>{{end}}
        {{else}}<path d="{{.Path}}" fill="none" stroke="{{.Color}}" stroke-width="2"></path>
        {{range .Points}}<circle cx="{{.X}}" cy="{{.Y}}" r="{{$v.Dot}}" fill="{{$s.Color}}" data-day="{{.Day}}" data-value="{{.Value}}"><title>{{.Day}}: {{.Value}}</title></circle>{{end}}{{end}}
      </g>{{end}}
    </svg>{{end}}
    {{if .Legend}}<ul class="legend">{{range .Series}}<li><i style="background:{{.Color}}"></i>{{.Name}}</li>{{end}}</ul>{{end}}
    {{if .Note}}<figcaption class="muted">{{.Note}}</figcaption>{{end}}</figure>{{end}}
  </section>{{end}}

  <section id="views"><div class="bar-head"><h2>By {{.Q.By}}</h2>
    <a href="{{.Q.CSV}}" download="{{.Q.CSVName}}" data-export>Export this view as CSV</a></div>
    <nav><ul class="tabs">{{range .Views}}<li><a href="{{$.Q.Link "by" .}}" data-view="{{.}}" {{if eq . $.Q.By}}class="on" aria-current="page"{{end}}>by {{.}}</a></li>{{end}}</ul></nav>
    <div class="scroll"><table data-table="{{.Q.By}}"><thead><tr><th>{{.Q.By}}</th><th>Sent</th><th>Delivered</th><th>Undelivered</th><th>Failed</th><th>of which unknown</th>
      <th>Skipped</th><th>Clicked</th><th>Recovered</th><th>Recovered revenue</th><th>Reached carts</th><th>Codes issued</th><th>Codes redeemed</th></tr></thead><tbody>
    {{range .Report.Rows}}<tr data-row="{{.Key}}"><td>{{.Key}}</td><td data-field="sent">{{.Sent}}</td><td data-field="delivered">{{.Delivered}}</td>
      <td data-field="undelivered">{{.Undelivered}}</td><td data-field="failed">{{.Failed}}</td><td data-field="unknown">{{.Unknown}}</td>
      <td data-field="skipped">{{.Skipped}}</td><td data-field="clicked">{{.Clicked}}</td><td data-field="recovered">{{.Recovered}}</td>
      <td data-field="recovered_revenue">{{revenue .RecoveredRevenue}}</td><td data-field="reached">{{.Reached}}</td>
      <td data-field="codes_issued">{{.CodesIssued}}</td><td data-field="codes_redeemed">{{.CodesRedeemed}}</td></tr>{{else}}
      <tr><td colspan="13" class="muted">No {{.Q.By}} in this period.</td></tr>{{end}}
    </tbody></table></div>
    <p class="muted">Rows count messages (clicked: messages whose link was opened; recovered: recoveries credited to the
    message); reached counts carts that got a message of the step, and is not kept per channel.</p>
    {{if eq .Q.By "segment"}}{{template "segments" .}}{{end}}
  </section>

  <div class="cols">
  <section id="skips"><h2>Skipped and held messages</h2>
    {{if .Skips}}<div class="scroll"><table><thead><tr><th>Reason</th><th>Code</th><th>Messages</th></tr></thead><tbody>
    {{range .Skips}}<tr data-skip="{{.Code}}"><td class="wrap">{{.Label}}</td><td><code>{{.Code}}</code></td><td data-field="count">{{.N}}</td></tr>{{end}}
    </tbody></table></div>
    <p class="muted">Held by quiet hours are sent when the quiet hours end: they are not skipped.</p>
    {{else}}<p class="muted" data-skip-empty>No message skipped or held in this period.</p>{{end}}
  </section>
  <section id="orders"><h2>Orders</h2>
    <div class="scroll"><table><tbody>
      <tr><td class="wrap">Orders</td><td data-metric="orders_total">{{.Report.Totals.Orders}}</td></tr>
      <tr><td class="wrap">Recovered (credited to a reminder)</td><td data-metric="recovered_orders">{{.Report.Totals.Recovered}}</td></tr>
      <tr><td class="wrap">… after a click</td><td data-metric="recovered_after_click">{{.Report.Totals.RecoveredAfterClick}}</td></tr>
      <tr><td class="wrap">… credited to the last message clicked</td><td data-metric="credited_by_click">{{.Report.Totals.CreditedByClick}}</td></tr>
      <tr><td class="wrap">Converted before any reminder</td><td data-metric="converted_before">{{.Report.Totals.ConvertedBeforeReminder}}</td></tr>
      <tr><td class="wrap">Converted after the attribution window</td><td data-metric="converted_after_window">{{.Report.Totals.ConvertedAfterWindow}}</td></tr>
      <tr><td class="wrap">Found by the check with the platform</td><td data-metric="verified_ordered">{{.Report.Totals.VerifiedOrdered}}</td></tr>
      <tr><td class="wrap">Average recovered order</td><td data-metric="aov">{{.AOV}}</td></tr>
      <tr><td class="wrap">Unique codes issued / redeemed</td><td><span data-metric="codes_issued">{{.Report.Totals.CodesIssued}}</span> / <span data-metric="codes_redeemed">{{.Report.Totals.CodesRedeemed}}</span></td></tr>
    </tbody></table></div>
  </section>
  </div>

  <section id="experiments"><h2>A/B experiments</h2>
    {{range .Experiments}}{{$e := .}}<div data-experiment="{{.Step}}">
      <h3>{{.Step}}: <span data-field="verdict">{{.Verdict}}</span></h3>
      <div class="scroll"><table><thead><tr><th>Variant</th><th>Reached carts</th><th>Recovered</th><th>Recovery rate</th><th>Diff vs a</th><th>95% interval</th><th>Verdict</th></tr></thead><tbody>
      {{range .Variants}}<tr data-variant="{{$e.Step}}/{{.Variant}}"><td>{{.Variant}}</td><td data-field="reached">{{.Reached}}</td><td data-field="recovered">{{.Recovered}}</td>
        <td data-field="recovery_rate">{{percent .Rate}}</td><td data-field="diff_vs_a">{{pts .Diff}}</td>
        <td data-field="ci95">{{if .Diff}}{{pts .Low}} to {{pts .High}}{{else}}–{{end}}</td>
        <td data-field="verdict" {{if .Significant}}class="sig"{{end}}>{{.Verdict}}</td></tr>{{end}}
      </tbody></table></div></div>
    {{else}}<p class="muted" data-experiments-empty>No step has more than one variant in this period.</p>{{end}}
    <p class="muted">Recovery rate = recovered ÷ reached carts of the variant. The difference with a has a 95% interval (normal
    approximation); significant when it excludes 0 and each group has at least 5 recovered and 5 unrecovered carts. Looking
    every day and stopping at the first "significant" is wrong more often than 5%.</p>
  </section>

  {{if .Holdout}}<section id="holdout"><h2>Holdout</h2><p>
    {{.Report.Holdout.Carts}} carts kept as a control group got no message; {{.Report.Holdout.Converted}} of their
    {{.Report.Holdout.Abandoned}} abandoned carts converted ({{percent .Report.Holdout.ConversionRate}}).
    Lift = recovery rate − holdout conversion rate.</p></section>
  {{else}}<section id="holdout"><h2>Holdout</h2><p class="muted">No holdout group in this period, so the incremental lift cannot be measured.
    Set <code>rules.holdout_percent</code> (for example 10) to keep that share of customers unmessaged as a control group.</p></section>{{end}}
  <p class="muted">Definitions: abandoned = reached the first step's due time with no order; recovered = reminded and ordered within
  the attribution window of the last message, credited to that message. Revenue is per currency.</p>
{{end}}`))
