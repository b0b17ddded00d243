package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// The dashboard's search: a cart id (in one store or every store) opens the
// cart's timeline, GET /api/carts/{store}/{cart_id}'s own; an email address
// finds the customer's last reminded cart, when the store can tell it.

// maxSearchStores bounds the stores a search looks a cart id up in.
const maxSearchStores = 200

// lastCartFinder is what an email search needs from the store: the cart
// last reminded to an address (the "last:<email>" key, kept for the
// attribution window). The search uses it as soon as redis.Store has it.
type lastCartFinder interface {
	LastReminded(ctx context.Context, store, email string) (cartID string, ok bool, err error)
}

// searchResult is what a search found.
type searchResult struct {
	Query    string // as typed
	Shown    string // as the page shows it: an email address masked
	Email    bool   // the query is an email address
	Store    string // the store searched ("" = every store)
	Carts    []foundCart
	Note     string // shown above the results
	Searched int    // stores searched
}

// foundCart is one cart with its timeline, personal data masked.
type foundCart struct {
	Timeline
	Customer string // masked email or phone
	Platform string
	Link     string // GET /api/carts/... (JSON)
}

// emailInDetail finds addresses in timeline details (provider errors may
// echo the recipient) to mask them.
var emailInDetail = regexp.MustCompile(`[^\s<>()\[\]\\,;:"@]+@[^\s<>()\[\]\\,;:"@]+`)

func maskDetail(s string) string {
	return emailInDetail.ReplaceAllStringFunc(s, notify.MaskAddress)
}

// searchCarts looks query up: an email address through lastCartFinder, else
// a cart id, in store or every store.
func (s *Server) searchCarts(r *http.Request, query, store string) (searchResult, error) {
	ctx := r.Context()
	query = strings.TrimSpace(query)
	res := searchResult{Query: query, Shown: query, Store: store, Email: strings.Contains(query, "@")}
	if res.Email {
		res.Shown = notify.MaskAddress(query)
	}
	if store != "" && !recovery.ValidStore(store) {
		return res, recovery.Invalid("store", "is not a store name (1-100 characters of A-Z a-z 0-9 . _ -)")
	}
	if query == "" {
		return res, recovery.Invalid("query", "is empty: enter a cart id or an email address")
	}
	if len(query) > 500 {
		return res, recovery.Invalid("query", "is longer than 500 characters")
	}
	stores := []string{store}
	if store == "" {
		var err error
		if stores, err = s.Store.Stores(ctx); err != nil {
			return res, err
		}
		if len(stores) > maxSearchStores {
			res.Note = fmt.Sprintf("Searched the first %d of %d stores: choose a store to search the others.", maxSearchStores, len(stores))
			stores = stores[:maxSearchStores]
		}
	}
	res.Searched = len(stores)
	type hit struct{ store, id string }
	var hits []hit
	if res.Email {
		finder, ok := any(s.Store).(lastCartFinder)
		if !ok {
			res.Note = "Searching by email is not available in this version: search by cart id. (An email search finds the customer's last reminded cart, while its attribution window lasts.)"
			return res, nil
		}
		email := recovery.NormalizeEmail(query)
		for _, st := range stores {
			id, ok, err := finder.LastReminded(ctx, st, email)
			if err != nil {
				return res, err
			}
			if ok {
				hits = append(hits, hit{st, id})
			}
		}
	} else {
		for _, st := range stores {
			hits = append(hits, hit{st, query})
		}
	}
	for _, h := range hits {
		c, ok, err := s.Store.Load(ctx, h.store, h.id)
		if err != nil {
			return res, err
		}
		if !ok {
			continue
		}
		tl, err := s.timeline(r.Context(), h.store, h.id)
		if errors.Is(err, recovery.ErrNotFound) {
			continue // expired since
		}
		if err != nil {
			return res, err
		}
		for i := range tl.Events {
			tl.Events[i].Detail = maskDetail(tl.Events[i].Detail)
		}
		who := c.Customer.Email
		if who == "" {
			who = c.Customer.Phone
		}
		masked := ""
		if who != "" {
			masked = notify.MaskAddress(who)
		}
		res.Carts = append(res.Carts, foundCart{Timeline: tl, Customer: masked, Platform: c.Platform,
			Link: "/api/carts/" + h.store + "/" + url.PathEscape(h.id)})
	}
	return res, nil
}

// timelineTime writes an event time for the page (UTC, to the second).
func timelineTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}
