package server

import (
	"fmt"
	"slices"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/report"
	"github.com/cartrecovery/cartrecovery/tenant"
)

// settings is the tenant snapshot (package tenant) as the server serves
// it: each tenant with where its carts may send customers. It is derived
// from the Set that serves (Server.Tenants) on the first request after a
// reload and kept with it; a request reads it once.
type settings struct {
	set    *tenant.Set
	def    *served
	stores map[string]*served
}

// served is a tenant and its URL policy.
type served struct {
	*tenant.Tenant
	urls urlPolicy // where its carts may send customers
}

func newSettings(set *tenant.Set) *settings {
	out := &settings{set: set, def: &served{Tenant: set.Default, urls: newURLPolicy(set.Default.Shop)},
		stores: make(map[string]*served, len(set.Stores))}
	for id, t := range set.Stores {
		out.stores[id] = &served{Tenant: t, urls: newURLPolicy(t.Shop)}
	}
	return out
}

// settings returns the settings of the snapshot that serves now.
func (s *Server) settings() *settings {
	set := s.Tenants.Load()
	if v := s.served.Load(); v != nil && v.set == set {
		return v
	}
	v := newSettings(set)
	s.served.Store(v)
	return v
}

// tenant is store's settings: its own, else the default's; ok is false
// for a store webhooks are refused for.
func (st *settings) tenant(store string) (t *served, ok bool) {
	tn, ok := st.set.For(store)
	if tn.ID == "" {
		return st.def, ok
	}
	return st.stores[tn.ID], ok
}

// smsHelpFor is the answer to HELP sent to number to (or through the
// Messaging Service mgs): the help text of the store that sends from it,
// else the deployment's.
func (st *settings) smsHelpFor(to, mgs string) string {
	for _, t := range st.stores {
		if f := t.Shop.SMSFrom; f != "" && t.SMSHelp != "" && (f == to || f == mgs) {
			return t.SMSHelp
		}
	}
	return st.set.SMSHelp
}

// perStore reports whether any store has settings of its own, or others
// are refused: only then must a webhook's store be known before its
// signature is checked.
func (st *settings) perStore() bool { return len(st.stores) > 0 || st.set.Strict }

// shop is store's shop (the default's for a store not configured).
func (st *settings) shop(store string) recovery.Shop {
	t, _ := st.tenant(store)
	return t.Shop
}

// steps are the report's step and segment rows (report.Names) over the
// playbooks of every store.
func (st *settings) steps() (steps, segments []string) {
	pbs := []recovery.Playbook{st.def.Playbook}
	ids := make([]string, 0, len(st.stores))
	for id := range st.stores {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		pbs = append(pbs, st.stores[id].Playbook)
	}
	return report.Names(pbs...)
}

// secretFor returns the webhook secret of store for platform a, or an
// error wrapping recovery.ErrNotFound (404) for a store not configured. A
// delivery whose store cannot be read ("": no source header, a body that
// is not JSON) is verified with the default secrets: refused as unsigned,
// else its parser names what is missing; but a platform naming its store
// in the body is refused when stores have secrets of their own.
func (st *settings) secretFor(a platform.Adapter, store string) (string, *served, error) {
	if store == "" || !recovery.ValidStore(store) {
		if field := a.StoreField(); st.perStore() && field != "" {
			// whose secret would check it is unknown: never the default's
			return "", nil, recovery.Invalid(field, "names no store that can be read (stores have secrets of their own here)")
		}
		return st.def.Secrets[a.Name()], st.def, nil
	}
	t, ok := st.tenant(store)
	if !ok {
		return "", nil, fmt.Errorf("store %q is not configured here: add it under stores in the configuration (or a catch-all \"*\") to take its %s webhooks: %w",
			recovery.Clip(store, 100), a.Name(), recovery.ErrNotFound)
	}
	return t.Secrets[a.Name()], t, nil
}

// sameTenant refuses an event recorded under a store whose settings are
// not those that verified its signature (t): whatever the parser read, a
// store's carts only ever come signed with that store's secret.
func (st *settings) sameTenant(ev recovery.Event, t *served) error {
	want, ok := st.tenant(ev.Store)
	if !ok {
		return fmt.Errorf("store %q is not configured here: %w", recovery.Clip(ev.Store, 100), recovery.ErrNotFound)
	}
	if want.ID != t.ID {
		return fmt.Errorf("the delivery is signed for another store than %q: %w", recovery.Clip(ev.Store, 100), recovery.ErrUnauthorized)
	}
	return nil
}

// segment chooses the segment of a cart update: the first of the store's
// segments its cart and customer match ("" the default sequence). When the
// choice depends on whether the customer ordered before and the platform
// did not say so (or said 0, which does not rule out an order seen here),
// both choices go with the event and the store picks one as it records
// it, reading whether an order of the email was seen: no extra round trip.
// The store keeps the segment of a cart's first event whatever later ones
// choose.
func segment(t *served, ev *recovery.Event) {
	pb := t.Playbook
	if len(pb.Segments) == 0 {
		return
	}
	known := ev.Customer.OrdersKnown && ev.Customer.Orders > 0
	ev.Segment = pb.Choose(*ev, known)
	if !known && pb.NeedsHistory() && recovery.NormalizeEmail(ev.Customer.Email) != "" {
		if ret := pb.Choose(*ev, true); ret != ev.Segment {
			ev.ByHistory, ev.SegmentIfReturning = true, ret
		}
	}
}
