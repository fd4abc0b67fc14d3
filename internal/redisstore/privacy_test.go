package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/sealbox"
)

// backends are the Redis servers every test here runs against: an in-process miniredis,
// and a private real redis-server of the test's own on a unix socket (ReencryptIDs scans
// the whole database, so it must not share one with other tests).
func backends(t *testing.T) map[string]func(t *testing.T) redis.UniversalClient {
	return map[string]func(t *testing.T) redis.UniversalClient{
		"miniredis": func(t *testing.T) redis.UniversalClient {
			mr := miniredis.RunT(t)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { rdb.Close() })
			return rdb
		},
		"redis-server": privateRedis,
	}
}

func privateRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server); the miniredis case still runs")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: sock})
	t.Cleanup(func() { rdb.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("private redis-server did not answer within 10s")
		}
		time.Sleep(20 * time.Millisecond) // polling a server that is starting, not synchronising
	}
	return rdb
}

func ring(t *testing.T, spec string) *sealbox.Keyring {
	t.Helper()
	r, err := sealbox.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const (
	k1 = "k1:" + "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=" // "1" × 32
	k2 = "k2:" + "MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjI=" // "2" × 32
)

func newOrder(id string) *filing.Order {
	now := time.Now().UTC()
	return &filing.Order{
		ID: id, State: filing.StateDraft, Version: 1, SubjectType: filing.Organization, Province: "CN-GD",
		SubjectName: "广州示例科技有限公司", OrganizationCertificateType: "business_license",
		SubjectLeader: filing.Person{Name: "张三", IDType: filing.ResidentID, IDNumber: "11010519491231002X", IDValidUntil: filing.LongTerm},
		WebsiteLeader: filing.Person{Name: "李四", IDType: filing.Passport, IDNumber: "E12345678", IDValidUntil: "2099-01-01"},
		Domains:       []string{"example.com"}, CreatedAt: now, UpdatedAt: now,
	}
}

// TestKeyRotation: orders sealed under k1 still load after the keys become k2,k1, the
// re-encryption moves them to k2 (and a second run finds nothing to do), and after k1 is
// dropped every order loads with its right numbers; TTLs and versions are untouched.
func TestKeyRotation(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			rdb := backend(t)
			ctx := context.Background()
			old := redisstore.New(rdb, 0, redisstore.WithKeyring(ring(t, k1)))
			ids := []string{"aaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccc"}
			for _, id := range ids {
				if err := old.CreateOrder(ctx, newOrder(id), orders.AuditEntry{}); err != nil {
					t.Fatal(err)
				}
			}
			// One order from before encryption, with its numbers in clear.
			legacy := newOrder("dddddddddddddddddddddddddd")
			raw, _ := json.Marshal(legacy)
			rdb.Set(ctx, rediskeys.Order(legacy.ID), raw, time.Hour)
			rdb.Set(ctx, rediskeys.Version(legacy.ID), 1, time.Hour)
			ids = append(ids, legacy.ID)
			ttlBefore := rdb.PTTL(ctx, rediskeys.Order(ids[0])).Val()

			both := ring(t, k2+","+k1)
			rotated := redisstore.New(rdb, 0, redisstore.WithKeyring(both))
			for _, id := range ids {
				checkNumbers(t, rotated, id)
			}
			n, err := rotated.ReencryptIDs(ctx, both)
			if err != nil || n != len(ids) {
				t.Fatalf("re-encrypted %d, %v; want %d", n, err, len(ids))
			}
			if n, err := rotated.ReencryptIDs(ctx, both); err != nil || n != 0 {
				t.Fatalf("second run re-encrypted %d, %v; want 0", n, err)
			}
			if ttl := rdb.PTTL(ctx, rediskeys.Order(ids[0])).Val(); ttl <= 0 || ttl > ttlBefore {
				t.Fatalf("TTL %v after re-encryption, was %v", ttl, ttlBefore)
			}

			onlyK2 := redisstore.New(rdb, 0, redisstore.WithKeyring(ring(t, k2)))
			for _, id := range ids {
				checkNumbers(t, onlyK2, id)
				raw := rdb.Get(ctx, rediskeys.Order(id)).Val()
				if strings.Contains(raw, "11010519491231002X") || strings.Contains(raw, "E12345678") {
					t.Fatalf("order %s holds a number in clear: %s", id, raw)
				}
			}
			// Without k1 from the start, an order still under k1 does not open: the test
			// above proves something.
			stale := redisstore.New(rdb, 0, redisstore.WithKeyring(ring(t, k1)))
			if _, err := stale.Load(ctx, ids[0]); !errors.Is(err, sealbox.ErrUnknownKey) {
				t.Fatalf("load with only k1: %v, want ErrUnknownKey", err)
			}
		})
	}
}

func checkNumbers(t *testing.T, s *redisstore.Store, id string) {
	t.Helper()
	snap, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("load %s: %v", id, err)
	}
	if a, b := snap.Order.SubjectLeader.IDNumber, snap.Order.WebsiteLeader.IDNumber; a != "11010519491231002X" || b != "E12345678" {
		t.Fatalf("order %s loads numbers %q, %q", id, a, b)
	}
}

// TestSealedNumberBoundToItsPlace: a sealed number moved to another order, or to the other
// person, does not open: the sealing context names both.
func TestSealedNumberBoundToItsPlace(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	ctx := context.Background()
	s := redisstore.New(rdb, 0, redisstore.WithKeyring(ring(t, k1)))
	a, b := newOrder("aaaaaaaaaaaaaaaaaaaaaaaaaa"), newOrder("bbbbbbbbbbbbbbbbbbbbbbbbbb")
	for _, o := range []*filing.Order{a, b} {
		if err := s.CreateOrder(ctx, o, orders.AuditEntry{}); err != nil {
			t.Fatal(err)
		}
	}
	var docA, docB map[string]any
	json.Unmarshal([]byte(rdb.Get(ctx, rediskeys.Order(a.ID)).Val()), &docA)
	json.Unmarshal([]byte(rdb.Get(ctx, rediskeys.Order(b.ID)).Val()), &docB)

	swapped := docA
	swapped["website_leader"].(map[string]any)["id_number"] = docA["subject_leader"].(map[string]any)["id_number"]
	raw, _ := json.Marshal(swapped)
	rdb.Set(ctx, rediskeys.Order(a.ID), raw, 0)
	if _, err := s.Load(ctx, a.ID); !errors.Is(err, sealbox.ErrCorrupt) {
		t.Fatalf("number moved to the other person: %v, want ErrCorrupt", err)
	}
	docB["subject_leader"].(map[string]any)["id_number"] = docA["subject_leader"].(map[string]any)["id_number"]
	raw, _ = json.Marshal(docB)
	rdb.Set(ctx, rediskeys.Order(b.ID), raw, 0)
	if _, err := s.Load(ctx, b.ID); !errors.Is(err, sealbox.ErrCorrupt) {
		t.Fatalf("number moved to another order: %v, want ErrCorrupt", err)
	}
}

// TestRetentionTTLs: every key of an order gets the retention with every write, the claim
// included; submitting persists them; a read's audit entry neither extends nor revives.
func TestRetentionTTLs(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	ctx := context.Background()
	const keep = time.Hour
	// The phone token outlives the retention here, so the pairing key is capped by it.
	s := redisstore.New(rdb, 2*time.Hour, redisstore.WithRetention(keep))
	o := newOrder("aaaaaaaaaaaaaaaaaaaaaaaaaa")
	o.SubjectType, o.OrganizationCertificateType = filing.Individual, ""
	o.UploadMethod = filing.MethodApp
	if err := s.CreateOrder(ctx, o, orders.AuditEntry{At: o.CreatedAt, Actor: orders.ActorDesktop, Action: orders.AuditCreate}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_, err := s.Update(ctx, o.ID, func(snap *orders.Snapshot) ([]orders.Event, error) {
		snap.Pairing = &orders.Pairing{ID: "p1", CodeHash: "h", CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
		snap.Materials[filing.SlotVerificationForm] = filing.Material{Slot: filing.SlotVerificationForm, SHA256: "x", UploadedAt: now}
		snap.Audit = append(snap.Audit, orders.AuditEntry{At: now, Actor: orders.ActorDesktop, Action: orders.AuditPairingCreate})
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remember(ctx, o.ID, "idem", []byte("{}"), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	wantTTLs := func(when string, max time.Duration) {
		t.Helper()
		for _, k := range mr.Keys() {
			if !strings.HasPrefix(k, "beian:{"+o.ID+"}") {
				continue
			}
			if ttl := mr.TTL(k); ttl <= 0 || ttl > max {
				t.Errorf("%s: key %s has TTL %v, want (0, %v]", when, k, ttl, max)
			}
		}
	}
	wantTTLs("after the writes", keep)
	if n := len(mr.Keys()); n != 7 {
		t.Fatalf("keys %v, want order, version, materials, pairing, audit, idempotency, queue summary", mr.Keys())
	}

	mr.FastForward(50 * time.Minute)
	if _, err := s.Claim(ctx, orders.ClaimRequest{OrderID: o.ID, CodeHash: "h", DeviceID: "d", AppVersion: "3.16.0",
		Now: now, AppProvinces: []string{"CN-GD"}, IP: "10.0.0.1"}); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if ttl := mr.TTL(rediskeys.Order(o.ID)); ttl != keep {
		t.Fatalf("order TTL after the claim %v, want the retention again", ttl)
	}
	mr.FastForward(5 * time.Minute)
	if err := s.AppendAudit(ctx, o.ID, orders.AuditEntry{At: now, Actor: orders.ActorOperator, Action: orders.AuditRead}); err != nil {
		t.Fatal(err)
	}
	if ttl := mr.TTL(rediskeys.Audit(o.ID)); ttl != mr.TTL(rediskeys.Order(o.ID)) {
		t.Fatalf("audit TTL %v after a read, order's %v", ttl, mr.TTL(rediskeys.Order(o.ID)))
	}

	_, err = s.Update(ctx, o.ID, func(snap *orders.Snapshot) ([]orders.Event, error) {
		snap.Order.State = filing.StateSubmitted
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{rediskeys.Order(o.ID), rediskeys.Version(o.ID), rediskeys.Materials(o.ID), rediskeys.Audit(o.ID), rediskeys.Queued(o.ID)} {
		if ttl := mr.TTL(k); ttl != 0 {
			t.Errorf("submitted: %s has TTL %v, want none", k, ttl)
		}
	}

	mr.Del(rediskeys.Order(o.ID))
	if err := s.AppendAudit(ctx, o.ID, orders.AuditEntry{At: now, Actor: orders.ActorDesktop, Action: orders.AuditRead}); !errors.Is(err, filing.ErrOrderNotFound) {
		t.Fatalf("audit of a gone order: %v, want order_not_found", err)
	}
	entries, err := s.Audit(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.IP)
	}
	want := "desktop create |desktop pairing_create |phone claim 10.0.0.1|operator read "
	if strings.Join(got, "|") != want {
		t.Fatalf("audit %q, want %q", strings.Join(got, "|"), want)
	}
}

// TestAuditReadsCannotFlushChanges: every change is kept for the order's life however many
// reads it sees; reads are summarised per actor, action, slot, hour and address, with a
// count (they used to share the stream's cap of 1,000: 1,100 form reads pushed out the
// create, the pairing, the claim and the upload).
func TestAuditReadsCannotFlushChanges(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			rdb := backend(t)
			ctx := context.Background()
			s := redisstore.New(rdb, 0)
			o := newOrder("aaaaaaaaaaaaaaaaaaaaaaaaaa")
			if err := s.CreateOrder(ctx, o, orders.AuditEntry{At: o.CreatedAt, Actor: orders.ActorDesktop, Action: orders.AuditCreate}); err != nil {
				t.Fatal(err)
			}
			start := o.CreatedAt
			change := func(i int, action string) {
				t.Helper()
				_, err := s.Update(ctx, o.ID, func(snap *orders.Snapshot) ([]orders.Event, error) {
					snap.Audit = append(snap.Audit, orders.AuditEntry{At: start.Add(time.Duration(i) * time.Millisecond), Actor: orders.ActorDesktop, Action: action})
					return nil, nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			const n = 1500
			for i := 0; i < n; i++ {
				if i%500 == 250 {
					change(i, orders.AuditMethod)
				}
				e := orders.AuditEntry{At: start.Add(time.Duration(i) * time.Millisecond), Actor: orders.ActorOperator, Action: orders.AuditRead,
					Slot: filing.SlotVerificationForm, IP: "192.0.2.1"}
				if i%2 == 1 {
					e.Actor, e.Action, e.Slot, e.IP = orders.ActorDesktop, orders.AuditReadForm, "", "192.0.2.2"
				}
				if err := s.AppendAudit(ctx, o.ID, e); err != nil {
					t.Fatal(err)
				}
			}
			entries, err := s.Audit(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			var changes []string
			reads := 0
			for _, e := range entries {
				if e.Count > 0 {
					reads += e.Count
					continue
				}
				changes = append(changes, e.Action)
			}
			if want := "create method method method"; strings.Join(changes, " ") != want {
				t.Fatalf("changes %q after %d reads, want %q", strings.Join(changes, " "), n, want)
			}
			if reads != n {
				t.Fatalf("summaries count %d reads, want %d", reads, n)
			}
			// Two actors' reads within one or two hours: a handful of summaries, not 1,500 entries.
			if len(entries) > 4+4 {
				t.Fatalf("%d entries for 4 changes and %d reads: reads not summarised", len(entries), n)
			}
			last := entries[len(entries)-1]
			if last.Count == 0 || !last.At.Equal(start.Add((n-1)*time.Millisecond).Truncate(time.Millisecond)) {
				t.Fatalf("newest entry %+v, want the summary of the last read at its time", last)
			}
		})
	}
}

// TestApplyRetention: orders stored before retention existed (no expiry) get it, except a
// submitted one; orders that expire already are left alone; a second run does nothing.
func TestApplyRetention(t *testing.T) {
	for name, backend := range backends(t) {
		t.Run(name, func(t *testing.T) {
			rdb := backend(t)
			ctx := context.Background()
			const keep = 2 * time.Hour
			s := redisstore.New(rdb, 0, redisstore.WithRetention(keep))
			legacy := func(id string, state filing.State) {
				o := newOrder(id)
				o.State = state
				raw, _ := json.Marshal(o)
				rdb.Set(ctx, rediskeys.Order(id), raw, 0)
				rdb.Set(ctx, rediskeys.Version(id), 1, 0)
				rdb.HSet(ctx, rediskeys.Materials(id), "verification_form", "{}")
			}
			legacy("aaaaaaaaaaaaaaaaaaaaaaaaaa", filing.StateDraft)
			legacy("bbbbbbbbbbbbbbbbbbbbbbbbbb", filing.StateSubmitted)
			if err := s.CreateOrder(ctx, newOrder("cccccccccccccccccccccccccc"), orders.AuditEntry{}); err != nil {
				t.Fatal(err)
			}
			rdb.PExpire(ctx, rediskeys.Order("cccccccccccccccccccccccccc"), time.Minute)

			if n, err := s.ApplyRetention(ctx); err != nil || n != 1 {
				t.Fatalf("applied to %d, %v; want 1", n, err)
			}
			for _, k := range []string{rediskeys.Order("aaaaaaaaaaaaaaaaaaaaaaaaaa"), rediskeys.Version("aaaaaaaaaaaaaaaaaaaaaaaaaa"), rediskeys.Materials("aaaaaaaaaaaaaaaaaaaaaaaaaa")} {
				if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > keep {
					t.Errorf("%s: TTL %v, want (0, %v]", k, ttl, keep)
				}
			}
			if ttl := rdb.PTTL(ctx, rediskeys.Order("bbbbbbbbbbbbbbbbbbbbbbbbbb")).Val(); ttl != -1 {
				t.Errorf("submitted order got TTL %v", ttl)
			}
			if ttl := rdb.PTTL(ctx, rediskeys.Order("cccccccccccccccccccccccccc")).Val(); ttl <= 0 || ttl > time.Minute {
				t.Errorf("an order that expired already got TTL %v", ttl)
			}
			if n, err := s.ApplyRetention(ctx); err != nil || n != 0 {
				t.Fatalf("second run applied to %d, %v", n, err)
			}
		})
	}
}
