package redisstore

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// promoteAfterWait cuts the replica off from its master (REPLICAOF NO ONE: the failover
// that promotes it) as soon as the first round trip that holds a WAIT has been answered,
// once armed: whatever the caller writes after its confirmation exists on the old master
// alone.
type promoteAfterWait struct {
	armed   atomic.Bool
	replica *redis.Client
	err     atomic.Value
}

func (h *promoteAfterWait) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *promoteAfterWait) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *promoteAfterWait) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if strings.EqualFold(c.Name(), "wait") && h.armed.CompareAndSwap(true, false) {
				if perr := h.replica.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); perr != nil {
					h.err.Store(perr)
				}
			}
		}
		return err
	}
}

// TestClaimWaitCoversAuditEntry: with MinReplicas 1, an acknowledged claim (and reclaim)
// has its audit entry on the replica, not only the claim: the entry is written by the claim
// script, before the WAIT of the same round trip. The replica is promoted the moment the
// claim's WAIT has answered; the entry must already be on it.
func TestClaimWaitCoversAuditEntry(t *testing.T) {
	// No delay before the full resync that relinks the promoted replica after each case.
	master := redistest.Start(t, "--repl-diskless-sync-delay", "0")
	replica := master.StartReplica(t)
	rdb := master.Client(t)
	rc := replica.Client(t)
	hook := &promoteAfterWait{replica: rc}
	rdb.AddHook(hook)
	s := New(rdb, 0)
	s.SetReplication(Replication{MinReplicas: 1, Timeout: 2 * time.Second})
	ctx := context.Background()

	relink := func(t *testing.T) {
		t.Helper()
		if err := rc.Do(ctx, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port)).Err(); err != nil {
			t.Fatal(err)
		}
		redistest.WaitLinked(t, rdb)
	}
	for _, tt := range []struct {
		name    string
		prepare func(t *testing.T) string
	}{
		{"claim", func(t *testing.T) string { return appOrder(t, s) }},
		{"reclaim", func(t *testing.T) string {
			id := appOrder(t, s)
			if err := claimFrom(s, id, "d1", "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			return id
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.prepare(t)
			before := rc.XLen(ctx, rediskeys.Audit(id)).Val()
			// Loaded, so that the claim's first round trip is its only one (a NOSCRIPT
			// answer would promote the replica before the EVAL fallback).
			if err := claimScript.Load(ctx, rdb).Err(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { relink(t) })
			hook.armed.Store(true)
			if err := claimFrom(s, id, "d1", "203.0.113.50"); err != nil {
				t.Fatalf("claim: %v", err)
			}
			if hook.armed.Load() {
				t.Fatal("the claim sent no WAIT")
			}
			if err, _ := hook.err.Load().(error); err != nil {
				t.Fatalf("promoting the replica: %v", err)
			}
			// The promoted replica holds what was acknowledged: the claim and its entry.
			if dev := rc.HGet(ctx, rediskeys.Pairing(id), "device").Val(); dev != "d1" {
				t.Errorf("the promoted replica's pairing is claimed by %q, want d1", dev)
			}
			msgs, err := rc.XRange(ctx, rediskeys.Audit(id), "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(msgs)) != before+1 {
				t.Fatalf("the promoted replica holds %d audit entries, %d before the claim: the claim's entry was not confirmed", len(msgs), before)
			}
			last := msgs[len(msgs)-1].Values
			if last["action"] != orders.AuditClaim || last["ip"] != "203.0.113.50" {
				t.Errorf("the promoted replica's last audit entry is %v, want the claim from 203.0.113.50", last)
			}
		})
	}
}

func claimFrom(s *Store, id, device, ip string) error {
	_, err := s.Claim(context.Background(), orders.ClaimRequest{OrderID: id, CodeHash: "h", DeviceID: device,
		AppVersion: "3.16.0", Now: time.Now(), AppProvinces: []string{"CN-GD"}, IP: ip})
	return err
}
