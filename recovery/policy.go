package recovery

import (
	"context"
	"time"
)

// Policy is what recording one store's carts and messages needs of its
// settings: its playbook and the rules that time it. The service's come
// from the tenant snapshot (package tenant), which answers Policies.
type Policy struct {
	Playbook Playbook
	// HoldoutPercent (rules.holdout_percent) of the default sequence's
	// customers get no messages, and of each segment's that sets none.
	HoldoutPercent int
	Window         time.Duration // rules.attribution_window (0: 168h)
	Cooldown       time.Duration // rules.cooldown (0: off)
	MaxCartAge     time.Duration // rules.max_cart_age (0: 168h)
}

// Holdout is the holdout percent of segment ("" the default sequence).
func (p *Policy) Holdout(segment string) int {
	if sg, ok := p.Playbook.Segment(segment); ok && sg.Holdout >= 0 {
		return sg.Holdout
	}
	return p.HoldoutPercent
}

// Policies answers each store's policy.
type Policies interface {
	Policy(store string) *Policy
}

// PolicyMap is a fixed policy by store id, "" for every store not listed
// (tests, the benchmark, the report command).
type PolicyMap map[string]*Policy

// Policy is store's policy, else the one for every store.
func (m PolicyMap) Policy(store string) *Policy {
	if p, ok := m[store]; ok {
		return p
	}
	if p, ok := m[""]; ok {
		return p
	}
	return &Policy{}
}

// SequenceOf is the policy of a sequence of steps named by index, after
// delays, for every store (tests and the benchmark).
func SequenceOf(delays ...time.Duration) PolicyMap {
	steps := make([]Step, len(delays))
	for i, d := range delays {
		steps[i] = Step{Delay: d}
	}
	return PolicyMap{"": {Playbook: Playbook{Steps: steps}}}
}

// LongestDelay is the longest delay of any sequence of m (cart keys must
// outlive it).
func (m PolicyMap) LongestDelay() time.Duration {
	var d time.Duration
	for _, p := range m {
		d = max(d, p.Playbook.LongestDelay())
	}
	return d
}

// LongestDelay is the longest delay of the playbook's sequences.
func (p Playbook) LongestDelay() time.Duration {
	var d time.Duration
	for _, st := range p.Steps {
		d = max(d, st.Delay)
	}
	for _, sg := range p.Segments {
		for _, st := range sg.Steps {
			d = max(d, st.Delay)
		}
	}
	return d
}

// NamedSequence is SequenceOf with the steps named.
func NamedSequence(names []string, delays ...time.Duration) PolicyMap {
	m := SequenceOf(delays...)
	for i := range names {
		m[""].Playbook.Steps[i].Name = names[i]
	}
	return m
}

// PlaybooksOf is the policy of each playbook, by store id ("" every store
// not listed), with f applied to each (the rules), when given.
func PlaybooksOf(pbs map[string]Playbook, f ...func(*Policy)) PolicyMap {
	m := PolicyMap{}
	for id, pb := range pbs {
		p := &Policy{Playbook: pb}
		for _, f := range f {
			f(p)
		}
		m[id] = p
	}
	return m
}

// With applies f to every policy of m (its rules) and returns m.
func (m PolicyMap) With(f func(*Policy)) PolicyMap {
	for _, p := range m {
		f(p)
	}
	return m
}

// scoped is the policy a request or a task read for its store.
type scoped struct {
	store string
	p     *Policy
}

type scopedKey struct{}

// WithPolicy returns ctx carrying p as store's policy for everything done
// under it: a task or a request that read its snapshot once hands it to
// storage this way, so that a reload meanwhile does not mix two versions
// in what it records.
func WithPolicy(ctx context.Context, store string, p *Policy) context.Context {
	return context.WithValue(ctx, scopedKey{}, scoped{store: store, p: p})
}

// PolicyFrom is the policy ctx carries for store (WithPolicy), nil when
// none.
func PolicyFrom(ctx context.Context, store string) *Policy {
	if s, ok := ctx.Value(scopedKey{}).(scoped); ok && s.store == store {
		return s.p
	}
	return nil
}
