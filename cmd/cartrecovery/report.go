package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/config"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/report"
	"github.com/cartrecovery/cartrecovery/webhook"
)

func reportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := flags("report", stderr)
	since := fs.String("since", "", "last N days (30d) or hours (48h); default 30d")
	from := fs.String("from", "", "first UTC day, YYYY-MM-DD")
	to := fs.String("to", "", "last UTC day, YYYY-MM-DD (default today)")
	by := fs.String("by", "step", "step | channel | variant | day | store")
	store := fs.String("store", "", "only this store")
	format := fs.String("format", "table", "table | csv | json")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if !slices.Contains([]string{"table", "csv", "json"}, *format) {
		return usageError{fmt.Errorf("--format: %q is not one of table, csv, json", *format)}
	}
	if !slices.Contains(report.Dimensions, *by) {
		return usageError{fmt.Errorf("--by: %q is not one of step, channel, variant, day, store", *by)}
	}
	f, t, err := report.ParseRange(*since, *from, *to, time.Now())
	if err != nil {
		return usageError{fmt.Errorf("--%w", err)}
	}
	cfg, src, _, err := load(*cfgPath)
	if err != nil {
		return fmt.Errorf("config %s is invalid:\n%w", src, err)
	}
	if cfg.Redis.URL == "" {
		return errors.New("redis.url is empty: the embedded Redis of a running `serve` is not reachable from another process; set redis.url")
	}
	conn, err := redis.Open(ctx, cfg.Redis.Mode, cfg.Redis.URL, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return err
	}
	defer conn.Close()
	names := make([]string, len(cfg.Sequence))
	for i, st := range cfg.Sequence {
		names[i] = st.Name
	}
	st := redis.NewStore(conn.Client, redis.Options{Prefix: cfg.Redis.Prefix})
	stores, err := st.Stores(ctx)
	if err != nil {
		return err
	}
	counters, err := st.Counters(ctx, stores, report.Days(f, t))
	if err != nil {
		return err
	}
	q := report.Query{From: f, To: t, By: *by, Steps: names}
	if *store != "" {
		q.Stores = []string{*store}
	}
	rep, err := report.Build(counters, q)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		return e.Encode(rep)
	case "csv":
		return report.WriteCSV(stdout, rep)
	}
	return report.WriteTable(stdout, rep)
}

// previewEvent lets preview take any generic cart event, or just its cart
// and customer: when is irrelevant to a preview, so a missing or template
// occurred_at (examples/cart.json has OCCURRED_AT), id or type is filled in.
// Input that is not a JSON object is passed on for the parser to explain.
func previewEvent(raw []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return raw
	}
	if s, _ := m["occurred_at"].(string); s == "" || s == "OCCURRED_AT" {
		m["occurred_at"] = time.Now().UTC().Format(time.RFC3339)
	}
	if s, _ := m["id"].(string); s == "" {
		m["id"] = "preview"
	}
	if s, _ := m["type"].(string); s == "" {
		m["type"] = "cart.updated"
	}
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}

// preview renders one step for a sample cart (or a generic cart.updated
// event from --cart) into --out, or prints it.
func preview(args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := flags("preview", stderr)
	stepName := fs.String("step", "", "step name from the sequence (required)")
	channel := fs.String("channel", "", "email | sms (default: the step's channels)")
	variantName := fs.String("variant", config.BaseVariant, "A/B variant of the step (a is the step's own template)")
	cartFile := fs.String("cart", "", "a generic cart.updated event (JSON) to render instead of the sample cart")
	out := fs.String("out", "", "directory to write the parts to (default: print)")
	locale := fs.String("locale", "", "customer locale to render for (es, es-MX, de-CH...): picks the translation and how money and dates are written (default: the sample's, or the --cart customer's)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	cfg, src, r, err := load(*cfgPath)
	if err != nil {
		return fmt.Errorf("config %s is invalid:\n%w", src, err)
	}
	idx := slices.IndexFunc(cfg.Sequence, func(s config.Step) bool { return s.Name == *stepName })
	if idx < 0 {
		return usageError{fmt.Errorf("--step: %q is not a step of the sequence", *stepName)}
	}
	step := cfg.Steps()[idx]
	variant := step.VariantNamed(*variantName)
	if variant.Name != *variantName {
		return usageError{fmt.Errorf("--variant: %q is not a variant of step %s", *variantName, step.Name)}
	}
	channels := step.Channels
	if *channel != "" {
		if !slices.Contains(step.Channels, *channel) {
			return usageError{fmt.Errorf("--channel: %q is not a channel of step %s (%s)", *channel, step.Name, strings.Join(step.Channels, ", "))}
		}
		channels = []string{*channel}
	}
	d := render.SampleData()
	d.Store = render.Store{Name: cfg.Store.Name, URL: cfg.Store.URL, Address: cfg.Store.Address, Timezone: cfg.Store.Timezone}
	d.Discount = render.Discount{Code: variant.Discount.Code, Label: variant.Discount.Label}
	if dc := variant.Discount; dc.Unique {
		// a placeholder as long as the codes that will be made
		d.Discount.Code = dc.Prefix + strings.Repeat("X", recovery.CodeLength)
		d.Discount.ExpiresAt = time.Now().Add(dc.ExpiresAfter).UTC()
	}
	d.Step = render.Step{Name: step.Name, Index: idx}
	if *cartFile != "" {
		raw, err := os.ReadFile(*cartFile)
		if err != nil {
			return err
		}
		ev, err := webhook.ParseGeneric(previewEvent(raw))
		if err != nil {
			return fmt.Errorf("%s: %w", *cartFile, err)
		}
		d.Cart = render.Cart{ID: ev.Cart.ID, Total: ev.Cart.Total, Currency: ev.Cart.Currency}
		for _, it := range ev.Cart.Items {
			d.Cart.Items = append(d.Cart.Items, render.Item{Title: it.Title, Quantity: it.Quantity, Price: it.Price, ImageURL: it.ImageURL, URL: it.URL})
		}
		d.Customer = render.Customer{FirstName: ev.Customer.FirstName, Email: ev.Customer.Email, Phone: ev.Customer.Phone,
			Locale: ev.Customer.Locale, Timezone: ev.Customer.Timezone}
	}
	if *locale != "" {
		d.Customer.Locale = *locale
	}
	res, err := r.Render(variant.Template, channels, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "locale %q: %s (dates in %s)\n", d.Customer.Locale, strings.Join(res.Files, ", "), render.Zone(d))
	parts := map[string]string{}
	if slices.Contains(channels, "email") {
		parts["subject.txt"], parts["email.txt"], parts["email.html"] = res.Subject, res.Text, res.HTML
	}
	if slices.Contains(channels, "sms") {
		n, enc := render.SMSSegments(res.SMS)
		parts["sms.txt"] = res.SMS
		fmt.Fprintf(stderr, "sms: %d characters, %d %s segment(s)\n", len([]rune(res.SMS)), n, enc)
	}
	names := make([]string, 0, len(parts))
	for k := range parts {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if *out == "" {
			fmt.Fprintf(stdout, "==> %s <==\n%s\n\n", k, parts[k])
			continue
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		p := filepath.Join(*out, step.Name+"."+variant.Name+"."+k)
		if err := os.WriteFile(p, []byte(parts[k]), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, p)
	}
	return nil
}
