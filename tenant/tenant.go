// Package tenant holds what serving each store takes, as one snapshot of
// the configuration: a Set has every store's Tenant (shop, playbook,
// secrets, senders, renderer, platform clients) and the deployment's rules.
// A reload builds a new Set and swaps it into a Live with one atomic store:
// the server, the worker and storage all read the same Live, and a request
// or a task reads it once, so nothing it does mixes two versions.
package tenant

import (
	"sync/atomic"
	"time"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/render"
)

// Tenant is everything a request or a task needs of one store.
type Tenant struct {
	// ID is the store id it is configured under; "" for the default, which
	// serves every store not listed.
	ID       string
	Shop     recovery.Shop
	Playbook recovery.Playbook
	// Secrets are the webhook signing secrets by platform name.
	Secrets map[string]string
	// SMSHelp answers HELP sent to the store's own SMS sender
	// (Shop.SMSFrom); "" the deployment's (Set.SMSHelp).
	SMSHelp  string
	Renderer *render.Renderer
	// Platforms are the store's platform API clients by platform name,
	// asked at send time (platform.CartSource, OrderChecker,
	// CodeRegistrar, OrderFinder).
	Platforms map[string]platform.Client
	// Policy is what storage needs of the store: its playbook and the
	// rules that time it (Set.New fills it).
	Policy *recovery.Policy
}

// Rules are the deployment's guards, applied before any send.
type Rules struct {
	// EmailConsentRequired: email only customers who opted in (else any
	// customer with an address). SMS always needs consent.
	EmailConsentRequired bool
	// MinCartValue is the smallest cart total reminded, a decimal string
	// ("" or "0": any).
	MinCartValue string
	QuietHours   recovery.QuietHours
	// PlatformCheck: ask the cart's platform, right before a send, whether
	// the customer ordered meanwhile (CheckOn, the default; CheckStrict;
	// CheckOff), each call bounded by PlatformCheckTimeout (default 5s).
	PlatformCheck        string
	PlatformCheckTimeout time.Duration
	// HoldoutPercent, Window, Cooldown and MaxCartAge time the carts (see
	// recovery.Policy).
	HoldoutPercent int
	Window         time.Duration
	Cooldown       time.Duration
	MaxCartAge     time.Duration
}

// rules.platform_check values.
const (
	CheckOn     = "on"     // a platform that cannot answer does not stop the send
	CheckStrict = "strict" // it does: the step waits and retries
	CheckOff    = "off"
)

// CheckTimeout bounds one call of the check before a send (default 5s).
func (r Rules) CheckTimeout() time.Duration {
	if r.PlatformCheckTimeout > 0 {
		return r.PlatformCheckTimeout
	}
	return 5 * time.Second
}

// Set is the snapshot of every store's settings.
type Set struct {
	Default *Tenant            // every store not in Stores
	Stores  map[string]*Tenant // stores configured on their own, by id
	// Strict refuses the webhooks of a store not in Stores (404): stores
	// are listed and none is the catch-all.
	Strict bool
	// SMSHelp is the deployment's answer to HELP.
	SMSHelp string
	Rules   Rules
}

// New returns s ready to serve: each tenant copied, with its ID and Policy
// (a default when none). A Set is not changed once it serves.
func New(s Set) *Set {
	def := Tenant{}
	if s.Default != nil {
		def = *s.Default
	}
	def.ID, def.Policy = "", s.policy(def.Playbook)
	s.Default = &def
	stores := make(map[string]*Tenant, len(s.Stores))
	for id, t := range s.Stores {
		c := *t
		c.ID, c.Policy = id, s.policy(t.Playbook)
		stores[id] = &c
	}
	s.Stores = stores
	return &s
}

func (s *Set) policy(pb recovery.Playbook) *recovery.Policy {
	r := s.Rules
	return &recovery.Policy{Playbook: pb, HoldoutPercent: r.HoldoutPercent, Window: r.Window, Cooldown: r.Cooldown,
		MaxCartAge: r.MaxCartAge}
}

// For is store's tenant: its own, else the default; ok is false for a
// store whose webhooks are refused (Strict).
func (s *Set) For(store string) (t *Tenant, ok bool) {
	if t, ok := s.Stores[store]; ok {
		return t, true
	}
	return s.Default, !s.Strict
}

// Policy is store's policy (recovery.Policies).
func (s *Set) Policy(store string) *recovery.Policy {
	t, _ := s.For(store)
	return t.Policy
}

// LongestDelay is the longest delay of any sequence of any store.
func (s *Set) LongestDelay() time.Duration {
	d := s.Default.Playbook.LongestDelay()
	for _, t := range s.Stores {
		d = max(d, t.Playbook.LongestDelay())
	}
	return d
}

// Live is the Set that serves, replaced whole by each reload.
type Live struct{ p atomic.Pointer[Set] }

// NewLive returns a Live serving s.
func NewLive(s *Set) *Live {
	l := &Live{}
	l.p.Store(s)
	return l
}

// Load returns the Set that serves now.
func (l *Live) Load() *Set { return l.p.Load() }

// Store makes s the Set of every request and task that starts from now on
// (one under way finishes with the one it read).
func (l *Live) Store(s *Set) { l.p.Store(s) }

// Policy is store's policy in the Set that serves now (recovery.Policies).
func (l *Live) Policy(store string) *recovery.Policy { return l.Load().Policy(store) }

// LongestDelay is the current Set's.
func (l *Live) LongestDelay() time.Duration { return l.Load().LongestDelay() }

// One is a Live serving t for every store, under rules r (a deployment of
// one shop; the benchmark and tests).
func One(t *Tenant, r Rules) *Live { return NewLive(New(Set{Default: t, Rules: r})) }
