package server

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/report"
)

// errAdminDisabled answers admin routes when no token is configured: they
// are disabled, never open.
var errAdminDisabled = fmt.Errorf("admin endpoints are disabled: set http.admin_token: %w", recovery.ErrNotFound)

// authorized checks "Authorization: Bearer <token>" (in constant time) or
// the dashboard session cookie. A wrong bearer token is a failed
// authentication: logged and counted against the client, which is refused
// with errRateLimited once it has failed too often.
func (s *Server) authorized(r *http.Request) error {
	if s.AdminToken == "" {
		return errAdminDisabled
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if err := s.checkLimit(r); err != nil {
			return err
		}
		got, ok := strings.CutPrefix(h, "Bearer ")
		if ok && tokenEqual(got, s.AdminToken) {
			return nil
		}
		s.authFailed(r, "bearer")
		return fmt.Errorf("wrong bearer token: %w", recovery.ErrUnauthorized)
	}
	ok, err := s.validSession(r)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	return fmt.Errorf("missing bearer token or dashboard session: %w", recovery.ErrUnauthorized)
}

// buildReport reads the query parameters of /api/report and the dashboard.
func (s *Server) buildReport(r *http.Request) (report.Report, error) {
	rep, _, _, err := s.reportData(r)
	return rep, err
}

// reportData reads the counters the request asks for once and builds the
// report; it also returns the counters and the query, for the dashboard's
// other views of the same read.
func (s *Server) reportData(r *http.Request) (report.Report, counterSet, report.Query, error) {
	q := r.URL.Query()
	from, to, err := report.ParseRange(q.Get("since"), q.Get("from"), q.Get("to"), s.Now())
	if err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		return report.Report{}, nil, report.Query{}, recovery.Invalid(field, msg)
	}
	by := q.Get("by")
	if by == "" {
		by = "step"
	}
	stores, err := s.Store.Stores(r.Context())
	if err != nil {
		return report.Report{}, nil, report.Query{}, err
	}
	var only []string
	if st := q.Get("store"); st != "" {
		if !recovery.ValidStore(st) {
			return report.Report{}, nil, report.Query{}, recovery.Invalid("store", "must be 1-100 characters of A-Z a-z 0-9 . _ -")
		}
		only = []string{st}
		stores = only // read only that store's counters
	}
	counters, err := s.Store.Counters(r.Context(), stores, report.Days(from, to))
	if err != nil {
		return report.Report{}, nil, report.Query{}, err
	}
	names, segments := s.settings().steps()
	q2 := report.Query{From: from, To: to, By: by, Stores: only, Steps: names, Segments: segments}
	rep, err := report.Build(counters, q2)
	if err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		return rep, nil, q2, recovery.Invalid(field, msg)
	}
	return rep, counters, q2, nil
}

// counterSet is what Store.Counters returns: store → day → counter → value.
type counterSet = map[string]map[string]map[recovery.Counter]int64

func (s *Server) apiReport(w http.ResponseWriter, r *http.Request) {
	if err := s.authorized(r); err != nil {
		writeError(w, s.Log, err)
		return
	}
	rep, err := s.buildReport(r)
	if err != nil {
		writeError(w, s.Log, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="cartrecovery-%s-to-%s-by-%s.csv"`, rep.From, rep.To, rep.By))
		_ = report.WriteCSV(w, rep)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// TimelineEvent is one dated line of a cart's history.
type TimelineEvent struct {
	At     time.Time `json:"at"`
	Type   string    `json:"type"`
	Detail string    `json:"detail,omitempty"`
}

// Timeline is GET /api/carts/{store}/{cart_id}.
type Timeline struct {
	Store   string `json:"store"`
	CartID  string `json:"cart_id"`
	State   string `json:"state"`
	Holdout bool   `json:"holdout"`
	// Segment is the cart's segment ("default": the top-level sequence);
	// next_step indexes its steps.
	Segment      string     `json:"segment"`
	Step         int        `json:"next_step"`
	NextDue      *time.Time `json:"next_due,omitempty"`
	LastActivity time.Time  `json:"last_activity"`
	Currency     string     `json:"currency"`
	Total        string     `json:"total"`
	Items        int        `json:"items"`
	Outcome      string     `json:"outcome"`
	// AttributionRule: how a recovery was credited, "click" or "send".
	AttributionRule string          `json:"attribution_rule,omitempty"`
	Events          []TimelineEvent `json:"events"`
}

func (s *Server) apiCart(w http.ResponseWriter, r *http.Request) {
	if err := s.authorized(r); err != nil {
		writeError(w, s.Log, err)
		return
	}
	tl, err := s.timeline(r.Context(), r.PathValue("store"), r.PathValue("cart"))
	if err != nil {
		writeError(w, s.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, tl)
}

// timeline is one cart's history: GET /api/carts/{store}/{cart_id} and the
// dashboard's search. An unknown cart wraps recovery.ErrNotFound.
func (s *Server) timeline(ctx context.Context, store, id string) (Timeline, error) {
	if !recovery.ValidStore(store) {
		return Timeline{}, recovery.Invalid("store", "is not a store name")
	}
	c, ok, err := s.Store.Load(ctx, store, id)
	if err == nil && !ok {
		err = fmt.Errorf("cart %s/%s (expired or never seen): %w", store, id, recovery.ErrNotFound)
	}
	if err != nil {
		return Timeline{}, err
	}
	tl := Timeline{Store: store, CartID: id, State: c.State, Holdout: c.Holdout, Step: c.Step, Segment: segmentName(c.Segment),
		LastActivity: c.Activity, Currency: c.Cart.Currency, Total: c.Cart.Total, Items: len(c.Cart.Items),
		Outcome: outcome(c), AttributionRule: c.AttributionRule}
	if d, ok, err := s.Store.NextDue(ctx, store, id); err == nil && ok {
		tl.NextDue = &d
	}
	add := func(at time.Time, typ, detail string) {
		if !at.IsZero() {
			tl.Events = append(tl.Events, TimelineEvent{At: at, Type: typ, Detail: detail})
		}
	}
	add(c.Created, "cart.first_seen", "first webhook received")
	add(c.Activity, "cart.last_activity", "delays count from here (platform time)")
	add(c.Abandoned, "cart.abandoned", "first step due with no order")
	for slot, m := range c.Sends {
		at, detail := m.At, m.Detail
		if m.Outcome == recovery.OutcomeClaimed {
			at, detail = m.Started, "sending (outcome not recorded)"
		}
		add(at, "message."+string(m.Outcome), strings.TrimSpace(slot.String()+s.variantNote(store, id, c.Segment, slot.Step)+" "+detail))
	}
	for slot, at := range c.Clicks {
		add(at, "message.clicked", slot.String())
	}
	for slot, rc := range c.Receipts {
		detail := slot.String()
		if rc.Error != "" {
			detail += " error " + rc.Error
		}
		add(rc.At, "message."+rc.Status, detail)
	}
	for slot, h := range c.Holds {
		add(h.At, "message.held", slot.String()+" quiet hours until "+h.Until.UTC().Format(time.RFC3339))
	}
	if c.OrderID != "" {
		detail := fmt.Sprintf("order %s %s %s placed %s, matched by %s",
			c.OrderID, c.OrderTotal, c.OrderCurrency, c.OrderAt.Format(time.RFC3339), c.OrderMatch)
		switch c.AttributionRule {
		case "click":
			detail += "; credited to the last message clicked within the attribution window"
		case "send":
			detail += "; credited to the last message sent (no click within the attribution window)"
		}
		add(c.OrderReceived, "order.created", detail)
	}
	add(c.Deleted, "cart.deleted", "the platform deleted the cart")
	if c.State == recovery.StateDeleted {
		tl.Outcome = "deleted"
	}
	sort.SliceStable(tl.Events, func(i, j int) bool { return tl.Events[i].At.Before(tl.Events[j].At) })
	return tl, nil
}

// variantNote names the A/B variant of step i, for steps that have
// variants.
func (s *Server) variantNote(store, id, segment string, i int) string {
	t, _ := s.settings().tenant(store)
	steps := t.Playbook.Sequence(segment)
	if i < 0 || i >= len(steps) || len(steps[i].Variants) == 0 {
		return ""
	}
	return " (variant " + steps[i].PickVariant(store, id).Name + ")"
}

// segmentName is a segment as reports name it.
func segmentName(segment string) string {
	if segment == "" {
		return recovery.DefaultSegment
	}
	return segment
}

// outcome summarizes what happened to the cart for the timeline.
func outcome(c recovery.CartState) string {
	switch {
	case c.Attribution != "":
		return c.Attribution
	case c.State == recovery.StateOrdered:
		return "ordered"
	case c.State == recovery.StateActive && !c.Reminded.IsZero():
		return "reminded"
	case c.State == recovery.StateActive:
		return "pending"
	}
	return c.State
}
