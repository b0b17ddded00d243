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

// sentinelMaster is the name the sentinel monitors its master under.
const sentinelMaster = "mymaster"

var (
	sentinelMu  sync.Mutex
	sentinel    *Sentinel
	sentinelErr error
	nextSentDB  atomic.Int64
)

// Sentinel is a private Redis Sentinel on loopback: one redis-server master
// and one sentinel monitoring it (quorum 1), no replicas.
type Sentinel struct {
	addrs  []string
	master string
	procs  []*proc
	dir    string
}

// Addrs returns the host:port of the sentinels.
func (s *Sentinel) Addrs() []string { return append([]string(nil), s.addrs...) }

// Master returns the name the sentinels know the master by.
func (s *Sentinel) Master() string { return sentinelMaster }

// MasterAddr returns the host:port of the master.
func (s *Sentinel) MasterAddr() string { return s.master }

// URL returns redis-sentinel://127.0.0.1:SP/<db>?master=mymaster.
func (s *Sentinel) URL(db int) string {
	return fmt.Sprintf("redis-sentinel://%s/%d?master=%s", s.addrs[0], db, sentinelMaster)
}

// Close kills the sentinel and the master and removes their directory.
func (s *Sentinel) Close() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].kill()
	}
	_ = os.RemoveAll(s.dir)
}

// StartSentinel launches a master redis-server (no persistence, noeviction,
// as many databases as Start gives) and a sentinel monitoring it, both on
// free loopback ports, and returns once the sentinel names the master's
// address and sees it up. Stop it with Close. Tests use SharedSentinel.
func StartSentinel() (*Sentinel, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH (install it: apt-get install redis-server): %w", err)
	}
	d, err := os.MkdirTemp("", "cartrecovery-sentinel-")
	if err != nil {
		return nil, err
	}
	s := &Sentinel{dir: d}
	fail := func(err error) (*Sentinel, error) {
		log := logTails(d)
		s.Close()
		return nil, fmt.Errorf("%w%s", err, log)
	}

	m, mport, err := launch(bin, 1, func(ports []int) ([]string, error) {
		return []string{
			"--bind", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
			"--save", "", "--appendonly", "no", "--dir", d,
			"--databases", strconv.Itoa(databases),
			"--maxmemory-policy", "noeviction",
			"--logfile", filepath.Join(d, "master.log"),
		}, nil
	})
	if err != nil {
		return fail(err)
	}
	s.procs = append(s.procs, m)
	s.master = net.JoinHostPort("127.0.0.1", strconv.Itoa(mport))

	// The sentinel rewrites its config file, so it lives in the temp dir.
	sp, sport, err := launch(bin, 1, func(ports []int) ([]string, error) {
		conf := filepath.Join(d, "sentinel-"+strconv.Itoa(ports[0])+".conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 1\n"+
			"sentinel down-after-milliseconds %s 5000\n",
			ports[0], d, filepath.Join(d, "sentinel.log"),
			sentinelMaster, mport, sentinelMaster)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, err
		}
		return []string{conf, "--sentinel"}, nil
	})
	if err != nil {
		return fail(err)
	}
	s.procs = append(s.procs, sp)
	s.addrs = []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(sport))}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.waitMaster(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// waitMaster polls the sentinel until get-master-addr-by-name answers the
// master's address and the master's flags are plain "master" (connected,
// not down).
func (s *Sentinel) waitMaster(ctx context.Context) error {
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.addrs[0], MaxRetries: -1})
	defer sc.Close()
	last := ""
	for {
		addr, err := sc.GetMasterAddrByName(ctx, sentinelMaster).Result()
		if err == nil && len(addr) == 2 && net.JoinHostPort(addr[0], addr[1]) == s.master {
			var m map[string]string
			m, err = sc.Master(ctx, sentinelMaster).Result()
			if err == nil && m["flags"] == "master" {
				return nil
			}
			last = fmt.Sprintf("master flags %q", m["flags"])
		} else {
			last = fmt.Sprintf("master address %v", addr)
		}
		if err != nil {
			last = err.Error()
		}
		if !pause(ctx, 20*time.Millisecond) {
			return fmt.Errorf("sentinel %s does not serve master %s at %s: %s", s.addrs[0], sentinelMaster, s.master, last)
		}
	}
}

// SharedSentinel starts the test binary's sentinel on first use and returns
// it; Stop (called by Main) closes it. A missing redis-server fails the test.
func SharedSentinel(t testing.TB) *Sentinel {
	t.Helper()
	sentinelMu.Lock()
	defer sentinelMu.Unlock()
	if sentinel == nil && sentinelErr == nil {
		sentinel, sentinelErr = StartSentinel()
	}
	if sentinelErr != nil {
		t.Fatalf("testredis: sentinel: %v", sentinelErr)
	}
	return sentinel
}

// FailoverClient returns a sentinel-backed client of the shared sentinel's
// master on a database of this test alone, flushed before use, and that
// database's number. The client is closed when the test ends.
func FailoverClient(t testing.TB) (*redis.Client, int) {
	t.Helper()
	s := SharedSentinel(t)
	db := int(nextSentDB.Add(1)) % databases
	m := redis.NewClient(&redis.Options{Addr: s.MasterAddr(), DB: db})
	defer m.Close()
	if err := m.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("testredis: flush sentinel master db %d: %v", db, err)
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    s.Master(),
		SentinelAddrs: s.Addrs(),
		DB:            db,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c, db
}

// stopSentinel closes the shared sentinel, if one was started.
func stopSentinel() {
	sentinelMu.Lock()
	defer sentinelMu.Unlock()
	if sentinel != nil {
		sentinel.Close()
	}
	sentinel, sentinelErr = nil, nil
}
