package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
)

// redisServer is a real redis-server with AOF (appendfsync everysec) on a
// fixed loopback port and directory, so that a kill -9 and a start bring
// back the same data at the same address.
type redisServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(dir string) (*redisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errNoRedis
	}
	port, err := testredis.FreePort()
	if err != nil {
		return nil, err
	}
	r := &redisServer{port: port, dir: filepath.Join(dir, "redis")}
	if err := os.MkdirAll(r.dir, 0o750); err != nil {
		return nil, err
	}
	return r, r.start()
}

var errNoRedis = errors.New("redis-server not found in PATH")

func (r *redisServer) start() error {
	r.cmd = exec.Command("redis-server",
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
		"--maxmemory-policy", "noeviction", "--logfile", filepath.Join(r.dir, "redis.log"))
	r.cmd.SysProcAttr = childAttr()
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	r.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(r.cmd, r.done)
	return waitFor(15*time.Second, 20*time.Millisecond, func() error {
		select {
		case <-r.done:
			return errStop{fmt.Errorf("redis-server exited at start; see %s", filepath.Join(r.dir, "redis.log"))}
		default:
		}
		c := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		// A restarted server answers LOADING until the AOF is replayed.
		return c.Ping(ctx).Err()
	})
}

// kill9 kills the server without a chance to write anything more.
func (r *redisServer) kill9() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// restart is kill -9 then start on the same port and directory.
func (r *redisServer) restart() error { r.kill9(); return r.start() }

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }
func (r *redisServer) url() string  { return "redis://" + r.addr() + "/0" }
