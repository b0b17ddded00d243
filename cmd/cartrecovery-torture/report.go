package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
)

// Row is one scenario's measurement and verdict.
type Row struct {
	Name           string
	M              Metrics
	Kills          int
	RedisRestarts  int
	PostsFailed    int
	Replays        int
	AbsurdAccepted int
	PII            int // hostile only: the PII-in-logs count is judged there
	// UnknownBudget is the sends in flight at the kills: pool per killed
	// worker, and pool per worker at a kill of redis-server (the outcomes
	// in flight then cannot be recorded).
	UnknownBudget int
	Fail          []string
}

// Report is the whole run.
type Report struct {
	Rows          []Row
	Total         Metrics
	Kills         int
	RedisRestarts int
	Crashes       int // service processes that exited on their own
	PII           int
	PIIExamples   []string
	Planted       int // duplicates planted by PlantDuplicate
	Elapsed       time.Duration
	Opt           Options
}

// Failed reports whether any scenario failed.
func (r *Report) Failed() bool {
	if r.Crashes > 0 {
		return true
	}
	for _, row := range r.Rows {
		if len(row.Fail) > 0 {
			return true
		}
	}
	return false
}

// measureAll reads what the SMTP server received and what Redis holds and
// judges each scenario. The services are stopped by now.
func (c *Cluster) measureAll(runs []*scenarioRun, o Options, tag string, elapsed time.Duration) (*Report, error) {
	var plans []*cartPlan
	for _, sr := range runs {
		plans = append(plans, sr.plans...)
	}
	rep := &Report{Opt: o, Elapsed: elapsed}
	if o.PlantDuplicate {
		n, err := plantDuplicate(c.smtp)
		if err != nil {
			return nil, err
		}
		rep.Planted = n
	}
	snap, err := c.snapshot(plans)
	if err != nil {
		return nil, err
	}
	att := newIndex(plans).attribute(c.smtp.Messages())
	rep.Kills, rep.RedisRestarts = c.counts()
	rep.Crashes = c.crashes()
	rep.PII, rep.PIIExamples, err = piiInLogs(c.logs(), piiNeedles(plans, tag))
	if err != nil {
		return nil, err
	}
	for _, sr := range runs {
		m := measure(sr.plans, snap, att)
		row := Row{Name: sr.name, M: m, Kills: sr.kills, RedisRestarts: sr.restart, PostsFailed: sr.postsFailed,
			Replays: sr.replays, AbsurdAccepted: sr.absurdAccepted, UnknownBudget: o.Pool * (sr.kills + len(c.workers)*sr.restart)}
		if sr.name == "hostile" {
			row.PII = rep.PII
		}
		row.Fail = verdict(row)
		rep.Rows = append(rep.Rows, row)
		rep.Total.add(m)
	}
	rep.Total.Unmatched, rep.Total.Unassigned = att.unmatched, att.unassigned
	return rep, nil
}

// verdict is the "Done when" plus each scenario's own promise.
func verdict(r Row) []string {
	var f []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			f = append(f, fmt.Sprintf(format, args...))
		}
	}
	m := r.M
	check(m.Dup == 0, "%d duplicates", m.Dup)
	check(m.Late == 0, "%d sent after the order's 2xx", m.Late)
	check(m.Silent == 0, "%d silent claims", m.Silent)
	check(m.Unknown <= r.UnknownBudget, "%d unknown outcomes > %d sends in flight at the kills", m.Unknown, r.UnknownBudget)
	check(m.Lost == 0, "%d steps lost (no message, no record)", m.Lost)
	check(m.FailedUnplanned == 0, "%d sends failed to recipients the server accepts", m.FailedUnplanned)
	check(r.PostsFailed == 0, "%d webhooks not answered as they must be", r.PostsFailed)
	check(r.Replays == 0, "%d redeliveries not answered \"duplicate\"", r.Replays)
	check(m.Stale == 0, "%d messages to replayed or overwritten content", m.Stale)
	check(r.AbsurdAccepted == 0, "%d events dated 9999 accepted", r.AbsurdAccepted)
	check(m.NoSendSent == 0, "%d carts that must get nothing were messaged", m.NoSendSent)
	check(m.Undelivered == 0, "%d steps to hostile names not delivered", m.Undelivered)
	check(m.Mangled == 0, "%d display names mangled", m.Mangled)
	check(r.PII == 0, "%d log lines with PII", r.PII)
	return f
}

// Print writes the one table, then the reasons for each FAIL.
func (r *Report) Print(w io.Writer) {
	o := r.Opt
	fmt.Fprintf(w, "\ncartrecovery torture: %s; pool %d, concurrency %d, send_timeout %s; SMTP latency kills %s, race %s, others %s\n\n",
		r.Elapsed.Round(time.Second), o.Pool, o.Concurrency, o.SendTimeout, o.Latency, o.RaceLatency, o.OtherLatency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "\t"
	for _, row := range r.Rows {
		head += row.Name + "\t"
	}
	fmt.Fprintln(tw, head+"total\t")
	line := func(label string, f func(Row) string, total string) {
		s := label + "\t"
		for _, row := range r.Rows {
			s += f(row) + "\t"
		}
		fmt.Fprintln(tw, s+total+"\t")
	}
	num := func(get func(Metrics) int) (func(Row) string, string) {
		return func(row Row) string { return fmt.Sprint(get(row.M)) }, fmt.Sprint(get(r.Total))
	}
	for _, l := range []struct {
		label string
		get   func(Metrics) int
	}{
		{"carts", func(m Metrics) int { return m.Carts }},
		{"messages expected (carts × steps)", func(m Metrics) int { return m.Expected }},
		{"sent (distinct at SMTP)", func(m Metrics) int { return m.Sent }},
		{"duplicated (same Message-ID again)", func(m Metrics) int { return m.Dup }},
		{"sent after the order's 2xx", func(m Metrics) int { return m.Late }},
		{"unknown outcomes (recorded)", func(m Metrics) int { return m.Unknown }},
		{"silent claims", func(m Metrics) int { return m.Silent }},
		{"failed (recorded, not delivered)", func(m Metrics) int { return m.Failed }},
		{"skipped or stopped", func(m Metrics) int { return m.Skipped }},
		{"lost (no message, no record)", func(m Metrics) int { return m.Lost }},
	} {
		f, t := num(l.get)
		line(l.label, f, t)
	}
	gap := func(q float64) (func(Row) string, string) {
		return func(row Row) string { return ms(percentile(row.M.Gaps, q)) }, ms(percentile(r.Total.Gaps, q))
	}
	f, t := gap(0.5)
	line("claim→provider gap p50", f, t)
	f, t = gap(0.99)
	line("claim→provider gap p99", f, t)
	f, t = num(func(m Metrics) int { return m.TooClose })
	line("steps closer than their spacing", f, t)
	only := func(name string, get func(Row) int) func(Row) string {
		return func(row Row) string {
			if row.Name != name {
				return "-"
			}
			return fmt.Sprint(get(row))
		}
	}
	for _, l := range []struct {
		label, scenario string
		get             func(Row) int
	}{
		{"replays not \"duplicate\"", "redeliver", func(r Row) int { return r.Replays }},
		{"stale content sent", "redeliver", func(r Row) int { return r.M.Stale }},
		{"dated 9999 and accepted", "skew", func(r Row) int { return r.AbsurdAccepted }},
		{"too old / future carts messaged", "skew", func(r Row) int { return r.M.NoSendSent }},
		{"hostile names not delivered", "hostile", func(r Row) int { return r.M.Undelivered }},
		{"display names mangled", "hostile", func(r Row) int { return r.M.Mangled }},
		{"PII in logs (lines, all processes)", "hostile", func(r Row) int { return r.PII }},
	} {
		line(l.label, only(l.scenario, l.get), "")
	}
	line("kill -9s of a worker", func(row Row) string { return fmt.Sprint(row.Kills) }, fmt.Sprint(r.Kills))
	line("redis-server restarts", func(row Row) string { return fmt.Sprint(row.RedisRestarts) }, fmt.Sprint(r.RedisRestarts))
	line("webhooks not answered as required", func(row Row) string { return fmt.Sprint(row.PostsFailed) }, "")
	line("processes that exited on their own", func(Row) string { return "" }, fmt.Sprint(r.Crashes))
	line("verdict", func(row Row) string {
		if len(row.Fail) > 0 {
			return "FAIL"
		}
		return "PASS"
	}, map[bool]string{true: "FAIL", false: "PASS"}[r.Failed()])
	tw.Flush()
	fmt.Fprintln(w)
	for _, row := range r.Rows {
		if len(row.Fail) > 0 {
			fmt.Fprintf(w, "FAIL %s: %s\n", row.Name, strings.Join(row.Fail, "; "))
		}
	}
	if r.Crashes > 0 {
		fmt.Fprintf(w, "FAIL: %d service processes exited on their own (see their logs with -keep)\n", r.Crashes)
	}
	for _, e := range r.PIIExamples {
		fmt.Fprintf(w, "PII: %s\n", e)
	}
	if r.Total.Unmatched > 0 || r.Total.Unassigned > 0 {
		fmt.Fprintf(w, "note: %d messages matched by recipient (Message-ID scheme differs), %d matched no cart\n", r.Total.Unmatched, r.Total.Unassigned)
	}
	if r.Planted > 0 {
		fmt.Fprintf(w, "note: %d duplicate planted at the SMTP server (the duplicated count includes it)\n", r.Planted)
	}
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

// plantDuplicate resends the first received message (same Message-ID) to
// the server, proving the duplicate count sees it.
func plantDuplicate(s *smtptest.Server) (int, error) {
	msgs := s.Messages()
	if len(msgs) == 0 {
		return 0, nil
	}
	m := msgs[0]
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.SendMail(m.From, m.To, bytes.NewReader(m.Data)); err != nil {
		return 0, fmt.Errorf("plant a duplicate: %w", err)
	}
	return 1, nil
}
