package broker

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// recorder is a Handler that keeps what it was told, in order.
type recorder struct {
	mu     sync.Mutex
	events []string // "sub:ID", "unsub:ID", "msg:ID:payload"
	wake   chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *recorder) Subscribed(id string)        { r.add("sub:" + id) }
func (r *recorder) Unsubscribed(id string)      { r.add("unsub:" + id) }
func (r *recorder) Message(id string, p []byte) { r.add("msg:" + id + ":" + string(p)) }
func (r *recorder) count(e string) (n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.events {
		if x == e {
			n++
		}
	}
	return
}

// waitCount waits until e has been seen n times and returns when that happened.
func (r *recorder) waitCount(t *testing.T, e string, n int, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.After(timeout)
	for r.count(e) < n {
		select {
		case <-r.wake:
		case <-deadline:
			t.Fatalf("%q seen %d times in %v, want %d", e, r.count(e), timeout, n)
		}
	}
	return time.Now()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestSentinelFailoverResubscribes: after SENTINEL FAILOVER the broker re-subscribes on the
// new master and says so (Subscribed again) within 2 s of the switch, and what is published
// on the new master is delivered.
func TestSentinelFailoverResubscribes(t *testing.T) {
	set := redistest.StartSet(t)
	fo := &redis.FailoverOptions{MasterName: set.MasterName, SentinelAddrs: set.SentinelAddrs()}
	rdb := redis.NewFailoverClient(fo)
	defer rdb.Close()
	b := NewRedis(rdb, RedisOptions{Sentinel: SentinelOf(fo), Logger: quiet()})
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, rec) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	b.Subscribe("o1")
	rec.waitCount(t, "sub:o1", 1, 5*time.Second)
	if err := rdb.Publish(ctx, rediskeys.Events("o1"), "before").Err(); err != nil {
		t.Fatal(err)
	}
	rec.waitCount(t, "msg:o1:before", 1, 5*time.Second)

	newMaster := set.Failover(t)
	switched := time.Now()
	at := rec.waitCount(t, "sub:o1", 2, 5*time.Second)
	if d := at.Sub(switched); d > 2*time.Second {
		t.Errorf("re-subscribed %v after the switch, want ≤ 2 s", d)
	}
	// Published straight on the new master: only a subscription there receives it before
	// the old master has re-synchronised as a replica.
	direct := redis.NewClient(&redis.Options{Addr: newMaster})
	defer direct.Close()
	if err := direct.Publish(ctx, rediskeys.Events("o1"), "after").Err(); err != nil {
		t.Fatal(err)
	}
	rec.waitCount(t, "msg:o1:after", 1, 2*time.Second)

	b.Unsubscribe("o1")
	rec.waitCount(t, "unsub:o1", 1, 5*time.Second)
}

// TestResubscribeAfterRestart: a Redis that goes away and comes back gets the wanted
// subscriptions again (not the dropped ones), each announced by Subscribed.
func TestResubscribeAfterRestart(t *testing.T) {
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	b := NewRedis(rdb, RedisOptions{Logger: quiet()})
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, rec) }()
	defer func() { cancel(); <-done }()

	b.Subscribe("kept")
	b.Subscribe("dropped")
	rec.waitCount(t, "sub:kept", 1, 5*time.Second)
	rec.waitCount(t, "sub:dropped", 1, 5*time.Second)
	b.Unsubscribe("dropped")
	rec.waitCount(t, "unsub:dropped", 1, 5*time.Second)

	rs.Restart()
	rec.waitCount(t, "sub:kept", 2, 15*time.Second)
	if n := rec.count("sub:dropped"); n != 1 {
		t.Errorf("the dropped order was subscribed %d times, want 1", n)
	}
	if err := rdb.Publish(ctx, rediskeys.Events("kept"), "x").Err(); err != nil {
		t.Fatal(err)
	}
	rec.waitCount(t, "msg:kept:x", 1, 5*time.Second)
}
