package testredis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterMasters is the number of masters of a test cluster; they share the
// 16384 slots evenly, no replicas.
const clusterMasters = 3

var (
	clusterMu  sync.Mutex
	cluster    *Cluster
	clusterErr error
	nextPrefix atomic.Int64
)

// Cluster is a private Redis Cluster of three masters on loopback, started
// from the redis-server binary and joined with redis-cli --cluster create.
type Cluster struct {
	addrs []string
	procs []*proc
	dir   string
}

// Addrs returns the host:port of every master, in start order.
func (c *Cluster) Addrs() []string { return append([]string(nil), c.addrs...) }

// URL returns the cluster in go-redis's URL form, which redis.ParseClusterURL
// reads: redis://127.0.0.1:P1?addr=127.0.0.1:P2&addr=127.0.0.1:P3.
func (c *Cluster) URL() string {
	u := "redis://" + c.addrs[0]
	for i, a := range c.addrs[1:] {
		if i == 0 {
			u += "?"
		} else {
			u += "&"
		}
		u += "addr=" + a
	}
	return u
}

// Close kills the nodes and removes their directory.
func (c *Cluster) Close() {
	for _, p := range c.procs {
		p.kill()
	}
	_ = os.RemoveAll(c.dir)
}

// StartCluster launches three cluster-enabled redis-servers on free loopback
// ports (no persistence, noeviction), creates the cluster with redis-cli and
// returns once every node reports cluster_state:ok with all slots assigned and
// a ClusterClient reads back keys written to each master. Stop it with Close.
// Benchmarks and scripts use it; tests use SharedCluster.
func StartCluster() (*Cluster, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found on PATH (install it: apt-get install redis-server): %w", err)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redis-cli not found on PATH (install it: apt-get install redis-tools): %w", err)
	}
	d, err := os.MkdirTemp("", "cartrecovery-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: d}
	fail := func(err error) (*Cluster, error) {
		log := logTails(d)
		c.Close()
		return nil, fmt.Errorf("%w%s", err, log)
	}
	for i := 0; i < clusterMasters; i++ {
		// cluster-port: the bus port is a second free port, not port+10000,
		// which may be taken or above 65535.
		p, port, err := launch(bin, 2, func(ports []int) ([]string, error) {
			port := strconv.Itoa(ports[0])
			return []string{
				"--port", port, "--cluster-port", strconv.Itoa(ports[1]),
				"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(d, "nodes-"+port+".conf"),
				"--cluster-node-timeout", "2000",
				"--save", "", "--appendonly", "no",
				"--maxmemory-policy", "noeviction",
				"--dir", d, "--bind", "127.0.0.1",
				"--logfile", filepath.Join(d, "redis-"+port+".log"),
			}, nil
		})
		if err != nil {
			return fail(err)
		}
		c.procs = append(c.procs, p)
		c.addrs = append(c.addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return fail(fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out))
	}
	if err := c.waitOK(ctx); err != nil {
		return fail(err)
	}
	if err := c.probe(ctx); err != nil {
		return fail(err)
	}
	return c, nil
}

// waitOK polls CLUSTER INFO on every node until each one sees the cluster as
// ok, with all slots assigned and every master known.
func (c *Cluster) waitOK(ctx context.Context) error {
	var last string
	for _, a := range c.addrs {
		n := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		for {
			info, err := n.ClusterInfo(ctx).Result()
			if err == nil {
				f := infoFields(info)
				if f["cluster_state"] == "ok" && f["cluster_slots_assigned"] == "16384" &&
					f["cluster_known_nodes"] == strconv.Itoa(len(c.addrs)) {
					break
				}
				last = info
			} else {
				last = err.Error()
			}
			if !pause(ctx, 20*time.Millisecond) {
				_ = n.Close()
				return fmt.Errorf("cluster node %s not ok: %s", a, strings.TrimSpace(last))
			}
		}
		_ = n.Close()
	}
	return nil
}

// probe writes, reads and deletes one key on each master through a
// ClusterClient, retrying while the nodes still settle.
func (c *Cluster) probe(ctx context.Context) error {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.addrs})
	defer cc.Close()
	var err error
	for {
		if err = probeKeys(ctx, cc); err == nil {
			return nil
		}
		if !pause(ctx, 20*time.Millisecond) {
			return fmt.Errorf("cluster client probe: %w", err)
		}
	}
}

func probeKeys(ctx context.Context, cc *redis.ClusterClient) error {
	keys, err := keysPerMaster(ctx, cc, "testredis:probe:")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := cc.Set(ctx, k, k, 0).Err(); err != nil {
			return err
		}
		if v, err := cc.Get(ctx, k).Result(); err != nil || v != k {
			return fmt.Errorf("GET %s = %q, %v", k, v, err)
		}
		if err := cc.Del(ctx, k).Err(); err != nil {
			return err
		}
	}
	return nil
}

// keysPerMaster returns, for each master of the cluster (ordered by its
// address), one key starting with prefix whose slot that master serves.
func keysPerMaster(ctx context.Context, cc *redis.ClusterClient, prefix string) ([]string, error) {
	//lint:ignore SA1019 CLUSTER SLOTS answers on every Redis the tests may find (7.0's CLUSTER SHARDS is newer)
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, err
	}
	owner := func(slot int64) string {
		for _, r := range slots {
			if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
				return r.Nodes[0].Addr
			}
		}
		return ""
	}
	masters := map[string]bool{}
	for _, r := range slots {
		if len(r.Nodes) > 0 {
			masters[r.Nodes[0].Addr] = true
		}
	}
	byNode := map[string]string{}
	for i := 0; len(byNode) < len(masters) && i < 1000; i++ {
		k := prefix + strconv.Itoa(i)
		slot, err := cc.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			return nil, err
		}
		if o := owner(slot); o != "" && byNode[o] == "" {
			byNode[o] = k
		}
	}
	if len(masters) == 0 || len(byNode) < len(masters) {
		return nil, errors.New("no key found for every master")
	}
	nodes := make([]string, 0, len(byNode))
	for n := range byNode {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	keys := make([]string, len(nodes))
	for i, n := range nodes {
		keys[i] = byNode[n]
	}
	return keys, nil
}

// SharedCluster starts the test binary's cluster on first use and returns it;
// Stop (called by Main) closes it. Tests share it and keep apart by key
// prefix (see Prefix). A missing redis-server or redis-cli fails the test.
func SharedCluster(t testing.TB) *Cluster {
	t.Helper()
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if cluster == nil && clusterErr == nil {
		cluster, clusterErr = StartCluster()
	}
	if clusterErr != nil {
		t.Fatalf("testredis: cluster: %v", clusterErr)
	}
	return cluster
}

// ClusterClient returns a client of the shared cluster, closed when the test
// ends. Keys are not flushed: use keys under Prefix(t).
func ClusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: SharedCluster(t).Addrs()})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Prefix returns a key prefix ("t1:", "t2:", ...) that no other test of the
// binary gets, for tests sharing the cluster.
func Prefix(t testing.TB) string {
	t.Helper()
	return "t" + strconv.FormatInt(nextPrefix.Add(1), 10) + ":"
}

// stopCluster closes the shared cluster, if one was started.
func stopCluster() {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if cluster != nil {
		cluster.Close()
	}
	cluster, clusterErr = nil, nil
}

// proc is a redis-server process this package started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
}

// kill stops the process and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// launch starts bin with the arguments argv builds from nports free ports
// (the first one is the port it listens on) and waits until that port
// answers as this very process. A port taken meanwhile is retried with
// fresh ones. It returns the process and its port.
func launch(bin string, nports int, argv func(ports []int) ([]string, error)) (*proc, int, error) {
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		ports := make([]int, 0, nports)
		for len(ports) < nports {
			port, err := FreePort()
			if err != nil {
				return nil, 0, err
			}
			if !slices.Contains(ports, port) {
				ports = append(ports, port)
			}
		}
		args, err := argv(ports)
		if err != nil {
			return nil, 0, err
		}
		c := exec.Command(bin, args...)
		if err := c.Start(); err != nil {
			return nil, 0, fmt.Errorf("start %s: %w", bin, err)
		}
		p := &proc{cmd: c, done: make(chan struct{})}
		go func() { _ = c.Wait(); close(p.done) }()
		a := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		if last = waitOwn(a, p, 5*time.Second); last == nil {
			return p, ports[0], nil
		}
		p.kill()
	}
	return nil, 0, fmt.Errorf("%s did not become ready: %w", filepath.Base(bin), last)
}

// waitOwn waits until addr answers INFO with the process id of p.
func waitOwn(addr string, p *proc, d time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(d)
	want := strconv.Itoa(p.cmd.Process.Pid)
	for {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited", addr)
		default:
		}
		if info, err := c.Info(context.Background(), "server").Result(); err == nil {
			if pid := infoFields(info)["process_id"]; pid != want {
				return fmt.Errorf("%s is served by process %s, not ours (%s)", addr, pid, want)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no answer within %v", addr, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// infoFields parses the "key:value" lines of INFO or CLUSTER INFO.
func infoFields(info string) map[string]string {
	f := map[string]string{}
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			f[k] = v
		}
	}
	return f
}

// pause waits for d, or returns false if ctx ends first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// logTails returns the last lines of every log file in dir, for errors.
func logTails(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "\n%s:\n%s", filepath.Base(f), strings.Join(lines, "\n"))
	}
	return b.String()
}
