package render

import (
	"regexp"
	"strings"

	"golang.org/x/text/language"
)

// Localized templates
//
// A translation of template <name> is a file <name>.<locale>.<part>.tmpl
// beside the default <name>.<part>.tmpl, part being subject, txt, html or
// sms: first-reminder.es.html.tmpl, first-reminder.es-MX.html.tmpl. The
// locale in a file name is a BCP 47 tag in any case and with "-" or "_"
// (es-MX, es_MX, ES-mx all name the same file); a template name whose last
// dot-separated word reads as a language tag ("promo.de") is therefore read
// as a translation of the name before it.
//
// The fallback chain. The customer's locale is what the platform sends
// (Shopify customer_locale, the generic event's customer.locale): "es",
// "es-MX", "es_MX", "ES-mx", "pt-BR", "zh-Hant-TW", "" or garbage. It is
// parsed with golang.org/x/text/language after "_" becomes "-"; variants and
// extensions are dropped ("de-CH-1996" is de-CH). An empty, unparseable or
// undetermined ("und", "x-foo") locale uses the default files. Otherwise the
// candidates are the tag and then its CLDR parents (language.Tag.Parent) down
// to, not including, the root:
//
//	es-MX       → es-MX, es-419, es, default
//	es          → es, default
//	pt-BR       → pt-BR, pt, default   (CLDR "pt" is Brazilian Portuguese)
//	pt-PT       → pt-PT, pt, default
//	en-IE       → en-IE, en-001, en, default
//	de-CH       → de-CH, de, default
//	zh-Hant-TW  → zh-Hant-TW, zh-Hant, default (CLDR: not zh, which is Simplified)
//	zh-TW       → zh-TW, zh-Hant, default
//
// A candidate matches a file whose locale is the same language, script and
// region once the missing ones are filled with their likely values: a
// "zh-TW" file serves zh-Hant-TW, an "es-ES" file is the "es" file (both
// es-Latn-ES; having both is a Load error), a "pt" file serves pt-BR, but a
// "pt-PT" file does not serve pt-BR.
//
// Each part (subject, txt, html, sms) follows the chain on its own, so a
// translation lacking a part falls back to the next candidate for that part
// only; Check reports such an incomplete translation (a locale's set of parts
// must be complete for each channel it covers). Rendered.Locale and
// Rendered.Files tell which files were used.
//
// Money and dates follow the customer's locale whether or not a translation
// exists (a de-CH customer reading the default English files still sees
// "CHF 1’234.50"); an empty or unparseable locale formats as "en".

// localeRE is what a locale in a file name looks like: a 2-3 letter language
// and optional subtags.
var localeRE = regexp.MustCompile(`^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$`)

// parseLocale parses a locale as platforms send it and drops variants and
// extensions. ok is false for an empty, unparseable or undetermined locale.
func parseLocale(s string) (language.Tag, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", "-")
	if s == "" || len(s) > 64 {
		return language.Und, false
	}
	t, err := language.Parse(s)
	if err != nil {
		return language.Und, false
	}
	b, sc, r := t.Raw()
	if b == (language.Base{}) || b.String() == "und" {
		return language.Und, false
	}
	if t, err = language.Compose(b, sc, r); err != nil {
		return language.Und, false
	}
	return t, true
}

// matchKey is a tag's language, script and region with the missing ones
// filled with their likely values (es → es-Latn-ES, zh-TW → zh-Hant-TW): two
// tags with the same key select the same translation file.
func matchKey(t language.Tag) string {
	b, _ := t.Base()
	s, _ := t.Script()
	r, _ := t.Region()
	return b.String() + "-" + s.String() + "-" + r.String()
}

// chain is the candidate locales of t, most specific first, without the
// root.
func chain(t language.Tag) []language.Tag {
	var out []language.Tag
	for ; t != language.Und; t = t.Parent() {
		if b, _, _ := t.Raw(); b.String() == "und" {
			break
		}
		out = append(out, t)
	}
	return out
}

// LocaleChain returns the locales whose files are tried for locale, most
// specific first; the default files come after them. It is empty when locale
// is empty or not a language tag.
func LocaleChain(locale string) []string {
	t, ok := parseLocale(locale)
	if !ok {
		return nil
	}
	var out []string
	for _, c := range chain(t) {
		out = append(out, c.String())
	}
	return out
}

// matchKeys are the match keys of locale's chain, deduplicated.
func matchKeys(locale string) []string {
	t, ok := parseLocale(locale)
	if !ok {
		return nil
	}
	var out []string
	for _, c := range chain(t) {
		k := matchKey(c)
		if len(out) == 0 || out[len(out)-1] != k {
			out = append(out, k)
		}
	}
	return out
}

// formatTag is the tag money and dates are formatted for: the customer's tag
// reduced to the nearest one golang.org/x/text has data for (its compact
// index; at most language.NumCompactTags of them, which bounds every cache
// keyed by it), English when the locale is empty or not a language tag.
func formatTag(locale string) language.Tag {
	t, ok := parseLocale(locale)
	if !ok {
		return language.English
	}
	for ; t != language.Und; t = t.Parent() {
		if _, exact := language.CompactIndex(t); exact {
			return t
		}
	}
	return language.English
}
