package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

var cpuStats = flag.Bool("cpu", false, "also print CPU per operation: this process (server and client side) and the Redis server(s)")

// cpuMeter reads the CPU time used so far by this process and by the
// Redis servers measured against (INFO cpu, summed over a cluster's
// masters). The machine's cores are shared by both: a rate is bounded by
// their sum per operation.
type cpuMeter struct {
	mu    sync.Mutex
	redis goredis.UniversalClient
}

var meter cpuMeter

// against makes the Redis CPU figures those of rdb until the returned
// function restores the previous one.
func (m *cpuMeter) against(rdb goredis.UniversalClient) (restore func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.redis
	m.redis = rdb
	return func() {
		m.mu.Lock()
		m.redis = prev
		m.mu.Unlock()
	}
}

// sample returns the CPU used by this process and by Redis (0 if unknown).
func (m *cpuMeter) sample() (self, redis time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	m.mu.Lock()
	rdb := m.redis
	m.mu.Unlock()
	if rdb == nil || !*cpuStats {
		return self, 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	read := func(ctx context.Context, c *goredis.Client) error {
		info, err := c.Info(ctx, "cpu").Result()
		if err != nil {
			return err
		}
		for _, f := range []string{"used_cpu_sys", "used_cpu_user"} {
			v, _ := strconv.ParseFloat(field(info, f), 64)
			redis += time.Duration(v * float64(time.Second))
		}
		return nil
	}
	var mu sync.Mutex
	switch c := rdb.(type) {
	case *goredis.Client:
		_ = read(ctx, c)
	case *goredis.ClusterClient:
		_ = c.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return read(ctx, n)
		})
	}
	return self, redis
}

// cpuCols are the CPU columns of a result (empty without -cpu).
func cpuCols(r result) string {
	if !*cpuStats {
		return ""
	}
	return fmt.Sprintf(" %9.1f %9.1f", float64(r.goCPU)/float64(time.Microsecond), float64(r.redisCPU)/float64(time.Microsecond))
}

func cpuHeader() string {
	if !*cpuStats {
		return ""
	}
	return fmt.Sprintf(" %9s %9s", "go µs/op", "redis µs")
}

var storeProf = flag.String("storeprofile", "", "write a CPU profile of the Store.Ingest measurement to this file")

// profile starts a CPU profile into file ("" does nothing) and returns
// what stops it.
func profile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
