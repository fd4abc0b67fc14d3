package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/server"
)

// seedQueue stores n submitted orders in the workbench's queue, as the write path leaves
// them (the order's JSON, its summary, its queue entry and the queue's copy), in
// pipelines; the orders expire by themselves and the queue's keys are deleted when the
// benchmark ends.
func seedQueue(b *testing.B, w *workbench, from, n int) {
	b.Helper()
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	for start := from; start < from+n; start += 500 {
		_, err := w.m.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := start; i < min(start+500, from+n); i++ {
				id := fmt.Sprintf("benchqueue%s%06d", w.m.Config.LimitScope[:8], i)
				at := base.Add(time.Duration(i) * time.Millisecond)
				o := filing.Order{ID: id, State: filing.StateSubmitted, Round: 1, SubmittedAt: at,
					SubjectType: filing.Individual, Province: "CN-GD", SubjectName: "张三", Domains: []string{"example.com"}}
				raw, _ := json.Marshal(o)
				p.Set(ctx, rediskeys.Order(id), raw, 10*time.Minute)
				redisstore.SeedQueued(ctx, p, w.m.Config.LimitScope, &o, 10*time.Minute)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		scope := w.m.Config.LimitScope
		w.m.Redis.Del(context.Background(), rediskeys.ReviewQueue(scope), rediskeys.ReviewQueueCopies(scope), rediskeys.ReviewQueueWriting(scope),
			rediskeys.ReviewQueueStamp(scope))
	})
}

// BenchmarkReviewQueue answers the queue's first page (50 orders) with 1,000 and then
// 10,000 orders waiting, beside GET /healthz on the same server and client in the same run
// (the quality bar in docs/benchmarks.md: at most 3 × /healthz, flat in the number waiting),
// which the server answers from its cache of the page after the first, and last the same
// page read from each order rather than from the queue's copies (never cached).
func BenchmarkReviewQueue(b *testing.B) {
	// A Redis of its own: the shared test Redis serves other jobs' commands, which queue
	// ahead of the page's and made its numbers move by 2 × between runs.
	rs := redistest.Start(b)
	w := startWorkbench(b, func(c *server.Config) { c.RedisURL = "redis://" + rs.Addr + "/0" })
	get := func(url, bearer string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				r, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
				if bearer != "" {
					r.Header.Set("Authorization", "Bearer "+bearer)
				}
				benchDo(b, r, http.StatusOK)
			}
		}
	}
	healthz := get(w.m.URL+"/healthz", "")
	queue := get(w.url("/queue"), w.as("alice"))
	b.Run("healthz", healthz)
	seedQueue(b, w, 0, 1000)
	b.Run("queue-1000", queue)
	b.Run("healthz-again", healthz)
	seedQueue(b, w, 1000, 9000)
	b.Run("queue-10000", queue)
	// The same page read the way an entry without a usable copy is (each order's own
	// summary, one HMGET per order): every order of the first page marked as being written.
	ctx := context.Background()
	scope := w.m.Config.LimitScope
	members := w.m.Redis.ZRange(ctx, rediskeys.ReviewQueue(scope), 0, 60).Val()
	for _, m := range members {
		id, _, _ := rediskeys.ParseReviewQueueMember(m)
		w.m.Redis.HSet(ctx, rediskeys.ReviewQueueWriting(scope), id, 1)
	}
	// As queue_mark.lua would: a new stamp, so the cached page is not answered.
	w.m.Redis.Set(ctx, rediskeys.ReviewQueueStamp(scope), "per-order", 0)
	b.Run("queue-10000-per-order", queue)
	b.Run("healthz-last", healthz)
}

// BenchmarkReviewQueueOutside is BenchmarkReviewQueue as a review team meets it: the
// client in another process (TestHelperHTTPLoad), over kept-alive connections as a
// browser's, one reviewer at a time (workers=1: the page's latency) and 32 at once (its
// cost: the rate is then bound by CPU), each beside GET /healthz from the same client in
// the same run (the mean of one run before and one after). In-process, as
// BenchmarkReviewQueue measures it, one Redis round trip inside a handler costs about twice
// what it costs from a loop: client and server share one scheduler, and every hop of the
// request (client, server, Redis, server, client) wakes a parked goroutine.
//
//	go test ./internal/server -run '^$' -bench ReviewQueueOutside -benchtime 5000x -count 3
func BenchmarkReviewQueueOutside(b *testing.B) {
	rs := redistest.Start(b)
	w := startWorkbench(b, func(c *server.Config) { c.RedisURL = "redis://" + rs.Addr + "/0" })
	auth := "Bearer " + w.as("alice")
	seeded := 0
	for _, waiting := range []int{1000, 10000} {
		seedQueue(b, w, seeded, waiting-seeded)
		seeded = waiting
		for _, workers := range []int{1, 32} {
			b.Run(fmt.Sprintf("waiting=%d/workers=%d", waiting, workers), func(b *testing.B) {
				healthz := outsideLoad{url: w.m.URL + "/healthz", n: b.N, conns: "reused", workers: workers}
				queue := outsideLoad{url: w.url("/queue"), auth: auth, n: b.N, conns: "reused", workers: workers}
				h1 := loadFromOutside(b, w.m, healthz)
				b.ResetTimer()
				q := loadFromOutside(b, w.m, queue)
				b.StopTimer()
				h := h1.add(loadFromOutside(b, w.m, healthz))
				b.ReportMetric(h.perSecond/q.perSecond, "queue/healthz")
				b.ReportMetric(1e6/q.perSecond*float64(workers), "µs/page")
				b.ReportMetric(1e6/h.perSecond*float64(workers), "µs/healthz")
				b.ReportMetric(q.client, "client-µs/page")
				b.ReportMetric(q.server, "server-µs/page")
				b.ReportMetric(q.redis, "redis-µs/page")
				b.ReportMetric(h.client, "client-µs/healthz")
				b.ReportMetric(h.server, "server-µs/healthz")
			})
		}
	}
}

// BenchmarkRoundTripInHandler shows what one Redis round trip costs a sequential client in
// the server's own process, as BenchmarkReviewQueue's is: a PING from a loop,
// then an empty net/http handler, and the same handler making that PING. The difference of
// the last two is about twice the loop's PING here (2 cores): with client, server and the
// Redis client in one scheduler, each hop wakes a parked goroutine, and the extra hop
// wakes two. BenchmarkReviewQueueOutside, whose client is another process, does not pay it.
//
//	go test ./internal/server -run '^$' -bench RoundTripInHandler -benchtime 5000x -count 3
func BenchmarkRoundTripInHandler(b *testing.B) {
	rs := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	ctx := context.Background()
	b.Run("ping-loop", func(b *testing.B) {
		for b.Loop() {
			if err := rdb.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			if err := rdb.Ping(r.Context()).Err(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	get := func(url string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				r, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				benchDo(b, r, http.StatusOK)
			}
		}
	}
	b.Run("handler", get(srv.URL+"/"))
	b.Run("handler-ping", get(srv.URL+"/ping"))
}
