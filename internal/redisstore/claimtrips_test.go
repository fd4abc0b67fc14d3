package redisstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

// trips counts round trips: a command alone or a pipeline is one.
type trips struct{ n atomic.Int64 }

func (c *trips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *trips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *trips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// TestClaimRoundTrips: a claim is the claim script and then one round trip for its audit
// entry and the snapshot it answers with; a Redis that does not hold the audit script yet
// (the first claim here) still records the entry and answers.
func TestClaimRoundTrips(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	ctx := context.Background()
	s := New(rdb, 30*time.Minute)
	now := time.Now().Truncate(time.Millisecond).UTC()
	claim := func(id string, before func()) (*orders.Snapshot, error) {
		o := &filing.Order{ID: id, State: filing.StateDraft, UploadMethod: filing.MethodApp, Province: "CN-GD", Version: 1}
		if err := s.CreateOrder(ctx, o, orders.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
			sn.Pairing = &orders.Pairing{ID: "p1", CodeHash: "h", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		before()
		return s.Claim(ctx, orders.ClaimRequest{OrderID: id, CodeHash: "h", DeviceID: "d1", AppVersion: "3.16.0",
			Now: now, AppProvinces: []string{"CN-GD"}, IP: "203.0.113.9"})
	}
	counter := &trips{}
	rdb.AddHook(counter)
	for i, id := range []string{"aaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbb"} {
		snap, err := claim(id, func() {})
		if err != nil {
			t.Fatal(err)
		}
		if snap.Pairing == nil || snap.Pairing.DeviceID != "d1" {
			t.Fatalf("claim %d answers pairing %+v", i, snap.Pairing)
		}
		entries, err := s.Audit(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if last := entries[len(entries)-1]; last.Action != orders.AuditClaim || last.IP != "203.0.113.9" {
			t.Errorf("claim %d: last audit entry %+v", i, last)
		}
		if ttl := mr.TTL(rediskeys.Audit(id)); ttl <= 0 {
			t.Errorf("claim %d: audit stream TTL %v", i, ttl)
		}
	}
	// A third claim, with every script loaded: its round trips alone.
	if _, err := claim("cccccccccccccccccccccccccc", func() { counter.n.Store(0) }); err != nil {
		t.Fatal(err)
	}
	if n := counter.n.Load(); n != 2 {
		t.Errorf("a claim took %d round trips to Redis, want 2 (the claim script; the audit entry with the snapshot read)", n)
	}
}
