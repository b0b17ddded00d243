package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// kills posts o.Carts carts (one unique address each), then, while sends
// are in flight, kill -9s a random worker every KillEvery (restarting it
// at once) o.Kills times, and kill -9s redis-server once half-way.
func kills(c *Cluster, rng *rand.Rand, tag string) (*scenarioRun, error) {
	o := c.opt
	sr := &scenarioRun{name: "kills"}
	now := time.Now()
	parallel(o.Carts, 8, func(i int) {
		p := &cartPlan{Scenario: sr.name, Store: "kills", ID: fmt.Sprintf("k%05d", i),
			Email: fmt.Sprintf("%s.kills.%05d@example.com", tag, i)}
		r, err := c.client.post(cartEvent("k-"+p.ID, p.Store, p.ID, p.Email, "Kim", now))
		if err != nil || r.Status != http.StatusAccepted {
			sr.count(&sr.postsFailed)
			return
		}
		sr.add(p)
	})
	o.logf("kills: %d carts posted", len(sr.plans))
	// Kill only while messages are going out: each kill waits until the
	// SMTP server has seen a new transaction since the previous one.
	seen := 0
	k0, r0 := c.counts()
	for i := 0; i < o.Kills; i++ {
		err := waitFor(20*time.Second, 10*time.Millisecond, func() error {
			if n := c.smtp.Transactions(); n > seen {
				seen = n
				return nil
			}
			return fmt.Errorf("no send in flight")
		})
		if err != nil {
			o.logf("kills: stopped after %d kills: %v", i, err)
			break
		}
		time.Sleep(o.KillEvery/2 + time.Duration(rng.Int64N(int64(o.KillEvery)+1))) // pacing, not waiting
		if err := c.killWorker(rng); err != nil {
			return sr, err
		}
		if o.RedisRestart && i == o.Kills/2 {
			if err := c.restartRedis(); err != nil {
				return sr, err
			}
		}
	}
	k1, r1 := c.counts()
	sr.kills, sr.restart = k1-k0, r1-r0
	return sr, nil
}
