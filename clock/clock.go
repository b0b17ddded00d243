// Package clock lets the parts of cartrecovery that wait for time (the
// relay) run on a simulated clock in tests: a reminder due in 24 hours is
// sent as soon as the test moves the clock, with no sleeping.
package clock

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Clock tells the time and wakes waiters.
type Clock interface {
	Now() time.Time
	// After sends the time on the channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// After is time.After.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Sim is a simulated clock: it stands still until Advance or Set moves it,
// and then wakes every waiter whose time has come. It is safe for
// concurrent use.
type Sim struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	waiting chan struct{} // closed and replaced when a waiter arrives
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

// NewSim returns a simulated clock showing t.
func NewSim(t time.Time) *Sim { return &Sim{now: t, waiting: make(chan struct{})} }

// Now returns the simulated time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// After fires when the simulated time reaches now+d (at once if d <= 0).
func (s *Sim) After(d time.Duration) <-chan time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan time.Time, 1)
	if d <= 0 {
		c <- s.now
		return c
	}
	s.waiters = append(s.waiters, waiter{at: s.now.Add(d), c: c})
	close(s.waiting)
	s.waiting = make(chan struct{})
	return c
}

// Advance moves the clock forward by d and wakes the waiters due.
func (s *Sim) Advance(d time.Duration) { s.Set(s.Now().Add(d)) }

// Set moves the clock to t (never backwards) and wakes the waiters due.
func (s *Sim) Set(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.After(s.now) {
		s.now = t
	}
	sort.Slice(s.waiters, func(i, j int) bool { return s.waiters[i].at.Before(s.waiters[j].at) })
	n := 0
	for _, w := range s.waiters {
		if w.at.After(s.now) {
			break
		}
		w.c <- s.now
		n++
	}
	s.waiters = s.waiters[n:]
}

// Waiting returns a channel closed when the next waiter arrives.
func (s *Sim) Waiting() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// BlockUntilWaiting returns once someone waits on the clock (at once if
// someone does), or when ctx is done: a test that wants the relay asleep
// before it moves the clock calls it.
func (s *Sim) BlockUntilWaiting(ctx context.Context) error {
	for {
		s.mu.Lock()
		n, c := len(s.waiters), s.waiting
		s.mu.Unlock()
		if n > 0 {
			return nil
		}
		select {
		case <-c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
