// Package render turns a step's templates and a cart into message parts:
// subject, text and HTML for email, the body for SMS. HTML goes through
// html/template (auto-escaped), the rest through text/template. Templates are
// parsed once at start; errors name file:line.
package render

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"
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

// Store is the shop the message is sent for.
type Store struct{ Name, URL, Address string }

// Customer is the recipient.
type Customer struct{ FirstName, Email, Phone, Locale string }

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
}

// Part suffixes of the template files.
const (
	partSubject = ".subject.tmpl"
	partText    = ".txt.tmpl"
	partHTML    = ".html.tmpl"
	partSMS     = ".sms.tmpl"
)

// Files lists the template files channel needs for name.
func Files(name, channel string) []string {
	switch channel {
	case "email":
		return []string{name + partSubject, name + partText, name + partHTML}
	case "sms":
		return []string{name + partSMS}
	}
	return nil
}

type executor interface {
	Execute(w *bytes.Buffer, d Data) error
}

type textExec struct{ t *texttemplate.Template }

func (e textExec) Execute(w *bytes.Buffer, d Data) error { return e.t.Execute(w, d) }

type htmlExec struct{ t *htmltemplate.Template }

func (e htmlExec) Execute(w *bytes.Buffer, d Data) error { return e.t.Execute(w, d) }

// Renderer holds every parsed template of a directory.
type Renderer struct {
	dir   string
	parts map[string]executor // by file name
}

// Load parses every *.tmpl file in dir. All parse errors are returned at
// once, each as "path:line: message".
func Load(dir string) (*Renderer, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tmpl"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("templates.dir: %w", err)
	}
	r := &Renderer{dir: dir, parts: map[string]executor{}}
	var errs []error
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		name := filepath.Base(path)
		if strings.HasSuffix(name, partHTML) {
			t, err := htmltemplate.New(name).Option("missingkey=error").Funcs(htmltemplate.FuncMap(funcs)).Parse(string(src))
			if err != nil {
				errs = append(errs, fileLine(dir, err))
				continue
			}
			r.parts[name] = htmlExec{t}
		} else {
			t, err := texttemplate.New(name).Option("missingkey=error").Funcs(funcs).Parse(string(src))
			if err != nil {
				errs = append(errs, fileLine(dir, err))
				continue
			}
			r.parts[name] = textExec{t}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
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

func (r *Renderer) exec(file string, d Data) (string, error) {
	e, ok := r.parts[file]
	if !ok {
		return "", fmt.Errorf("%s: missing template file", filepath.Join(r.dir, file))
	}
	var b bytes.Buffer
	if err := e.Execute(&b, d); err != nil {
		return "", fileLine(r.dir, err)
	}
	return b.String(), nil
}

var spaces = regexp.MustCompile(`\s+`)

// Render renders the parts of template name that channels need.
func (r *Renderer) Render(name string, channels []string, d Data) (Rendered, error) {
	var out Rendered
	var err error
	for _, ch := range channels {
		switch ch {
		case "email":
			var s string
			if s, err = r.exec(name+partSubject, d); err != nil {
				return out, err
			}
			out.Subject = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
			if out.Text, err = r.exec(name+partText, d); err != nil {
				return out, err
			}
			if out.HTML, err = r.exec(name+partHTML, d); err != nil {
				return out, err
			}
		case "sms":
			var s string
			if s, err = r.exec(name+partSMS, d); err != nil {
				return out, err
			}
			out.SMS = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
		default:
			return out, fmt.Errorf("unknown channel %q", ch)
		}
	}
	return out, nil
}

// Check renders template name for channels with SampleData and reports every
// problem: missing files, execution errors (file:line), an empty subject and
// an SMS longer than one segment.
func (r *Renderer) Check(name string, channels []string) []error {
	var errs []error
	for _, ch := range channels {
		for _, f := range Files(name, ch) {
			if _, ok := r.parts[f]; !ok {
				errs = append(errs, fmt.Errorf("%s: missing template file (needed for %s)", filepath.Join(r.dir, f), ch))
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, ch := range channels {
		out, err := r.Render(name, []string{ch}, SampleData())
		switch {
		case err != nil:
			errs = append(errs, err)
		case ch == "email" && out.Subject == "":
			errs = append(errs, fmt.Errorf("%s: renders an empty subject", filepath.Join(r.dir, name+partSubject)))
		case ch == "sms":
			if n, enc := SMSSegments(out.SMS); n > 1 {
				errs = append(errs, fmt.Errorf("%s: the sample SMS needs %d %s segments (%d characters); keep it to one",
					filepath.Join(r.dir, name+partSMS), n, enc, len([]rune(out.SMS))))
			}
		}
	}
	return errs
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
