package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Cart hash fields (<prefix>{<store>}:cart:<id>). The cart's content is a
// separate string key ("d:<id>", record.go): it is too long for Redis's
// compact hash encoding (64 bytes a value), and keeping it out keeps the
// hash a listpack, about 4x smaller.
//
//	st    state: active | ordered | deleted
//	at    platform time of the newest applied event (ms), for staleness
//	act   last activity (ms) = min(at, receive time); delays count from it;
//	      left out when equal to at
//	step  index of the next step to run
//	gen   bumped on every activity and step change; tasks carry it
//	rx    receive time of the newest applied update (ms), capped at its
//	      platform time + the order grace: compared at the claim with the
//	      receive time of an order by the same email (this service's clock)
//	old   "1" when the newest update's activity was older than
//	      rules.max_cart_age when it arrived: tracked, never messaged
//	pv    when the previous step finished (ms): spacing of the next one
//	w     fingerprints of the first eight deliveries applied (6 bytes each)
//	em    normalized email (checked against "ordered:<email>")
//	c0    first seen (ms); ho "1" in the holdout group (else absent); ab
//	      abandoned at (ms)
//	sg    the cart's segment, chosen at its first event (absent: the default
//	      sequence); "step" indexes its steps
//	rem   first message accepted (ms); ls last message sent: suffix|ms
//	clk   clicks; lc the last clicked message: suffix|ms
//	oid/oat/orx/otot/ocur/oby/att the order and its attribution; arule the
//	      rule that credited it: click (the last clicked message within the
//	      window) or send (the last message sent)
//	rs:<step>  when the step's first message was sent (counted reached once)
//	m:<step>:<channel>  send state "claimed|ms", then "sent|ms|claimed|detail",
//	                    "failed|ms|claimed|detail" or "skipped|ms|ms|reason"
//	k:<step>:<channel>  first click on that message's link (ms)
//	r:<step>:<channel>  the provider's delivery receipt: "status|ms|error"
//	q:<step>:<channel>  held by quiet hours: "until ms|ms" (the last hold)
//	dc:<step>           the step's unique discount code: "CODE|expires ms|0",
//	                    "|1" once registered with the platform (issue.lua)

// Load reads one cart; ok is false when it does not exist (or expired).
func (s *Store) Load(ctx context.Context, store, id string) (recovery.CartState, bool, error) {
	var hc *goredis.MapStringStringCmd
	var dc *goredis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		hc = p.HGetAll(ctx, s.k.cart(store, id))
		dc = p.Get(ctx, s.k.data(store, id))
		return nil
	})
	if err != nil && err != goredis.Nil {
		return recovery.CartState{}, false, fmt.Errorf("load cart %s/%s: %w", store, id, err)
	}
	h := hc.Val()
	if len(h) == 0 {
		return recovery.CartState{}, false, nil
	}
	c := recovery.CartState{Store: store, ID: id, State: h["st"], OrderID: h["oid"],
		Sends: map[recovery.Slot]recovery.Send{}, Clicks: map[recovery.Slot]time.Time{}, Holdout: h["ho"] == "1",
		Abandoned: msTime(h["ab"]), Reminded: msTime(h["rem"]), Attribution: h["att"],
		AttributionRule: h["arule"],
		OrderAt:         msTime(h["oat"]), OrderReceived: msTime(h["orx"]), Deleted: msTime(h["del"]), OrderTotal: h["otot"], OrderCurrency: h["ocur"], OrderMatch: h["oby"]}
	if ls := h["ls"]; ls != "" {
		i := strings.LastIndexByte(ls, '|')
		c.LastTouch, c.LastTouchAt = ls[:max(i, 0)], msTime(ls[i+1:])
	}
	c.Step, _ = strconv.Atoi(h["step"])
	c.Segment = h["sg"]
	c.Gen, _ = strconv.Atoi(h["gen"])
	c.At = msTime(h["at"])
	c.Activity = msTime(h["act"])
	if c.Activity.IsZero() {
		c.Activity = c.At // "act" is kept only when it differs from "at"
	}
	c.Created = msTime(h["c0"])
	c.TooOld = h["old"] == "1"
	for f, v := range h {
		if i, ok := strings.CutPrefix(f, "dc:"); ok {
			if step, err := strconv.Atoi(i); err == nil {
				if c.Codes == nil {
					c.Codes = map[int]recovery.Code{}
				}
				c.Codes[step] = parseCode(v)
			}
			continue
		}
		switch kind, slot, ok := recovery.ParseSlotField(f); {
		case !ok:
		case kind == "m":
			c.Sends[slot] = parseSend(v)
		case kind == "k":
			c.Clicks[slot] = msTime(v)
		case kind == "r":
			if c.Receipts == nil {
				c.Receipts = map[recovery.Slot]recovery.Receipt{}
			}
			p := strings.SplitN(v, "|", 3)
			r := recovery.Receipt{Status: p[0]}
			if len(p) == 3 {
				r.At, r.Error = msTime(p[1]), p[2]
			}
			c.Receipts[slot] = r
		case kind == "q":
			if c.Holds == nil {
				c.Holds = map[recovery.Slot]recovery.Hold{}
			}
			until, at, _ := strings.Cut(v, "|")
			c.Holds[slot] = recovery.Hold{Until: msTime(until), At: msTime(at)}
		}
	}
	c.Cart, c.Customer, c.Platform, err = decodeRecord(id, dc.Val())
	if c.Customer.Email == "" {
		c.Customer.Email = h["em"]
	}
	return c, true, err
}

// sendValue is the stored form of an outcome: "outcome|ms|detail" (the
// finish script inserts when the claim was taken).
func sendValue(outcome string, at time.Time, detail string) string {
	detail = strings.ReplaceAll(detail, "|", "/")
	if len(detail) > 300 {
		detail = detail[:300]
	}
	return outcome + "|" + strconv.FormatInt(at.UnixMilli(), 10) + "|" + detail
}

// parseSend reads a send field: "claimed|ms" or "outcome|ms|claimed ms|detail".
func parseSend(raw string) recovery.Send {
	p := strings.SplitN(raw, "|", 4)
	out := recovery.Send{Outcome: recovery.Outcome(p[0])}
	if len(p) > 1 {
		out.At = msTime(p[1])
	}
	out.Started = out.At
	if len(p) > 2 {
		out.Started = msTime(p[2])
	}
	if len(p) > 3 {
		out.Detail = p[3]
	}
	return out
}

// SetContent replaces the content of a cart fetched from its platform at
// send time (its items, total, shopper and recovery link) and its email
// index, provided the cart is still active on generation gen. It reports
// whether it did; false means an event changed the cart meanwhile.
func (s *Store) SetContent(ctx context.Context, c recovery.CartState, gen int) (bool, error) {
	data, err := encodeRecord(c.Platform, c.Cart, c.Customer)
	if err != nil {
		return false, err
	}
	n, err := contentScript.run(ctx, s.rdb, contentCall{cart: s.k.cart(c.Store, c.ID), data: s.k.data(c.Store, c.ID),
		gen: gen, email: recovery.NormalizeEmail(c.Customer.Email), record: data}).Int()
	if err != nil {
		return false, fmt.Errorf("set the content of cart %s/%s: %w", c.Store, c.ID, err)
	}
	return n == 1, nil
}

// LastReminded returns the cart a customer (by email) was last reminded
// about in store, while it is within the attribution window: the only
// index by email (it serves cross-device orders), used by the dashboard's
// search.
func (s *Store) LastReminded(ctx context.Context, store, email string) (cartID string, ok bool, err error) {
	email = recovery.NormalizeEmail(email)
	if email == "" {
		return "", false, nil
	}
	id, err := s.rdb.Get(ctx, s.k.last(store, email)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up the last cart of a customer: %w", err)
	}
	return id, true, nil
}
