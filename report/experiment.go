package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Experiment is the A/B test of one step: each of its variants against
// variant a, the step's own template and discount.
//
// Method. A variant's recovery rate is its recovered carts (the recoveries
// credited to a message of that step and variant, all channels) ÷ the carts
// it reached (that got at least one message of the step in that variant).
// The difference with a, rate(v) − rate(a), has a two-sided 95% confidence
// interval by the normal approximation for a difference of two proportions,
// d ± 1.96·√(p₁(1−p₁)/n₁ + p₂(1−p₂)/n₂), as the holdout lift. A variant is
// significant when that interval excludes 0 and each of the two groups has
// at least 5 recovered and 5 unrecovered carts (below that the normal
// approximation is not to be trusted; the verdict says "too few
// recoveries"). There is no correction for looking at the results many
// times (peeking: a test watched daily and stopped at the first
// "significant" is wrong more often than 5%), nor for comparing several
// variants with a (each comparison has its own 5%).
//
// Verdicts: "b ahead, significant", "b behind, significant", "not yet:
// about N more reminded carts needed", "not yet: no difference seen (N
// reminded carts so far)" (equal rates, or a group with no cart) or "not
// yet: too few recoveries to tell (N reminded carts so far)". N counts
// carts reached by the step, all its variants together. The carts needed
// are those that give the comparison 80% power at 95% confidence if the
// observed rates are the true ones: n per group =
// (1.96+0.8416)²·(p₁(1−p₁)+p₂(1−p₂))/(p₁−p₂)², n·k carts for k variants
// split evenly; with the observed, uneven split (variant weights) it is
// (1.96+0.8416)²·(p₁(1−p₁)/w₁+p₂(1−p₂)/w₂)/(p₁−p₂)², w the shares of the
// step's carts, which is the same for an even split. N is that minus the
// carts reached so far: an estimate from noisy rates, not a promise. The
// step's verdict lists the significant variants, then the largest N of the
// others.
//
// Caveats: a recovery is credited to one message (the last clicked, else
// the last sent), so a later step can take the credit from an earlier one;
// reached counts on the day of the step's first message and recovered on
// the order's day, so carts near the range's ends may be counted on one
// side only. Recoveries before the range's first day with a reached count
// (data from versions that did not count reached) are left out.
type Experiment struct {
	Step     string          `json:"step"`
	Variants []VariantResult `json:"variants"` // a first, then by name
	Verdict  string          `json:"verdict"`
}

// VariantResult is one variant of an Experiment. Diff and its interval are
// null for a itself and while either group has reached no cart.
type VariantResult struct {
	Variant     string   `json:"variant"`
	Reached     int64    `json:"reached"`
	Recovered   int64    `json:"recovered"`
	Rate        float64  `json:"recovery_rate"` // recovered ÷ reached, at most 1
	Diff        *float64 `json:"diff_vs_a"`
	Low         *float64 `json:"diff_ci95_low"`
	High        *float64 `json:"diff_ci95_high"`
	Significant bool     `json:"significant"`
	Verdict     string   `json:"verdict"` // "baseline" for a
}

// z95 and z80 are the normal quantiles of a two-sided 95% test and of 80%
// power.
const z95, z80 = 1.96, 0.8416

// minCount is the fewest recovered and unrecovered carts each group needs
// before a difference is called significant.
const minCount = 5

type armAcc struct {
	reached   int64
	recovered map[string]int64 // by day
	present   bool             // reached or sent
}

// comparison is one variant against a, before wording.
type comparison struct {
	name        string
	significant bool
	diff        float64
	need        int64 // more carts needed; 0: no estimate
	tooFew      bool
}

func experiments(ab map[string]map[string]*armAcc, firstReached string, order map[string]int) []Experiment {
	steps := make([]string, 0, len(ab))
	for s := range ab {
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool {
		a, b := order[steps[i]], order[steps[j]]
		switch {
		case (a == 0) != (b == 0): // configured steps first
			return a != 0
		case a != b:
			return a < b
		}
		return steps[i] < steps[j]
	})
	out := []Experiment{}
	for _, step := range steps {
		var names []string
		for v, a := range ab[step] {
			if a.present && v != recovery.BaseVariant {
				names = append(names, v)
			}
		}
		if base := ab[step][recovery.BaseVariant]; len(names) == 0 || len(names) == 1 && (base == nil || !base.present) {
			continue // one variant: nothing to compare
		}
		sort.Strings(names)
		names = append([]string{recovery.BaseVariant}, names...) // a even when absent: the baseline
		var total int64
		res := make([]VariantResult, len(names))
		for i, v := range names {
			res[i] = VariantResult{Variant: v}
			if a := ab[step][v]; a != nil {
				res[i].Reached = a.reached
				for day, n := range a.recovered {
					if firstReached != "" && day >= firstReached {
						res[i].Recovered += n
					}
				}
			}
			res[i].Rate = round(prop(res[i].Recovered, res[i].Reached))
			total += res[i].Reached
		}
		res[0].Verdict = "baseline"
		var cmp []comparison
		for i := 1; i < len(res); i++ {
			c := compare(&res[0], &res[i], total)
			res[i].Verdict = c.wording(total)
			cmp = append(cmp, c)
		}
		out = append(out, Experiment{Step: step, Variants: res, Verdict: stepVerdict(cmp, total)})
	}
	return out
}

// prop is n ÷ d as a proportion (0 when d is 0, at most 1).
func prop(n, d int64) float64 {
	if d <= 0 || n <= 0 {
		return 0
	}
	return math.Min(1, float64(n)/float64(d))
}

// compare fills v's difference with a and says where the test stands.
// total is the step's carts reached, all variants.
func compare(a, v *VariantResult, total int64) comparison {
	c := comparison{name: v.Variant}
	if a.Reached <= 0 || v.Reached <= 0 {
		return c
	}
	p1, n1 := prop(a.Recovered, a.Reached), float64(a.Reached)
	p2, n2 := prop(v.Recovered, v.Reached), float64(v.Reached)
	d := p2 - p1
	se := math.Sqrt(p1*(1-p1)/n1 + p2*(1-p2)/n2)
	lo, hi := d-z95*se, d+z95*se
	rd, rlo, rhi := round(d), round(lo), round(hi)
	v.Diff, v.Low, v.High = &rd, &rlo, &rhi
	if p1 == p2 {
		return c
	}
	c.diff = d
	enough := func(r VariantResult) bool {
		rec := min(r.Recovered, r.Reached)
		return rec >= minCount && r.Reached-rec >= minCount
	}
	if lo > 0 || hi < 0 {
		if enough(*a) && enough(*v) {
			c.significant = true
			v.Significant = true
		} else {
			c.tooFew = true
		}
		return c
	}
	// carts for 80% power at the observed rates and split
	w1, w2 := n1/float64(total), n2/float64(total)
	need := (z95 + z80) * (z95 + z80) * (p1*(1-p1)/w1 + p2*(1-p2)/w2) / (d * d)
	c.need = max(1, int64(math.Ceil(need-float64(total))))
	return c
}

func (c comparison) wording(total int64) string {
	switch {
	case c.significant && c.diff > 0:
		return c.name + " ahead, significant"
	case c.significant:
		return c.name + " behind, significant"
	}
	return notYet([]comparison{c}, total)
}

// notYet words the unresolved comparisons together: the most carts needed,
// else why there is no estimate.
func notYet(cs []comparison, total int64) string {
	var need int64
	tooFew := false
	for _, c := range cs {
		need = max(need, c.need)
		tooFew = tooFew || c.tooFew
	}
	switch {
	case need > 0:
		return fmt.Sprintf("not yet: about %d more reminded carts needed", need)
	case tooFew:
		return fmt.Sprintf("not yet: too few recoveries to tell (%d reminded carts so far)", total)
	}
	return fmt.Sprintf("not yet: no difference seen (%d reminded carts so far)", total)
}

func stepVerdict(cs []comparison, total int64) string {
	var sig []string
	var open []comparison
	var openNames []string
	for _, c := range cs {
		if c.significant {
			sig = append(sig, c.wording(total))
		} else {
			open = append(open, c)
			openNames = append(openNames, c.name)
		}
	}
	switch {
	case len(open) == 0:
		return strings.Join(sig, "; ")
	case len(sig) == 0:
		return notYet(open, total)
	}
	return strings.Join(sig, "; ") + "; " + strings.Join(openNames, ", ") + " " + notYet(open, total)
}
