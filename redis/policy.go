package redis

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// What the scripts need of a store's policy (recovery.Policy, from the
// tenant snapshot): each sequence's delays in ms, the qualified step names
// its counters are keyed by, and the rules that time it. A policy is
// compiled once, on its first use, and kept with it: a snapshot never
// changes, a reload brings new ones.

// compiled is a policy as the scripts take it.
type compiled struct {
	// seqs: segment ("" the default sequence) → its timing
	seqs map[string]*sequence
	// table is every sequence of the playbook as update.lua's arguments
	// (k, then name, n and the n delays of each)
	table    []any
	window   time.Duration
	cooldown time.Duration
	maxAge   time.Duration
}

// sequence is what the scripts need of a sequence or segment.
type sequence struct {
	delays  []any    // ms, as script arguments
	steps   []string // qualified names (recovery.QualifiedStep): counters are keyed by them
	holdout int      // percent of customers held out
}

// maxCompiled bounds the policies kept compiled: those of the snapshots
// of the last reloads (a snapshot holds one per store it lists).
const maxCompiled = 4096

// compile is p as the scripts take it.
func (s *Store) compile(p *recovery.Policy) *compiled {
	if c, ok := s.compiled.Load(p); ok {
		return c.(*compiled)
	}
	c := &compiled{seqs: map[string]*sequence{"": newSequence("", p.Playbook.Steps, p.HoldoutPercent)},
		window: p.Window, cooldown: p.Cooldown, maxAge: p.MaxCartAge}
	if c.window <= 0 {
		c.window = 168 * time.Hour
	}
	if c.maxAge <= 0 {
		c.maxAge = 168 * time.Hour
	}
	for _, sg := range p.Playbook.Segments {
		c.seqs[sg.Name] = newSequence(sg.Name, sg.Steps, p.Holdout(sg.Name))
	}
	names := make([]string, 0, len(c.seqs))
	for name := range c.seqs {
		names = append(names, name)
	}
	slices.Sort(names) // "" (the default) first
	c.table = []any{len(names)}
	for _, name := range names {
		c.table = append(c.table, name, len(c.seqs[name].delays))
		c.table = append(c.table, c.seqs[name].delays...)
	}
	if s.ncompiled.Add(1) > maxCompiled {
		s.compiled.Clear()
		s.ncompiled.Store(1)
	}
	s.compiled.Store(p, c)
	return c
}

// policy is store's policy for a call under ctx: the one ctx carries (the
// snapshot its task or request read, recovery.WithPolicy), else the
// snapshot current when the call starts.
func (s *Store) policy(ctx context.Context, store string) *compiled {
	if p := recovery.PolicyFrom(ctx, store); p != nil {
		return s.compile(p)
	}
	return s.compile(s.policies.Policy(store))
}

func newSequence(segment string, steps []recovery.Step, holdout int) *sequence {
	q := &sequence{delays: make([]any, len(steps)), steps: make([]string, len(steps)), holdout: holdout}
	for i, st := range steps {
		q.delays[i] = st.Delay.Milliseconds()
		name := st.Name
		if name == "" {
			name = strconv.Itoa(i)
		}
		q.steps[i] = recovery.QualifiedStep(segment, name)
	}
	return q
}

// seq returns the sequence of segment; a segment no longer configured (a
// reload removed it) has no steps: its carts' sequences end, as a removed
// step's do. ok is false for such a segment.
func (c *compiled) seq(segment string) (q *sequence, ok bool) {
	if q := c.seqs[segment]; q != nil {
		return q, true
	}
	return &sequence{}, false
}

// stepName names step index i of segment in the counters (the qualified
// name: "segment/step" in a segment).
//
// A segment a reload removed names its steps by index ("high/0"): its
// messages stay counted in their segment, never credited to a step of
// the default sequence they were not sent by.
func (c *compiled) stepName(segment string, i int) string {
	q, ok := c.seq(segment)
	if ok && i >= 0 && i < len(q.steps) {
		return q.steps[i]
	}
	return recovery.QualifiedStep(segment, strconv.Itoa(i))
}

// suffix is a message's counter suffix.
func (c *compiled) suffix(m recovery.MessageKey) string {
	return recovery.MessageSuffix(c.stepName(m.Segment, m.Step), string(m.Channel), m.Variant)
}

// counter is a message's counter field of kind.
func (c *compiled) counter(kind recovery.CounterKind, m recovery.MessageKey) string {
	return recovery.Counter{Kind: kind, Step: c.stepName(m.Segment, m.Step), Channel: string(m.Channel), Variant: m.Variant}.Field()
}

// segmentCopy is a cart-level counter's copy for segment ("" for none).
func segmentCopy(kind recovery.CounterKind, segment string) string {
	if segment == "" {
		return ""
	}
	return recovery.Counter{Kind: kind, Segment: segment}.Field()
}

func field(kind recovery.CounterKind) string { return recovery.Counter{Kind: kind}.Field() }
