package clock

import (
	"testing"
	"time"
)

func TestSimWakesWaitersInOrder(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	s := NewSim(t0)
	arrived := s.Waiting()
	hour := s.After(time.Hour)
	<-arrived
	day := s.After(24 * time.Hour)
	now := s.After(0)
	select {
	case at := <-now:
		if !at.Equal(t0) {
			t.Fatalf("After(0) fired with %v", at)
		}
	default:
		t.Fatal("After(0) did not fire at once")
	}
	s.Advance(59 * time.Minute)
	select {
	case <-hour:
		t.Fatal("fired early")
	default:
	}
	s.Advance(time.Minute)
	if at := <-hour; !at.Equal(t0.Add(time.Hour)) {
		t.Fatalf("hour fired with %v", at)
	}
	select {
	case <-day:
		t.Fatal("day fired early")
	default:
	}
	s.Set(t0) // never backwards
	if !s.Now().Equal(t0.Add(time.Hour)) {
		t.Fatalf("went back to %v", s.Now())
	}
	s.Set(t0.Add(48 * time.Hour))
	if at := <-day; !at.Equal(t0.Add(48 * time.Hour)) {
		t.Fatalf("day fired with %v", at)
	}
}
