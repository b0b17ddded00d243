package main

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// race posts o.RaceCarts carts evenly over RaceSpread, each dated when it
// is posted, and for each an order (same cart, same address) that lands
// within ± RaceJitter of the cart's first due time. The client-side time
// of the order's 2xx is the promise: no reminder may start after it.
func race(c *Cluster, rng *rand.Rand, tag string) (*scenarioRun, error) {
	o := c.opt
	sr := &scenarioRun{name: "race"}
	n := o.RaceCarts
	start := time.Now().Add(200 * time.Millisecond)
	offsets := make([]time.Duration, n)
	for i := range offsets {
		offsets[i] = time.Duration(rng.Int64N(2*int64(o.RaceJitter)+1)) - o.RaceJitter
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := start.Add(time.Duration(i) * o.RaceSpread / time.Duration(max(n, 1)))
			time.Sleep(time.Until(at)) // pacing: the cart is posted at its time
			p := &cartPlan{Scenario: sr.name, Store: "race", ID: fmt.Sprintf("r%05d", i),
				Email: fmt.Sprintf("%s.race.%05d@example.com", tag, i)}
			posted := time.Now()
			r, err := c.client.post(cartEvent("rc-"+p.ID, p.Store, p.ID, p.Email, "Rae", posted))
			if err != nil || !r.ok() {
				sr.count(&sr.postsFailed)
				return
			}
			time.Sleep(time.Until(posted.Add(steps[0] + offsets[i]))) // pacing: the order lands near the due time
			r, err = c.client.post(orderEvent("ro-"+p.ID, p.Store, p.ID, p.Email, time.Now()))
			if err != nil || !r.ok() {
				sr.count(&sr.postsFailed)
			} else {
				p.StopAck = r.Ack
			}
			sr.add(p)
		}()
	}
	wg.Wait()
	o.logf("race: %d carts and orders posted", len(sr.plans))
	return sr, nil
}
