package main

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cartrecovery/cartrecovery/config"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/worker"
)

// previewAll is the --variant and --locale value that renders every one.
const previewAll = "all"

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

// preview renders a step's messages as a real send would make them, for a
// sample cart (or a generic cart.updated event from --cart), into --out or
// printed: the links on http.public_url with tokens of the real length, the
// variant's own discount (a unique code as its prefix and 10 placeholder
// characters, expiring expires_after from now), one variant or all of them,
// one locale or every translation. Without --step it lists the steps.
func preview(args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := flags("preview", stderr)
	stepName := fs.String("step", "", "step name from the sequence (default: list the steps)")
	channel := fs.String("channel", "", "email | sms (default: the step's channels)")
	variantName := fs.String("variant", config.BaseVariant, "A/B variant of the step (a is the step's own template), or all")
	cartFile := fs.String("cart", "", "a generic cart.updated event (JSON) to render instead of the sample cart")
	out := fs.String("out", "", "directory to write the parts to (default: print)")
	storeID := fs.String("store", "", "render as this store renders (stores.<id>: its name, address, templates folder and sequences; default: the top level)")
	segment := fs.String("segment", "", "the step is one of this segment's (default: the top-level sequence; with --cart, the segment that cart would be put in)")
	locale := fs.String("locale", "", "customer locale to render for (es, es-MX, de-CH...): picks the translation and how money and dates are written (default: the sample's, or the --cart customer's); all: the default files and every translation of the template")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (flags come as --name value)", fs.Arg(0))}
	}
	if *stepName == "" {
		var set []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "config", "store", "cart", "segment": // they choose what is listed
			default:
				set = append(set, "--"+f.Name)
			}
		})
		if len(set) > 0 {
			return usageError{fmt.Errorf("%s: needs --step (without it, preview lists the steps)", strings.Join(set, ", "))}
		}
	}
	cfg, src, r, err := load(*cfgPath)
	if err != nil {
		return fmt.Errorf("config %s is invalid:\n%w", src, err)
	}
	var ev *recovery.Event
	if *cartFile != "" {
		raw, err := os.ReadFile(*cartFile)
		if err != nil {
			return err
		}
		e, err := generic.Parse(previewEvent(raw))
		if err != nil {
			return fmt.Errorf("%s: %w", *cartFile, err)
		}
		ev = &e
	}
	// the store renders as serve would: --store, else the cart's own
	store := "default" // the generic platform's store when an event names none
	if ev != nil {
		store = ev.Store
	}
	if *storeID != "" {
		store = *storeID
	}
	if *storeID != "" || ev != nil {
		if !recovery.ValidStore(store) || !cfg.KnownStore(store) {
			flagName := "--store"
			if *storeID == "" {
				flagName = "--cart"
			}
			return usageError{fmt.Errorf("%s: store %q is not a configured store (%s): its webhooks get 404", flagName, store, strings.Join(cfg.StoreIDs(), ", "))}
		}
		rs, err := storeRenderers(cfg, r)
		if err != nil {
			return err
		}
		if x, ok := rs[store]; ok {
			r = x
		} else if x, ok := rs[config.CatchAll]; ok && !slices.Contains(cfg.StoreIDs(), store) {
			r = x
		}
		cfg = cfg.ForStore(store)
	}
	pb := cfg.Playbook()
	seg := *segment
	switch {
	case seg == recovery.DefaultSegment:
		seg = ""
	case seg != "":
		if _, ok := pb.Segment(seg); !ok {
			return usageError{fmt.Errorf("--segment: %q is not a segment of %s (%s)", seg, cmp.Or(*storeID, "the configuration"), strings.Join(segmentNames(pb), ", "))}
		}
	case ev != nil:
		ev.Store = store
		seg = pb.Choose(*ev, false)
		fmt.Fprintf(stderr, "this cart (store %s) is put in %s at its first event (a returning customer may differ)\n", store, cmp.Or(seg, "the top-level sequence"))
	}
	if *stepName == "" {
		if *segment != "" || ev != nil {
			head := "the top-level sequence"
			if seg != "" {
				head = "segment " + seg
			}
			return listSequence(stdout, head+" of "+cfg.Store.Name, pb.Sequence(seg), r)
		}
		return listSteps(stdout, cfg, src, r)
	}
	steps := pb.Sequence(seg)
	idx := slices.IndexFunc(steps, func(s recovery.Step) bool { return s.Name == *stepName })
	if idx < 0 {
		where := "the sequence"
		if seg != "" {
			where = "segment " + seg
		}
		names := make([]string, len(steps))
		for i, s := range steps {
			names[i] = s.Name
		}
		return usageError{fmt.Errorf("--step: %q is not a step of %s (%s)", *stepName, where, strings.Join(names, ", "))}
	}
	step := steps[idx]
	var variants []recovery.Variant
	if *variantName == previewAll {
		variants = append(variants, step.VariantNamed(config.BaseVariant))
		for _, v := range step.Variants {
			variants = append(variants, step.VariantNamed(v.Name))
		}
	} else {
		v := step.VariantNamed(*variantName)
		if v.Name != *variantName {
			return usageError{fmt.Errorf("--variant: %q is not a variant of step %s (%s, or all)", *variantName, step.Name,
				strings.Join(variantNames(step), ", "))}
		}
		variants = append(variants, v)
	}
	channels := step.Channels
	if *channel != "" {
		if !slices.Contains(step.Channels, recovery.Channel(*channel)) {
			return usageError{fmt.Errorf("--channel: %q is not a channel of step %s (%s)", *channel, step.Name, strings.Join(recovery.ChannelNames(step.Channels), ", "))}
		}
		channels = []recovery.Channel{recovery.Channel(*channel)}
	}

	now := time.Now()
	d := render.SampleData()
	d.Store = render.StoreOf(cfg.Shop())
	d.Step = render.Step{Name: step.Name, Index: idx}
	if ev != nil {
		d.Cart, d.Customer = render.CartOf(ev.Cart.ID, ev.Cart), render.CustomerOf(ev.Customer)
	}
	if *locale != "" && *locale != previewAll {
		d.Customer.Locale = *locale
	}
	// The links as a send makes them (worker.Handler.messages): on
	// http.public_url, signed with a throwaway key of the real length, so
	// they are as long as the real ones (and the SMS counts right) but
	// open nothing.
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	signer := link.New(key)
	base := strings.TrimSuffix(cfg.HTTP.PublicURL, "/")
	d.UnsubscribeURL = base + "/unsubscribe/" + worker.UnsubscribeToken(signer, store, "email", recovery.NormalizeEmail(d.Customer.Email))

	multi := len(variants) > 1 || *locale == previewAll
	for _, v := range variants {
		d.Discount = previewDiscount(v.Discount, now)
		locales := []string{d.Customer.Locale}
		if *locale == previewAll {
			// "" renders the default files
			locales = append([]string{""}, r.Locales(v.Template)...)
		}
		for _, loc := range locales {
			d.Customer.Locale = loc
			name := step.Name + "." + v.Name
			if *locale == previewAll {
				name += "." + cmp.Or(loc, "default")
			}
			info := func(format string, a ...any) {
				if multi {
					fmt.Fprintf(stderr, "[%s] ", name)
				}
				fmt.Fprintf(stderr, format, a...)
			}
			parts := map[string]string{}
			var files []string
			for _, ch := range channels {
				// one click-through link per message, as a send makes them
				d.RecoveryURL = base + "/r/" + signer.ShortToken(link.NewID(), now.Add(recovery.LinkTTL))
				res, err := r.Render(v.Template, []string{string(ch)}, d)
				if err != nil {
					return err
				}
				files = append(files, res.Files...)
				switch ch {
				case "email":
					parts["subject.txt"], parts["email.txt"], parts["email.html"] = res.Subject, res.Text, res.HTML
				case "sms":
					parts["sms.txt"] = res.SMS
				}
			}
			info("locale %q: %s (dates in %s)\n", loc, strings.Join(files, ", "), render.Zone(d))
			if sms, ok := parts["sms.txt"]; ok {
				n, enc := render.SMSSegments(sms)
				info("sms: %d characters, %d %s segment(s)\n", len([]rune(sms)), n, enc)
			}
			if err := writeParts(stdout, *out, name, multi, parts); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeParts prints the parts (headed by their name, with the step,
// variant and locale when several are shown) or writes each to
// dir/name.part.
func writeParts(stdout io.Writer, dir, name string, multi bool, parts map[string]string) error {
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if dir == "" {
			head := k
			if multi {
				head = name + "." + k
			}
			fmt.Fprintf(stdout, "==> %s <==\n%s\n\n", head, parts[k])
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		p := filepath.Join(dir, name+"."+k)
		if err := os.WriteFile(p, []byte(parts[k]), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// previewDiscount is what a send offers: a static code as is; a unique
// code as its prefix and placeholder characters as long as the made ones,
// expiring expires_after from now.
func previewDiscount(dc recovery.Discount, now time.Time) render.Discount {
	if !dc.Unique {
		return render.Discount{Code: dc.Code, Label: dc.Label}
	}
	return render.Discount{Code: dc.Prefix + strings.Repeat("X", recovery.CodeLength), Label: dc.Label,
		ExpiresAt: now.Add(dc.ExpiresAfter).UTC()}
}

// listSteps prints the sequence: each step's delay, channels, template,
// discount and the locales it has translations for, then its A/B
// variants with their weights.
func listSteps(w io.Writer, cfg config.Config, src string, r *render.Renderer) error {
	fmt.Fprintf(w, "steps of %s for %s (links on %s):\n", src, cfg.Store.Name, cfg.HTTP.PublicURL)
	pb := cfg.Playbook()
	if err := listSequence(w, "the top-level sequence (carts no segment takes)", pb.Steps, r); err != nil {
		return err
	}
	for i, sg := range pb.Segments {
		head := fmt.Sprintf("segment %s (segments[%d], when %s)", sg.Name, i, whenSummary(cfg.Segments[i].When))
		if err := listSequence(w, head, sg.Steps, r); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "\npreview one: cartrecovery preview --step NAME [--segment S] [--store ID] [--channel email|sms] [--variant V|all] [--locale L|all] [--cart FILE.json] [--out DIR]")
	return nil
}

// segmentNames are a playbook's segment names, "default" first.
func segmentNames(pb recovery.Playbook) []string {
	out := []string{recovery.DefaultSegment}
	for _, s := range pb.Segments {
		out = append(out, s.Name)
	}
	return out
}

// whenSummary writes a segment's conditions in one line.
func whenSummary(w config.When) string {
	var p []string
	add := func(k string, v any) { p = append(p, fmt.Sprintf("%s %v", k, v)) }
	if w.MinTotal != "" {
		add("total ≥", w.MinTotal)
	}
	if w.MaxTotal != "" {
		add("total <", w.MaxTotal)
	}
	for _, l := range []struct {
		k  string
		vs []string
	}{{"currency", w.Currencies}, {"store", w.Stores}, {"platform", w.Platforms}, {"locale", w.Locales},
		{"country", w.Countries}, {"sku", w.SKUs}, {"product", w.Products}, {"tag", w.Tags}} {
		if len(l.vs) > 0 {
			add(l.k, strings.Join(l.vs, "|"))
		}
	}
	if w.MinItems > 0 {
		add("items ≥", w.MinItems)
	}
	if w.MaxItems > 0 {
		add("items ≤", w.MaxItems)
	}
	for _, c := range []struct{ k, v string }{{"customer", w.Customer}, {"email consent", w.EmailConsent}, {"sms consent", w.SMSConsent}} {
		if c.v != "" && c.v != "any" {
			add(c.k, c.v)
		}
	}
	if len(p) == 0 {
		return "every cart"
	}
	return strings.Join(p, ", ")
}

// listSequence prints one sequence under head.
func listSequence(w io.Writer, head string, steps []recovery.Step, r *render.Renderer) error {
	fmt.Fprintf(w, "\n%s:\n", head)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tDELAY\tCHANNELS\tTEMPLATE\tDISCOUNT\tLOCALES")
	locales := func(tmpl string) string {
		return strings.Join(append([]string{"default"}, r.Locales(tmpl)...), ", ")
	}
	for _, st := range steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, shortDuration(st.Delay), strings.Join(recovery.ChannelNames(st.Channels), "+"),
			st.Template, discountSummary(st.Discount), locales(st.Template))
		if len(st.Variants) == 0 {
			continue
		}
		rest := 100
		for _, v := range st.Variants {
			rest -= v.Weight
		}
		a := st.VariantNamed(config.BaseVariant)
		fmt.Fprintf(tw, "  variant %s\t%d%%\t\t%s\t%s\t%s\n", a.Name, rest, a.Template, discountSummary(a.Discount), locales(a.Template))
		for _, v := range st.Variants {
			v = st.VariantNamed(v.Name)
			fmt.Fprintf(tw, "  variant %s\t%d%%\t\t%s\t%s\t%s\n", v.Name, v.Weight, v.Template, discountSummary(v.Discount), locales(v.Template))
		}
	}
	return tw.Flush()
}

// discountSummary is one line about what a step or variant offers.
func discountSummary(d recovery.Discount) string {
	label := ""
	if d.Label != "" {
		label = fmt.Sprintf(", label %q", d.Label)
	}
	switch {
	case d.Unique:
		off := d.Amount + " off"
		if d.Percent != "" {
			off = d.Percent + "% off"
		}
		return fmt.Sprintf("unique code %s%s, %s, valid %s%s", d.Prefix, strings.Repeat("X", recovery.CodeLength), off,
			shortDuration(d.ExpiresAfter), label)
	case d.Code != "":
		return "code " + d.Code + label
	}
	return "none"
}

// shortDuration writes 1h for 1h0m0s and 1h30m for 1h30m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func variantNames(st recovery.Step) []string {
	out := []string{config.BaseVariant}
	for _, v := range st.Variants {
		out = append(out, v.Name)
	}
	return out
}
