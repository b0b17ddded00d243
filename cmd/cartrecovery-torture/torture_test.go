package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// testLog sends the harness's progress lines to t.Log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestTortureSmall is `make torture` in small: about 100 carts, 3 kill -9s
// of a worker and one of redis-server, a small order race, redeliveries,
// skewed clocks and hostile names, against the built binary. It asserts
// counts only, never timings. Its length is set by how soon a dead
// worker's unclaimed tasks come back (asynq: a 30 s lease, recovered by a
// check that runs every minute).
func TestTortureSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatal("redis-server not found in PATH (CI is set, so this is a failure): install it, e.g. make redis-server")
		}
		t.Skip("redis-server not found in PATH: install it (make redis-server); with CI set this test fails instead")
	}
	o := Options{
		Scenarios: allScenarios,
		Carts:     100, Kills: 3, KillEvery: 300 * time.Millisecond, RedisRestart: true, Latency: 30 * time.Millisecond,
		RaceCarts: 30, RaceLatency: 50 * time.Millisecond, RaceSpread: 2 * time.Second, RaceJitter: 200 * time.Millisecond,
		Redeliver: 3, Skew: 3, OtherLatency: 20 * time.Millisecond,
		Pool: 4, Concurrency: 10, SendTimeout: 2 * time.Second,
		Stall: 100 * time.Second, Deadline: 4 * time.Minute, Seed: uint64(time.Now().UnixNano()),
		LogLevel: "info", Log: testLog{t},
	}
	t.Logf("seed %d", o.Seed)
	rep, err := run(o)
	if errors.Is(err, errNoRedis) {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Print(&b)
	t.Log(b.String())

	if len(rep.Rows) != len(allScenarios) {
		t.Fatalf("%d scenarios measured, want %d", len(rep.Rows), len(allScenarios))
	}
	for _, row := range rep.Rows {
		for _, f := range row.Fail {
			t.Errorf("%s: %s", row.Name, f)
		}
		m := row.M
		// every step is accounted for: delivered, unknown, refused by the
		// server (planned) or legitimately skipped; nothing silent or lost
		if got := m.Sent + m.UnknownUndelivered + m.Skipped + m.Failed; got != m.Expected || m.FailedUnplanned != 0 {
			t.Errorf("%s: expected %d = sent %d + unknown %d + skipped %d + failed %d (unplanned %d) = %d; silent %d, lost %d",
				row.Name, m.Expected, m.Sent, m.UnknownUndelivered, m.Skipped, m.Failed, m.FailedUnplanned, got, m.SilentUndelivered, m.Lost)
		}
	}
	if rep.Crashes != 0 {
		t.Errorf("%d service processes exited on their own", rep.Crashes)
	}
	if budget := (o.Kills + 2) * o.Pool; rep.Total.Unknown > budget { // 3 workers and 1 redis-server (2 workers' sends) killed
		t.Errorf("%d unknown outcomes, more than the %d sends in flight at the kills", rep.Total.Unknown, budget)
	}
	if rep.Kills != o.Kills || rep.RedisRestarts != 1 {
		t.Errorf("%d kills and %d redis restarts done, want %d and 1", rep.Kills, rep.RedisRestarts, o.Kills)
	}
	if k := rep.Rows[0]; k.Name != "kills" || k.M.Sent == 0 {
		t.Errorf("kills scenario sent nothing: %+v", k)
	}
}
