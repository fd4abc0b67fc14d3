package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

func randomID(t testing.TB) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "wait" + hex.EncodeToString(b)
}

// appOrder is an order a phone may claim, with an unclaimed pairing of code hash "h".
func appOrder(t testing.TB, s *Store) string {
	t.Helper()
	ctx := context.Background()
	id := randomID(t)
	if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateDraft, Province: "CN-GD", UploadMethod: filing.MethodApp, Version: 1}, orders.AuditEntry{}); err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	now := time.Now()
	if _, err := s.Update(ctx, id, func(snap *orders.Snapshot) ([]orders.Event, error) {
		snap.Pairing = &orders.Pairing{ID: "p1", CodeHash: "h", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		return []orders.Event{{Type: events.PairingCreated, OrderID: id, At: now}}, nil
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	return id
}

func claim(s *Store, id, device string) error {
	_, err := s.Claim(context.Background(), orders.ClaimRequest{OrderID: id, CodeHash: "h", DeviceID: device,
		AppVersion: "3.16.0", Now: time.Now(), AppProvinces: []string{"CN-GD"}})
	return err
}

// TestWaitForReplicas: with MinReplicas 1, every acknowledging method waits for the replica
// on the connection that wrote, and answers unavailable when the replica does not confirm.
func TestWaitForReplicas(t *testing.T) {
	master := redistest.Start(t)
	replica := master.StartReplica(t, "--enable-debug-command", "yes")
	rdb := master.Client(t)
	s := New(rdb, 0)
	s.SetReplication(Replication{MinReplicas: 1, Timeout: 300 * time.Millisecond})
	ctx := context.Background()

	// Healthy: everything confirms, including a claim after SCRIPT FLUSH (the EVAL fallback
	// of the script runs in the same pipeline as its WAIT).
	id := appOrder(t, s)
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := claim(s, id, "d1"); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if err := claim(s, id, "d1"); err != nil {
		t.Fatalf("reclaim: %v", err)
	}
	if err := s.Remember(ctx, id, "k", []byte("{}"), time.Minute); err != nil {
		t.Fatalf("Remember: %v", err)
	}

	// The replica stalls for a second (its event loop sleeps): a WAIT on the writing
	// connection cannot be confirmed in 300 ms. A WAIT sent on another connection, which
	// wrote nothing, would return at once and pass.
	rc := replica.Client(t)
	// go-redis ignores context deadlines on the wire by default: the probe's own read
	// timeout is what notices a replica that does not answer.
	probe := redis.NewClient(&redis.Options{Addr: replica.Addr, ReadTimeout: 50 * time.Millisecond, MaxRetries: -1})
	defer probe.Close()
	stall := func(t *testing.T) {
		t.Helper()
		slept := make(chan error, 1)
		go func() { slept <- rc.Do(context.Background(), "DEBUG", "SLEEP", "1").Err() }()
		// Wait until the replica is asleep: its PING stops answering.
		deadline := time.Now().Add(2 * time.Second)
		for {
			pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			err := probe.Ping(pctx).Err()
			cancel()
			if err != nil {
				return
			}
			select {
			case err := <-slept:
				t.Fatalf("DEBUG SLEEP: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("replica never stalled")
			}
		}
	}
	toSubmit, toHold := appOrder(t, s), appOrder(t, s)
	if _, err := s.Update(ctx, toHold, func(sn *orders.Snapshot) ([]orders.Event, error) {
		sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, time.Now()
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Each case prepares while the replica is awake and returns the call that meets the
	// stalled replica.
	cases := []struct {
		name    string
		prepare func() func() error
	}{
		{"create", func() func() error {
			return func() error {
				return s.CreateOrder(ctx, &filing.Order{ID: randomID(t), Version: 1}, orders.AuditEntry{})
			}
		}},
		{"update", func() func() error {
			return func() error {
				_, err := s.Update(ctx, id, func(*orders.Snapshot) ([]orders.Event, error) {
					return []orders.Event{{Type: events.UploadComplete, OrderID: id}}, nil
				})
				return err
			}
		}},
		{"unchanged update", func() func() error {
			return func() error {
				_, err := s.Update(ctx, id, func(*orders.Snapshot) ([]orders.Event, error) { return nil, orders.ErrUnchanged })
				return err
			}
		}},
		{"claim", func() func() error {
			fresh := appOrder(t, s)
			return func() error { return claim(s, fresh, "d1") }
		}},
		{"reclaim", func() func() error { return func() error { return claim(s, id, "d1") } }},
		// On a single Redis the queue's side of a submission or a hold is in the change's
		// own MULTI (no mark): the change and its entry, copy and stamp are one write,
		// which the one WAIT refuses or confirms together.
		{"submit", func() func() error {
			fresh := toSubmit
			return func() error {
				_, err := s.Update(ctx, fresh, func(sn *orders.Snapshot) ([]orders.Event, error) {
					sn.Order.State, sn.Order.Round, sn.Order.SubmittedAt = filing.StateSubmitted, 1, time.Now()
					return nil, nil
				})
				snap, lerr := s.Load(ctx, fresh)
				queued := rdb.ZScore(ctx, rediskeys.ReviewQueue(""), rediskeys.ReviewQueueMember(fresh, 1)).Err() == nil
				copied := rdb.HExists(ctx, rediskeys.ReviewQueueCopies(""), "q:"+fresh).Val()
				if lerr != nil || (snap.Order.State == filing.StateSubmitted) != queued || queued != copied {
					return fmt.Errorf("the submission and its queue entry and copy part (%v, load %v, entry %v, copy %v)", err, lerr, queued, copied)
				}
				if rdb.HExists(ctx, rediskeys.ReviewQueueWriting(""), fresh).Val() {
					return fmt.Errorf("a submission on a single Redis left a mark (%v)", err)
				}
				return err
			}
		}},
		{"hold", func() func() error {
			fresh := toHold
			return func() error {
				_, err := s.Hold(ctx, orders.HoldRequest{OrderID: fresh, Reviewer: "alice", Mode: orders.HoldTake, Now: time.Now(), TTL: time.Minute})
				held := rdb.Exists(ctx, rediskeys.Hold(fresh)).Val() == 1
				if cp := rdb.HGet(ctx, rediskeys.ReviewQueueCopies(""), "h:"+fresh).Val(); held != (cp != "") {
					return fmt.Errorf("the hold and its copy part (%v, held %v, copy %q)", err, held, cp)
				}
				if rdb.HExists(ctx, rediskeys.ReviewQueueWriting(""), fresh).Val() {
					return fmt.Errorf("a hold on a single Redis left a mark (%v)", err)
				}
				return err
			}
		}},
		{"remember", func() func() error {
			return func() error { return s.Remember(ctx, id, randomID(t), []byte("{}"), time.Minute) }
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			redistest.WaitLinked(t, rdb)
			run := c.prepare()
			stall(t)
			err := run()
			if !errors.Is(err, filing.ErrUnavailable) || !errors.Is(err, errNotConfirmed) {
				t.Fatalf("err = %v, want unavailable (not confirmed)", err)
			}
		})
	}

	// Without MinReplicas the same stall costs nothing: the answers above came from WAIT.
	redistest.WaitLinked(t, rdb)
	stall(t)
	s0 := New(rdb, 0)
	if err := s0.CreateOrder(ctx, &filing.Order{ID: randomID(t), Version: 1}, orders.AuditEntry{}); err != nil {
		t.Fatalf("without WAIT: %v", err)
	}

	// A replica gone for good: unavailable too.
	redistest.WaitLinked(t, rdb)
	replica.Stop()
	if err := s.CreateOrder(ctx, &filing.Order{ID: randomID(t), Version: 1}, orders.AuditEntry{}); !errors.Is(err, filing.ErrUnavailable) {
		t.Fatalf("replica down: err = %v, want unavailable", err)
	}
}
