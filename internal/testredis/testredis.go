// Package testredis gives tests a private, real redis-server.
//
// Each test binary starts one redis-server on a random loopback port (Main)
// and every test gets its own database number, flushed before use. Set
// CARTRECOVERY_TEST_REDIS_URL to use an existing server instead (then run the
// packages with -p 1: tests flush the database they are given).
//
// There is deliberately no fallback to an embedded engine: tests must talk to
// the real thing, so a missing redis-server binary fails loudly.
package testredis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the variable that points tests at an existing server.
const EnvURL = "CARTRECOVERY_TEST_REDIS_URL"

const databases = 1024

var (
	mu      sync.Mutex
	cmd     *exec.Cmd
	dir     string
	addr    string
	nextDB  atomic.Int64
	started bool
)

// Main runs the tests of a package and stops the private server afterwards.
// Use it from TestMain: func TestMain(m *testing.M) { testredis.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop kills the private server, the shared cluster and the shared
// sentinel, those that were started.
func Stop() {
	stopCluster()
	stopSentinel()
	mu.Lock()
	defer mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	}
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	cmd, dir, started = nil, "", false
}

// Addr starts the private server if needed and returns its host:port.
func Addr(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if started {
		return addr
	}
	srv, err := Start(databases)
	if err != nil {
		t.Fatalf("testredis: %v", err)
	}
	cmd, dir, addr, started = srv.cmd, srv.dir, srv.Addr, true
	return addr
}

// Server is a private redis-server process.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	dir  string
}

// Start launches a private redis-server on a random loopback port, with no
// persistence and noeviction. Stop it with Close. The benchmark uses it too.
func Start(dbs int) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH (install it: apt-get install redis-server, or set %s): %w", EnvURL, err)
	}
	d, err := os.MkdirTemp("", "cartrecovery-redis-")
	if err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		a := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		c := exec.Command(bin,
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--save", "", "--appendonly", "no", "--dir", d,
			"--databases", strconv.Itoa(dbs),
			"--maxmemory-policy", "noeviction",
			"--logfile", filepath.Join(d, "redis.log"))
		if err := c.Start(); err != nil {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		if waitReady(a, 5*time.Second) {
			return &Server{Addr: a, cmd: c, dir: d}, nil
		}
		_ = c.Process.Kill()
		_, _ = c.Process.Wait()
	}
	log, _ := os.ReadFile(filepath.Join(d, "redis.log"))
	_ = os.RemoveAll(d)
	return nil, fmt.Errorf("redis-server did not become ready:\n%s", log)
}

// Close kills the server and removes its directory.
func (s *Server) Close() {
	_ = s.cmd.Process.Kill()
	_, _ = s.cmd.Process.Wait()
	_ = os.RemoveAll(s.dir)
}

// Options returns connection options for a fresh, flushed database that
// belongs to this test alone.
func Options(t testing.TB) *redis.Options {
	t.Helper()
	var opt *redis.Options
	if u := os.Getenv(EnvURL); u != "" {
		var err error
		opt, err = redis.ParseURL(u)
		if err != nil {
			t.Fatalf("testredis: %s: %v", EnvURL, err)
		}
	} else {
		a := Addr(t)
		db := int(nextDB.Add(1)) % databases
		opt = &redis.Options{Addr: a, DB: db}
	}
	c := redis.NewClient(opt)
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("testredis: flush db %d: %v", opt.DB, err)
	}
	return opt
}

// Client returns a client on a fresh database, closed when the test ends.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(Options(t))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// URL returns a redis:// URL for a fresh database of this test.
func URL(t testing.TB) string {
	t.Helper()
	o := Options(t)
	return fmt.Sprintf("redis://%s/%d", o.Addr, o.DB)
}

// FreePort asks the kernel for an unused loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(addr string, d time.Duration) bool {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c.Ping(context.Background()).Err() == nil {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
