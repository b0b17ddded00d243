package redis

import (
	"context"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// The report counters.

// Counters returns the report counters of each store for each day (UTC
// dates "2006-01-02"), read in one pipelined round trip: the cost depends on
// stores x days, never on the number of carts. Fields that are not
// counters (a release's retired ones) are left out.
func (s *Store) Counters(ctx context.Context, stores, days []string) (map[string]map[string]map[recovery.Counter]int64, error) {
	cmds := make(map[[2]string]*goredis.MapStringStringCmd, len(stores)*len(days))
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, st := range stores {
			for _, d := range days {
				cmds[[2]string{st, d}] = p.HGetAll(ctx, s.k.stats(st, d))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	out := map[string]map[string]map[recovery.Counter]int64{}
	for k, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue
		}
		if out[k[0]] == nil {
			out[k[0]] = map[string]map[recovery.Counter]int64{}
		}
		m := make(map[recovery.Counter]int64, len(cmd.Val()))
		for f, v := range cmd.Val() {
			c, err := recovery.ParseCounter(f)
			if err != nil {
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			m[c] += n
		}
		out[k[0]][k[1]] = m
	}
	return out, nil
}
