package main

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// errStop ends waitFor at once with its error (no point in retrying).
type errStop struct{ error }

func (e errStop) Unwrap() error { return e.error }

// waitFor retries cond every step until it returns nil, returns an errStop,
// or timeout passes (then the last error is returned).
func waitFor(timeout, step time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		var stop errStop
		if errors.As(err, &stop) {
			return stop.error
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(step)
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
