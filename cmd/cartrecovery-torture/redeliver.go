package main

import (
	"fmt"
	"net/http"
	"time"
)

// redeliver replays the delivery patterns platforms produce, o.Redeliver
// carts each:
//   - update A, update B with the same occurred_at, A again (same id): the
//     replay is "duplicate" and B's content (its address) is what is sent;
//   - update, order, the order again, the update again, a newer update:
//     duplicates, and nothing revives the cart after the order;
//   - update, delete, the delete again, the update again: the same.
func redeliver(c *Cluster, tag string) (*scenarioRun, error) {
	o := c.opt
	sr := &scenarioRun{name: "redeliver"}
	const store = "redeliver"
	// want posts ev and counts a reply other than status.
	want := func(ev event, status int, counter *int) (reply, bool) {
		r, err := c.client.post(ev)
		if err != nil || r.Status != status {
			sr.count(counter)
			return r, false
		}
		return r, true
	}
	parallel(o.Redeliver, 4, func(i int) {
		t := time.Now()

		// A, B with the same timestamp, A replayed
		id := fmt.Sprintf("ab%04d", i)
		emA := fmt.Sprintf("%s.redeliver.a%04d@example.com", tag, i)
		emB := fmt.Sprintf("%s.redeliver.b%04d@example.com", tag, i)
		a := cartEvent("ev-a-"+id, store, id, emA, "Alpha", t)
		b := cartEvent("ev-b-"+id, store, id, emB, "Bravo", t)
		if _, ok := want(a, http.StatusAccepted, &sr.postsFailed); ok {
			if _, ok := want(b, http.StatusAccepted, &sr.postsFailed); ok {
				want(a, http.StatusOK, &sr.replays)
				sr.add(&cartPlan{Scenario: sr.name, Store: store, ID: id, Email: emB, Stale: []string{emA}})
			}
		}

		// order, replays, and an update after the order
		id = fmt.Sprintf("or%04d", i)
		em := fmt.Sprintf("%s.redeliver.o%04d@example.com", tag, i)
		u := cartEvent("ev-u-"+id, store, id, em, "Oscar", t)
		if _, ok := want(u, http.StatusAccepted, &sr.postsFailed); ok {
			ord := orderEvent("ev-o-"+id, store, id, em, time.Now())
			if r, ok := want(ord, http.StatusAccepted, &sr.postsFailed); ok {
				sr.add(&cartPlan{Scenario: sr.name, Store: store, ID: id, Email: em, StopAck: r.Ack})
				want(ord, http.StatusOK, &sr.replays)
				want(u, http.StatusOK, &sr.replays)
				// a genuinely newer update must not revive the ordered cart
				// (its answer is not checked: 202 "ignored" or 200 are both fine)
				if r, err := c.client.post(cartEvent("ev-u2-"+id, store, id, em, "Oscar", time.Now())); err != nil || !r.ok() {
					sr.count(&sr.postsFailed)
				}
			}
		}

		// delete and replays
		id = fmt.Sprintf("de%04d", i)
		em = fmt.Sprintf("%s.redeliver.d%04d@example.com", tag, i)
		u = cartEvent("ev-u-"+id, store, id, em, "Delia", t)
		if _, ok := want(u, http.StatusAccepted, &sr.postsFailed); ok {
			del := deleteEvent("ev-d-"+id, store, id, time.Now())
			if r, ok := want(del, http.StatusAccepted, &sr.postsFailed); ok {
				sr.add(&cartPlan{Scenario: sr.name, Store: store, ID: id, Email: em, StopAck: r.Ack})
				want(del, http.StatusOK, &sr.replays)
				want(u, http.StatusOK, &sr.replays)
			}
		}
	})
	o.logf("redeliver: %d carts", len(sr.plans))
	return sr, nil
}
