package limits

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/testclock"
)

// scope is a fresh scope per test, so that tests sharing a real Redis never share counters.
func scope(t *testing.T) string {
	return t.Name() + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rate
		bad  bool
	}{
		{"30/h", Rate{30, time.Hour}, false},
		{"60/m", Rate{60, time.Minute}, false},
		{" 5 / s ", Rate{5, time.Second}, false},
		{"0", RateOff, false},
		{"0/h", RateOff, false},
		{"30", Rate{}, true},
		{"30/d", Rate{}, true},
		{"-1/h", Rate{}, true},
		{"x/h", Rate{}, true},
		{"", Rate{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRate(tc.in)
			if (err != nil) != tc.bad || got != tc.want {
				t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.bad)
			}
			if err == nil && !got.Off() {
				if back, _ := ParseRate(got.String()); back != got {
					t.Errorf("%v does not survive String: %q", got, got.String())
				}
			}
		})
	}
}

func wantRateLimited(t *testing.T, err error, maxWait int) {
	t.Helper()
	var fe *filing.Error
	if !errors.As(err, &fe) || fe.Code != filing.CodeRateLimited {
		t.Fatalf("got %v, want rate_limited", err)
	}
	secs, _ := fe.Details[filing.DetailRetryAfter].(int)
	if secs < 1 || secs > maxWait {
		t.Errorf("retry after %d s, want 1..%d", secs, maxWait)
	}
	if fe.Message == filing.ErrRateLimited.Message || fe.MessageZh == "" {
		t.Errorf("refusal has the generic message %q", fe.Message)
	}
}

// TestOrderRateAcrossInstances: two instances on one Redis share one count.
func TestOrderRateAcrossInstances(t *testing.T) {
	rdb := redistest.Shared(t)
	cfg := Config{OrderRate: Rate{30, time.Hour}, Scope: scope(t)}
	a, b := New(rdb, cfg), New(rdb, cfg)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		if err := l.AllowOrder(ctx, "203.0.113.7"); err != nil {
			t.Fatalf("order %d: %v", i+1, err)
		}
	}
	wantRateLimited(t, a.AllowOrder(ctx, "203.0.113.7"), 120)
	wantRateLimited(t, b.AllowOrder(ctx, "203.0.113.7"), 120)
	if err := b.AllowOrder(ctx, "203.0.113.8"); err != nil {
		t.Errorf("another address is limited too: %v", err)
	}
	// Off: nothing counted.
	off := New(rdb, Config{Scope: cfg.Scope})
	defer off.Close()
	if err := off.AllowOrder(ctx, "203.0.113.7"); err != nil {
		t.Errorf("rate 0 refused: %v", err)
	}
}

func TestPairingRate(t *testing.T) {
	rdb := redistest.Shared(t)
	l := New(rdb, Config{PairingRate: Rate{3, time.Minute}, Scope: scope(t)})
	defer l.Close()
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := l.AllowPairing(ctx, "order1"); err != nil {
			t.Fatalf("pairing %d: %v", i+1, err)
		}
	}
	wantRateLimited(t, l.AllowPairing(ctx, "order1"), 20)
	if err := l.AllowPairing(ctx, "order2"); err != nil {
		t.Errorf("another order is limited too: %v", err)
	}
}

func TestWebsocketLeases(t *testing.T) {
	rdb := redistest.Shared(t)
	ctx := context.Background()
	clk := testclock.New(time.Now())
	cfg := Config{WebsocketsPerOrder: 3, Scope: scope(t), LeaseTTL: time.Hour, Now: clk.Now}
	a, b := New(rdb, cfg), New(rdb, cfg)
	defer a.Close()
	defer b.Close()

	var releases []func()
	for i, l := range []*Limits{a, b, a} {
		rel, err := l.AcquireWebsocket(ctx, "order1")
		if err != nil {
			t.Fatalf("websocket %d: %v", i+1, err)
		}
		releases = append(releases, rel)
	}
	_, err := b.AcquireWebsocket(ctx, "order1")
	wantRateLimited(t, err, 3600)
	if rel, err := b.AcquireWebsocket(ctx, "order2"); err != nil {
		t.Errorf("another order is limited too: %v", err)
	} else {
		rel()
	}

	// A closed connection frees its place, once, however often release is called.
	releases[1]()
	releases[1]()
	rel, err := a.AcquireWebsocket(ctx, "order1")
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := a.AcquireWebsocket(ctx, "order1"); err == nil {
		t.Fatal("a double release freed two places")
	}
	rel()

	// Renewed leases stay past their first expiry; those of an instance that stopped
	// renewing (it died) lapse by the clock, not by a Redis TTL.
	clk.Add(50 * time.Minute)
	a.renew() // a lives: its two leases now run to 110 min
	clk.Add(20 * time.Minute)
	rel, err = b.AcquireWebsocket(ctx, "order1")
	if err != nil {
		t.Fatalf("place of the lapsed lease of b not freed: %v", err)
	}
	defer rel()
	_, err = b.AcquireWebsocket(ctx, "order1")
	wantRateLimited(t, err, 3600)
}

// TestWebsocketLeasesParallel: counting and taking are one step.
func TestWebsocketLeasesParallel(t *testing.T) {
	rdb := redistest.Shared(t)
	l := New(rdb, Config{WebsocketsPerOrder: 5, Scope: scope(t)})
	defer l.Close()
	var mu sync.Mutex
	var wg sync.WaitGroup
	ok := 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.AcquireWebsocket(context.Background(), "order1"); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ok != 5 {
		t.Errorf("40 parallel websockets with limit 5: %d admitted", ok)
	}
}

// TestCloseGivesPlacesBack: a server shutting down frees what it held at once.
func TestCloseGivesPlacesBack(t *testing.T) {
	rdb := redistest.Shared(t)
	cfg := Config{WebsocketsPerOrder: 1, Scope: scope(t)}
	a, b := New(rdb, cfg), New(rdb, cfg)
	defer b.Close()
	if _, err := a.AcquireWebsocket(context.Background(), "order1"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	rel, err := b.AcquireWebsocket(context.Background(), "order1")
	if err != nil {
		t.Fatalf("place still taken after the holder closed: %v", err)
	}
	rel()
}

// TestRedisDown: a limit that cannot be counted answers unavailable (503), not internal.
func TestRedisDown(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	defer rdb.Close()
	l := New(rdb, Config{OrderRate: Rate{1, time.Hour}, PairingRate: Rate{1, time.Hour}, WebsocketsPerOrder: 1})
	defer l.Close()
	mr.Close()
	ctx := context.Background()
	_, wsErr := l.AcquireWebsocket(ctx, "order1")
	for name, err := range map[string]error{
		"order": l.AllowOrder(ctx, "203.0.113.9"), "pairing": l.AllowPairing(ctx, "order1"), "websocket": wsErr,
	} {
		if !errors.Is(err, filing.ErrUnavailable) {
			t.Errorf("%s with Redis down: %v, want unavailable", name, err)
		}
	}
}
