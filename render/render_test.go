package render

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func load(t *testing.T) *Renderer {
	t.Helper()
	r, err := Load("../templates")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGolden renders the shipped steps for the sample cart in each shipped
// language ("" is the default, English): every part has a golden file,
// reviewed when it changes (go test ./render -update).
func TestGolden(t *testing.T) {
	r := load(t)
	for _, locale := range []string{"", "es", "de", "fr"} {
		for _, step := range []string{"first-reminder", "second-reminder", "last-chance"} {
			d := SampleData()
			if step != "second-reminder" {
				d.Discount = Discount{}
			}
			name := step
			if locale != "" {
				d.Customer.Locale, name = locale, step+"."+locale
			}
			out, err := r.Render(step, []string{"email", "sms"}, d)
			if err != nil {
				t.Fatal(err)
			}
			if out.Locale != locale {
				t.Errorf("%s for %q rendered from %v", step, locale, out.Files)
			}
			for part, got := range map[string]string{"subject": out.Subject, "txt": out.Text, "html": out.HTML, "sms": out.SMS} {
				path := filepath.Join("testdata", "golden", name+"."+part)
				if *update {
					_ = os.MkdirAll(filepath.Dir(path), 0o755)
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./render -update)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from %s (go test ./render -update after reviewing):\n%s", part, path, got)
				}
			}
			if n, enc := SMSSegments(out.SMS); n != 1 || enc != "GSM-7" {
				t.Errorf("%s sms: %d %s segments (%d chars): %q", name, n, enc, len(out.SMS), out.SMS)
			}
		}
	}
}

func TestDefaultTemplatesContent(t *testing.T) {
	r := load(t)
	d := SampleData()
	out, err := r.Render("second-reminder", []string{"email", "sms"}, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Hi Ana,", "Organic cotton T-shirt", "€29.95", "€89.85", "COMEBACK10", d.RecoveryURL, d.UnsubscribeURL, "1 Main St, Town"} {
		if !strings.Contains(out.Text, want) || !strings.Contains(out.HTML, want) {
			t.Errorf("text or html lacks %q", want)
		}
	}
	if !strings.Contains(out.SMS, "COMEBACK10") || !strings.Contains(out.SMS, d.RecoveryURL) || !strings.Contains(out.SMS, "My Shop") {
		t.Errorf("sms: %q", out.SMS)
	}
	d.Customer.FirstName = ""
	out, _ = r.Render("first-reminder", []string{"email"}, d)
	if !strings.Contains(out.Text, "Hi there,") || out.Subject != "You left something in your cart" {
		t.Errorf("no first name: %q / %q", out.Subject, out.Text[:20])
	}
	for _, step := range []string{"first-reminder", "second-reminder", "last-chance"} {
		if errs := r.Check(step, []string{"email", "sms"}); len(errs) != 0 {
			t.Errorf("%s: %v", step, errs)
		}
	}
}

func TestEscaping(t *testing.T) {
	r := load(t)
	d := SampleData()
	d.Cart.Items[0].Title = `<script>alert("x")</script>`
	d.Customer.FirstName = `<b>Eve</b>`
	out, err := r.Render("first-reminder", []string{"email"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.HTML, "<script>") || strings.Contains(out.HTML, "<b>Eve") || !strings.Contains(out.HTML, "&lt;script&gt;") {
		t.Error("HTML part is not escaped")
	}
	if !strings.Contains(out.Text, `<script>alert("x")</script>`) {
		t.Error("text part should show the title as is")
	}
	d.RecoveryURL = `javascript:alert(1)`
	out, _ = r.Render("first-reminder", []string{"email"}, d)
	if strings.Contains(out.HTML, `href="javascript:`) {
		t.Error("unsafe URL reached an href")
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) { _ = os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644) }
	write("a.subject.tmpl", "Hi {{.Customer.FirstName}}")
	write("a.txt.tmpl", "line 1\nline 2\n{{if .Cart.ID}}unclosed\n")
	write("a.html.tmpl", "<p>\n\n{{.Nope}</p>")
	_, err := Load(dir)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{filepath.Join(dir, "a.txt.tmpl") + ":", filepath.Join(dir, "a.html.tmpl") + ":3:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// execution errors and missing files are found by Check
	write("a.txt.tmpl", "ok")
	write("a.html.tmpl", "<p>\n{{.Cart.Nope}}</p>")
	write("a.sms.tmpl", strings.Repeat("x", 161))
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	errs := r.Check("a", []string{"email", "sms"})
	joined := ""
	for _, e := range errs {
		joined += e.Error() + "\n"
	}
	if !strings.Contains(joined, "a.html.tmpl:2:") || !strings.Contains(joined, "a.sms.tmpl: the sample SMS needs 2 GSM-7 segments") {
		t.Errorf("check: %s", joined)
	}
	if errs := r.Check("b", []string{"email"}); len(errs) != 3 || !strings.Contains(errs[0].Error(), "b.subject.tmpl: missing") {
		t.Errorf("missing files: %v", errs)
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct{ amount, cur, want string }{
		{"59.90", "EUR", "€59.90"}, {"59.9", "EUR", "€59.90"}, {"59", "USD", "$59.00"},
		{"1234.5", "USD", "$1,234.50"}, {"1234567.89", "GBP", "£1,234,567.89"},
		{"1000", "JPY", "¥1,000"}, {"1000.00", "JPY", "¥1,000"},
		// rounded half away from zero to the currency's digits (these four were
		// returned as given before locales: "12.5 JPY", "0.005 EUR"...), and
		// CLDR's space after a prefix symbol ending in a letter
		{"12.5", "JPY", "¥13"}, {"0.005", "EUR", "€0.01"}, {"-0.005", "EUR", "-€0.01"},
		{"1.234", "KWD", "KWD\u00a01.234"}, {"59.90", "CHF", "CHF\u00a059.90"}, {"-5.00", "EUR", "-€5.00"},
		{"5", "XYZ", "5.00\u00a0XYZ"}, {"5", "cad", "CA$5.00"},
		{"abc", "EUR", "abc EUR"}, {"1e3", "EUR", "1e3 EUR"}, {"007.10", "", "7.10"}, {"", "EUR", "EUR"},
	} {
		if got := Money(tc.amount, tc.cur); got != tc.want {
			t.Errorf("Money(%q, %q) = %q, want %q", tc.amount, tc.cur, got, tc.want)
		}
	}
}

func TestSMSSegments(t *testing.T) {
	for _, tc := range []struct {
		s   string
		n   int
		enc string
	}{
		{strings.Repeat("a", 160), 1, "GSM-7"}, {strings.Repeat("a", 161), 2, "GSM-7"},
		{strings.Repeat("€", 80), 1, "GSM-7"}, {strings.Repeat("€", 81), 2, "GSM-7"},
		{"hi “there”", 1, "UCS-2"}, {strings.Repeat("é", 160), 1, "GSM-7"},
		{strings.Repeat("ç", 70), 1, "UCS-2"}, {strings.Repeat("ç", 71), 2, "UCS-2"},
	} {
		if n, enc := SMSSegments(tc.s); n != tc.n || enc != tc.enc {
			t.Errorf("%.20q: %d %s, want %d %s", tc.s, n, enc, tc.n, tc.enc)
		}
	}
}
