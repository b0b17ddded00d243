package recovery

import (
	"fmt"
	"regexp"
)

var (
	stepNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	variantRE  = regexp.MustCompile(`^[a-z0-9]{1,16}$`)
)

// MaxSteps is the most steps a sequence may have.
const MaxSteps = 20

// ValidateSequence checks the rules of a sequence of steps: between one
// and MaxSteps steps, each with a unique lower-case name, a positive delay
// greater than the step before's, known channels each listed once, and
// variants with unique names whose weights leave the step's own template
// some carts. key names the sequence where it is configured ("sequence",
// "segments[0].sequence"): every problem is a FieldError whose Field is
// under key, and whose message names the other steps it is about by their
// key. Templates and discounts are the configuration's to check (they are
// files, and kinds the domain does not have).
func ValidateSequence(key string, seq []Step) []*FieldError {
	var out []*FieldError
	bad := func(field, format string, a ...any) {
		out = append(out, &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if len(seq) == 0 {
		bad(key, "needs at least one step")
	}
	if len(seq) > MaxSteps {
		bad(key, "has %d steps; at most %d", len(seq), MaxSteps)
	}
	names := map[string]int{}
	for i, s := range seq {
		k := fmt.Sprintf("%s[%d]", key, i)
		if !stepNameRE.MatchString(s.Name) {
			bad(k+".name", "%q must be lower-case letters, digits and dashes", s.Name)
		} else if j, dup := names[s.Name]; dup {
			bad(k+".name", "%q is already the name of %s[%d]", s.Name, key, j)
		} else {
			names[s.Name] = i
		}
		if s.Delay <= 0 {
			bad(k+".delay", "must be a positive duration such as 30m, 1h or 72h")
		} else if i > 0 && s.Delay <= seq[i-1].Delay {
			bad(k+".delay", "must be greater than %s[%d].delay (%s): delays count from the last activity", key, i-1, seq[i-1].Delay)
		}
		if len(s.Channels) == 0 {
			bad(k+".channels", "needs at least one of email, sms")
		}
		seen := map[Channel]bool{}
		for j, ch := range s.Channels {
			if !ch.Valid() {
				bad(fmt.Sprintf("%s.channels[%d]", k, j), "unknown channel %q (email, sms)", ch)
				continue
			}
			if seen[ch] {
				bad(fmt.Sprintf("%s.channels[%d]", k, j), "%q is listed twice", ch)
			}
			seen[ch] = true
		}
		weights, vnames := 0, map[string]bool{BaseVariant: true}
		for j, v := range s.Variants {
			vk := fmt.Sprintf("%s.variants[%d]", k, j)
			if !variantRE.MatchString(v.Name) {
				bad(vk+".name", "%q must be 1-16 lower-case letters and digits", v.Name)
			} else if vnames[v.Name] {
				bad(vk+".name", "%q is taken (%q is the step's own template)", v.Name, BaseVariant)
			}
			vnames[v.Name] = true
			if v.Weight < 1 || v.Weight > 99 {
				bad(vk+".weight", "%d must be a percentage of carts between 1 and 99", v.Weight)
			}
			weights += v.Weight
		}
		if weights > 99 {
			bad(k+".variants", "weights add up to %d%%; at most 99, so that variant %q keeps some carts", weights, BaseVariant)
		}
	}
	return out
}
