package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/worker"
)

// templatesWith writes a one-step template set whose subject is subject.
func templatesWith(t *testing.T, subject string) *render.Renderer {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"first-reminder.subject.tmpl": subject,
		"first-reminder.txt.tmpl":     "{{.RecoveryURL}}",
		"first-reminder.html.tmpl":    "<p>{{.RecoveryURL}}</p>",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := render.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// blocking is a transport that holds each send until released.
type blocking struct {
	started chan notify.Message
	release chan struct{}
}

func (b blocking) Send(ctx context.Context, m notify.Message) error {
	b.started <- m
	<-b.release
	return nil
}

// A reload applies to sends that start afterwards; a send in flight
// finishes with the version it started with.
func TestReloadAppliesToSendsThatStartAfterwards(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour, 2*time.Hour))
	b.renderer = templatesWith(t, "version one")
	hd := b.handler()
	tr := blocking{started: make(chan notify.Message, 1), release: make(chan struct{})}
	hd.Senders = map[string]notify.Sender{"email": tr}
	b.ingest(cart("a", b.clock.Now().Add(-2*time.Hour)))
	b.ingest(cart("b", b.clock.Now().Add(-2*time.Hour)))

	done := make(chan error, 1)
	go func() { done <- hd.ProcessTask(context.Background(), worker.NewTask(*task(b.load("a")), b.queue, 3)) }()
	inFlight := <-tr.started
	b.reload(b.steps, templatesWith(t, "version two"))
	close(tr.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if inFlight.Subject != "version one" {
		t.Fatalf("the send in flight went out as %q, want the version it started with", inFlight.Subject)
	}
	go func() { done <- hd.ProcessTask(context.Background(), worker.NewTask(*task(b.load("b")), b.queue, 3)) }()
	if next := <-tr.started; next.Subject != "version two" {
		t.Fatalf("a send started after the reload went out as %q", next.Subject)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Carts already scheduled when the sequence changes: a longer delay puts
// them back to the new due time, a shorter one sends at the time they were
// scheduled for, a removed step ends their sequence.
func TestReloadOfScheduledCarts(t *testing.T) {
	parallel(t)
	tests := []struct {
		name     string
		delays   []time.Duration // the reloaded sequence
		advance  time.Duration   // from the cart's activity, when the old step 2 was due (3h)
		wantSent int
		wantStep int
	}{
		{"longer delay: put back", []time.Duration{time.Hour, 5 * time.Hour}, 3 * time.Hour, 0, 1},
		{"shorter delay: sent when due", []time.Duration{time.Hour, 2 * time.Hour}, 3 * time.Hour, 1, 2},
		{"step removed: sequence ends", []time.Duration{time.Hour}, 3 * time.Hour, 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parallel(t)
			b := setup(t, steps(time.Hour, 3*time.Hour))
			b.steps[1].Channels = []recovery.Channel{"email"}
			start := b.clock.Now()
			b.startWorker()
			b.ingest(cart("c1", start))
			b.advance(time.Hour) // step 1 sent, step 2 scheduled for +3h
			if n := len(b.email.all()); n != 1 {
				t.Fatalf("%d emails after the first step", n)
			}
			// the reload, as the app applies it to every component
			st := steps(tc.delays...)
			if len(st) > 1 {
				st[1].Channels = []recovery.Channel{"email"}
			}
			b.reload(st, nil)
			b.advance(tc.advance - time.Hour)
			if n := len(b.email.all()) - 1; n != tc.wantSent {
				t.Fatalf("%d emails at the old due time, want %d", n, tc.wantSent)
			}
			c := b.load("c1")
			if c.Step != tc.wantStep {
				t.Fatalf("cart on step %d, want %d", c.Step, tc.wantStep)
			}
			due, scheduled, _ := b.store.NextDue(context.Background(), "default", "c1")
			switch tc.name {
			case "longer delay: put back":
				if !scheduled || !due.Equal(start.Add(5*time.Hour)) {
					t.Fatalf("due %v (%v), want the new due time %v", due, scheduled, start.Add(5*time.Hour))
				}
				b.advance(2 * time.Hour)
				if n := len(b.email.all()); n != 2 {
					t.Fatalf("%d emails after the new due time, want 2", n)
				}
			default:
				if scheduled {
					t.Fatalf("still scheduled at %v", due)
				}
			}
		})
	}
}

// A send in flight when a reload renames its step is counted under the
// name its task started with: storage records a task with the snapshot
// the task read, never half one version and half the next.
func TestReloadMidSendCountsUnderTheTasksSnapshot(t *testing.T) {
	parallel(t)
	b := setup(t, steps(time.Hour, 2*time.Hour))
	hd := b.handler()
	tr := blocking{started: make(chan notify.Message, 1), release: make(chan struct{})}
	hd.Senders = map[string]notify.Sender{"email": tr}
	b.ingest(cart("a", b.clock.Now().Add(-2*time.Hour)))

	done := make(chan error, 1)
	go func() { done <- hd.ProcessTask(context.Background(), worker.NewTask(*task(b.load("a")), b.queue, 3)) }()
	<-tr.started // claimed, at the provider
	renamed := steps(time.Hour, 2*time.Hour)
	renamed[0].Name = "renamed-reminder"
	b.reload(renamed, nil)
	close(tr.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	day := b.clock.Now().UTC().Truncate(24 * time.Hour)
	ctr, err := b.store.Counters(context.Background(), []string{"default"}, []string{day.Format(time.DateOnly)})
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]int64{}
	for c, n := range ctr["default"][day.Format(time.DateOnly)] {
		if c.Kind == recovery.CountSent {
			sent[c.Step] += n
		}
	}
	if len(sent) != 1 || sent["first-reminder"] != 1 {
		t.Fatalf("sent counted by step %v, want 1 under first-reminder (the task's snapshot)", sent)
	}
}
