package recovery

import (
	"testing"
	"time"
)

func TestQuietHoursUntil(t *testing.T) {
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	night, lunch := [2]int{21 * 60, 8 * 60}, [2]int{12 * 60, 13 * 60}
	cases := []struct {
		name   string
		now    string
		loc    *time.Location
		window [2]int
		until  string // "" = not quiet
	}{
		{"late evening", "2026-11-25T22:30:00Z", time.UTC, night, "2026-11-26T08:00:00Z"},
		{"early morning", "2026-11-25T07:59:00Z", time.UTC, night, "2026-11-25T08:00:00Z"},
		{"window start", "2026-11-25T21:00:00Z", time.UTC, night, "2026-11-26T08:00:00Z"},
		{"window end is open", "2026-11-25T08:00:00Z", time.UTC, night, ""},
		{"daytime", "2026-11-25T20:59:59Z", time.UTC, night, ""},
		{"same-day window", "2026-11-25T12:30:00Z", time.UTC, lunch, "2026-11-25T13:00:00Z"},
		{"after a same-day window", "2026-11-25T13:00:00Z", time.UTC, lunch, ""},
		// 13:00 UTC is 22:00 in Tokyo: quiet until 08:00 JST = 23:00 UTC
		{"customer's zone", "2026-11-25T13:00:00Z", zone("Asia/Tokyo"), night, "2026-11-25T23:00:00Z"},
		// 23:00 EST on the eve of the switch to daylight time: 08:00 EDT is 12:00 UTC
		{"across a DST change", "2026-03-08T04:00:00Z", zone("America/New_York"), night, "2026-03-08T12:00:00Z"},
	}
	for _, c := range cases {
		until, quiet := QuietHours{On: true, Start: c.window[0], End: c.window[1], Channels: []Channel{"sms"}}.Until(at(c.now), c.loc)
		if quiet != (c.until != "") || (quiet && !until.Equal(at(c.until))) {
			t.Errorf("%s: quiet %v until %s, want %q", c.name, quiet, until.UTC().Format(time.RFC3339), c.until)
		}
	}
}
