package testredis

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// EnvMode names the variable that runs a package's tests on another Redis
// mode: "single" (default), "sentinel" or "cluster". EveryMode sets it.
const EnvMode = "CARTRECOVERY_TEST_REDIS_MODE"

// Mode is the Redis mode this test binary runs on.
func Mode() string {
	if m := os.Getenv(EnvMode); m != "" {
		return m
	}
	return "single"
}

// Universal returns a client of this binary's mode (Mode) on keys of this
// test alone: a fresh database on the private server or behind the shared
// sentinel, or the shared cluster flushed (tests of a package that runs on
// a cluster must not run in parallel). It is closed when the test ends.
func Universal(t testing.TB) redis.UniversalClient {
	t.Helper()
	switch Mode() {
	case "cluster":
		c := ClusterClient(t)
		err := c.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error {
			return n.FlushAll(ctx).Err()
		})
		if err != nil {
			t.Fatalf("testredis: flush the cluster: %v", err)
		}
		return c
	case "sentinel":
		c, _ := FailoverClient(t)
		return c
	default:
		return Client(t)
	}
}

// ModeURL returns the mode and a URL of it for a fresh keyspace of this
// test, in the form redis.url takes for that mode.
func ModeURL(t testing.TB) (mode, url string) {
	t.Helper()
	switch Mode() {
	case "cluster":
		Universal(t) // flush
		return "cluster", SharedCluster(t).URL()
	case "sentinel":
		_, db := FailoverClient(t)
		return "sentinel", SharedSentinel(t).URL(db)
	default:
		return "single", URL(t)
	}
}

// EveryMode runs the tests of the calling package again on a real Redis
// Cluster and on a real Sentinel, as subtests of t, by re-running the test
// binary with EnvMode set (run selects the tests, a -test.run pattern). It
// does nothing in a binary already running on another mode, and is skipped
// with -short.
func EveryMode(t *testing.T, run string) {
	if Mode() != "single" {
		t.Skip("runs from the single-mode binary")
	}
	if testing.Short() {
		t.Skip("-short: single mode only")
	}
	for _, mode := range []string{"cluster", "sentinel"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run", run, "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), EnvMode+"="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("tests on %s failed: %v\n%s", mode, err, out)
			}
			passed := strings.Count(string(out), "--- PASS")
			if passed == 0 {
				t.Fatalf("tests on %s ran nothing:\n%s", mode, out)
			}
			t.Logf("on %s: %d tests and subtests passed (%d skipped)", mode, passed, strings.Count(string(out), "--- SKIP"))
		})
	}
}
