package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Migrate moves what releases before per-store schedules kept in one global
// due set ("store/cart" members) and one global in-flight set
// ("store|step|channel|cart") into the per-store sets, so an upgrade loses
// no scheduled reminder and no pending claim. Claims of those releases did
// not record their variant: they count as variant "a" if swept. It is
// idempotent and returns how many entries it moved.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	n := 0
	due, err := s.rdb.ZRangeWithScores(ctx, s.k.legacyDue(), 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("migrate due set: %w", err)
	}
	for _, z := range due {
		member, _ := z.Member.(string)
		store, id, ok := strings.Cut(member, "/")
		if ok && recovery.ValidStore(store) && id != "" {
			if err := s.register(ctx, store); err != nil {
				return n, err
			}
			if err := s.rdb.ZAddNX(ctx, s.k.due(store), goredis.Z{Score: z.Score, Member: id}).Err(); err != nil {
				return n, fmt.Errorf("migrate due set: %w", err)
			}
			n++
		}
		s.rdb.ZRem(ctx, s.k.legacyDue(), member)
	}
	claims, err := s.rdb.ZRangeWithScores(ctx, s.k.legacyInflight(), 0, -1).Result()
	if err != nil {
		return n, fmt.Errorf("migrate in-flight claims: %w", err)
	}
	for _, z := range claims {
		member, _ := z.Member.(string)
		p := strings.SplitN(member, "|", 4)
		if len(p) == 4 && recovery.ValidStore(p[0]) {
			if step, err := strconv.Atoi(p[1]); err == nil {
				m := recovery.MessageKey{Store: p[0], Step: step, Channel: recovery.Channel(p[2]), Cart: p[3]}
				if err := s.register(ctx, m.Store); err != nil {
					return n, err
				}
				if err := s.rdb.ZAddNX(ctx, s.k.inflight(m.Store), goredis.Z{Score: z.Score, Member: m.String()}).Err(); err != nil {
					return n, fmt.Errorf("migrate in-flight claims: %w", err)
				}
				n++
			}
		}
		s.rdb.ZRem(ctx, s.k.legacyInflight(), member)
	}
	return n, nil
}

// Maintain does the housekeeping one relay of a deployment runs from time
// to time (the first to take the turn, for every): it moves what processes
// of an older release still wrote to the global schedule (Migrate), and it
// lists again every store that has a schedule or claims in flight, in case
// the stores set lost one (on a cluster it lives on another node than the
// stores' keys, and a failover of that node alone can lose a recent
// addition). It returns false when another relay has the turn.
func (s *Store) Maintain(ctx context.Context, every time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.k.maintenance(), "1", every).Result()
	if err != nil || !ok {
		return false, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		return true, err
	}
	return true, s.rediscover(ctx)
}

// rediscover adds to the stores set every store whose due or in-flight set
// exists, found by SCAN on every master (a full pass of the keyspace: it
// runs every few minutes, by one relay).
func (s *Store) rediscover(ctx context.Context) error {
	scan := func(ctx context.Context, c goredis.UniversalClient) error {
		for _, suffix := range []string{"}:due", "}:inflight"} {
			it := c.Scan(ctx, 0, s.k.prefix+"{*"+suffix, 1000).Iterator()
			for it.Next(ctx) {
				store := s.k.storeOf(it.Val())
				if recovery.ValidStore(store) {
					if err := s.rdb.SAdd(ctx, s.k.stores(), store).Err(); err != nil {
						return err
					}
				}
			}
			if err := it.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	if cc, ok := s.rdb.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error { return scan(ctx, n) })
	}
	return scan(ctx, s.rdb)
}
