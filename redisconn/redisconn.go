// Package redisconn opens the Redis connection cartrecovery and asynq share:
// a real server from a redis:// or rediss:// URL, or, when no URL is set, an
// embedded in-process engine (miniredis) that keeps nothing across restarts.
package redisconn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Conn is an open connection.
type Conn struct {
	Client   redis.UniversalClient
	Embedded bool
	mini     *miniredis.Miniredis
}

// Open connects to url, or starts the embedded engine when url is empty.
// Access goes through redis.UniversalClient so Sentinel and Cluster can be
// added without touching callers.
func Open(ctx context.Context, url string, log *slog.Logger) (*Conn, error) {
	c := &Conn{}
	if url == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		log.Warn("redis.url is empty: using the EMBEDDED in-memory Redis. Every cart, schedule and outcome is LOST when the process stops. Set redis.url (CARTRECOVERY_REDIS_URL) for anything but a demo.",
			"addr", m.Addr())
		c.mini, c.Embedded = m, true
		url = "redis://" + m.Addr()
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	c.Client = redis.NewClient(opt)
	if err := c.Client.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", opt.Addr, err)
	}
	return c, nil
}

// Close closes the client and stops the embedded engine.
func (c *Conn) Close() {
	if c.Client != nil {
		_ = c.Client.Close()
	}
	if c.mini != nil {
		c.mini.Close()
	}
}
