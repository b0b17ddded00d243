package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
)

// Modes of redis.mode.
const (
	ModeSingle   = "single"
	ModeSentinel = "sentinel"
	ModeCluster  = "cluster"
)

// Conn is an open connection, shared by the store and asynq (which takes
// any go-redis UniversalClient: single, failover or cluster).
type Conn struct {
	Client   goredis.UniversalClient
	Mode     string
	Embedded bool
	mini     *miniredis.Miniredis
}

// Open connects in mode (single, sentinel, cluster; "" is single) to url,
// or starts the embedded engine when url is empty (single mode only).
//
//	single    redis://[user:pass@]host:port/db or rediss://...
//	sentinel  redis-sentinel://[:password@]host:port[,host:port...]/db?master=NAME
//	cluster   redis://[user:pass@]host:port?addr=host2:port2&addr=host3:port3
func Open(ctx context.Context, mode, rawURL string, log *slog.Logger) (*Conn, error) {
	if mode == "" {
		mode = ModeSingle
	}
	c := &Conn{Mode: mode}
	if rawURL == "" {
		if mode != ModeSingle {
			return nil, fmt.Errorf("redis.url: required in %s mode", mode)
		}
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("start embedded redis: %w", err)
		}
		log.Warn("redis.url is empty: using the EMBEDDED in-memory Redis. Every cart, schedule and outcome is LOST when the process stops. Set redis.url (CARTRECOVERY_REDIS_URL) for anything but a demo.",
			"addr", m.Addr())
		c.mini, c.Embedded = m, true
		rawURL = "redis://" + m.Addr()
	}
	var where string
	switch mode {
	case ModeSingle:
		opt, err := goredis.ParseURL(rawURL)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		c.Client, where = goredis.NewClient(opt), opt.Addr
	case ModeSentinel:
		opt, err := ParseSentinelURL(rawURL)
		if err != nil {
			return nil, err
		}
		c.Client, where = goredis.NewFailoverClient(opt), "master "+opt.MasterName+" via "+strings.Join(opt.SentinelAddrs, ",")
	case ModeCluster:
		opt, err := goredis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		c.Client, where = goredis.NewClusterClient(opt), "cluster "+strings.Join(opt.Addrs, ",")
	default:
		return nil, fmt.Errorf("redis.mode: %q is not one of single, sentinel, cluster", mode)
	}
	if err := c.Client.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", where, err)
	}
	if cc, ok := c.Client.(*goredis.ClusterClient); ok {
		// Every node must answer: a script on a slot of a node that is down
		// would fail later, on some webhook.
		if err := cc.ForEachShard(ctx, func(ctx context.Context, n *goredis.Client) error { return n.Ping(ctx).Err() }); err != nil {
			c.Close()
			return nil, fmt.Errorf("redis: ping cluster nodes: %w", err)
		}
	}
	return c, nil
}

// ParseSentinelURL reads redis-sentinel:// (rediss-sentinel:// for TLS)[[user]:password@]host:port[,host:port...]/db?master=NAME
// (also sentinel_password=...). The password is the master's (and the
// sentinels' unless sentinel_password is given).
func ParseSentinelURL(raw string) (*goredis.FailoverOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	if u.Scheme != "redis-sentinel" && u.Scheme != "rediss-sentinel" {
		return nil, fmt.Errorf("redis.url: sentinel mode needs redis-sentinel://host:port[,host:port]/db?master=NAME, not %s://", u.Scheme)
	}
	opt := &goredis.FailoverOptions{MasterName: u.Query().Get("master")}
	if u.Scheme == "rediss-sentinel" { // TLS to the sentinels and the master
		opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if opt.MasterName == "" {
		return nil, errors.New("redis.url: sentinel mode needs ?master=NAME (the name the sentinels monitor)")
	}
	for _, a := range strings.Split(u.Host, ",") {
		if a == "" {
			continue
		}
		if !strings.Contains(a, ":") {
			a += ":26379"
		}
		opt.SentinelAddrs = append(opt.SentinelAddrs, a)
	}
	if len(opt.SentinelAddrs) == 0 {
		return nil, errors.New("redis.url: sentinel mode needs at least one sentinel host:port")
	}
	if u.User != nil {
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
		opt.SentinelPassword = opt.Password
	}
	if sp := u.Query().Get("sentinel_password"); sp != "" {
		opt.SentinelPassword = sp
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if opt.DB, err = strconv.Atoi(p); err != nil || opt.DB < 0 {
			return nil, fmt.Errorf("redis.url: database %q is not a number", p)
		}
	}
	return opt, nil
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
