package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/report"
)

// The dashboard is server-rendered HTML with inline CSS and SVG charts:
// nothing is loaded from elsewhere, so it works offline and behind strict
// content security policies.

// dashboardData is everything the page shows.
type dashboardData struct {
	LoggedIn bool
	Error    string // sign-in error
	Notice   string // the parameters were not valid: what was shown instead

	Shop     string
	TZ       string // the store's time zone, presets count from its today
	Today    string // today in that zone
	Q        dashQuery
	FormFrom string // the custom range form's dates, as typed when invalid
	FormTo   string
	Presets  []rangePreset
	Views    []string
	Stores   []string
	Days     int

	Report      report.Report
	Rate        string
	Revenue     string
	AOV         string
	Funnel      []funnelStage
	Charts      []svgChart
	Skips       []skipRow
	Experiments []report.Experiment
	Holdout     bool
	Lift        string
	LiftCI      string

	Search     *searchResult
	SearchIn   string // the store the search form has selected
	EmailReady bool   // email search is available
}

// funnelStage is one stage of tracked → abandoned → reminded → clicked →
// recovered, with its share of the previous stage and of tracked carts.
type funnelStage struct {
	Key, Label string
	N          int64
	Prev       string // the previous stage's label
	FromPrev   string // "" for the first stage
	Also       string // recovered: the recovery rate too
	OfTracked  float64
}

// skipRow is one skip reason code with its count.
type skipRow struct {
	Code, Label string
	N           int64
}

// skipLabels explains the skip reason codes (recovery.SkipCode).
var skipLabels = map[string]string{
	"no_email":              "No email address",
	"no_phone":              "No phone number",
	"no_email_consent":      "No email consent",
	"no_sms_consent":        "No SMS consent",
	"below_min":             "Cart total below rules.min_cart_value",
	"bad_total":             "Cart total not a number",
	"unsubscribed":          "Unsubscribed",
	"cooldown":              "Cooldown: another cart of the customer reminded recently",
	"too_old":               "Too old: idle longer than rules.max_cart_age when first seen",
	"holdout":               "Holdout group (control, never messaged)",
	"gone":                  "Cart no longer on the platform (converted, deleted or expired)",
	"no_code":               "Unique code could not be created",
	"no_registrar":          "Unique code needs a platform API",
	"not_verified":          "Platform could not confirm there was no order (strict check)",
	"channel_off":           "Channel not configured",
	recovery.SkipQuietHours: "Held by quiet hours (sent when they end)",
	"other":                 "Other",
}

func percent(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

// ratio is n ÷ d as a percentage, "–" when d is 0.
func ratio(n, d int64) string {
	if d == 0 {
		return "–"
	}
	return percent(float64(n) / float64(d))
}

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
	p, perr := s.dashboardParams(r)
	var fe *recovery.FieldError
	switch {
	case errors.As(perr, &fe): // said on the page, over the report
		p = r.URL.Query()
		p.Del("q")
	case perr != nil:
		s.renderPage(w, http.StatusForbidden, page{Title: "Search from the dashboard",
			Text: "The search form is taken from this dashboard's own pages only. Open the dashboard and search there."})
		return
	}
	d, status, err := s.dashboardView(r, p)
	if fe != nil && err == nil {
		d.Notice = strings.TrimSpace("Search: the " + fe.Field + " " + fe.Msg + ". " + d.Notice)
		status = http.StatusBadRequest
	}
	if err != nil {
		s.Log.Error("dashboard", "err", err)
		s.renderPage(w, http.StatusServiceUnavailable, page{Title: "Please try again", Text: "The dashboard cannot read the report just now."})
		return
	}
	s.renderDashboard(w, status, d)
}

// maxSearchForm bounds the search form's body.
const maxSearchForm = 16 << 10

// dashboardParams are the page's parameters: the query's, and on POST (the
// search form, so that an email address lands in no URL and no proxy's
// access log) the form's too, from this site only (its Origin). A GET
// whose q is an email address is refused for the same reason.
func (s *Server) dashboardParams(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		p := r.URL.Query()
		if strings.Contains(p.Get("q"), "@") {
			return nil, recovery.Invalid("q", "an email address is searched with the search form (POST), never in a URL: a URL lands in access logs")
		}
		return p, nil
	}
	if !s.sameOrigin(r) {
		return nil, fmt.Errorf("the search form is taken from this site only (Origin %q): %w", recovery.Clip(r.Header.Get("Origin"), 100), recovery.ErrForbidden)
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxSearchForm)
	if err := r.ParseForm(); err != nil {
		return nil, recovery.Invalid("form", "is not a form of at most 16 KiB")
	}
	return r.Form, nil // the query's parameters and the form's
}

// sameOrigin reports whether r's Origin is this site: http.public_url's,
// or the host r was sent to.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	if u, err := url.Parse(s.PublicURL); err == nil && u.Host != "" && strings.EqualFold(o, u.Scheme+"://"+u.Host) {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(o, scheme+"://"+r.Host)
}

// dashboardView reads the parameters and builds the page: the report of a
// range, breakdown and store, or a search's results (?q=). Parameters that
// are not valid are named in d.Notice, and the default view is shown
// (status 400); err is for the store's failures only.
func (s *Server) dashboardView(r *http.Request, p url.Values) (d dashboardData, status int, err error) {
	shop := s.settings().def.Shop
	if st := p.Get("store"); st != "" && recovery.ValidStore(st) {
		shop = s.settings().shop(st) // its name, and its days in its time zone
	}
	loc := storeLocation(shop.Timezone)
	status = http.StatusOK
	d = dashboardData{LoggedIn: true, Shop: shop.Name, TZ: loc.String(), Today: s.Now().In(loc).Format(time.DateOnly),
		Presets: rangePresets, Views: report.Dimensions, EmailReady: s.emailSearch()}
	var notes []string
	bad := func(msg string) {
		notes = append(notes, msg)
		status = http.StatusBadRequest
	}
	q := dashQuery{By: p.Get("by"), Store: p.Get("store")}
	if q.By == "" {
		q.By = "step"
	}
	if !slices.Contains(report.Dimensions, q.By) {
		bad(fmt.Sprintf("View %q is not one of %s: showing by step.", recovery.Clip(q.By, 40), strings.Join(report.Dimensions, ", ")))
		q.By = "step"
	}
	if q.Store != "" && !recovery.ValidStore(q.Store) {
		bad(fmt.Sprintf("Store %q is not a store name: showing every store.", recovery.Clip(q.Store, 40)))
		q.Store = ""
	}
	d.FormFrom, d.FormTo = p.Get("from"), p.Get("to")
	preset, from, to, rerr := resolveRange(p.Get("range"), p.Get("since"), d.FormFrom, d.FormTo, s.Now(), loc)
	if rerr != nil {
		bad(rerr.Error() + " Showing the last 30 days instead.")
		preset, from, to, _ = resolveRange(defaultRange, "", "", "", s.Now(), loc)
	} else {
		d.FormFrom, d.FormTo = from.Format(time.DateOnly), to.Format(time.DateOnly)
	}
	q.Range, q.From, q.To = preset, from.Format(time.DateOnly), to.Format(time.DateOnly)
	if d.Stores, err = s.Store.Stores(r.Context()); err != nil {
		return d, 0, err
	}
	for _, st := range []string{q.Store, p.Get("in")} {
		if st != "" && recovery.ValidStore(st) && !slices.Contains(d.Stores, st) {
			d.Stores = append(d.Stores, st)
		}
	}
	sort.Strings(d.Stores)
	d.Q = q
	d.Days = int(to.Sub(from).Hours()/24) + 1
	if p.Has("q") {
		d.SearchIn = p.Get("in")
		res, err := s.searchCarts(r, p.Get("q"), d.SearchIn)
		var fe *recovery.FieldError
		switch {
		case errors.As(err, &fe): // said on the page, over the report
			bad("Search: the " + fe.Field + " " + fe.Msg + ".")
		case err != nil:
			return d, 0, err
		default:
			d.Search = &res
			d.Notice = strings.Join(notes, " ")
			return d, status, nil
		}
	}
	// the report of exactly what /api/report answers for the same query
	sub := r.Clone(r.Context())
	sub.URL.RawQuery = q.apiValues().Encode()
	rep, counters, rq, err := s.reportData(sub)
	if err != nil {
		var fe *recovery.FieldError
		if errors.As(err, &fe) {
			return d, 0, fmt.Errorf("report of valid parameters refused: %w", err)
		}
		return d, 0, err
	}
	d.Notice = strings.Join(notes, " ")
	d.Report = rep
	t := rep.Totals
	d.Rate = percent(t.RecoveryRate)
	d.Revenue = report.RevenueText(t.RecoveredRevenue, " · ", "0")
	d.AOV = report.RevenueText(t.AverageRecoveredOrder, " · ", "–")
	d.Funnel = funnel(t)
	byDay := rep.Rows
	if rq.By != "day" {
		dq := rq
		dq.By = "day"
		dr, err := report.Build(counters, dq)
		if err != nil {
			return d, 0, err
		}
		byDay = dr.Rows
	}
	d.Charts = dayCharts(report.Daily(counters, rq), byDay, t.RecoveredRevenue)
	for code, n := range t.SkipReasons {
		if n == 0 {
			continue
		}
		label := skipLabels[code]
		if label == "" {
			label = code
		}
		d.Skips = append(d.Skips, skipRow{Code: code, Label: label, N: n})
	}
	sort.Slice(d.Skips, func(i, j int) bool {
		if d.Skips[i].N != d.Skips[j].N {
			return d.Skips[i].N > d.Skips[j].N
		}
		return d.Skips[i].Code < d.Skips[j].Code
	})
	d.Experiments = rep.Experiments
	if h := rep.Holdout; h.Carts > 0 {
		d.Holdout = true
		if h.Lift != nil {
			d.Lift, d.LiftCI = pts(*h.Lift), pts(*h.LiftLow)+" to "+pts(*h.LiftHigh)
		} else {
			d.Lift = "not enough data"
		}
	}
	return d, status, nil
}

// emailSearch reports whether the store can find a customer's last
// reminded cart.
func (s *Server) emailSearch() bool {
	_, ok := any(s.Store).(lastCartFinder)
	return ok
}

// pts writes a difference of rates in percentage points: "+4.2 pts".
func pts(f float64) string { return fmt.Sprintf("%+.1f pts", f*100) }

// ptsPtr is pts of a value that may be missing.
func ptsPtr(f *float64) string {
	if f == nil {
		return "–"
	}
	return pts(*f)
}

func funnel(t report.Totals) []funnelStage {
	stages := []funnelStage{{Key: "Tracked", Label: "Tracked carts", N: t.Carts}, {Key: "Abandoned", Label: "Abandoned", N: t.Abandoned},
		{Key: "Reminded", Label: "Reminded", N: t.Reminded}, {Key: "Clicked", Label: "Clicked", N: t.Clicked}, {Key: "Recovered", Label: "Recovered", N: t.Recovered}}
	stages[4].Also = ratio(t.Recovered, t.Abandoned) + " of abandoned (the recovery rate)"
	for i := range stages {
		if t.Carts > 0 {
			stages[i].OfTracked = math.Min(100, math.Round(1000*float64(stages[i].N)/float64(t.Carts))/10)
		}
		if i > 0 {
			stages[i].FromPrev, stages[i].Prev = ratio(stages[i].N, stages[i-1].N), strings.ToLower(stages[i-1].Label)
		}
	}
	return stages
}

// dayCharts draws the recovery rate, the recovered revenue (a line per
// currency) and the messages sent per day.
func dayCharts(daily []report.Point, byDay []report.Row, revenue map[string]string) []svgChart {
	days := make([]string, len(daily))
	rates := make([]dayValue, len(daily))
	for i, p := range daily {
		days[i] = p.Day
		rates[i] = dayValue{p.RecoveryRate, p.Abandoned > 0}
	}
	rate := layoutChart("recovery_rate", "Recovery rate per day", "recovery rate", days,
		[]chartSeries{{name: "recovery rate", values: rates, text: percent}}, tickPercent, false)
	rate.Note = "Carts recovered ÷ carts abandoned that day; days with no abandoned cart have no rate (a gap). A cart is abandoned on one day and recovered on the day of its order, so a day's rate can pass 100%."

	curs := make([]string, 0, len(revenue))
	for c := range revenue {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	var revSeries []chartSeries
	for _, cur := range curs {
		scale := math.Pow10(money.Digits(cur))
		vals := make([]dayValue, len(daily))
		for i, p := range daily {
			vals[i] = dayValue{float64(p.RevenueMinor(cur)) / scale, true}
		}
		revSeries = append(revSeries, chartSeries{name: cur, values: vals, text: func(v float64) string {
			return money.FromMinor(int64(math.Round(v*scale)), cur) + " " + cur
		}})
	}
	ylabel := "revenue"
	if len(curs) == 1 {
		ylabel += " (" + curs[0] + ")"
	} else if len(curs) > 1 {
		ylabel += " (per currency)"
	}
	rev := layoutChart("recovered_revenue", "Recovered revenue per day", ylabel, days, revSeries, tickNumber, false)
	rev.Legend = len(revSeries) > 0
	if len(curs) > 1 {
		rev.Note = "One line per currency, each on the same axis in its own units: amounts in different currencies are not added up."
	}
	if len(curs) == 0 {
		rev.Empty = true
	}

	sentIdx := map[string]int64{}
	for _, row := range byDay {
		sentIdx[row.Key] = row.Sent
	}
	sent := make([]dayValue, len(days))
	for i, day := range days {
		sent[i] = dayValue{float64(sentIdx[day]), true}
	}
	msgs := layoutChart("sent", "Messages sent per day", "messages sent", days,
		[]chartSeries{{name: "sent", bars: true, values: sent, text: func(v float64) string { return strconv.FormatInt(int64(v), 10) }}}, tickNumber, true)
	return []svgChart{rate, rev, msgs}
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
	s.Log.Info("dashboard signed in", "client", maskAddr(s.client(r)), "expires", exp)
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
