package testredis

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { Main(m) }

func TestClusterURL(t *testing.T) {
	c := SharedCluster(t)
	if len(c.Addrs()) != 3 {
		t.Fatalf("Addrs() = %v, want 3 masters", c.Addrs())
	}
	opt, err := redis.ParseClusterURL(c.URL())
	if err != nil {
		t.Fatalf("ParseClusterURL(%q): %v", c.URL(), err)
	}
	if !slices.Equal(opt.Addrs, c.Addrs()) {
		t.Fatalf("ParseClusterURL(%q).Addrs = %v, want %v", c.URL(), opt.Addrs, c.Addrs())
	}
	if a, b := Prefix(t), Prefix(t); a == b || !strings.HasSuffix(a, ":") {
		t.Fatalf("Prefix gave %q then %q", a, b)
	}
}

// Keys of three slots served by three masters are stored on those three
// masters, one each, as a scan of every master shows.
func TestClusterKeysSpreadOverMasters(t *testing.T) {
	ctx := context.Background()
	cc := ClusterClient(t)
	p := Prefix(t)
	keys, err := keysPerMaster(ctx, cc, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("keys for %d masters, want 3", len(keys))
	}
	slots := map[int64]bool{}
	for _, k := range keys {
		slot, err := cc.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		slots[slot] = true
		if err := cc.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	if len(slots) != 3 {
		t.Fatalf("keys %v span %d slots, want 3", keys, len(slots))
	}

	found := map[string][]string{} // master address -> our keys on it
	var fmu sync.Mutex             // ForEachMaster runs fn concurrently
	err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		if size, err := n.DBSize(ctx).Result(); err != nil || size < 1 {
			t.Errorf("DBSIZE on %s = %d, %v", n.Options().Addr, size, err)
		}
		var mine []string
		iter := n.Scan(ctx, 0, p+"*", 100).Iterator()
		for iter.Next(ctx) {
			mine = append(mine, iter.Val())
		}
		fmu.Lock()
		found[n.Options().Addr] = mine
		fmu.Unlock()
		return iter.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 {
		t.Fatalf("ForEachMaster visited %d masters, want 3", len(found))
	}
	var all []string
	for addr, ks := range found {
		if len(ks) != 1 {
			t.Errorf("master %s holds %v, want exactly one of %v", addr, ks, keys)
		}
		all = append(all, ks...)
	}
	slices.Sort(all)
	want := slices.Clone(keys)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("keys found on the masters %v, want %v", all, want)
	}
	if err := cc.Del(ctx, keys[0]).Err(); err != nil { // single-slot DEL per key
		t.Fatal(err)
	}
}

// A script may touch keys of one hash slot only: two keys sharing a hash tag
// work, two keys of different slots fail with CROSSSLOT.
func TestClusterScriptSlots(t *testing.T) {
	ctx := context.Background()
	cc := ClusterClient(t)
	p := Prefix(t)
	script := redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[1])
return redis.call('MGET', KEYS[1], KEYS[2])`)

	// The tag includes the prefix so that tests do not share a slot's keys.
	a, b := "{"+p+"x}:a", "{"+p+"x}:b"
	got, err := script.Run(ctx, cc, []string{a, b}, "v").StringSlice()
	if err != nil {
		t.Fatalf("script on %s and %s: %v", a, b, err)
	}
	if !slices.Equal(got, []string{"v", "v"}) {
		t.Fatalf("script returned %v, want [v v]", got)
	}

	c, d := p+"a", p+"b"
	sc, err := cc.ClusterKeySlot(ctx, c).Result()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cc.ClusterKeySlot(ctx, d).Result()
	if err != nil {
		t.Fatal(err)
	}
	if sc == sd {
		t.Fatalf("%s and %s share slot %d; pick other keys", c, d, sc)
	}
	err = script.Run(ctx, cc, []string{c, d}, "v").Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("script on slots %d and %d: err = %v, want CROSSSLOT", sc, sd, err)
	}
	if n, err := cc.Exists(ctx, c).Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS %s after the refused script = %d, %v; want 0", c, n, err)
	}
}

// The failover client finds the master through the sentinel, and what it
// writes is on that master, in its own database.
func TestSentinelFailoverClient(t *testing.T) {
	ctx := context.Background()
	s := SharedSentinel(t)
	c, db := FailoverClient(t)

	if got := s.URL(db); got != "redis-sentinel://"+s.Addrs()[0]+"/"+strconv.Itoa(db)+"?master=mymaster" {
		t.Errorf("URL(%d) = %q", db, got)
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET through the sentinel: %v", err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET through the sentinel = %q, %v", v, err)
	}

	// The server answering is the master: same port and run id.
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(s.MasterAddr())
	f := infoFields(info)
	if f["tcp_port"] != port {
		t.Errorf("failover client reached port %s, want the master %s", f["tcp_port"], s.MasterAddr())
	}
	m := redis.NewClient(&redis.Options{Addr: s.MasterAddr(), DB: db})
	defer m.Close()
	minfo, err := m.Info(ctx, "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	if id := infoFields(minfo)["run_id"]; id == "" || id != f["run_id"] {
		t.Errorf("failover client reached run_id %q, master has %q", f["run_id"], id)
	}
	if role, err := c.Do(ctx, "ROLE").Slice(); err != nil || len(role) == 0 || role[0] != "master" {
		t.Errorf("ROLE = %v, %v; want master", role, err)
	}
	if v, err := m.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("GET k on master db %d = %q, %v", db, v, err)
	}

	// A second client gets another, empty database.
	_, db2 := FailoverClient(t)
	if db2 == db {
		t.Errorf("two failover clients share db %d", db)
	}
}
