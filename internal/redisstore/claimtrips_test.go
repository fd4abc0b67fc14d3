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

// TestClaimRoundTrips: a claim is one round trip to Redis, the claim script (which writes
// the audit entry and reads the snapshot) with the device's generation read in the same
// pipeline; a Redis that does not hold the script yet (the first claim here) still claims,
// records the entry and answers.
func TestClaimRoundTrips(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	ctx := context.Background()
	s := New(rdb, 30*time.Minute)
	now := time.Now().Truncate(time.Millisecond).UTC()
	if err := rdb.Set(ctx, rediskeys.DeviceGeneration("dh"), 7, 0).Err(); err != nil {
		t.Fatal(err)
	}
	claim := func(id string, before func()) (*orders.Claimed, error) {
		o := &filing.Order{ID: id, State: filing.StateDraft, UploadMethod: filing.MethodApp, Province: "CN-GD", Version: 1}
		if err := s.CreateOrder(ctx, o, orders.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
			sn.Pairing = &orders.Pairing{ID: "p1", CodeHash: "h", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			sn.Materials = map[filing.Slot]filing.Material{filing.SlotFacePhoto: {Slot: filing.SlotFacePhoto, SHA256: "ab", UploadedAt: now}}
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		before()
		return s.Claim(ctx, orders.ClaimRequest{OrderID: id, CodeHash: "h", DeviceID: "d1", DeviceName: "Pixel", AppVersion: "3.16.0",
			Now: now, AppProvinces: []string{"CN-GD"}, IP: "203.0.113.9", DeviceHash: "dh"})
	}
	counter := &trips{}
	rdb.AddHook(counter)
	for i, id := range []string{"aaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbb"} {
		if i == 0 {
			if err := rdb.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		c, err := claim(id, func() {})
		if err != nil {
			t.Fatal(err)
		}
		snap := c.Snapshot
		if p := snap.Pairing; p == nil || p.DeviceID != "d1" || p.DeviceName != "Pixel" || !p.ClaimedAt.Equal(now) {
			t.Fatalf("claim %d answers pairing %+v", i, snap.Pairing)
		}
		// The answer is the order after the claim: its version counts the claim.
		if snap.Order.ID != id || snap.Order.Version != 3 || snap.Materials[filing.SlotFacePhoto].SHA256 != "ab" {
			t.Errorf("claim %d answers order %s version %d, materials %v; want version 3 and the face photo", i, snap.Order.ID, snap.Order.Version, snap.Materials)
		}
		if c.DeviceGeneration != 7 {
			t.Errorf("claim %d: device generation %d, want 7", i, c.DeviceGeneration)
		}
		entries, err := s.Audit(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if last := entries[len(entries)-1]; last.Action != orders.AuditClaim || last.IP != "203.0.113.9" || last.Actor != orders.ActorPhone || !last.At.Equal(now) {
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
	if n := counter.n.Load(); n != 1 {
		t.Errorf("a claim took %d round trips to Redis, want 1 (the claim script, with its audit entry and snapshot, and the device's generation)", n)
	}
	// A device never forgotten has generation 0 (no key), which fails nothing.
	c, err := claim("dddddddddddddddddddddddddd", func() { rdb.Del(ctx, rediskeys.DeviceGeneration("dh")) })
	if err != nil || c.DeviceGeneration != 0 {
		t.Fatalf("claim without a generation key: %+v, %v", c, err)
	}
}
