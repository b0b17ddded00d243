package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options size and pace the run.
type Options struct {
	Scenarios []string // any of kills, race, redeliver, skew, hostile
	Src       string   // module root to build the binary from ("" = the current module)

	Carts        int           // kills: carts posted
	Kills        int           // kills: kill -9s of a worker
	KillEvery    time.Duration // kills: pause between kills
	RedisRestart bool          // kills: kill -9 and restart redis-server once, half-way
	Latency      time.Duration // kills: SMTP time per message

	RaceCarts   int
	RaceLatency time.Duration
	RaceSpread  time.Duration // carts are posted evenly over this
	RaceJitter  time.Duration // orders land within ± this of the due time

	Redeliver    int // carts per redelivery pattern
	Skew         int // carts per skew pattern
	OtherLatency time.Duration

	Pool        int
	Concurrency int
	SendTimeout time.Duration

	Stall    time.Duration // kills: give up waiting after this long without progress
	Deadline time.Duration // the whole run
	Seed     uint64
	Keep     bool
	LogLevel string
	Log      io.Writer // progress lines; nil = quiet
	// PlantDuplicate resends one received message to the SMTP server before
	// measuring: the duplicate count must then be exactly 1 more.
	PlantDuplicate bool
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
}

func (o Options) has(s string) bool { return slices.Contains(o.Scenarios, s) }

var allScenarios = []string{"kills", "race", "redeliver", "skew", "hostile"}

// scenarioRun is what one scenario did, for the measurement.
type scenarioRun struct {
	name    string
	plans   []*cartPlan
	kills   int // kill -9s during the scenario
	restart int // redis restarts during the scenario

	mu             sync.Mutex
	postsFailed    int // deliveries that never got the answer they must get
	replays        int // redeliveries not answered "duplicate"
	absurdAccepted int // events dated in year 9999 answered 2xx
}

func (r *scenarioRun) add(p *cartPlan) { r.mu.Lock(); r.plans = append(r.plans, p); r.mu.Unlock() }

func (r *scenarioRun) count(n *int) { r.mu.Lock(); *n++; r.mu.Unlock() }

// phase is scenarios that run side by side at one SMTP latency.
type phase struct {
	latency time.Duration
	stall   time.Duration
	runs    []func(*Cluster, *rand.Rand) (*scenarioRun, error)
}

// run starts the cluster, runs the phases, stops the services and measures.
func run(o Options) (*Report, error) {
	began := time.Now()
	deadline := began.Add(o.Deadline)
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed))
	c, err := startCluster(o)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	tag := runTag(rng)
	// An outcome may be missing for at most 2×send_timeout plus a sweep.
	quiet := 2*o.SendTimeout + 5*time.Second
	var phases []phase
	if o.has("kills") {
		phases = append(phases, phase{o.Latency, max(o.Stall, quiet), []func(*Cluster, *rand.Rand) (*scenarioRun, error){
			func(c *Cluster, r *rand.Rand) (*scenarioRun, error) { return kills(c, r, tag) }}})
	}
	if o.has("race") {
		phases = append(phases, phase{o.RaceLatency, quiet + 5*time.Second, []func(*Cluster, *rand.Rand) (*scenarioRun, error){
			func(c *Cluster, r *rand.Rand) (*scenarioRun, error) { return race(c, r, tag) }}})
	}
	var small []func(*Cluster, *rand.Rand) (*scenarioRun, error)
	if o.has("redeliver") {
		small = append(small, func(c *Cluster, _ *rand.Rand) (*scenarioRun, error) { return redeliver(c, tag) })
	}
	if o.has("skew") {
		small = append(small, func(c *Cluster, _ *rand.Rand) (*scenarioRun, error) { return skew(c, tag) })
	}
	if o.has("hostile") {
		small = append(small, func(c *Cluster, _ *rand.Rand) (*scenarioRun, error) { return hostile(c, tag) })
	}
	if len(small) > 0 {
		phases = append(phases, phase{o.OtherLatency, quiet + 5*time.Second, small})
	}

	var runs []*scenarioRun
	for _, ph := range phases {
		c.smtp.SetLatency(ph.latency)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
			got  []*scenarioRun
		)
		for i, f := range ph.runs {
			wg.Add(1)
			r := rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))
			go func() {
				defer wg.Done()
				sr, err := f(c, r)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if sr != nil {
					got = append(got, sr)
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			return nil, errs[0]
		}
		var plans []*cartPlan
		for _, sr := range got {
			plans = append(plans, sr.plans...)
		}
		c.settle(plans, ph.stall, deadline, quiet)
		runs = append(runs, got...)
	}
	slices.SortStableFunc(runs, func(a, b *scenarioRun) int {
		return slices.Index(allScenarios, a.name) - slices.Index(allScenarios, b.name)
	})
	c.stopServices()
	return c.measureAll(runs, o, tag, time.Since(began))
}

// settle waits until every step of plans has an outcome (or a stop, or a
// claim older than quiet), no progress was seen for stall, or the deadline.
func (c *Cluster) settle(plans []*cartPlan, stall time.Duration, deadline time.Time, quiet time.Duration) {
	lastN, lastTx := -1, -1
	progress := time.Now()
	err := waitFor(time.Until(deadline), 300*time.Millisecond, func() error {
		snap, err := c.snapshot(plans)
		if err != nil {
			return err // Redis restarting: try again
		}
		n, tx := pending(plans, snap, time.Now(), quiet), c.smtp.Transactions()
		if n == 0 {
			return nil
		}
		if n != lastN || tx != lastTx {
			lastN, lastTx, progress = n, tx, time.Now()
		}
		if time.Since(progress) > stall {
			return errStop{fmt.Errorf("%d steps without an outcome and no progress for %s", n, stall)}
		}
		return fmt.Errorf("%d steps without an outcome", n)
	})
	if err != nil {
		c.opt.logf("settle: %v", err)
	}
}

// snapshot reads the cart hashes of plans.
func (c *Cluster) snapshot(plans []*cartPlan) (snapshot, error) {
	ctx, cancel := readCtx()
	defer cancel()
	snap := snapshot{}
	for i := 0; i < len(plans); i += 500 {
		pipe := c.rdb.Pipeline()
		chunk := plans[i:min(i+500, len(plans))]
		cmds := make([]interface{ Val() map[string]string }, len(chunk))
		for j, p := range chunk {
			cmds[j] = pipe.HGetAll(ctx, p.key())
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		for j, p := range chunk {
			if v := cmds[j].Val(); len(v) > 0 {
				snap[p.key()] = v
			}
		}
	}
	return snap, nil
}

// runTag starts the local part of this run's addresses (or ends it, for
// the non-ASCII one), so that a log line holding it surely leaks more of
// an address than a mask shows.
func runTag(rng *rand.Rand) string {
	const letters = "bcdfghjkmnpqrstvwxz"
	var b strings.Builder
	for range 6 {
		b.WriteByte(letters[rng.IntN(len(letters))])
	}
	return b.String()
}

// parallel runs f(0..n-1) with at most width at once.
func parallel(n, width int, f func(i int)) {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() { defer wg.Done(); defer func() { <-sem }(); f(i) }()
	}
	wg.Wait()
}
