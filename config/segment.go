package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-viper/mapstructure/v2"
	"go.yaml.in/yaml/v3"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Segment is a sequence for the carts its conditions match (segments[i]).
// Segments are tried in order; the first whose conditions a cart meets at
// its first event is the cart's for good; a cart no segment matches runs
// the top-level sequence.
type Segment struct {
	Name     string `mapstructure:"name"`
	When     When   `mapstructure:"when"`
	Sequence []Step `mapstructure:"sequence"`
	// HoldoutPercent overrides rules.holdout_percent for the segment's
	// customers (unset: the rule's).
	HoldoutPercent *int `mapstructure:"holdout_percent"`
}

// When are a segment's conditions: every one set must hold, a list holds
// when any of its values does, and an empty when matches every cart.
type When struct {
	MinTotal     string   `mapstructure:"min_total"`  // decimal, inclusive, in the cart's currency
	MaxTotal     string   `mapstructure:"max_total"`  // decimal, exclusive
	Currencies   []string `mapstructure:"currencies"` // ISO 4217
	MinItems     int      `mapstructure:"min_items"`  // quantities added up, inclusive
	MaxItems     int      `mapstructure:"max_items"`  // inclusive; 0 no bound
	Customer     string   `mapstructure:"customer"`   // any | new | returning
	Stores       []string `mapstructure:"stores"`
	Platforms    []string `mapstructure:"platforms"`
	Locales      []string `mapstructure:"locales"`   // "es" matches es-ES, es-MX…
	Countries    []string `mapstructure:"countries"` // ISO 3166-1 alpha-2, billing
	SKUs         []string `mapstructure:"skus"`
	Products     []string `mapstructure:"products"` // platform product ids
	Tags         []string `mapstructure:"tags"`
	EmailConsent string   `mapstructure:"email_consent"` // any | yes | no
	SMSConsent   string   `mapstructure:"sms_consent"`   // any | yes | no
}

// Domain is the condition as the domain evaluates it.
func (w When) Domain() recovery.Condition {
	return recovery.Condition{MinTotal: w.MinTotal, MaxTotal: w.MaxTotal, Currencies: w.Currencies, MinItems: w.MinItems,
		MaxItems: w.MaxItems, Customer: w.Customer, Stores: w.Stores, Platforms: w.Platforms, Locales: w.Locales,
		Countries: w.Countries, SKUs: w.SKUs, Products: w.Products, Tags: w.Tags, EmailConsent: w.EmailConsent,
		SMSConsent: w.SMSConsent}
}

// StoreConfig overrides the top level for one store (stores.<id>): what it
// leaves empty is the top level's. Its sequence and segments, when set,
// replace the top level's whole (segments: [] for none).
type StoreConfig struct {
	Name         string    `mapstructure:"name"`
	EmailFrom    string    `mapstructure:"email_from"`    // the store's sender; else email.from
	SMSFrom      string    `mapstructure:"sms_from"`      // its SMS sender: E.164 number or MG… SID; else sms.twilio's
	SMSHelpText  string    `mapstructure:"sms_help_text"` // the answer to HELP sent to sms_from
	URL          string    `mapstructure:"url"`
	Address      string    `mapstructure:"address"`
	Timezone     string    `mapstructure:"timezone"`
	AllowedHosts []string  `mapstructure:"allowed_hosts"`
	Templates    Templates `mapstructure:"templates"` // its folder; a template part it lacks comes from templates.dir
	Platforms    Platforms `mapstructure:"platforms"` // secrets and API credentials of this store
	Sequence     []Step    `mapstructure:"sequence"`
	Segments     []Segment `mapstructure:"segments"`
}

// CatchAll is the stores key whose settings serve every store not listed;
// without it, webhooks of a store not listed are refused (404) once any
// store is.
const CatchAll = "*"

// StoreIDs lists the configured store ids (CatchAll included), sorted.
func (c Config) StoreIDs() []string {
	ids := make([]string, 0, len(c.Stores))
	for id := range c.Stores {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// KnownStore reports whether webhooks of store id are taken: any store
// when none is configured, else a listed one, or any with a catch-all.
func (c Config) KnownStore(id string) bool {
	if len(c.Stores) == 0 {
		return true
	}
	_, ok := c.Stores[id]
	_, all := c.Stores[CatchAll]
	return ok || all
}

// ForStore is the configuration store id runs with: the top level with
// the store's overrides (the catch-all's for a store not listed).
func (c Config) ForStore(id string) Config {
	o, listed := c.Stores[id]
	if !listed {
		var all bool
		if o, all = c.Stores[CatchAll]; !all {
			c.Stores = nil
			return c
		}
	}
	out := c
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&out.Store.Name, o.Name)
	set(&out.Store.URL, o.URL)
	set(&out.Store.Address, o.Address)
	set(&out.Store.Timezone, o.Timezone)
	set(&out.StoreEmailFrom, o.EmailFrom)
	set(&out.StoreSMSFrom, o.SMSFrom)
	set(&out.SMS.HelpText, o.SMSHelpText)
	if o.AllowedHosts != nil {
		out.Store.AllowedHosts = o.AllowedHosts
	}
	if o.Templates.Dir != "" {
		out.StoreTemplates = o.Templates.Dir
	}
	own := ""
	if listed && id != CatchAll {
		// a listed store's APIs are its own: the top level's answer for
		// another store (webhook secrets, and what a platform's stores
		// share, are inherited)
		own = id
	}
	out.Platforms = out.Platforms.forStore(o.Platforms, own)
	if len(o.Sequence) > 0 { // empty or left out: the top level's
		out.Sequence = o.Sequence
	}
	if o.Segments != nil {
		out.Segments = o.Segments
	}
	out.Stores = nil
	return out
}

// Playbook is the sequence and the segments as the domain runs them.
func (c Config) Playbook() recovery.Playbook {
	pb := recovery.Playbook{Steps: domainSteps(c.Sequence)}
	for _, s := range c.Segments {
		h := -1
		if s.HoldoutPercent != nil {
			h = *s.HoldoutPercent
		}
		pb.Segments = append(pb.Segments, recovery.Segment{Name: s.Name, When: s.When.Domain(), Steps: domainSteps(s.Sequence), Holdout: h})
	}
	return pb
}

// Playbooks are the playbooks by store id: "" for every store not
// configured on its own (the catch-all's, when set), and one per store
// listed.
func (c Config) Playbooks() map[string]recovery.Playbook {
	out := map[string]recovery.Playbook{"": c.ForStore(CatchAll).Playbook()}
	for id := range c.Stores {
		if id != CatchAll {
			out[id] = c.ForStore(id).Playbook()
		}
	}
	return out
}

// splitStores takes the stores map out of a config file before viper reads
// the rest: store ids hold dots (shop-a.myshopify.com), which viper would
// read as nested keys, and capitals, which it would fold. The map is
// decoded here with the same rules as every other key.
func splitStores(raw []byte) (rest []byte, stores map[string]StoreConfig, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return raw, nil, nil // viper reports what is wrong with it
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "stores" {
			continue
		}
		var m map[string]any
		if err := top.Content[i+1].Decode(&m); err != nil {
			return nil, nil, fmt.Errorf("stores: must map store ids to their settings: %v", err)
		}
		top.Content = slices.Delete(top.Content, i, i+2)
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		if err := enc.Encode(&doc); err != nil {
			return nil, nil, err
		}
		stores, err := decodeStores(m)
		return b.Bytes(), stores, err
	}
	return raw, nil, nil
}

func decodeStores(m map[string]any) (map[string]StoreConfig, error) {
	out := map[string]StoreConfig{}
	var errs []string
	for id, v := range m {
		// a WooCommerce shop on a port is named host_port (its webhooks'
		// source); host:port is taken for it
		if h, port, ok := strings.Cut(id, ":"); ok && h != "" && port != "" && !strings.Contains(port, ":") {
			id = h + "_" + port
		}
		if id != CatchAll && !recovery.ValidStore(id) {
			errs = append(errs, fmt.Sprintf("stores.%s: not a store id (1-100 characters of A-Z a-z 0-9 . _ -, or %q for every other store)", recovery.Clip(id, 100), CatchAll))
			continue
		}
		var sc StoreConfig
		if v != nil {
			dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
				Result: &sc, ErrorUnused: true, WeaklyTypedInput: true,
				DecodeHook: mapstructure.ComposeDecodeHookFunc(durationHook, mapstructure.StringToSliceHookFunc(",")),
			})
			if err == nil {
				err = dec.Decode(v)
			}
			if err != nil {
				for _, l := range strings.Split(cleanDecodeError(err, nil).Error(), "\n") {
					if strings.Contains(l, ": ") && !strings.HasPrefix(l, "has invalid keys") {
						errs = append(errs, "stores."+id+"."+l)
					} else {
						errs = append(errs, "stores."+id+": "+l)
					}
				}
				continue
			}
		}
		for i := range sc.Sequence {
			if sc.Sequence[i].Template == "" {
				sc.Sequence[i].Template = sc.Sequence[i].Name
			}
		}
		defaultTemplates(sc.Segments)
		out[id] = sc
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return out, nil
}

// defaultTemplates gives each segment step without a template its name.
func defaultTemplates(segs []Segment) {
	for i := range segs {
		for j := range segs[i].Sequence {
			if segs[i].Sequence[j].Template == "" {
				segs[i].Sequence[j].Template = segs[i].Sequence[j].Name
			}
		}
	}
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	countryRE  = regexp.MustCompile(`^[A-Za-z]{2}$`)
	localeRE   = regexp.MustCompile(`^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$`)
)

// platformNames are the platforms a segment may name.
var platformNames = platforms.Names()

// idsOnly reports whether the platform name's cart webhooks carry ids
// only, and its title.
func idsOnly(name string) (string, bool) {
	a, ok := platforms.Lookup(name)
	if !ok {
		return "", false
	}
	i, ok := a.(platform.IDsOnly)
	return a.Title(), ok && i.IDsOnly()
}

// templateDirs are where the templates of c are looked for: the store's
// own folder first, then templates.dir.
func (c Config) templateDirs() []string {
	if c.StoreTemplates != "" {
		return []string{c.StoreTemplates, c.Templates.Dir}
	}
	return []string{c.Templates.Dir}
}

// validateSegments checks c.Segments; prefix is "" at the top level,
// "stores.<id>." for a store's own.
func (c Config) validateSegments(prefix string, bad func(key, format string, a ...any)) {
	names := map[string]int{}
	catchAll := -1
	for i, sg := range c.Segments {
		k := fmt.Sprintf("%ssegments[%d]", prefix, i)
		if !recovery.ValidSegmentName(sg.Name) {
			bad(k+".name", "%q must be 1-40 lower-case letters, digits, - and _ (and not %q)", sg.Name, recovery.DefaultSegment)
		} else if j, dup := names[sg.Name]; dup {
			bad(k+".name", "%q is already the name of %ssegments[%d]", sg.Name, prefix, j)
		} else {
			names[sg.Name] = i
		}
		if catchAll >= 0 {
			bad(k, "is never chosen: %ssegments[%d] before it has no conditions and takes every cart", prefix, catchAll)
		} else if sg.When.Domain().IsZero() {
			catchAll = i
		}
		w := sg.When
		wk := k + ".when"
		for _, b := range []struct{ key, v string }{{"min_total", w.MinTotal}, {"max_total", w.MaxTotal}} {
			if b.v != "" && !plainDecimal(b.v) {
				bad(wk+"."+b.key, "%q must be a non-negative decimal such as \"100\" or \"49.99\" (in the cart's currency)", b.v)
			}
		}
		if plainDecimal(w.MinTotal) && plainDecimal(w.MaxTotal) {
			lo, _ := new(big.Rat).SetString(w.MinTotal)
			hi, _ := new(big.Rat).SetString(w.MaxTotal)
			if lo.Cmp(hi) >= 0 {
				bad(wk+".max_total", "%s must be greater than min_total %s (min is inclusive, max exclusive)", w.MaxTotal, w.MinTotal)
			}
		}
		for j, cur := range w.Currencies {
			if !currencyRE.MatchString(cur) {
				bad(fmt.Sprintf("%s.currencies[%d]", wk, j), "%q must be an ISO 4217 code in capitals, like EUR", cur)
			}
		}
		if w.MinItems < 0 {
			bad(wk+".min_items", "%d must not be negative", w.MinItems)
		}
		if w.MaxItems < 0 || w.MaxItems > 0 && w.MaxItems < w.MinItems {
			bad(wk+".max_items", "%d must be 0 (no bound) or at least min_items (%d)", w.MaxItems, w.MinItems)
		}
		switch w.Customer {
		case "", recovery.CustomerAny, recovery.CustomerNew, recovery.CustomerReturning:
		default:
			bad(wk+".customer", "%q is not one of any, new, returning", w.Customer)
		}
		for _, b := range []struct{ key, v string }{{"email_consent", w.EmailConsent}, {"sms_consent", w.SMSConsent}} {
			switch b.v {
			case "", recovery.ConsentAny, recovery.ConsentYes, recovery.ConsentNo:
			default:
				bad(wk+"."+b.key, "%q is not one of any, yes, no", b.v)
			}
		}
		for j, st := range w.Stores {
			if !recovery.ValidStore(st) {
				bad(fmt.Sprintf("%s.stores[%d]", wk, j), "%q is not a store id", st)
			}
		}
		for j, p := range w.Platforms {
			if !slices.Contains(platformNames, p) {
				bad(fmt.Sprintf("%s.platforms[%d]", wk, j), "%q is not one of %s", p, strings.Join(platformNames, ", "))
			}
		}
		for j, l := range w.Locales {
			if !localeRE.MatchString(l) {
				bad(fmt.Sprintf("%s.locales[%d]", wk, j), "%q is not a language tag like es or es-MX", l)
			}
		}
		for j, cc := range w.Countries {
			if !countryRE.MatchString(cc) {
				bad(fmt.Sprintf("%s.countries[%d]", wk, j), "%q must be a two-letter country code like ES", cc)
			}
		}
		for _, l := range []struct {
			key string
			vs  []string
		}{{"skus", w.SKUs}, {"products", w.Products}, {"tags", w.Tags}} {
			for j, v := range l.vs {
				if strings.TrimSpace(v) == "" || len(v) > 200 {
					bad(fmt.Sprintf("%s.%s[%d]", wk, l.key, j), "must be 1-200 characters")
				}
			}
		}
		// some platforms' webhooks (BigCommerce's) carry the cart's id
		// only: no content, no currency, no customer (the cart is fetched
		// at send time)
		fromEvent := w.MinTotal != "" || w.MaxTotal != "" || w.MinItems > 0 || w.MaxItems > 0 || len(w.SKUs)+len(w.Products)+len(w.Tags) > 0 ||
			len(w.Currencies)+len(w.Locales)+len(w.Countries) > 0 || w.Customer == recovery.CustomerReturning ||
			w.EmailConsent == recovery.ConsentYes || w.SMSConsent == recovery.ConsentYes
		if fromEvent && len(w.Platforms) > 0 && !slices.ContainsFunc(w.Platforms, func(p string) bool { _, ok := idsOnly(p); return !ok }) {
			title, _ := idsOnly(w.Platforms[0])
			bad(wk, "is never met: it reads what the webhook says of the cart or the customer, and %s webhooks carry ids only (the cart is fetched at send time); a %s segment can use stores and platforms", title, title)
		}
		if h := sg.HoldoutPercent; h != nil && (*h < 0 || *h > 50) {
			bad(k+".holdout_percent", "%d must be between 0 and 50", *h)
		}
		validateSequence(k+".sequence", sg.Sequence, c.templateDirs(), bad)
		if len(sg.Sequence) > 0 && c.Rules.MaxCartAge >= time.Hour && c.Rules.MaxCartAge < sg.Sequence[0].Delay {
			bad(k+".sequence[0].delay", "(%s) is longer than rules.max_cart_age (%s): no cart could ever be reminded", sg.Sequence[0].Delay, c.Rules.MaxCartAge)
		}
	}
}

// validateStores checks each store's overrides, as the store will run.
func (c Config) validateStores(bad func(key, format string, a ...any)) {
	if len(c.Stores) == 0 {
		return
	}
	var top []string
	c.validateTopPlatforms(func(key, format string, a ...any) { top = append(top, key+": "+fmt.Sprintf(format, a...)) })
	for _, id := range c.StoreIDs() {
		o, rc := c.Stores[id], c.ForStore(id)
		k := "stores." + id
		if o.EmailFrom != "" {
			if a, err := mail.ParseAddress(o.EmailFrom); err != nil || a.Address == "" {
				bad(k+".email_from", "%q is not an address like \"Shop A <hello@shop-a.example>\"", o.EmailFrom)
			}
		}
		if n := utf8.RuneCountInString(o.SMSHelpText); n > 320 {
			bad(k+".sms_help_text", "is %d characters: at most 320 (two SMS segments)", n)
		}
		if o.SMSHelpText != "" && o.SMSFrom == "" {
			bad(k+".sms_help_text", "answers HELP sent to the store's own number: set sms_from too")
		}
		if f := o.SMSFrom; f != "" && !e164RE.MatchString(f) && !mgRE.MatchString(f) {
			bad(k+".sms_from", "%q must be an E.164 number such as +15005550006 or a Messaging Service SID (MG and 32 hex digits)", f)
		}
		if o.URL != "" {
			if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(k+".url", "%q must be an absolute http(s) URL", maskURL(o.URL))
			}
		}
		if o.Timezone != "" {
			if _, err := time.LoadLocation(o.Timezone); err != nil {
				bad(k+".timezone", "%q is not an IANA time zone (e.g. Europe/Madrid)", o.Timezone)
			}
		}
		for i, h := range o.AllowedHosts {
			if !hostRE.MatchString(strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(h), "."), "*.")) {
				bad(fmt.Sprintf("%s.allowed_hosts[%d]", k, i), "%q must be a host name such as checkout.example.com", h)
			}
		}
		if d := o.Templates.Dir; d != "" {
			if st, err := os.Stat(d); err != nil || !st.IsDir() {
				bad(k+".templates.dir", "%q is not a directory", d)
			}
		}
		// the store's platform settings as it runs them; a problem the top
		// level has already is reported there once
		rc.validatePlatformsFor(func(key, format string, a ...any) {
			msg := key + ": " + fmt.Sprintf(format, a...)
			if !slices.Contains(top, msg) {
				bad(k+"."+key, format, a...)
			}
		}, ownPlatforms(id, o.Platforms))
		if len(o.Sequence) > 0 {
			validateSequence(k+".sequence", o.Sequence, rc.templateDirs(), bad)
			if c.Rules.MaxCartAge >= time.Hour && c.Rules.MaxCartAge < o.Sequence[0].Delay {
				bad(k+".sequence[0].delay", "(%s) is longer than rules.max_cart_age (%s): no cart could ever be reminded", o.Sequence[0].Delay, c.Rules.MaxCartAge)
			}
		}
		if o.Segments != nil {
			rc.validateSegments(k+".", bad)
		}
	}
}

// Notes are what `check` points out without refusing the configuration:
// segments whose conditions overlap (a cart meeting both gets the first).
func (c Config) Notes() []string {
	var out []string
	note := func(prefix string, segs []Segment) {
		for i := range segs {
			for j := i + 1; j < len(segs); j++ {
				a, b := segs[i].When.Domain(), segs[j].When.Domain()
				if a.IsZero() {
					break
				}
				if b.IsZero() {
					continue // a catch-all last takes what the others leave: that is its point
				}
				if a.Overlap(b) {
					out = append(out, fmt.Sprintf("%ssegments[%d] (%s) and %ssegments[%d] (%s) can match the same cart: the first one wins it",
						prefix, i, segs[i].Name, prefix, j, segs[j].Name))
				}
			}
		}
	}
	note("", c.Segments)
	lower := map[string]string{}
	for _, id := range c.StoreIDs() {
		if strings.ToLower(id) != id && strings.Contains(id, ".") {
			out = append(out, fmt.Sprintf("stores.%s: %s arrive in lower case; write it %s unless a generic event names it so", id, lowerCaseStores(), strings.ToLower(id)))
		}
		if prev, dup := lower[strings.ToLower(id)]; dup {
			out = append(out, fmt.Sprintf("stores.%s and stores.%s differ only in case: they are two stores", prev, id))
		}
		lower[strings.ToLower(id)] = id
	}
	for _, id := range c.StoreIDs() {
		if c.Stores[id].Segments != nil {
			note("stores."+id+".", c.Stores[id].Segments)
		}
	}
	return out
}

// PlatformNotes are each platform's notes (platform.Noter) at now, for the
// top level and each listed store, each line under its key path: how its
// API is reached, an API version to upgrade. check prints them; serve logs
// them at start.
func (c Config) PlatformNotes(now time.Time) (notes, warnings []string) {
	c.EachPlatform(func(key string, p platform.Config) {
		if n, ok := p.(platform.Noter); ok {
			ns, ws := n.Notes(now)
			for _, line := range ns {
				notes = append(notes, key+": "+line)
			}
			for _, line := range ws {
				warnings = append(warnings, key+": "+line)
			}
		}
	})
	return notes, warnings
}

// EachPlatform calls fn with each platform's settings as the top level and
// then each listed store runs with them, under its key path
// ("platforms.shopify", "stores.<id>.platforms.shopify").
func (c Config) EachPlatform(fn func(key string, p platform.Config)) {
	for _, id := range append([]string{""}, c.StoreIDs()...) {
		prefix, pc := "platforms.", c.Platforms
		if id != "" {
			prefix, pc = "stores."+id+".platforms.", c.ForStore(id).Platforms
		}
		pc.Each(func(name string, p platform.Config) { fn(prefix+name, p) })
	}
}

// lowerCaseStores says which store ids arrive in lower case ("Shopify shop
// domains and WooCommerce hosts").
func lowerCaseStores() string {
	var what []string
	for _, a := range platforms.All() {
		if l, ok := a.(platform.LowerCaseStores); ok {
			what = append(what, l.LowerCaseStores())
		}
	}
	return strings.Join(what, " and ")
}

// ownPlatforms says which platforms a store uses, for the check that its
// unique codes can be registered: those it sets anything of its own for
// (a listed store's id belongs to one platform; the webhook secrets it
// inherits do not make it a store of the others). nil (every platform)
// for the catch-all, or a store that sets none.
func ownPlatforms(id string, q Platforms) func(string) bool {
	set := q.set()
	anySet := false
	for _, v := range set {
		anySet = anySet || v
	}
	if id == CatchAll || !anySet {
		return nil
	}
	return func(p string) bool { return set[p] }
}

// LogValue is a store's overrides as the start-up log shows them: what it
// sets, every secret masked.
func (s StoreConfig) LogValue() slog.Value {
	var attrs []slog.Attr
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("name", s.Name)
	add("email_from", s.EmailFrom)
	add("sms_from", s.SMSFrom)
	add("sms_help_text", s.SMSHelpText)
	add("url", s.URL)
	add("address", s.Address)
	add("timezone", s.Timezone)
	add("allowed_hosts", strings.Join(s.AllowedHosts, ","))
	add("templates.dir", s.Templates.Dir)
	for _, a := range s.Platforms.logAttrs() {
		a := a.(slog.Attr)
		add(a.Key, a.Value.String())
	}
	var steps []string
	for _, st := range s.Sequence {
		steps = append(steps, st.Name+"@"+st.Delay.String())
	}
	add("sequence", strings.Join(steps, ", "))
	if s.Segments != nil {
		var names []string
		for _, sg := range s.Segments {
			names = append(names, sg.Name)
		}
		attrs = append(attrs, slog.String("segments", "["+strings.Join(names, ", ")+"]"))
	}
	return slog.GroupValue(attrs...)
}
