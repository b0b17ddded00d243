package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
)

// Suppressions: contacts that receive nothing more on a channel.

// Suppress records that contactHash must receive nothing more on channel.
func (s *Store) Suppress(ctx context.Context, store, channel, contactHash, reason string) error {
	return s.rdb.Set(ctx, s.k.unsub(store, channel, contactHash), sendValue("unsub", s.now(), reason), 0).Err()
}

// SuppressEverywhere suppresses a contact on channel in every store, those
// to come included (an SMS STOP: the number asked the sender to stop).
// The deployment-wide key is written first: a store added meanwhile is
// covered by it (the guards read it), every known store gets its own key
// (the claim reads that one).
func (s *Store) SuppressEverywhere(ctx context.Context, channel, contactHash, reason string) error {
	v := sendValue("unsub", s.now(), reason)
	if err := s.rdb.Set(ctx, s.k.unsubAll(channel, contactHash), v, 0).Err(); err != nil {
		return err
	}
	return s.everyStore(ctx, func(p goredis.Pipeliner, store string) {
		p.Set(ctx, s.k.unsub(store, channel, contactHash), v, 0)
	})
}

// Unsuppress lifts a contact's suppression on channel in every store (an
// SMS START or UNSTOP).
func (s *Store) Unsuppress(ctx context.Context, channel, contactHash string) error {
	if err := s.everyStore(ctx, func(p goredis.Pipeliner, store string) {
		p.Del(ctx, s.k.unsub(store, channel, contactHash))
	}); err != nil {
		return err
	}
	return s.rdb.Del(ctx, s.k.unsubAll(channel, contactHash)).Err()
}

// Suppressed reports whether contactHash unsubscribed from channel.
func (s *Store) Suppressed(ctx context.Context, store, channel, contactHash string) (bool, error) {
	// two keys in two hash slots: two calls, pipelined
	var own, all *goredis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		own = p.Exists(ctx, s.k.unsub(store, channel, contactHash))
		all = p.Exists(ctx, s.k.unsubAll(channel, contactHash))
		return nil
	})
	return own.Val()+all.Val() > 0, err
}
