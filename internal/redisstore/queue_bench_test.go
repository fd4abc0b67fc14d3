package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// BenchmarkQueuePage reads the queue's first page (50) of 1,000 waiting from the
// instance's cache ("cached": the page script finds the stamp unchanged), from the queue's
// copies ("copies": the cache emptied before each page), and from each order's summary
// ("orders", the path of an entry without a copy), beside a PING and a bare
// ZRANGEBYSCORE of the page's 51 entries (the floor of any read page) on the same client
// in the same run.
func BenchmarkQueuePage(b *testing.B) {
	rdb := redistest.Shared(b)
	scope := orderID()
	s := New(rdb, 30*time.Minute, WithScope(scope))
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 1000 {
			o := filing.Order{ID: fmt.Sprintf("qbench%s%06d", scope[:8], i), State: filing.StateSubmitted, Round: 1,
				SubmittedAt: base.Add(time.Duration(i) * time.Millisecond), SubjectType: filing.Individual, Province: "CN-GD",
				SubjectName: "张三", Domains: []string{"example.com"}}
			SeedQueued(ctx, p, scope, &o, 10*time.Minute)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		rdb.Del(context.Background(), rediskeys.ReviewQueue(scope), rediskeys.ReviewQueueCopies(scope), rediskeys.ReviewQueueWriting(scope),
			rediskeys.ReviewQueueStamp(scope))
	})
	page := func(b *testing.B) {
		for b.Loop() {
			if b.Name() != "BenchmarkQueuePage/cached" {
				s.queuePages = queuePages{}
			}
			p, err := s.Queue(ctx, "", 50, time.Now())
			if err != nil || len(p.Orders) != 50 {
				b.Fatal(len(p.Orders), err)
			}
		}
	}
	b.Run("ping", func(b *testing.B) {
		for b.Loop() {
			rdb.Ping(ctx)
		}
	})
	b.Run("cached", page)
	b.Run("copies", page)
	b.Run("zrange", func(b *testing.B) {
		for b.Loop() {
			rdb.ZRangeByScoreWithScores(ctx, rediskeys.ReviewQueue(scope), &redis.ZRangeBy{Min: "-inf", Max: "+inf", Count: 51})
		}
	})
	b.Run("orders", func(b *testing.B) {
		// Every order marked as being written: each is read from its own summary.
		members, _ := rdb.ZRange(ctx, rediskeys.ReviewQueue(scope), 0, 60).Result()
		for _, m := range members {
			id, _, _ := rediskeys.ParseReviewQueueMember(m)
			rdb.HSet(ctx, rediskeys.ReviewQueueWriting(scope), id, 1)
		}
		page(b)
	})
}
