package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/webhook"
)

// watchOf reads the order's deletion watch from its outbox.
func watchOf(t *testing.T, rdb *redis.Client, id string) webhook.Delivery {
	t.Helper()
	raw, err := rdb.HGet(context.Background(), rediskeys.Webhooks(id), deliveryID(id, 0, webhook.OrderDeleted)).Bytes()
	if err != nil {
		t.Fatalf("the deletion watch of %s: %v", id, err)
	}
	var d webhook.Delivery
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestClaimRewritesDeletionWatch: a claim is a change (its version, its expiry); the
// deletion watch then carries the claim's version and waits for the expiry the claim set,
// so that an order.deleted sent after retention tells the version the order last had.
func TestClaimRewritesDeletionWatch(t *testing.T) {
	rdb := redistest.Shared(t)
	ctx := context.Background()
	retention := time.Hour
	s := New(rdb, 30*time.Minute, WithWebhooks("t"+randomID(t)), WithRetention(retention))
	id := appOrder(t, s)
	before := watchOf(t, rdb, id)
	now := time.Now().Add(30 * time.Second).Truncate(time.Millisecond) // later than the last write, before the QR expires
	c, err := s.Claim(ctx, orders.ClaimRequest{OrderID: id, CodeHash: "h", DeviceID: "d1", AppVersion: "3.16.0",
		Now: now, AppProvinces: []string{"CN-GD"}})
	if err != nil {
		t.Fatal(err)
	}
	w := watchOf(t, rdb, id)
	if w.Status != webhook.StatusWatch || w.Version != c.Snapshot.Order.Version || w.Version != before.Version+1 {
		t.Fatalf("after the claim (version %d) the watch is %+v (was version %d)", c.Snapshot.Order.Version, w, before.Version)
	}
	if want := now.Add(retention + time.Second).UnixMilli(); w.NextAt != want {
		t.Fatalf("watch due at %d, want %d (the claim's expiry and a second)", w.NextAt, want)
	}
	if w.State != string(filing.StateDraft) || w.ID != before.ID || w.Type != webhook.OrderDeleted {
		t.Fatalf("watch %+v", w)
	}
	ttl, err := rdb.PTTL(ctx, rediskeys.Webhooks(id)).Result()
	if err != nil || ttl < retention+outboxOutlives-time.Minute {
		t.Fatalf("outbox TTL %v (%v), want about %v", ttl, err, retention+outboxOutlives)
	}
	// A reclaim changes nothing, the watch included.
	if _, err := s.Claim(ctx, orders.ClaimRequest{OrderID: id, CodeHash: "h", DeviceID: "d1", AppVersion: "3.16.0",
		Now: now.Add(time.Second), AppProvinces: []string{"CN-GD"}}); err != nil {
		t.Fatal(err)
	}
	if again := watchOf(t, rdb, id); again != w {
		t.Fatalf("a reclaim rewrote the watch: %+v, was %+v", again, w)
	}
	// Without webhooks a claim writes no outbox.
	plain := New(rdb, 30*time.Minute)
	id2 := appOrder(t, plain)
	if err := claim(plain, id2, "d1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, rediskeys.Webhooks(id2)).Result(); n != 0 {
		t.Fatal("a claim without webhooks wrote an outbox")
	}
}

// settleAs does what a deliverer does with one order: hold it, take its due deliveries,
// finish each with outcome, put the order back at its next time.
func settleAs(t *testing.T, s *Store, id string, now time.Time, o webhook.Outcome) {
	t.Helper()
	ctx := context.Background()
	l, ok, err := s.ClaimOrder(ctx, id, now, 30*time.Second)
	if err != nil || !ok {
		t.Fatalf("hold %s: %v %v", id, ok, err)
	}
	ds, next, err := s.Take(ctx, id, now, 30*time.Second, 10)
	if err != nil || len(ds) == 0 {
		t.Fatalf("take %s: %d, %v", id, len(ds), err)
	}
	for _, d := range ds {
		if next, err = s.Finish(ctx, d, o, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Settle(ctx, l, next, now); err != nil {
		t.Fatal(err)
	}
}

// TestDeliveriesListingIgnoresWatches: every live order keeps its deletion watch in the
// outbox, due at its expiry; orders near their expiry (here: a short retention) are due
// before a failed delivery's next attempt. The listing still finds the few real
// deliveries among many watches, in one page.
func TestDeliveriesListingIgnoresWatches(t *testing.T) {
	rdb := redistest.Shared(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	s := New(rdb, 0, WithWebhooks("t"+randomID(t)), WithRetention(time.Hour), WithClock(func() time.Time { return now }))
	create := func() string {
		id := randomID(t)
		if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateDraft, Province: "CN-GD", Version: 1, CreatedAt: now}, orders.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	var watched []string
	for range 150 {
		id := create()
		settleAs(t, s, id, now, webhook.Outcome{Status: webhook.Delivered})
		watched = append(watched, id)
	}
	var failed []string
	for range 3 {
		id := create()
		settleAs(t, s, id, now, webhook.Outcome{Status: webhook.StatusFailed, NextAt: now.Add(2 * time.Hour), LastError: "status 500"})
		failed = append(failed, id)
	}
	pending := create()
	ds, err := s.Deliveries(ctx, webhook.StatusFailed, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.OrderID)
	}
	slices.Sort(got)
	slices.Sort(failed)
	if !slices.Equal(got, failed) {
		t.Fatalf("failed deliveries listed for %v, want %v (%d orders have only their watch)", got, failed, len(watched))
	}
	ds, err = s.Deliveries(ctx, webhook.StatusPending, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].OrderID != pending || ds[0].Type != webhook.OrderCreated {
		t.Fatalf("pending deliveries %+v, want the order.created of %s", ds, pending)
	}
	// Once delivered, a delivery leaves the listing.
	settleAs(t, s, failed[0], now.Add(3*time.Hour), webhook.Outcome{Status: webhook.Delivered})
	if ds, err = s.Deliveries(ctx, webhook.StatusFailed, 100); err != nil || len(ds) != 2 {
		t.Fatalf("after a delivery: %d failed listed (%v), want 2", len(ds), err)
	}
}

// crashAfterOrderWrite is a client hook that lets the first write of the order's key
// through and fails everything after it, as a process killed between two steps would.
type crashAfterOrderWrite struct {
	key     string
	crashed bool
}

var errCrashed = errors.New("crashed")

func (h *crashAfterOrderWrite) touches(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		for _, a := range c.Args() {
			if s, ok := a.(string); ok && s == h.key {
				return true
			}
		}
	}
	return false
}

func (h *crashAfterOrderWrite) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *crashAfterOrderWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return h.process(ctx, []redis.Cmder{cmd}, func() error { return next(ctx, cmd) })
	}
}
func (h *crashAfterOrderWrite) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return h.process(ctx, cmds, func() error { return next(ctx, cmds) })
	}
}

func (h *crashAfterOrderWrite) process(_ context.Context, cmds []redis.Cmder, run func() error) error {
	if h.crashed {
		for _, c := range cmds {
			c.SetErr(errCrashed)
		}
		return errCrashed
	}
	err := run()
	if err == nil && h.touches(cmds) {
		h.crashed = true
	}
	return err
}

// TestCreateOrderAllOrNothing: an order's creation stores the order, its version, its
// first audit entry (create) and its outbox (order.created, the deletion watch, the due
// index) together or not at all, even if the process dies right after its first write.
func TestCreateOrderAllOrNothing(t *testing.T) {
	shared := redistest.Shared(t)
	ctx := context.Background()
	scope := "t" + randomID(t)
	id := randomID(t)
	rdb := redis.NewClient(shared.Options())
	t.Cleanup(func() { rdb.Close() })
	rdb.AddHook(&crashAfterOrderWrite{key: rediskeys.Order(id)})
	s := New(rdb, 0, WithWebhooks(scope))
	now := time.Now()
	created := orders.AuditEntry{At: now, Actor: orders.ActorDesktop, Action: orders.AuditCreate, IP: "203.0.113.9"}
	err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateDraft, Province: "CN-GD", Version: 1, CreatedAt: now}, created)

	exists := func(k string) bool {
		n, err := shared.Exists(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	stored := exists(rediskeys.Order(id))
	if stored != (err == nil) {
		t.Fatalf("CreateOrder answered %v, and the order is stored: %v", err, stored)
	}
	var parts []string
	if exists(rediskeys.Version(id)) {
		parts = append(parts, "version")
	}
	if es, _ := shared.XRange(ctx, rediskeys.Audit(id), "-", "+").Result(); len(es) == 1 && es[0].Values["action"] == orders.AuditCreate {
		parts = append(parts, "audit create")
	}
	if out, _ := shared.HGetAll(ctx, rediskeys.Webhooks(id)).Result(); len(out) == 2 {
		parts = append(parts, "outbox")
	}
	if _, err := shared.ZScore(ctx, rediskeys.WebhookDue(scope), id).Result(); err == nil {
		parts = append(parts, "due")
	}
	want := []string{"version", "audit create", "outbox", "due"}
	if !stored {
		want = nil
	}
	if !slices.Equal(parts, want) {
		t.Fatalf("order stored: %v (CreateOrder: %v); with it: %s; want %s", stored, err, strings.Join(parts, ", "), strings.Join(want, ", "))
	}
}
