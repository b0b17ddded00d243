package redis

import (
	"slices"
	"strconv"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// What the store needs of the playbooks: each sequence's delays and the
// qualified step names its counters are keyed by.

// tuning is the part of the options a reload may change.
type tuning struct {
	// seqs: store id ("" every other store) → segment ("" the default
	// sequence) → its timing
	seqs map[string]map[string]*sequence
	// tables: store id → every sequence of its playbook as update.lua's
	// arguments (k, then name, n, delays of each)
	tables   map[string][]any
	window   time.Duration
	cooldown time.Duration
	maxAge   time.Duration
}

// sequence is what the scripts need of a store's sequence or segment.
type sequence struct {
	delays  []any    // ms, as script arguments
	steps   []string // qualified names (recovery.QualifiedStep): counters are keyed by them
	holdout int      // percent of customers held out
}

// table is update.lua's arguments for every sequence of store.
func (t *tuning) table(store string) []any {
	if a, ok := t.tables[store]; ok {
		return a
	}
	return t.tables[""]
}

// seq returns the sequence of segment in store: the store's own playbook
// when it has one, else every store's; a segment a reload removed has no
// steps (its carts' sequences end, as a removed step's do).
func (t *tuning) seq(store, segment string) *sequence {
	q, _ := t.seqExact(store, segment)
	return q
}

// seqExact is seq, and whether segment is still configured (false: the
// default sequence stands in for a segment a reload removed).
func (t *tuning) seqExact(store, segment string) (*sequence, bool) {
	pb := t.seqs[store]
	if pb == nil {
		pb = t.seqs[""]
	}
	if q := pb[segment]; q != nil {
		return q, true
	}
	if segment != "" {
		return &sequence{}, false // removed by a reload: its carts' sequences end
	}
	return pb[""], false
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

func (s *Store) tn() *tuning { return s.tune.Load() }

// Retune applies a reloaded configuration's sequence and rules (Delays,
// Steps, Window, Cooldown, HoldoutPercent, MaxCartAge of o; the rest of o
// needs a restart). Calls under way finish with the version they started
// with. Carts already scheduled keep their due time: the worker compares
// it with the new delays when it comes (a longer delay puts the cart back,
// a shorter one sends then); a step beyond the new sequence ends it.
func (s *Store) Retune(o Options) {
	o = withDefaults(o)
	pbs := o.Playbooks
	if pbs == nil {
		steps := make([]recovery.Step, len(o.Delays))
		for i, d := range o.Delays {
			steps[i].Delay = d
			if i < len(o.Steps) {
				steps[i].Name = o.Steps[i]
			}
		}
		pbs = map[string]recovery.Playbook{"": {Steps: steps}}
	}
	t := &tuning{seqs: map[string]map[string]*sequence{}, window: o.Window, cooldown: o.Cooldown, maxAge: o.MaxCartAge}
	for store, pb := range pbs {
		m := map[string]*sequence{"": newSequence("", pb.Steps, o.HoldoutPercent)}
		for _, sg := range pb.Segments {
			h := sg.Holdout
			if h < 0 {
				h = o.HoldoutPercent
			}
			m[sg.Name] = newSequence(sg.Name, sg.Steps, h)
		}
		t.seqs[store] = m
	}
	if t.seqs[""] == nil {
		t.seqs[""] = map[string]*sequence{"": newSequence("", nil, o.HoldoutPercent)}
	}
	t.tables = map[string][]any{}
	for store, m := range t.seqs {
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		slices.Sort(names) // "" (the default) first
		a := []any{len(names)}
		for _, name := range names {
			a = append(a, name, len(m[name].delays))
			a = append(a, m[name].delays...)
		}
		t.tables[store] = a
	}
	s.tune.Store(t)
}

// stepName names step index i of segment in store in the counters (the
// qualified name: "segment/step" in a segment).
//
// A segment a reload removed names its steps by index ("high/0"): its
// messages stay counted in their segment, never credited to a step of
// the default sequence they were not sent by.
func (s *Store) stepName(store, segment string, i int) string {
	q, ok := s.tn().seqExact(store, segment)
	if ok && i >= 0 && i < len(q.steps) {
		return q.steps[i]
	}
	return recovery.QualifiedStep(segment, strconv.Itoa(i))
}

// suffix is a message's counter suffix.
func (s *Store) suffix(m recovery.MessageKey) string {
	return recovery.MessageSuffix(s.stepName(m.Store, m.Segment, m.Step), string(m.Channel), m.Variant)
}

func (s *Store) counter(kind recovery.CounterKind, m recovery.MessageKey) string {
	return recovery.Counter{Kind: kind, Step: s.stepName(m.Store, m.Segment, m.Step), Channel: string(m.Channel), Variant: m.Variant}.Field()
}

// segmentCopy is a cart-level counter's copy for segment ("" for none).
func segmentCopy(kind recovery.CounterKind, segment string) string {
	if segment == "" {
		return ""
	}
	return recovery.Counter{Kind: kind, Segment: segment}.Field()
}

func field(kind recovery.CounterKind) string { return recovery.Counter{Kind: kind}.Field() }
