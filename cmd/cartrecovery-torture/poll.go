package main

import (
	"errors"
	"fmt"
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
