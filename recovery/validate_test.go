package recovery

import (
	"strings"
	"testing"
	"time"
)

func TestValidateSequence(t *testing.T) {
	ok := func() []Step {
		return []Step{{Name: "first", Delay: time.Hour, Channels: []Channel{ChannelEmail}},
			{Name: "second", Delay: 24 * time.Hour, Channels: []Channel{ChannelEmail, ChannelSMS},
				Variants: []Variant{{Name: "b", Weight: 50}}}}
	}
	if errs := ValidateSequence("sequence", ok()); len(errs) != 0 {
		t.Fatalf("a valid sequence: %v", errs)
	}
	for _, c := range []struct {
		name       string
		mod        func([]Step) []Step
		field, msg string
	}{
		{"empty", func([]Step) []Step { return nil }, "sequence", "needs at least one step"},
		{"too many", func(s []Step) []Step { return make([]Step, MaxSteps+1) }, "sequence", "has 21 steps; at most 20"},
		{"bad name", func(s []Step) []Step { s[0].Name = "First"; return s }, "sequence[0].name", `"First" must be lower-case`},
		{"same name", func(s []Step) []Step { s[1].Name = "first"; return s }, "sequence[1].name", `"first" is already the name of sequence[0]`},
		{"no delay", func(s []Step) []Step { s[0].Delay = 0; return s }, "sequence[0].delay", "must be a positive duration"},
		{"not increasing", func(s []Step) []Step { s[1].Delay = time.Hour; return s }, "sequence[1].delay", "must be greater than sequence[0].delay (1h0m0s)"},
		{"no channel", func(s []Step) []Step { s[0].Channels = nil; return s }, "sequence[0].channels", "needs at least one of email, sms"},
		{"unknown channel", func(s []Step) []Step { s[0].Channels = []Channel{"fax"}; return s }, "sequence[0].channels[0]", `unknown channel "fax"`},
		{"channel twice", func(s []Step) []Step { s[1].Channels = []Channel{"sms", "sms"}; return s }, "sequence[1].channels[1]", `"sms" is listed twice`},
		{"variant named a", func(s []Step) []Step { s[1].Variants[0].Name = "a"; return s }, "sequence[1].variants[0].name", `"a" is taken`},
		{"variant weight", func(s []Step) []Step { s[1].Variants[0].Weight = 0; return s }, "sequence[1].variants[0].weight", "between 1 and 99"},
		{"weights", func(s []Step) []Step {
			s[1].Variants = append(s[1].Variants, Variant{Name: "c", Weight: 50})
			return s
		}, "sequence[1].variants", "weights add up to 100%"},
	} {
		errs := ValidateSequence("sequence", c.mod(ok()))
		found := false
		for _, e := range errs {
			found = found || (e.Field == c.field && strings.Contains(e.Msg, c.msg))
		}
		if !found {
			t.Errorf("%s: %v, want %s: %s", c.name, errs, c.field, c.msg)
		}
	}
}
