package notify

import (
	"regexp"
	"strings"
)

// MaskEmail hides all but the first letter of the local part:
// "ana.garcia@example.com" → "a***@example.com".
func MaskEmail(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" {
		return "***"
	}
	return local[:1] + "***@" + domain
}

// MaskPhone keeps the country prefix and the last three digits:
// "+34600123456" → "+34*******456".
func MaskPhone(p string) string {
	if len(p) < 7 {
		return "***"
	}
	return p[:3] + strings.Repeat("*", len(p)-6) + p[len(p)-3:]
}

// MaskAddress masks an email address or a phone number.
func MaskAddress(s string) string {
	if strings.Contains(s, "@") {
		return MaskEmail(s)
	}
	return MaskPhone(s)
}

var (
	emailInText = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	phoneInText = regexp.MustCompile(`\+[1-9][0-9]{7,14}`)
)

// scrub masks addresses and numbers inside provider error texts, which
// often echo the recipient.
func scrub(s string) string {
	s = emailInText.ReplaceAllStringFunc(s, MaskEmail)
	return phoneInText.ReplaceAllStringFunc(s, MaskPhone)
}
