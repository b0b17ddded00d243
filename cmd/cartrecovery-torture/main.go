// Command cartrecovery-torture is the fault-injection suite (`make torture`).
//
// It builds the cartrecovery binary and runs it the way an operator does —
// one web and two worker processes, a real redis-server with AOF, an SMTP
// server that takes a relay's time per message — then hurts it from the
// outside: kill -9s of workers while sends are in flight and one of Redis,
// orders racing due reminders, redelivered webhooks, skewed platform
// clocks, hostile names and refusing recipients. Everything is measured
// from the outside too (the messages the SMTP server received, the cart
// records in Redis, the process logs) and printed as one table with a
// PASS/FAIL per scenario against issue 6's "Done when". It exits 1 on FAIL,
// 2 when it could not run. Bounded: loopback only, every wait has a
// deadline, the whole run stops by itself within -timeout.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	o := Options{Log: os.Stderr}
	var scenarios string
	flag.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run")
	flag.StringVar(&o.Src, "src", "", "build the binary from this module root (default: the current module)")
	flag.IntVar(&o.Carts, "carts", 1000, "kills: carts to post")
	flag.IntVar(&o.Kills, "kills", 20, "kills: kill -9s of a random worker while sends are in flight")
	flag.DurationVar(&o.KillEvery, "kill-every", 700*time.Millisecond, "kills: mean pause between kills")
	flag.BoolVar(&o.RedisRestart, "redis-restart", true, "kills: kill -9 and restart redis-server once, half-way")
	flag.DurationVar(&o.Latency, "latency", 100*time.Millisecond, "kills: SMTP time per message")
	flag.IntVar(&o.RaceCarts, "race-carts", 500, "race: carts whose order lands near their due time")
	flag.DurationVar(&o.RaceLatency, "race-latency", 200*time.Millisecond, "race: SMTP time per message")
	flag.DurationVar(&o.RaceSpread, "race-spread", 10*time.Second, "race: carts are posted evenly over this")
	flag.DurationVar(&o.RaceJitter, "race-jitter", 300*time.Millisecond, "race: orders land within ± this of the due time")
	flag.IntVar(&o.Redeliver, "redeliver", 20, "redeliver: carts per redelivery pattern")
	flag.IntVar(&o.Skew, "skew", 20, "skew: carts per clock pattern")
	flag.DurationVar(&o.OtherLatency, "other-latency", 50*time.Millisecond, "redeliver, skew, hostile: SMTP time per message")
	flag.IntVar(&o.Pool, "pool", 4, "email.smtp.pool")
	flag.IntVar(&o.Concurrency, "concurrency", 10, "worker.concurrency")
	flag.DurationVar(&o.SendTimeout, "send-timeout", 2*time.Second, "worker.send_timeout")
	flag.DurationVar(&o.Stall, "stall", 100*time.Second, "kills: stop waiting for outcomes after this long without progress (asynq recovers a dead worker's tasks within 30-90 s)")
	flag.DurationVar(&o.Deadline, "timeout", 10*time.Minute, "the whole run")
	flag.Uint64Var(&o.Seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	flag.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (config, logs, AOF)")
	flag.StringVar(&o.LogLevel, "log-level", "info", "the service's log.level")
	flag.BoolVar(&o.PlantDuplicate, "plant-duplicate", false, "resend one message before measuring (the duplicated count must show it)")
	quiet := flag.Bool("q", false, "no progress lines")
	flag.Parse()
	if *quiet {
		o.Log = nil
	}
	o.Scenarios = strings.Split(scenarios, ",")
	for _, s := range o.Scenarios {
		if !slices.Contains(allScenarios, s) {
			fmt.Fprintf(os.Stderr, "torture: -scenarios: unknown %q (have %s)\n", s, strings.Join(allScenarios, ", "))
			os.Exit(2)
		}
	}
	o.logf("seed %d", o.Seed)
	rep, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "torture:", err)
		if errors.Is(err, errNoRedis) {
			fmt.Fprintln(os.Stderr, "torture: install redis-server (make redis-server)")
		}
		os.Exit(2)
	}
	rep.Print(os.Stdout)
	if rep.Failed() {
		os.Exit(1)
	}
}
