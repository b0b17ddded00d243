package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
)

// proc is one `cartrecovery serve --role ROLE` process. Its stdout and
// stderr are appended to one log file across restarts (grepped for PII at
// the end). Each role has its own HTTP address (workers serve probes).
type proc struct {
	name, role string
	bin, cfg   string
	port       int
	logPath    string

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	stopping bool // the next exit is ours (kill9, stop)
	crashes  int  // exits nobody asked for
}

func newProc(name, role, bin, cfg, logPath string) (*proc, error) {
	port, err := testredis.FreePort()
	if err != nil {
		return nil, err
	}
	return &proc{name: name, role: role, bin: bin, cfg: cfg, port: port, logPath: logPath}, nil
}

func (p *proc) base() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

// start launches the process and waits until /readyz answers 200.
func (p *proc) start() error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close() // the child keeps its own descriptor
	cmd := exec.Command(p.bin, "serve", "--role", p.role, "--config", p.cfg)
	cmd.Env = append(os.Environ(), "CARTRECOVERY_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(p.port))
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.stopping = cmd, done, false
	p.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		p.mu.Lock()
		if !p.stopping {
			p.crashes++
		}
		p.mu.Unlock()
		close(done)
	}()
	client := &http.Client{Timeout: time.Second}
	return waitFor(30*time.Second, 25*time.Millisecond, func() error {
		select {
		case <-done:
			return errStop{fmt.Errorf("%s exited at start: %s; see %s", p.name, cmd.ProcessState, p.logPath)}
		default:
		}
		resp, err := client.Get(p.base() + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s /readyz: %d", p.name, resp.StatusCode)
		}
		return nil
	})
}

// exitedOnItsOwn counts the exits that were not a kill or a stop.
func (p *proc) exitedOnItsOwn() int { p.mu.Lock(); defer p.mu.Unlock(); return p.crashes }

// kill9 sends SIGKILL and waits for the exit.
func (p *proc) kill9() {
	if cmd, done := p.take(); cmd != nil {
		_ = cmd.Process.Kill()
		<-done
	}
}

// take marks the process as being stopped on purpose and returns it (nil
// when it is not running).
func (p *proc) take() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopping = true
	if p.cmd == nil || p.cmd.Process == nil {
		return nil, nil
	}
	return p.cmd, p.done
}

// stop asks for an orderly exit (SIGTERM) and kills after grace.
func (p *proc) stop(grace time.Duration) {
	cmd, done := p.take()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}
