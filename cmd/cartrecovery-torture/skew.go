package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// skew dates events with a platform clock that is off, o.Skew carts each:
//   - a cart 2 min ahead and one 2 min behind; 3 s later the same address
//     orders on another cart: no reminder of either may start after that
//     order's 2xx;
//   - occurred_at 9999-01-01: must be a 400 (must not be stored either);
//   - occurred_at in 2000: tracked, never messaged (rules.max_cart_age).
func skew(c *Cluster, tag string) (*scenarioRun, error) {
	o := c.opt
	sr := &scenarioRun{name: "skew"}
	const store = "skew"
	orderAfter := steps[0] + time.Second // after the first step was due
	var wg sync.WaitGroup
	for _, sk := range []struct {
		name string
		off  time.Duration
	}{{"ahead", 2 * time.Minute}, {"behind", -2 * time.Minute}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parallel(o.Skew, 4, func(i int) {
				id := fmt.Sprintf("%s%04d", sk.name, i)
				em := fmt.Sprintf("%s.skew.%s%04d@example.com", tag, sk.name, i)
				posted := time.Now()
				r, err := c.client.post(cartEvent("ev-"+id, store, id, em, "Sam", posted.Add(sk.off)))
				if err != nil || r.Status != http.StatusAccepted {
					sr.count(&sr.postsFailed)
					return
				}
				p := &cartPlan{Scenario: sr.name, Store: store, ID: id, Email: em}
				// another device of the same customer, then its order
				other := &cartPlan{Scenario: sr.name, Store: store, ID: id + "-other", Email: em}
				time.Sleep(time.Until(posted.Add(orderAfter))) // pacing
				r, err = c.client.post(cartEvent("ev-"+other.ID, store, other.ID, em, "Sam", time.Now()))
				if err != nil || r.Status != http.StatusAccepted {
					sr.count(&sr.postsFailed)
					sr.add(p)
					return
				}
				r, err = c.client.post(orderEvent("ev-o-"+other.ID, store, other.ID, em, time.Now()))
				if err != nil || !r.ok() {
					sr.count(&sr.postsFailed)
				} else {
					p.StopAck, other.StopAck = r.Ack, r.Ack
				}
				sr.add(p)
				sr.add(other)
			})
		}()
	}
	parallel(o.Skew, 4, func(i int) {
		id := fmt.Sprintf("y9999-%04d", i)
		em := fmt.Sprintf("%s.skew.future%04d@example.com", tag, i)
		ev := cartEvent("ev-"+id, store, id, em, "Fay", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
		if r, err := c.client.post(ev); err != nil {
			sr.count(&sr.postsFailed)
		} else if r.Status != http.StatusBadRequest {
			sr.count(&sr.absurdAccepted)
		}
		sr.add(&cartPlan{Scenario: sr.name, Store: store, ID: id, Email: em, NoSend: true})

		id = fmt.Sprintf("y2000-%04d", i)
		em = fmt.Sprintf("%s.skew.old%04d@example.com", tag, i)
		ev = cartEvent("ev-"+id, store, id, em, "Olga", time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC))
		if r, err := c.client.post(ev); err != nil || !r.ok() {
			sr.count(&sr.postsFailed)
			return
		}
		sr.add(&cartPlan{Scenario: sr.name, Store: store, ID: id, Email: em, NoSend: true})
	})
	wg.Wait()
	o.logf("skew: %d carts", len(sr.plans))
	return sr, nil
}
