package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redisstore"
)

// TestQueuedSummaryLivesWithOrder: the order's queue summary starts its retention again
// with every change outside Update too (the claim), so it never lapses before its order.
func TestQueuedSummaryLivesWithOrder(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	ctx := context.Background()
	const keep = time.Hour
	s := redisstore.New(rdb, 2*time.Hour, redisstore.WithRetention(keep))
	o := newOrder("aaaaaaaaaaaaaaaaaaaaaaaaaa")
	o.SubjectType, o.OrganizationCertificateType = filing.Individual, ""
	o.UploadMethod = filing.MethodApp
	if err := s.CreateOrder(ctx, o, orders.AuditEntry{At: o.CreatedAt, Actor: orders.ActorDesktop, Action: orders.AuditCreate}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := s.Update(ctx, o.ID, func(snap *orders.Snapshot) ([]orders.Event, error) {
		snap.Pairing = &orders.Pairing{ID: "p1", CodeHash: "h", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if mr.TTL(rediskeys.Queued(o.ID)) != keep {
		t.Fatalf("summary TTL %v after a change, want %v", mr.TTL(rediskeys.Queued(o.ID)), keep)
	}
	mr.FastForward(50 * time.Minute)
	if _, err := s.Claim(ctx, orders.ClaimRequest{OrderID: o.ID, CodeHash: "h", DeviceID: "d", AppVersion: "3.16.0",
		Now: now, AppProvinces: []string{"CN-GD"}, IP: "10.0.0.1"}); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if got, want := mr.TTL(rediskeys.Queued(o.ID)), mr.TTL(rediskeys.Order(o.ID)); got != want {
		t.Fatalf("summary TTL %v after the claim, the order's %v", got, want)
	}
	mr.FastForward(50 * time.Minute)
	if !mr.Exists(rediskeys.Order(o.ID)) || !mr.Exists(rediskeys.Queued(o.ID)) {
		t.Fatalf("order %v, summary %v: both must live out the retention the claim started",
			mr.Exists(rediskeys.Order(o.ID)), mr.Exists(rediskeys.Queued(o.ID)))
	}
}
