package redis

import (
	"context"
	"fmt"
	"time"
)

// SaveSession records a dashboard sign-in for ttl.
func (s *Store) SaveSession(ctx context.Context, id string, exp time.Time, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.k.session(id), exp.Unix(), ttl).Err(); err != nil {
		return fmt.Errorf("redis: store session: %w", err)
	}
	return nil
}

// SessionExists reports whether a sign-in is still recorded.
func (s *Store) SessionExists(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.k.session(id)).Result()
	if err != nil {
		return false, fmt.Errorf("redis: check session: %w", err)
	}
	return n == 1, nil
}

// DeleteSession ends a sign-in.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.k.session(id)).Err(); err != nil {
		return fmt.Errorf("redis: delete session: %w", err)
	}
	return nil
}

// Ping checks that Redis answers (the readiness probe).
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }
