// Package render turns a step's templates and a cart into message parts:
// subject, text and HTML for email, the body for SMS. HTML goes through
// html/template (auto-escaped), the rest through text/template. Templates are
// parsed once at start; errors name file:line.
//
// A template may have translations, chosen by the customer's locale (see
// locale.go for the file names and the fallback chain), and its money and
// date functions write amounts and dates as the customer's locale does, in
// the customer's time zone (see funcs.go).
package render

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	_ "time/tzdata" // customers' zones on hosts without a zoneinfo database

	"golang.org/x/text/language"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Data is what every template receives.
type Data struct {
	Store          Store
	Customer       Customer
	Cart           Cart
	RecoveryURL    string
	Discount       Discount
	UnsubscribeURL string
	Step           Step
}

// Store is the shop the message is sent for. Timezone (an IANA name) is
// where dates are shown when the customer's zone is unknown.
type Store struct{ Name, URL, Address, Timezone string }

// Customer is the recipient. Locale is as the platform sends it ("es-MX",
// "es_MX", "de"); it selects the translation files and how money and dates
// are written. Timezone is an IANA name ("Europe/Madrid").
type Customer struct{ FirstName, Email, Phone, Locale, Timezone string }

// Cart is the abandoned cart. Amounts are decimal strings.
type Cart struct {
	ID       string
	Items    []Item
	Total    string
	Currency string
}

// Item is one cart line.
type Item struct {
	Title    string
	Quantity int
	Price    string
	ImageURL string
	URL      string
}

// Discount is the step's offer; zero when none.
type Discount struct {
	Code      string
	Label     string
	ExpiresAt time.Time
}

// Step identifies the reminder.
type Step struct {
	Name  string
	Index int
}

// Rendered holds the parts of one step's messages.
type Rendered struct {
	Subject, Text, HTML, SMS string
	// Locale is the locale of the translation files used, as their names
	// spell it once canonical ("es-MX", "es"), or "" when the default files
	// were used. Each part follows the fallback chain on its own: when the
	// parts came from different files (an incomplete translation, which
	// Check reports) it is the first part's.
	Locale string
	// Files are the template files rendered, in the order of the parts.
	Files []string
}

// Part suffixes of the template files.
const (
	partSubject = ".subject.tmpl"
	partText    = ".txt.tmpl"
	partHTML    = ".html.tmpl"
	partSMS     = ".sms.tmpl"
)

var allParts = []string{partSubject, partText, partHTML, partSMS}

// channelParts are the parts a channel needs.
func channelParts(channel string) []string {
	switch channel {
	case "email":
		return []string{partSubject, partText, partHTML}
	case "sms":
		return []string{partSMS}
	}
	return nil
}

// Files lists the default template files channel needs for name.
func Files(name, channel string) []string {
	var out []string
	for _, p := range channelParts(channel) {
		out = append(out, name+p)
	}
	return out
}

type executor interface {
	Execute(w *bytes.Buffer, d Data) error
}

type textExec struct{ t *texttemplate.Template }

func (e textExec) Execute(w *bytes.Buffer, d Data) error { return e.t.Execute(w, d) }

type htmlExec struct{ t *htmltemplate.Template }

func (e htmlExec) Execute(w *bytes.Buffer, d Data) error { return e.t.Execute(w, d) }

// tmplFile is one parsed template file. Its master template is never
// executed (html/template cannot Clone after Execute): each locale executes
// a clone whose money and date are bound to that locale.
type tmplFile struct {
	file   string // base name
	dir    string // where it was read
	sms    bool
	text   *texttemplate.Template
	html   *htmltemplate.Template
	clones sync.Map // formatter key → executor
}

func (f *tmplFile) clone(fm *formatter) (executor, error) {
	if f.html != nil {
		t, err := f.html.Clone()
		if err != nil {
			return nil, err
		}
		return htmlExec{t.Funcs(htmltemplate.FuncMap(fm.funcs(false)))}, nil
	}
	t, err := f.text.Clone()
	if err != nil {
		return nil, err
	}
	return textExec{t.Funcs(fm.funcs(f.sms))}, nil
}

// entry is a file as one part of a template in one locale.
type entry struct {
	f      *tmplFile
	locale string // canonical locale of a translation, "" for a default file
}

// maxCachedLocales bounds the locales whose clones are kept. Locales are
// first reduced to those x/text has data for (formatTag: at most
// language.NumCompactTags); past this many, a render clones the files it
// needs without keeping them.
var maxCachedLocales = 64

// Renderer holds every parsed template of a directory. It is safe for
// concurrent use.
type Renderer struct {
	dir   string
	files map[string]*tmplFile        // by file name
	index map[string]map[string]entry // name+part → matchKey ("" default) → file

	mu     sync.Mutex
	cached map[string]bool // formatter keys whose clones are kept
}

// splitName reads a template file name as <name>[.<locale>]<part>. ok is
// false when the part is not subject, txt, html or sms; hasLocale is true
// when the word before the part reads as a language tag.
func splitName(file string) (name, part string, tag language.Tag, hasLocale, ok bool) {
	for _, p := range allParts {
		if strings.HasSuffix(file, p) && len(file) > len(p) {
			name, part, ok = strings.TrimSuffix(file, p), p, true
		}
	}
	if !ok {
		return "", "", language.Und, false, false
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 && localeRE.MatchString(name[i+1:]) {
		if t, ok := parseLocale(name[i+1:]); ok {
			return name[:i], part, t, true, true
		}
	}
	return name, part, language.Und, false, true
}

// Load parses every *.tmpl file in dir. All errors are returned at once:
// parse errors as "path:line: message", and two files that are the same
// translation ("a.es.html.tmpl" and "a.es-ES.html.tmpl").
func Load(dir string) (*Renderer, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tmpl"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("templates.dir: %w", err)
	}
	r := &Renderer{dir: dir, files: map[string]*tmplFile{}, index: map[string]map[string]entry{}, cached: map[string]bool{}}
	var errs []error
	parseFuncs := formatterFor(language.English).funcs(false)
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		file := filepath.Base(path)
		f := &tmplFile{file: file, dir: dir, sms: strings.HasSuffix(file, partSMS)}
		if strings.HasSuffix(file, partHTML) {
			f.html, err = htmltemplate.New(file).Option("missingkey=error").Funcs(htmltemplate.FuncMap(parseFuncs)).Parse(string(src))
		} else {
			f.text, err = texttemplate.New(file).Option("missingkey=error").Funcs(parseFuncs).Parse(string(src))
		}
		if err != nil {
			errs = append(errs, fileLine(dir, err))
			continue
		}
		r.files[file] = f
		name, part, tag, hasLocale, ok := splitName(file)
		if !ok {
			continue
		}
		if hasLocale {
			// also the default file of the template "name.locale"
			r.slot(strings.TrimSuffix(file, part), part)[""] = entry{f: f}
			slot, key := r.slot(name, part), matchKey(tag)
			if prev, dup := slot[key]; dup {
				errs = append(errs, fmt.Errorf("%s and %s are the same translation (%s) of %s%s; keep one",
					filepath.Join(dir, prev.f.file), path, tag, name, part))
				continue
			}
			slot[key] = entry{f: f, locale: tag.String()}
			continue
		}
		r.slot(name, part)[""] = entry{f: f}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// Over makes r a store's templates over the shared ones: each template
// file (a part of a template in one locale) is the store folder's when it
// has one, else the shared one's. It returns r.
func (r *Renderer) Over(shared *Renderer) *Renderer {
	for k, slot := range shared.index {
		own := r.index[k]
		if own == nil {
			own = map[string]entry{}
			r.index[k] = own
		}
		for key, e := range slot {
			if _, ok := own[key]; !ok {
				own[key] = e
			}
		}
	}
	for file, f := range shared.files {
		if _, ok := r.files[file]; !ok {
			r.files[file] = f
		}
	}
	return r
}

// path is where file was read (a store's folder or the shared one).
func (r *Renderer) path(file string) string {
	if f, ok := r.files[file]; ok {
		return filepath.Join(f.dir, file)
	}
	return filepath.Join(r.dir, file)
}

func (r *Renderer) slot(name, part string) map[string]entry {
	m := r.index[name+part]
	if m == nil {
		m = map[string]entry{}
		r.index[name+part] = m
	}
	return m
}

// tmplErrRE matches text/template's "template: NAME:LINE[:COL]: msg".
var tmplErrRE = regexp.MustCompile(`^(?:html/)?template: ([^:]+):(\d+)(?::\d+)?: (.*)$`)

// fileLine rewrites a template error as "dir/file:line: message".
func fileLine(dir string, err error) error {
	msg := err.Error()
	if m := tmplErrRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", filepath.Join(dir, m[1]), m[2], m[3])
	}
	return fmt.Errorf("%s: %s", dir, msg)
}

// clone returns f's executor for fm's locale, made once and kept (up to
// maxCachedLocales locales).
func (r *Renderer) clone(f *tmplFile, fm *formatter) (executor, error) {
	if e, ok := f.clones.Load(fm.key); ok {
		return e.(executor), nil
	}
	r.mu.Lock()
	if e, ok := f.clones.Load(fm.key); ok {
		r.mu.Unlock()
		return e.(executor), nil
	}
	if !r.cached[fm.key] && len(r.cached) >= maxCachedLocales {
		r.mu.Unlock()
		return f.clone(fm)
	}
	defer r.mu.Unlock()
	e, err := f.clone(fm)
	if err != nil {
		return nil, err
	}
	r.cached[fm.key] = true
	f.clones.Store(fm.key, e)
	return e, nil
}

func (r *Renderer) exec(f *tmplFile, fm *formatter, d Data) (string, error) {
	e, err := r.clone(f, fm)
	if err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(f.dir, f.file), err)
	}
	var b bytes.Buffer
	if err := e.Execute(&b, d); err != nil {
		return "", fileLine(f.dir, err)
	}
	return b.String(), nil
}

// pick is the file for part of name along the match keys of a locale's
// chain, then the default file.
func (r *Renderer) pick(name, part string, keys []string) (entry, bool) {
	slot := r.index[name+part]
	for _, k := range keys {
		if e, ok := slot[k]; ok {
			return e, true
		}
	}
	e, ok := slot[""]
	return e, ok
}

var zones sync.Map // IANA name → *time.Location, valid names only

func loadZone(name string) *time.Location {
	name = strings.TrimSpace(name)
	if name == "" || name == "Local" {
		return nil
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zones.Store(name, l)
	return l
}

// Zone is where the dates of d are shown: the customer's time zone, else the
// store's, else UTC (an empty or unknown name counts as none).
func Zone(d Data) *time.Location {
	if l := loadZone(d.Customer.Timezone); l != nil {
		return l
	}
	if l := loadZone(d.Store.Timezone); l != nil {
		return l
	}
	return time.UTC
}

var spaces = regexp.MustCompile(`\s+`)

// Render renders the parts of template name that channels need, each from
// the customer's translation when there is one (the chain is documented in
// locale.go), with money and dates in the customer's locale and the dates in
// the customer's time zone (Zone: d's times are converted to it).
func (r *Renderer) Render(name string, channels []string, d Data) (Rendered, error) {
	keys := matchKeys(d.Customer.Locale)
	return r.render(name, channels, d, formatterFor(formatTag(d.Customer.Locale)), func(part string) (entry, bool) {
		return r.pick(name, part, keys)
	})
}

func (r *Renderer) render(name string, channels []string, d Data, fm *formatter, pick func(part string) (entry, bool)) (Rendered, error) {
	if t := d.Discount.ExpiresAt; !t.IsZero() {
		d.Discount.ExpiresAt = t.In(Zone(d))
	}
	var out Rendered
	for _, ch := range channels {
		parts := channelParts(ch)
		if parts == nil {
			return out, fmt.Errorf("unknown channel %q", ch)
		}
		for _, part := range parts {
			e, ok := pick(part)
			if !ok {
				return out, fmt.Errorf("%s: missing template file", filepath.Join(r.dir, name+part))
			}
			s, err := r.exec(e.f, fm, d)
			if err != nil {
				return out, err
			}
			if len(out.Files) == 0 {
				out.Locale = e.locale
			}
			out.Files = append(out.Files, e.f.file)
			switch part {
			case partSubject:
				out.Subject = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
			case partText:
				out.Text = s
			case partHTML:
				out.HTML = s
			case partSMS:
				out.SMS = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
			}
		}
	}
	return out, nil
}

// Locales lists the locales name has translation files of, as the files
// spell them once canonical, sorted.
func (r *Renderer) Locales(name string) []string {
	seen := map[string]bool{}
	for _, p := range allParts {
		for _, e := range r.index[name+p] {
			if e.locale != "" {
				seen[e.locale] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// Check renders template name for channels with SampleData, once with the
// default files and once with each translation, and reports every problem:
// missing default files, a translation that has some but not all the parts
// of a channel, execution errors (file:line), an empty subject and an SMS
// longer than one segment (for each translation's own SMS file).
func (r *Renderer) Check(name string, channels []string) []error {
	var errs []error
	for _, ch := range channels {
		for _, f := range Files(name, ch) {
			if _, ok := r.files[f]; !ok {
				errs = append(errs, fmt.Errorf("%s: missing template file (needed for %s)", filepath.Join(r.dir, f), ch))
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	sample := SampleData()
	errs = r.checkLocale(name, channels, "", sample)
	for _, loc := range r.Locales(name) {
		d := sample
		d.Customer.Locale = loc
		errs = append(errs, r.checkLocale(name, channels, loc, d)...)
	}
	return errs
}

// checkLocale checks the files of name in locale ("" default) for the
// channels it covers.
func (r *Renderer) checkLocale(name string, channels []string, locale string, d Data) []error {
	var errs []error
	files := func(part string) (entry, bool) {
		for _, e := range r.index[name+part] {
			if e.locale == locale {
				return e, true
			}
		}
		return entry{}, false
	}
	fm := formatterFor(formatTag(d.Customer.Locale))
	for _, ch := range channels {
		var have []entry
		var lack []string
		for _, p := range channelParts(ch) {
			if e, ok := files(p); ok {
				have = append(have, e)
			} else {
				lack = append(lack, p)
			}
		}
		if len(have) == 0 {
			continue // the channel falls back to another locale
		}
		if len(lack) > 0 {
			// the missing files spelled like the ones there
			spelled := strings.TrimSuffix(have[0].f.file, partOf(have[0].f.file))
			var names []string
			for _, p := range lack {
				names = append(names, spelled+p)
			}
			errs = append(errs, fmt.Errorf("%s: the %s translation of %s is incomplete for %s: %s missing (each part would fall back on its own)",
				filepath.Join(have[0].f.dir, have[0].f.file), locale, name, ch, strings.Join(names, ", ")))
			continue
		}
		out, err := r.render(name, []string{ch}, d, fm, files)
		switch {
		case err != nil:
			errs = append(errs, err)
		case ch == "email" && out.Subject == "":
			errs = append(errs, fmt.Errorf("%s: renders an empty subject", r.path(out.Files[0])))
		case ch == "sms":
			if n, enc := SMSSegments(out.SMS); n > 1 {
				errs = append(errs, fmt.Errorf("%s: the sample SMS needs %d %s segments (%d characters); keep it to one",
					r.path(out.Files[0]), n, enc, len([]rune(out.SMS))))
			}
		}
	}
	return errs
}

func partOf(file string) string {
	for _, p := range allParts {
		if strings.HasSuffix(file, p) {
			return p
		}
	}
	return ""
}

// SampleData is a realistic cart used by check and preview: two items, a
// discount, and a recovery link as long as a real signed one.
func SampleData() Data {
	return Data{
		Store:          Store{Name: "My Shop", URL: "https://shop.example", Address: "1 Main St, Town"},
		Customer:       Customer{FirstName: "Ana", Email: "ana@example.com", Phone: "+34600000000", Locale: "en"},
		Cart:           Cart{ID: "c1", Total: "89.85", Currency: "EUR", Items: []Item{{Title: "Organic cotton T-shirt", Quantity: 2, Price: "29.95", ImageURL: "https://shop.example/img/tee.jpg", URL: "https://shop.example/p/tee"}, {Title: "Canvas tote bag", Quantity: 1, Price: "29.95", URL: "https://shop.example/p/tote"}}},
		RecoveryURL:    "https://shop.example/r/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIj",
		Discount:       Discount{Code: "COMEBACK10", Label: "10% off", ExpiresAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		UnsubscribeURL: "https://shop.example/unsubscribe/eyJzIjoiZGVmYXVsdCJ9.c2lnbmF0dXJl",
		Step:           Step{Name: "second-reminder", Index: 1},
	}
}

// StoreOf is the template data of a shop.
func StoreOf(s recovery.Shop) Store {
	return Store{Name: s.Name, URL: s.URL, Address: s.Address, Timezone: s.Timezone}
}

// CartOf is the template data of cart id's content: one mapping for a
// send and a preview.
func CartOf(id string, c recovery.Cart) Cart {
	out := Cart{ID: id, Total: c.Total, Currency: c.Currency}
	for _, it := range c.Items {
		out.Items = append(out.Items, Item{Title: it.Title, Quantity: it.Quantity, Price: it.Price, ImageURL: it.ImageURL, URL: it.URL})
	}
	return out
}

// CustomerOf is the template data of a customer.
func CustomerOf(c recovery.Customer) Customer {
	return Customer{FirstName: c.FirstName, Email: c.Email, Phone: c.Phone, Locale: c.Locale, Timezone: c.Timezone}
}
