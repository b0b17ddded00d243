package render

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeSet writes the four parts of template name in locale ("" default),
// each saying which file it is.
func writeSet(t *testing.T, dir, name, locale string) {
	t.Helper()
	for _, p := range []string{"subject", "txt", "html", "sms"} {
		writeFile(t, dir, name, locale, p, fmt.Sprintf("%s %s", or(strings.ReplaceAll(locale, "_", "-"), "default"), p))
	}
}

func writeFile(t *testing.T, dir, name, locale, part, src string) {
	t.Helper()
	file := name + "." + part + ".tmpl"
	if locale != "" {
		file = name + "." + locale + "." + part + ".tmpl"
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestLocaleChain(t *testing.T) {
	for in, want := range map[string][]string{
		"es-MX": {"es-MX", "es-419", "es"}, "es_MX": {"es-MX", "es-419", "es"}, "ES-mx": {"es-MX", "es-419", "es"},
		"ES": {"es"}, " es ": {"es"}, "de-DE": {"de-DE", "de"}, "pt-BR": {"pt-BR", "pt"}, "pt-PT": {"pt-PT", "pt"},
		"en-IE": {"en-IE", "en-001", "en"}, "zh-Hant-TW": {"zh-Hant-TW", "zh-Hant"}, "zh-TW": {"zh-TW", "zh-Hant"},
		"de-CH-1996-u-co-phonebk": {"de-CH", "de"}, "iw": {"he"},
		"": nil, "garbage": nil, "xx": nil, "123": nil, "und": nil, "x-foo": nil, "es--MX": nil,
		strings.Repeat("a", 100): nil,
	} {
		if got := LocaleChain(in); !reflect.DeepEqual(got, want) {
			t.Errorf("LocaleChain(%q) = %q, want %q", in, got, want)
		}
	}
}

// The fallback chain with small template sets: which file Render picks.
func TestRenderPicksLocaleFile(t *testing.T) {
	full := t.TempDir() // default, es, es-MX (spelled es_MX), pt, zh-TW
	for _, l := range []string{"", "es", "es_MX", "pt", "zh-TW"} {
		writeSet(t, full, "a", l)
	}
	esOnly := t.TempDir() // default, es
	writeSet(t, esOnly, "a", "")
	writeSet(t, esOnly, "a", "es")
	ptPT := t.TempDir() // default, pt-PT
	writeSet(t, ptPT, "a", "")
	writeSet(t, ptPT, "a", "pt-PT")
	for _, tc := range []struct {
		dir, locale, want string
	}{
		{full, "es-MX", "es-MX"}, {full, "es_MX", "es-MX"}, {full, "ES-mx", "es-MX"}, {full, "es-mx", "es-MX"},
		{full, "es", "es"}, {full, "ES", "es"}, {full, "es-ES", "es"}, {full, "es-AR", "es"}, {full, "es-US", "es"},
		{esOnly, "es-MX", "es"}, {esOnly, "es_MX", "es"}, {esOnly, "ES", "es"},
		{full, "pt-BR", "pt"}, {full, "pt-PT", "pt"}, {full, "pt", "pt"},
		{ptPT, "pt-BR", ""}, {ptPT, "pt-PT", "pt-PT"}, {ptPT, "pt-AO", "pt-PT"},
		{full, "zh-Hant-TW", "zh-TW"}, {full, "zh-TW", "zh-TW"}, {full, "zh-HK", "zh-TW"}, {full, "zh-CN", ""}, {full, "zh", ""},
		{full, "", ""}, {full, "garbage", ""}, {full, "123", ""}, {full, "und", ""}, {full, "x-foo", ""},
		{full, "en", ""}, {full, "de-DE", ""}, {full, "xx-YY", ""},
	} {
		r, err := Load(tc.dir)
		if err != nil {
			t.Fatal(err)
		}
		d := SampleData()
		d.Customer.Locale = tc.locale
		out, err := r.Render("a", []string{"email", "sms"}, d)
		if err != nil {
			t.Fatal(err)
		}
		label := or(tc.want, "default")
		if out.Locale != tc.want || out.Subject != label+" subject" || out.Text != label+" txt" || out.HTML != label+" html" || out.SMS != label+" sms" {
			t.Errorf("%s in %s: locale %q (%q, %q, %q, %q), want %q", tc.locale, filepath.Base(tc.dir), out.Locale, out.Subject, out.Text, out.HTML, out.SMS, tc.want)
		}
	}
}

// A translation lacking a part: that part follows the chain on its own, and
// Check reports the translation as incomplete.
func TestPartsFallBackOneByOne(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, "a", "")
	writeSet(t, dir, "a", "es")
	writeFile(t, dir, "a", "es-MX", "subject", "es-MX subject")
	writeFile(t, dir, "a", "fr", "sms", "fr sms") // covers sms only: complete
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData()
	d.Customer.Locale = "es-MX"
	out, err := r.Render("a", []string{"email"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if out.Subject != "es-MX subject" || out.Text != "es txt" || out.Locale != "es-MX" ||
		!reflect.DeepEqual(out.Files, []string{"a.es-MX.subject.tmpl", "a.es.txt.tmpl", "a.es.html.tmpl"}) {
		t.Errorf("%+v", out)
	}
	d.Customer.Locale = "fr"
	if out, _ := r.Render("a", []string{"email", "sms"}, d); out.Subject != "default subject" || out.SMS != "fr sms" || out.Locale != "" {
		t.Errorf("fr: %+v", out)
	}
	errs := r.Check("a", []string{"email", "sms"})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), filepath.Join(dir, "a.es-MX.subject.tmpl")+": the es-MX translation of a is incomplete for email: a.es-MX.txt.tmpl, a.es-MX.html.tmpl missing") {
		t.Errorf("check: %v", errs)
	}
	if got := r.Locales("a"); !reflect.DeepEqual(got, []string{"es", "es-MX", "fr"}) {
		t.Errorf("Locales = %q", got)
	}
}

// Check renders every translation: a broken es file is an error with
// file:line, and the SMS segment rule applies to each translation's SMS.
func TestCheckTranslations(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, "a", "")
	writeSet(t, dir, "a", "es")
	writeSet(t, dir, "a", "de")
	writeFile(t, dir, "a", "es", "html", "<p>\n{{.Cart.Nope}}</p>")
	writeFile(t, dir, "a", "de", "subject", "{{/* nothing */}}")
	// á is not GSM-7: 71 characters need two UCS-2 segments
	writeFile(t, dir, "a", "de", "sms", "Rückkehr "+strings.Repeat("á", 62))
	// money in an SMS: plain spaces, so still GSM-7
	writeFile(t, dir, "a", "fr", "sms", `{{money "1234.5" "EUR"}} {{.Store.Name}}`)
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var joined string
	for _, e := range r.Check("a", []string{"email", "sms"}) {
		joined += e.Error() + "\n"
	}
	for _, want := range []string{
		filepath.Join(dir, "a.es.html.tmpl") + ":2:",
		filepath.Join(dir, "a.de.subject.tmpl") + ": renders an empty subject",
		filepath.Join(dir, "a.de.sms.tmpl") + ": the sample SMS needs 2 UCS-2 segments (71 characters)",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("check lacks %q:\n%s", want, joined)
		}
	}
	if strings.Count(joined, "\n") != 3 {
		t.Errorf("check:\n%s", joined)
	}
	d := SampleData()
	d.Customer.Locale = "fr"
	out, _ := r.Render("a", []string{"sms"}, d)
	if out.SMS != "1 234,50 € My Shop" {
		t.Errorf("fr sms: %q", out.SMS)
	}
	if n, enc := SMSSegments(out.SMS); n != 1 || enc != "GSM-7" {
		t.Errorf("fr sms: %d %s", n, enc)
	}
}

func TestLoadRefusesTheSameTranslationTwice(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, "a", "")
	writeFile(t, dir, "a", "es", "html", "x")
	writeFile(t, dir, "a", "es-ES", "html", "y")
	writeFile(t, dir, "a", "zh-TW", "html", "x")
	writeFile(t, dir, "a", "zh-Hant-TW", "html", "y")
	_, err := Load(dir)
	for _, want := range []string{
		filepath.Join(dir, "a.es-ES.html.tmpl") + " and " + filepath.Join(dir, "a.es.html.tmpl") + " are the same translation (es) of a.html.tmpl",
		filepath.Join(dir, "a.zh-Hant-TW.html.tmpl") + " and " + filepath.Join(dir, "a.zh-TW.html.tmpl") + " are the same translation (zh-TW) of a.html.tmpl",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load: %v\nlacks %s", err, want)
		}
	}
}

// A name whose last word is not a language tag is a template of its own.
func TestDottedTemplateNames(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, dir, "promo.v2", "")
	writeSet(t, dir, "promo.v2", "de")
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if errs := r.Check("promo.v2", []string{"email", "sms"}); len(errs) != 0 {
		t.Fatal(errs)
	}
	d := SampleData()
	d.Customer.Locale = "de-AT"
	if out, _ := r.Render("promo.v2", []string{"email"}, d); out.Locale != "de" || out.Subject != "de subject" {
		t.Errorf("%+v", out)
	}
}

func TestMoneyLocales(t *testing.T) {
	const nb = "\u00a0"
	for _, tc := range []struct{ locale, amount, cur, want string }{
		{"de", "1234.5", "EUR", "1.234,50" + nb + "€"},
		{"en-IE", "1234.5", "EUR", "€1,234.50"},
		{"ja", "1234.5", "JPY", "¥1,235"},
		{"en-US", "1234.5", "USD", "$1,234.50"},
		{"fr", "1234.5", "EUR", "1" + nb + "234,50" + nb + "€"},
		{"es", "1234.5", "EUR", "1.234,50" + nb + "€"},
		{"en-GB", "1234.5", "GBP", "£1,234.50"},
		{"de-CH", "1234.5", "CHF", "CHF" + nb + "1’234.50"},
		{"pt-BR", "1234.5", "BRL", "R$" + nb + "1.234,50"},
		{"es-MX", "1234.5", "MXN", "$1,234.50"},
		{"es_MX", "1234.5", "MXN", "$1,234.50"},
		{"it", "1234567.891", "EUR", "1.234.567,89" + nb + "€"},
		{"nl", "1234.5", "EUR", "€" + nb + "1.234,50"},
		{"de-AT", "1234.5", "EUR", "€" + nb + "1" + nb + "234,50"},
		{"pl", "1234.5", "PLN", "1" + nb + "234,50" + nb + "zł"},
		{"hi", "1234567.5", "INR", "₹12,34,567.50"},
		{"ko", "1234.5", "KRW", "₩1,235"},
		{"en-US", "1234.5", "EUR", "€1,234.50"},
		{"en-IE", "5", "USD", "US$5.00"},
		{"fr", "5", "USD", "5,00" + nb + "$US"},
		{"zh-Hant-TW", "1234.5", "TWD", "$1,234.50"},
		// signs, rounding, unknown codes, no currency, not a decimal
		{"de", "-1234.5", "EUR", "-1.234,50" + nb + "€"},
		{"en-US", "-0.005", "USD", "-$0.01"},
		{"sv", "-1234.5", "SEK", "−1" + nb + "234,50" + nb + "kr"},
		{"ja", "-1234.5", "JPY", "-¥1,235"},
		{"de", "0.004", "EUR", "0,00" + nb + "€"},
		{"de", "1234.5", "XYZ", "1.234,50" + nb + "XYZ"},
		{"en-US", "1234.5", "XYZ", "1,234.50" + nb + "XYZ"},
		{"es", "10.5", "VES", "10,50" + nb + "VES"}, // ISO code x/text does not know
		{"de", "1234.5", "", "1.234,50"},
		{"de", "12,50", "EUR", "12,50 EUR"},
		{"ja", "abc", "JPY", "abc JPY"},
		{"de", "1.2345", "KWD", "1,235" + nb + "KWD"},
		// no locale or garbage: English, as before locales
		{"", "1234.5", "EUR", "€1,234.50"}, {"garbage", "1234.5", "EUR", "€1,234.50"}, {"xx-YY", "5", "JPY", "¥5"},
	} {
		if got := FormatMoney(tc.locale, tc.amount, tc.cur); got != tc.want {
			t.Errorf("money(%s, %q, %s) = %q, want %q", tc.locale, tc.amount, tc.cur, got, tc.want)
		}
	}
}

func TestDateLocales(t *testing.T) {
	at := time.Date(2026, 11, 5, 23, 30, 0, 0, time.UTC) // Thursday; Friday 6 November in Madrid
	for _, tc := range []struct{ locale, layout, want string }{
		{"es", "long", "5 de noviembre de 2026"}, {"es", "medium", "5 nov 2026"}, {"es", "short", "5/11/26"},
		{"es", "2 January 2006", "5 noviembre 2026"}, {"es", "Monday, 2 January 2006", "jueves, 5 noviembre 2026"},
		{"de", "long", "5. November 2026"}, {"de", "medium", "05.11.2026"}, {"de", "Mon, 2. Jan 2006", "Do., 5. Nov. 2026"},
		{"fr", "long", "5 novembre 2026"}, {"fr", "medium", "5 nov. 2026"}, {"fr", "Monday 2 January", "jeudi 5 novembre"},
		{"en-US", "long", "November 5, 2026"}, {"en-US", "short", "11/5/26"}, {"en", "long", "November 5, 2026"},
		{"en-GB", "long", "5 November 2026"}, {"en-IE", "short", "05/11/2026"}, {"en-CA", "short", "2026-11-05"},
		{"ja", "long", "2026年11月5日"}, {"ja", "Monday", "木曜日"},
		{"it", "long", "5 novembre 2026"}, {"it", "Monday 2 Jan", "giovedì 5 nov"},
		{"pt-BR", "long", "5 de novembro de 2026"}, {"pt", "medium", "5 de nov. de 2026"},
		{"nl", "long", "5 november 2026"}, {"nl", "short", "05-11-2026"},
		{"pl", "long", "5 November 2026"}, {"pl", "short", "2026-11-05"}, // no table: English names
		{"", "2 January 2006", "5 November 2026"}, {"", "", "5 Nov 2026"}, {"es", "", "5 nov 2026"},
		{"es", "2006-01-02T15:04", "2026-11-05T23:30"},
	} {
		if got := FormatDate(tc.locale, tc.layout, at); got != tc.want {
			t.Errorf("date(%s, %q) = %q, want %q", tc.locale, tc.layout, got, tc.want)
		}
	}
}

// Dates in the customer's zone, else the store's, else UTC, through Render.
func TestRenderDatesInZone(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"subject", "txt", "html"} {
		writeFile(t, dir, "a", "", p, `{{date "long" .Discount.ExpiresAt}}`)
	}
	writeFile(t, dir, "a", "", "sms", `{{date "2 Jan 15:04 MST" .Discount.ExpiresAt}}`)
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 5, 23, 30, 0, 0, time.UTC)
	for _, tc := range []struct{ locale, customerTZ, storeTZ, want, sms string }{
		{"es", "Europe/Madrid", "", "6 de noviembre de 2026", "6 nov 00:30 CET"},
		{"es-MX", "America/Mexico_City", "Europe/Madrid", "5 de noviembre de 2026", "5 nov 17:30 CST"},
		{"de", "", "Europe/Berlin", "6. November 2026", "6 Nov. 00:30 CET"},
		{"de", "Mars/Base", "Europe/Berlin", "6. November 2026", "6 Nov. 00:30 CET"},
		{"fr", "Europe/Paris", "America/New_York", "6 novembre 2026", "6 nov. 00:30 CET"},
		{"en-US", "America/New_York", "", "November 5, 2026", "5 Nov 18:30 EST"},
		{"en-GB", "Europe/London", "", "5 November 2026", "5 Nov 23:30 GMT"},
		{"ja", "Asia/Tokyo", "", "2026年11月6日", "6 11月 08:30 JST"},
		{"it", "Europe/Rome", "", "6 novembre 2026", "6 nov 00:30 CET"},
		{"pt-BR", "America/Sao_Paulo", "", "5 de novembro de 2026", "5 nov. 20:30 -03"},
		{"nl", "", "", "5 november 2026", "5 nov. 23:30 UTC"},
		{"nl", "Local", "nowhere", "5 november 2026", "5 nov. 23:30 UTC"},
		{"", "Australia/Sydney", "", "November 6, 2026", "6 Nov 10:30 AEDT"},
	} {
		d := SampleData()
		d.Customer.Locale, d.Customer.Timezone, d.Store.Timezone = tc.locale, tc.customerTZ, tc.storeTZ
		d.Discount.ExpiresAt = at
		out, err := r.Render("a", []string{"email", "sms"}, d)
		if err != nil {
			t.Fatal(err)
		}
		if out.Subject != tc.want || out.Text != tc.want || out.HTML != tc.want || out.SMS != tc.sms {
			t.Errorf("%s %s/%s: %q %q %q", tc.locale, tc.customerTZ, tc.storeTZ, out.Subject, out.HTML, out.SMS)
		}
	}
}

// Untranslated templates still format money and dates for the customer's
// locale (the month name too: the issue asks for the customer's language).
func TestDefaultFilesFormatForTheLocale(t *testing.T) {
	dir := t.TempDir()
	for _, f := range Files("second-reminder", "email") {
		src, err := os.ReadFile(filepath.Join("../templates", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := SampleData()
	d.Customer.Locale = "de-CH"
	d.Cart.Currency = "CHF"
	d.Cart.Total = "1234.5"
	out, err := r.Render("second-reminder", []string{"email"}, d)
	if err != nil || out.Locale != "" {
		t.Fatal(out.Locale, err)
	}
	if !strings.Contains(out.Text, "(valid until 1 Dezember 2026)") || !strings.Contains(out.Text, "CHF\u00a01’234.50") || !strings.Contains(out.HTML, "CHF\u00a01’234.50") {
		t.Errorf("de-CH total:\n%s", out.Text)
	}
}

// Renders in many locales at once share the clones (run with -race), and
// give what a lone render gives.
func TestConcurrentRendersShareClones(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a", "", "subject", `{{money .Cart.Total .Cart.Currency}}`)
	writeFile(t, dir, "a", "", "txt", `{{range .Cart.Items}}{{money .Price $.Cart.Currency}} {{end}}{{date "long" .Discount.ExpiresAt}}`)
	writeFile(t, dir, "a", "", "html", `<p>{{money .Cart.Total .Cart.Currency}} {{date "medium" .Discount.ExpiresAt}}</p>`)
	writeFile(t, dir, "a", "", "sms", `{{money .Cart.Total .Cart.Currency}}`)
	writeFile(t, dir, "a", "es", "html", `<p>es {{money .Cart.Total .Cart.Currency}}</p>`)
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	locales := []string{"", "en-US", "de", "fr", "es", "es-MX", "ja", "pt-BR", "de-CH", "it", "nl", "en-GB"}
	data := func(l string) Data {
		d := SampleData()
		d.Customer.Locale, d.Customer.Timezone = l, "Europe/Madrid"
		d.Cart.Total = "1234.5"
		return d
	}
	want := map[string]Rendered{}
	for _, l := range locales {
		out, err := r.Render("a", []string{"email", "sms"}, data(l))
		if err != nil {
			t.Fatal(err)
		}
		want[l] = out
	}
	if want["de"].Subject != "1.234,50\u00a0€" || want["es"].HTML != "<p>es 1.234,50\u00a0€</p>" || want["de"].SMS != "1.234,50 €" {
		t.Fatalf("de: %+v es: %+v", want["de"], want["es"])
	}
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				l := locales[(g+i)%len(locales)]
				out, err := r.Render("a", []string{"email", "sms"}, data(l))
				if err != nil || !reflect.DeepEqual(out, want[l]) {
					select {
					case errs <- fmt.Sprintf("%s: %+v %v", l, out, err):
					default:
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// Past maxCachedLocales, renders clone without keeping: still right.
func TestCloneCacheIsBounded(t *testing.T) {
	defer func(n int) { maxCachedLocales = n }(maxCachedLocales)
	maxCachedLocales = 2
	dir := t.TempDir()
	for _, p := range []string{"subject", "txt", "html", "sms"} {
		writeFile(t, dir, "a", "", p, `{{money "1234.5" "EUR"}}`)
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for _, tc := range []struct{ locale, want string }{
			{"de", "1.234,50\u00a0€"}, {"en-US", "€1,234.50"}, {"nl", "€\u00a01.234,50"}, {"fr", "1\u00a0234,50\u00a0€"}, {"de-AT", "€\u00a01\u00a0234,50"},
		} {
			d := SampleData()
			d.Customer.Locale = tc.locale
			out, err := r.Render("a", []string{"email"}, d)
			if err != nil || out.HTML != tc.want || out.Text != tc.want {
				t.Errorf("%s: %q %v", tc.locale, out.HTML, err)
			}
		}
	}
	if len(r.cached) != 2 {
		t.Errorf("%d locales cached, want 2", len(r.cached))
	}
	n := 0
	r.files["a.html.tmpl"].clones.Range(func(any, any) bool { n++; return true })
	if n != 2 {
		t.Errorf("%d clones kept", n)
	}
}
