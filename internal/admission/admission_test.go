package admission

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// TestWorkersBound: with W workers, never more than W works run at once, and W do.
func TestWorkersBound(t *testing.T) {
	for _, w := range []int{1, 2, 3} {
		g := New(Config{Workers: w, Memory: 1 << 30, Wait: time.Minute})
		var now, peak atomic.Int64
		release := make(chan struct{})
		var wg sync.WaitGroup
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := g.Do(context.Background(), 1<<20, func() error {
					n := now.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					<-release
					now.Add(-1)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		// Wait (by polling, with a deadline) until the gate is full, then let all go.
		deadline := time.Now().Add(10 * time.Second)
		for g.Stats().Running < int64(w) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if r := g.Stats().Running; r != int64(w) {
			t.Fatalf("workers %d: %d running", w, r)
		}
		close(release)
		wg.Wait()
		if p := peak.Load(); p != int64(w) {
			t.Fatalf("workers %d: peak concurrency %d", w, p)
		}
	}
}

// TestMemoryBound: works run only while their reservations fit the budget together.
func TestMemoryBound(t *testing.T) {
	g := New(Config{Memory: 100, Workers: -1, Wait: time.Minute})
	var now, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(10 + 5*(i%5)) // 10…30
			err := g.Do(context.Background(), n, func() error {
				v := now.Add(n)
				for {
					p := peak.Load()
					if v <= p || peak.CompareAndSwap(p, v) {
						break
					}
				}
				if f := g.Stats().BytesInFlight; f > 100 {
					t.Errorf("%d bytes in flight", f)
				}
				time.Sleep(time.Millisecond) // hold it a moment so that works overlap
				now.Add(-n)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 100 || p < 30 {
		t.Fatalf("peak reserved %d, want 30..100", p)
	}
	if f := g.Stats().BytesInFlight; f != 0 {
		t.Fatalf("%d bytes still in flight", f)
	}
}

// TestBudgetFullRefusesAfterWait: a full budget answers 503 unavailable with Retry-After
// once the wait has passed, not before, and without running the work.
func TestBudgetFullRefusesAfterWait(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"memory full", Config{Memory: 1 << 20, Workers: 4, Wait: 80 * time.Millisecond, RetryAfter: 3 * time.Second}},
		{"workers busy", Config{Memory: 1 << 30, Workers: 1, Wait: 80 * time.Millisecond, RetryAfter: 3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New(tc.cfg)
			held, release := make(chan struct{}), make(chan struct{})
			done := make(chan error)
			go func() {
				done <- g.Do(context.Background(), 1<<20, func() error { close(held); <-release; return nil })
			}()
			<-held
			start := time.Now()
			ran := false
			err := g.Do(context.Background(), 1<<10, func() error { ran = true; return nil })
			took := time.Since(start)
			var fe *filing.Error
			if !errors.As(err, &fe) || fe.Code != filing.CodeUnavailable || ran {
				t.Fatalf("got %v (ran %v), want unavailable without running", err, ran)
			}
			if fe.Details[filing.DetailRetryAfter] != 3 {
				t.Fatalf("details %v", fe.Details)
			}
			if took < 80*time.Millisecond || took > 5*time.Second {
				t.Fatalf("refused after %v, want the 80 ms wait", took)
			}
			if g.Stats().Refused != 1 {
				t.Fatalf("stats %+v", g.Stats())
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			// Room again: admitted at once.
			if err := g.Do(context.Background(), 1<<10, func() error { return nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestClientGone: a request whose context ends while waiting gets its context's error,
// not a 503, and is not counted as refused.
func TestClientGone(t *testing.T) {
	g := New(Config{Memory: 10, Workers: 1, Wait: time.Minute})
	held, release := make(chan struct{}), make(chan struct{})
	go g.Do(context.Background(), 10, func() error { close(held); <-release; return nil })
	<-held
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := g.Do(ctx, 5, func() error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) || g.Stats().Refused != 0 {
		t.Fatalf("got %v, refused %d", err, g.Stats().Refused)
	}
}

// TestOversizedRunsAlone: a reservation over the whole budget waits for all of it rather
// than for ever.
func TestOversizedRunsAlone(t *testing.T) {
	g := New(Config{Memory: 100, Workers: -1, Wait: time.Second})
	ran := false
	if err := g.Do(context.Background(), 1000, func() error {
		ran = true
		if f := g.Stats().BytesInFlight; f != 100 {
			t.Errorf("in flight %d, want the whole budget", f)
		}
		return nil
	}); err != nil || !ran {
		t.Fatalf("err %v ran %v", err, ran)
	}
}

func TestNilGateAdmitsAll(t *testing.T) {
	var g *Gate
	want := errors.New("x")
	if err := g.Do(context.Background(), 1<<40, func() error { return want }); err != want {
		t.Fatal(err)
	}
}

func TestDefaults(t *testing.T) {
	g := New(Config{})
	if g.Memory() != 512<<20 || g.Workers() != DefaultWorkers() || g.wait != 10*time.Second {
		t.Fatalf("memory %d workers %d wait %v", g.Memory(), g.Workers(), g.wait)
	}
	if DefaultWorkers() < 1 {
		t.Fatal("no worker")
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"512MiB", 512 << 20, false},
		{"1GiB", 1 << 30, false},
		{"1gib", 1 << 30, false},
		{"1.5 GiB", 3 << 29, false},
		{"64KiB", 64 << 10, false},
		{"300MB", 300e6, false},
		{"2g", 2 << 30, false},
		{"1048576", 1 << 20, false},
		{" 256 mib ", 256 << 20, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"512 MiBs", 0, true},
		{"-1GiB", 0, true},
		{"0", 0, true},
		{"1e3", 0, true},
		{"99999999TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseBytes(%q) = %d, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

// TestRetryAfterFollowsQueue: the Retry-After of a refusal is how long those waiting
// would take at the recent pace, between the configured least and 30 s.
func TestRetryAfterFollowsQueue(t *testing.T) {
	for _, tc := range []struct {
		workers int
		waiting int64
		avg     time.Duration
		want    int
	}{
		{1, 0, 0, 1},
		{1, 5, 2 * time.Second, 10},
		{2, 5, 2 * time.Second, 5},
		{1, 3, 300 * time.Millisecond, 1},
		{1, 200, 400 * time.Millisecond, 30},
		{-1, 4, time.Second, 4},
	} {
		g := New(Config{Workers: tc.workers, Memory: 1 << 20})
		g.waiting.Store(tc.waiting)
		g.avgWork.Store(int64(tc.avg))
		if got := g.retryAfterNow(); got != tc.want {
			t.Errorf("workers %d waiting %d avg %v: Retry-After %d, want %d", tc.workers, tc.waiting, tc.avg, got, tc.want)
		}
	}
	// The average follows real works.
	g := New(Config{Workers: 1, Memory: 1 << 20})
	for range 20 {
		g.Do(context.Background(), 1, func() error { time.Sleep(2 * time.Millisecond); return nil })
	}
	if a := time.Duration(g.avgWork.Load()); a < time.Millisecond || a > time.Second {
		t.Fatalf("average work %v after 2 ms works", a)
	}
	if s := g.Stats(); s.Running != 0 || g.waiting.Load() != 0 {
		t.Fatalf("left running %d waiting %d", s.Running, g.waiting.Load())
	}
}

// TestSoftLimit: the soft memory limit follows both budgets, so raising the body budget
// raises it, and an unbounded body budget still leaves room for the default.
func TestSoftLimit(t *testing.T) {
	for _, tc := range []struct {
		decode, bodies, want int64
	}{
		{512 << 20, 256 << 20, 1 << 30},
		{512 << 20, 1 << 30, 512<<20 + 1<<30 + BaseMemory},
		{512 << 20, 0, 512<<20 + DefaultBodyMemory + BaseMemory},
		{512 << 20, -1, 512<<20 + DefaultBodyMemory + BaseMemory},
	} {
		if got := SoftLimit(tc.decode, tc.bodies); got != tc.want {
			t.Errorf("SoftLimit(%d, %d) = %d, want %d", tc.decode, tc.bodies, got, tc.want)
		}
	}
}
