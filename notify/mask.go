package notify

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaskEmail hides all but the first letter (rune) of the local part and
// keeps the domain, in any script: "ana.garcia@example.com" →
// "a***@example.com", "ñandú@ejemplo.es" → "ñ***@ejemplo.es". Anything
// without a local part gives "***".
func MaskEmail(e string) string {
	e = strings.ToValidUTF8(e, "\uFFFD")
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || e[0] == '@' {
		return "***"
	}
	return firstRune(e[:at]) + "***@" + e[at+1:]
}

// firstRune is the first character of s, or "*" when that is not a
// visible one (an invalid byte, a control or a bidi override).
func firstRune(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsGraphic(r) || unicode.IsSpace(r) {
		return "*"
	}
	return string(r)
}

// MaskPhone keeps the first three and the last three characters (runes) of
// numbers of 7 or more: "+34600123456" → "+34******456". Shorter input gives
// "***".
func MaskPhone(p string) string {
	r := []rune(strings.ToValidUTF8(p, "\uFFFD"))
	if len(r) < 7 {
		return "***"
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-6) + string(r[len(r)-3:])
}

// MaskAddress masks an email address or a phone number; empty or garbage
// input gives a masked string too, never the input.
func MaskAddress(s string) string {
	if strings.Contains(s, "@") {
		return MaskEmail(s)
	}
	return MaskPhone(s)
}

// addrChar is what an address in running text is made of: anything but
// spaces, controls, the RFC 5322 specials <>()[]\,;:"@ and quotation marks
// of any script. It knows no alphabet, so an address in Cyrillic, Arabic or
// CJK, or with emoji, is masked as a whole. The ASCII apostrophe is kept in:
// o'neil@example.com is a real address, and a quoting ' is masked along.
const addrChar = `[^\s\p{Z}\p{Cc}<>()\[\]\\,;:"@` + "`" + `‘’‚‛“”„‟«»‹›「」『』〈〉《》＜＞＂＇]`

var (
	// emailInText matches local@domain; the local part may also be a
	// quoted string ("ana garcía"@example.com). Addresses run together
	// (a@b.comc@d.com) match as one chain, since where the first domain ends
	// and the next local part starts cannot be told.
	emailInText = regexp.MustCompile(`(?:"[^"\r\n]{1,64}"|` + addrChar + `+)@(?:` + addrChar + `*@)*` + addrChar + `+`)
	// numberInText matches any run of 7 or more digits, optionally after a
	// + and with single spaces, dashes, dots or parentheses between groups
	// ("+34 (600) 123-456", "600.123.456", "34600123456").
	numberInText = regexp.MustCompile(`\+?\p{Nd}(?:[ .()\-]{0,2}\p{Nd}){6,}`)
)

// scrub masks addresses and numbers inside provider error texts, which
// often echo the recipient: every email address keeps only the first rune
// of its local part, and every run of 7 or more digits keeps at most its
// last 3 digits. Valid UTF-8 stays valid.
func scrub(s string) string {
	s = emailInText.ReplaceAllStringFunc(s, maskEmails)
	return numberInText.ReplaceAllStringFunc(s, maskDigits)
}

// maskEmails masks one address, or a chain of them run together: the
// first local part keeps its first rune, every segment between two @ is
// hidden whole (it may hold a domain and the next local part), the last
// domain stays.
func maskEmails(m string) string {
	// a sentence's full stop is not part of the domain
	trimmed := strings.TrimRight(m, ".")
	local, rest := "", trimmed
	if strings.HasPrefix(rest, `"`) {
		// a quoted local part may hold @ itself; the pattern puts an @
		// right after its closing quote
		if q := strings.IndexByte(rest[1:], '"'); q >= 0 {
			local, rest = rest[:q+2], rest[q+2:]
		}
	}
	if local == "" {
		at := strings.IndexByte(rest, '@')
		local, rest = rest[:at], rest[at:]
	}
	last := strings.LastIndexByte(rest, '@')
	return firstRune(local) + "***@" + strings.Repeat("***@", strings.Count(rest[:last], "@")) + rest[last+1:] + m[len(trimmed):]
}

// maskDigits replaces every digit of m but the last three with '*',
// keeping its + and separators.
func maskDigits(m string) string {
	keep := 3
	r := []rune(m)
	for i := len(r) - 1; i >= 0; i-- {
		if !unicode.IsDigit(r[i]) {
			continue
		}
		if keep > 0 {
			keep--
			continue
		}
		r[i] = '*'
	}
	return string(r)
}
