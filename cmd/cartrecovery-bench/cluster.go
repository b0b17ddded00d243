package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/worker"
)

var nClusterStores = flag.Int("cluster-stores", 12, "stores the Redis Cluster section spreads carts over, each store's keys in one hash slot (0 skips the section)")

// flushAll empties a single server, or every master of a cluster.
func flushAll(ctx context.Context, rdb goredis.UniversalClient) error {
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			return c.FlushAll(ctx).Err()
		})
	}
	return rdb.FlushAll(ctx).Err()
}

// measureEnqueue is the baseline: one delayed asynq task per operation,
// spread over queues (on a cluster each queue's keys share one slot). The
// payloads are built before the clock starts.
func measureEnqueue(ctx context.Context, rdb goredis.UniversalClient, name string, queues []string) (result, error) {
	return measureEnqueueSteps(ctx, rdb, name, queues, 1)
}

// measureEnqueueSteps is measureEnqueue with one Enqueue+ProcessIn per step
// of a steps-long sequence in each operation: what scheduling a cart's
// whole sequence costs with asynq alone.
func measureEnqueueSteps(ctx context.Context, rdb goredis.UniversalClient, name string, queues []string, steps int) (result, error) {
	if err := flushAll(ctx, rdb); err != nil {
		return result{}, err
	}
	cl := asynq.NewClientFromRedisClient(rdb)
	payloads := make([][]byte, *nOps)
	for i := range payloads {
		payloads[i] = []byte(`{"s":"shop.myshopify.com","c":"` + strconv.Itoa(i) + `abcdefabcdefabcdefabcdef","n":0,"g":1}`)
	}
	return measure(name, *nOps, *conc, func(i int) error {
		for n := range steps {
			_, err := cl.EnqueueContext(ctx, asynq.NewTask(worker.TaskType, payloads[i]), asynq.ProcessIn(time.Hour<<n), asynq.Queue(queues[i%len(queues)]))
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// measureIngest records *nOps new two-item carts, spread over stores,
// with Store.Ingest. The events are built before the clock starts.
func measureIngest(ctx context.Context, rdb goredis.UniversalClient, name string, stores []string) (result, error) {
	if err := flushAll(ctx, rdb); err != nil {
		return result{}, err
	}
	store := newStore(rdb, time.Hour, 24*time.Hour, 72*time.Hour)
	now := time.Now()
	evs := make([]recovery.Event, *nOps)
	for i := range evs {
		evs[i] = twoItemCart(i, now)
		evs[i].Store = stores[i%len(stores)]
	}
	return measure(name, *nOps, *conc, func(i int) error {
		_, err := store.Ingest(ctx, evs[i])
		return err
	})
}

// clusterSide is what one deployment (single server or cluster) measured.
type clusterSide struct {
	enqueue, ingest result
	late            []time.Duration
}

// benchCluster runs the ingest measurements (bare asynq baseline and
// Store.Ingest) and the lateness measurement on a real 3-master Redis
// Cluster and, in the same run and the same way, on the single server:
// carts spread over *nClusterStores stores (each store's keys share one
// hash slot, so stores spread over the masters), tasks over as many asynq
// queues. Throughput is the median of *rounds alternating rounds.
func benchCluster(ctx context.Context, rdb *goredis.Client) error {
	if *nClusterStores <= 0 {
		return nil
	}
	cl, err := testredis.StartCluster()
	if err != nil { // no redis-cli, say: the other sections stand
		fmt.Printf("== Redis Cluster section skipped: %v ==\n\n", err)
		return nil
	}
	defer cl.Close()
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs(), PoolSize: 4 * *conc})
	defer cc.Close()

	stores := make([]string, *nClusterStores)
	queues := make([]string, *nClusterStores)
	for i := range stores {
		stores[i] = fmt.Sprintf("shop%02d.myshopify.com", i)
		queues[i] = fmt.Sprintf("bench-%02d", i)
	}
	// Where the stores landed: a store's keys carry "{store}".
	perMaster := map[string]int{}
	for _, s := range stores {
		m, err := cc.MasterForKey(ctx, "{"+s+"}")
		if err != nil {
			return err
		}
		perMaster[m.Options().Addr]++
	}
	var spread []string
	for _, a := range cl.Addrs() {
		spread = append(spread, strconv.Itoa(perMaster[a]))
	}

	sides := []struct {
		name string
		rdb  goredis.UniversalClient
	}{{"single", rdb}, {"cluster", cc}}
	got := make([]clusterSide, len(sides))
	enq, ing := make([][]result, len(sides)), make([][]result, len(sides))
	for r := range *rounds {
		for k := range sides {
			if r%2 == 1 { // alternate which side goes first
				k = len(sides) - 1 - k
			}
			restore := meter.against(sides[k].rdb)
			e, err := measureEnqueue(ctx, sides[k].rdb, "bare asynq Enqueue+ProcessIn", queues)
			if err == nil {
				var i result
				i, err = measureIngest(ctx, sides[k].rdb, "Store.Ingest", stores)
				ing[k] = append(ing[k], i)
			}
			restore()
			if err != nil {
				return fmt.Errorf("%s: %w", sides[k].name, err)
			}
			enq[k] = append(enq[k], e)
		}
	}
	for k, sd := range sides {
		got[k].enqueue, got[k].ingest = median(enq[k]), median(ing[k])
		late, err := benchLateness(ctx, sd.rdb, stores, worker.Queues("cartrecovery:", 3))
		if err != nil {
			return fmt.Errorf("%s: %w", sd.name, err)
		}
		got[k].late = late
	}
	_ = flushAll(ctx, cc)

	fmt.Printf("== Redis Cluster (3 masters) beside single Redis, same run: %d stores (%s per master), %d asynq queues, median of %d alternating rounds ==\n",
		len(stores), strings.Join(spread, "/"), len(queues), *rounds)
	fmt.Printf("%-34s %10s %10s %10s %10s %10s %10s %9s\n", "", "single/s", "p50", "p99", "cluster/s", "p50", "p99", "cl/single")
	row := func(name string, a, b result) {
		fmt.Printf("%-34s %10.0f %10s %10s %10.0f %10s %10s %8.2fx\n", name, a.rate, a.p50, a.p99, b.rate, b.p50, b.p99, b.rate/a.rate)
	}
	s, c := got[0], got[1]
	row("bare asynq Enqueue+ProcessIn", s.enqueue, c.enqueue)
	row("Store.Ingest", s.ingest, c.ingest)
	fmt.Printf("%-34s %10.2fx %21s %10.2fx\n", "Store.Ingest / bare asynq", s.ingest.rate/s.enqueue.rate, "", c.ingest.rate/c.enqueue.rate)
	if *cpuStats {
		for _, x := range []struct {
			name string
			r    [2]result
		}{{"bare asynq", [2]result{s.enqueue, c.enqueue}}, {"Store.Ingest", [2]result{s.ingest, c.ingest}}} {
			fmt.Printf("%-34s go %.1f + redis %.1f µs/op (single), go %.1f + redis %.1f µs/op (cluster, redis summed over masters)\n",
				"  cpu "+x.name, us(x.r[0].goCPU), us(x.r[0].redisCPU), us(x.r[1].goCPU), us(x.r[1].redisCPU))
		}
	}
	fmt.Printf("%-34s %10s %10s %10s %10s %10s %10s\n", fmt.Sprintf("reminder lateness (%d carts)", len(s.late)), "", pct(s.late, 50), pct(s.late, 99), "", pct(c.late, 50), pct(c.late, 99))
	fmt.Println("target: Store.Ingest >= 1.0x bare asynq and lateness p99 <= 250ms, on each")
	fmt.Println()
	return nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
