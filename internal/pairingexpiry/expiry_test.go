package pairingexpiry

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// fakeTimer is a timer the test fires itself.
type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (ft *fakeTimer) Stop() bool { was := !ft.stopped; ft.stopped = true; return was }

type call struct{ order, pairing string }

// rig is Timers on a fixed clock with fake timers and an expire func that records its calls
// and answers with the next of errs (nil once they run out).
type rig struct {
	*Timers
	mu     sync.Mutex
	timers []*fakeTimer
	calls  []call
	errs   []error
}

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func newRig(tb testing.TB, errs ...error) *rig {
	r := &rig{errs: errs}
	r.Timers = New(func(_ context.Context, order, pairing string) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls = append(r.calls, call{order, pairing})
		if len(r.errs) == 0 {
			return nil
		}
		err := r.errs[0]
		r.errs = r.errs[1:]
		return err
	}, Config{
		Now:     func() time.Time { return t0 },
		Retries: 3, RetryDelay: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	r.afterFunc = func(d time.Duration, f func()) stopper {
		ft := &fakeTimer{d: d, f: f}
		r.mu.Lock()
		r.timers = append(r.timers, ft)
		r.mu.Unlock()
		return ft
	}
	tb.Cleanup(r.Close)
	return r
}

// last returns the newest timer, which must exist.
func (r *rig) last(tb testing.TB) *fakeTimer {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.timers) == 0 {
		tb.Fatal("no timer armed")
	}
	return r.timers[len(r.timers)-1]
}

func (r *rig) armed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.timers)
}

func (r *rig) expired() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func (r *rig) wantCalls(tb testing.TB, want ...call) {
	tb.Helper()
	got := r.expired()
	if len(got) != len(want) {
		tb.Fatalf("expire calls %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			tb.Fatalf("expire calls %v, want %v", got, want)
		}
	}
}

func TestWatchFiresAtExpiry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		expiresAt time.Time
		wantDelay time.Duration
	}{
		{"ahead", t0.Add(90 * time.Second), 90 * time.Second},
		// Lapsed while no instance watched: expired at once.
		{"lapsed", t0.Add(-time.Minute), -time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.Watch("o1", "p1", tc.expiresAt)
			ft := r.last(t)
			if ft.d != tc.wantDelay {
				t.Fatalf("timer in %v, want %v (expires_at on the injected clock)", ft.d, tc.wantDelay)
			}
			ft.f()
			r.wantCalls(t, call{"o1", "p1"})
			if _, ok := r.pending["o1"]; ok {
				t.Fatal("the watch is kept after the store expired the pairing")
			}
		})
	}
}

func TestWatchChanges(t *testing.T) {
	at := t0.Add(time.Minute)
	for _, tc := range []struct {
		name string
		// then runs after Watch("o1", "p1", at) armed first; fire is first's callback,
		// run as a timer does even once stopped (Stop can lose that race).
		then      func(r *rig)
		wantArmed int
		wantCalls []call
	}{
		{"the same pairing again keeps its timer", func(r *rig) { r.Watch("o1", "p1", at) }, 1, []call{{"o1", "p1"}}},
		{"a new pairing replaces it", func(r *rig) { r.Watch("o1", "p2", at) }, 2, nil},
		{"a new expiry replaces it", func(r *rig) { r.Watch("o1", "p1", at.Add(time.Second)) }, 2, nil},
		{"forget drops it", func(r *rig) { r.Forget("o1") }, 1, nil},
		{"another order's watch leaves it", func(r *rig) { r.Watch("o2", "p1", at); r.Forget("o2") }, 2, []call{{"o1", "p1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.Watch("o1", "p1", at)
			first := r.last(t)
			tc.then(r)
			if n := r.armed(); n != tc.wantArmed {
				t.Fatalf("%d timers armed, want %d", n, tc.wantArmed)
			}
			if replaced := tc.wantCalls == nil; first.stopped != replaced {
				t.Fatalf("first timer stopped = %v, want %v", first.stopped, replaced)
			}
			first.f()
			r.wantCalls(t, tc.wantCalls...)
		})
	}
}

func TestFailedExpireIsRetried(t *testing.T) {
	errDown := errors.New("redis down")
	t.Run("until it succeeds", func(t *testing.T) {
		r := newRig(t, errDown, errDown)
		r.Watch("o1", "p1", t0)
		for i := 0; i < 3; i++ {
			r.last(t).f()
		}
		r.wantCalls(t, call{"o1", "p1"}, call{"o1", "p1"}, call{"o1", "p1"})
		if n := r.armed(); n != 3 {
			t.Fatalf("%d timers armed, want 3 (first, two retries)", n)
		}
		if d := r.last(t).d; d != 2*time.Second {
			t.Fatalf("retry in %v, want RetryDelay", d)
		}
		if _, ok := r.pending["o1"]; ok {
			t.Fatal("the watch is kept after the store expired the pairing")
		}
	})
	t.Run("at most Retries times", func(t *testing.T) {
		r := newRig(t, errDown, errDown, errDown, errDown)
		r.Watch("o1", "p1", t0)
		for i := 0; i < 3; i++ {
			r.last(t).f()
		}
		if n := r.armed(); n != 3 {
			t.Fatalf("%d timers armed, want 3: no fourth try", n)
		}
		if _, ok := r.pending["o1"]; ok {
			t.Fatal("the watch is kept after the last try")
		}
	})
	t.Run("not once the pairing changed", func(t *testing.T) {
		r := newRig(t, errDown)
		r.Watch("o1", "p1", t0)
		first := r.last(t)
		// The pairing is replaced while the failing call runs.
		r.errs = nil
		r.Timers.expire = func(context.Context, string, string) error {
			r.Watch("o1", "p2", t0.Add(time.Minute))
			return errDown
		}
		first.f()
		if n := r.armed(); n != 2 {
			t.Fatalf("%d timers armed, want 2 (p1, then p2; no retry of p1)", n)
		}
		if w := r.pending["o1"]; w == nil || w.pairingID != "p2" {
			t.Fatalf("pending %+v, want p2", w)
		}
	})
}

func TestCloseCancelsAndWaits(t *testing.T) {
	r := newRig(t)
	started := make(chan struct{})
	var ended bool
	r.Timers.expire = func(ctx context.Context, _, _ string) error {
		close(started)
		<-ctx.Done()
		ended = true
		return ctx.Err()
	}
	r.Watch("o1", "p1", t0)
	fire := r.last(t).f
	done := make(chan struct{})
	go func() { fire(); close(done) }()
	<-started
	r.Close()
	if !ended {
		t.Fatal("Close returned before the expire call under way ended")
	}
	<-done
	r.Watch("o2", "p2", t0)
	if n := r.armed(); n != 1 {
		t.Fatalf("%d timers armed, want 1: Watch after Close arms nothing", n)
	}
}

// TestRealTimer: with time.AfterFunc, the call comes once the pairing lapses.
func TestRealTimer(t *testing.T) {
	got := make(chan call, 1)
	tm := New(func(_ context.Context, order, pairing string) error {
		got <- call{order, pairing}
		return nil
	}, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer tm.Close()
	start := time.Now()
	tm.Watch("o1", "p1", start.Add(50*time.Millisecond))
	select {
	case c := <-got:
		if c != (call{"o1", "p1"}) {
			t.Fatalf("expire%v, want (o1, p1)", c)
		}
		if el := time.Since(start); el < 50*time.Millisecond {
			t.Fatalf("expired after %v, before the pairing lapsed", el)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("expire not called")
	}
}
