package redis

import (
	"context"
	"embed"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// Every state change is one Lua script: one round trip, atomic. Each is a
// file in lua/, headed by its KEYS, ARGV and return value, and run by one
// Store method. Every key a script touches is passed in KEYS, and all of one
// call's keys belong to one store, whose keys share a hash slot ("{store}"),
// so every script runs on Redis Cluster.
//
//go:embed lua/*.lua
var luaFiles embed.FS

func load(name string) *goredis.Script {
	src, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(fmt.Sprintf("embedded script %s: %v", name, err))
	}
	return goredis.NewScript(string(src))
}

var (
	updateScript     = load("update")
	deleteScript     = load("delete")
	orderScript      = load("order")
	leaseScript      = load("lease")
	releaseScript    = load("release")
	claimScript      = load("claim")
	finishScript     = load("finish")
	skipScript       = load("skip")
	clickScript      = load("click")
	advanceScript    = load("advance")
	contentScript    = load("content")
	issueScript      = load("issue")
	registeredScript = load("registered")
	receiptScript    = load("receipt")
	holdScript       = load("hold")
)

// run runs a script with EVALSHA, loading it on first use (or after a
// SCRIPT FLUSH, a failover or on a cluster node that has not seen it).
func (s *Store) run(ctx context.Context, sc *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	return sc.Run(ctx, s.rdb, keys, args...)
}
