package report

import (
	"testing"
	"time"
)

// FuzzParseRange feeds the report's range parameters (CLI flags and the
// /api/report query) with arbitrary text: an error, or a range of at most
// ten years that ends no earlier than it starts; never a panic.
func FuzzParseRange(f *testing.F) {
	for _, s := range [][3]string{{"30d", "", ""}, {"48h", "", ""}, {"", "2026-11-01", "2026-11-10"},
		{"", "", "2026-11-10"}, {"0d", "", ""}, {"9999999999999999999d", "", ""}, {"", "2026-02-30", ""}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, since, from, to string) {
		a, b, err := ParseRange(since, from, to, now)
		if err != nil {
			return
		}
		if b.Before(a) || b.Sub(a) > 3660*24*time.Hour {
			t.Fatalf("%q %q %q: range %s..%s", since, from, to, a, b)
		}
		if days := Days(a, b); len(days) == 0 || len(days) > 3661 {
			t.Fatalf("%q %q %q: %d days", since, from, to, len(days))
		}
	})
}
