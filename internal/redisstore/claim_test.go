package redisstore

// Tests of claim.lua: it reads the format the store writes, and it agrees with
// filing.CheckPairing on every state.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// TestClaimScriptReadsTheStoredFormat holds claim.lua to the format the store writes: every
// field of the order JSON (filing.Order's JSON tags, as encodeOrder writes them) and of the
// pairing hash (encodePairing) that the script reads must be there, with the values the
// script compares them to. Renaming a JSON tag of filing.Order, or a pairing field, without
// the script would otherwise make every claim answer method or province.
func TestClaimScriptReadsTheStoredFormat(t *testing.T) {
	s := New(redistest.Shared(t), time.Minute)
	o := &filing.Order{ID: "o1", State: filing.StateDraft, Province: "CN-GD", UploadMethod: filing.MethodApp}
	raw, err := s.encodeOrder(o)
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`\border\.([a-z_]+)`).FindAllStringSubmatch(claimSource, -1)
	want := map[string]any{"state": string(filing.StateDraft), "province": "CN-GD", "upload_method": string(filing.MethodApp)}
	seen := map[string]bool{}
	for _, m := range read {
		field := m[1]
		seen[field] = true
		v, ok := stored[field]
		if !ok {
			t.Errorf("claim.lua reads order.%s, which the stored order JSON does not have (keys: %v)", field, keys(stored))
			continue
		}
		if w, known := want[field]; known && v != w {
			t.Errorf("order.%s is stored as %v, want %v", field, v, w)
		}
	}
	for field := range want {
		if !seen[field] {
			t.Errorf("claim.lua no longer reads order.%s: update this test with the script", field)
		}
	}
	// The script's literals for the values it compares.
	for _, lit := range []string{"'" + string(filing.StateDraft) + "'", "'" + string(filing.StateUploaded) + "'", "'" + string(filing.MethodApp) + "'"} {
		if !strings.Contains(claimSource, lit) {
			t.Errorf("claim.lua does not compare with %s", lit)
		}
	}

	// The pairing hash: every field the script reads (HMGET) or writes (HSET) is one the
	// store writes and reads back.
	pairing := encodePairing(&orders.Pairing{ID: "p", CodeHash: "h", DeviceID: "d", ClaimedAt: time.Unix(1, 0)})
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`'HMGET', KEYS\[1\]((?:, '[a-z_]+')+)`),
		regexp.MustCompile(`'HSET', KEYS\[1\]((?:, '[a-z_]+', ARGV\[\d+\])+)`),
	} {
		m := re.FindStringSubmatch(claimSource)
		if m == nil {
			t.Fatalf("claim.lua has no %s", re)
		}
		for _, f := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(m[1], -1) {
			if _, ok := pairing[f[1]]; !ok {
				t.Errorf("claim.lua uses pairing field %q, which encodePairing does not write", f[1])
			}
		}
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestDamagedVersionIsRefused: a version key that is not a number fails the load instead of
// being read as version 0; a missing one is version 0.
func TestDamagedVersionIsRefused(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Shared(t)
	s := New(rdb, time.Minute)
	id := randomID(t)
	if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateDraft, Province: "CN-GD", Version: 1}, orders.AuditEntry{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), rediskeys.Order(id), rediskeys.Version(id), rediskeys.Audit(id)) })
	if err := rdb.Del(ctx, rediskeys.Version(id)).Err(); err != nil {
		t.Fatal(err)
	}
	if snap, err := s.Load(ctx, id); err != nil || snap.Order.Version != 0 {
		t.Fatalf("without a version key: %v, %v; want version 0", snap, err)
	}
	if err := rdb.Set(ctx, rediskeys.Version(id), "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if snap, err := s.Load(ctx, id); err == nil {
		t.Fatalf("a damaged version loaded as %d", snap.Order.Version)
	}
}

// orderID is a fresh order ID, so that cases never share keys.
func orderID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return "parity" + fmt.Sprintf("%x", b)[:14]
}

// TestClaimScriptParity holds claim.lua to its Go twin, orders.DecideClaim, over every
// combination of what a claim depends on: whether the pairing exists, how the code relates
// to it (current, retired and still remembered, retired long ago, never issued), who claimed
// it, its expired flag, the time against expires_at, the order's state, upload method and
// province.
func TestClaimScriptParity(t *testing.T) {
	rdb := redistest.Shared(t)
	s := New(rdb, 30*time.Minute)
	ctx := context.Background()
	base := time.Now().Truncate(time.Millisecond).UTC()
	expires := base.Add(time.Hour)
	const current, other = "current-code-hash", "other-code-hash"

	type codeKind int
	const (
		codeCurrent codeKind = iota
		codeRetired
		codeRetiredLongAgo
		codeNeverIssued
	)
	states := filing.States()
	methods := []filing.UploadMethod{filing.MethodApp, filing.MethodPC, filing.MethodNone}
	counts := map[orders.ClaimOutcome]int{}
	n := 0
	for _, hasPairing := range []bool{true, false} {
		for _, code := range []codeKind{codeCurrent, codeRetired, codeRetiredLongAgo, codeNeverIssued} {
			for _, claimedBy := range []string{"", "device-1", "device-2"} {
				for _, expiredFlag := range []bool{false, true} {
					for _, late := range []bool{false, true} {
						for _, state := range states {
							for _, method := range methods {
								for _, province := range []string{"CN-GD", "CN-FJ"} {
									if !hasPairing && (claimedBy != "" || expiredFlag || code == codeCurrent) {
										continue // nothing to vary without a pairing
									}
									id := orderID()
									o := &filing.Order{ID: id, State: state, UploadMethod: method, Province: province, Version: 1}
									if err := s.CreateOrder(ctx, o, orders.AuditEntry{}); err != nil {
										t.Fatal(err)
									}
									var snap *orders.Snapshot
									if hasPairing {
										p := &orders.Pairing{ID: "p1", CodeHash: current, CreatedAt: base, ExpiresAt: expires,
											Expired: expiredFlag, DeviceID: claimedBy}
										if claimedBy != "" {
											p.AppVersion, p.ClaimedAt = "3.16.0", base
										}
										var err error
										snap, err = s.Update(ctx, id, func(sn *orders.Snapshot) ([]orders.Event, error) {
											sn.Pairing = p
											sn.Materials = map[filing.Slot]filing.Material{filing.SlotSubjectLeaderIDFront: {Slot: filing.SlotSubjectLeaderIDFront, SHA256: "ab", UploadedAt: base}}
											return nil, nil
										})
										if err != nil {
											t.Fatal(err)
										}
									} else {
										snap = &orders.Snapshot{Order: o}
									}
									now := base
									if late {
										now = expires.Add(time.Millisecond)
									}
									hash := other
									var retiredUntil time.Time
									switch code {
									case codeCurrent:
										hash = current
									case codeRetired:
										retiredUntil = now.Add(time.Minute)
									case codeRetiredLongAgo:
										retiredUntil = now.Add(-time.Millisecond)
									}
									if !retiredUntil.IsZero() {
										if err := rdb.HSet(ctx, rediskeys.Retired(id), other, retiredUntil.UnixMilli()).Err(); err != nil {
											t.Fatal(err)
										}
									}
									req := orders.ClaimRequest{OrderID: id, CodeHash: hash, DeviceID: "device-1", AppVersion: "3.16.0",
										Now: now, AppProvinces: []string{"CN-GD", "CN-CQ"}, IP: "198.51.100.7"}
									want := orders.DecideClaim(snap, retiredUntil, req, province == "CN-GD")
									pre, post, err := phoneConnectedFrame(req, now)
									if err != nil {
										t.Fatal(err)
									}
									entriesBefore := rdb.XLen(ctx, rediskeys.Audit(id)).Val()
									// Time has passed since the last change: a claim must start the
									// retention again, a reclaim keep what is left of it.
									for _, k := range []string{rediskeys.Order(id), rediskeys.Version(id), rediskeys.Materials(id), rediskeys.Audit(id)} {
										rdb.PExpire(ctx, k, 10*time.Minute)
									}
									got, err := s.claim(ctx, req, pre, post)
									if err != nil {
										t.Fatal(err)
									}
									name := fmt.Sprintf("pairing=%v code=%d claimedBy=%q expired=%v late=%v state=%s method=%q province=%s",
										hasPairing, code, claimedBy, expiredFlag, late, state, method, province)
									if got.ClaimOutcome != want {
										t.Errorf("%s: script %q, Go %q", name, got.ClaimOutcome, want)
									}
									checkClaimWrites(t, s, name, id, got, entriesBefore)
									if want == orders.ClaimInvalidState && got.state != string(state) {
										t.Errorf("%s: script reports state %q", name, got.state)
									}
									counts[want]++
									n++
									rdb.Del(ctx, rediskeys.Order(id), rediskeys.Version(id), rediskeys.Pairing(id), rediskeys.Retired(id),
										rediskeys.Materials(id), rediskeys.Audit(id), rediskeys.AuditReads(id))
								}
							}
						}
					}
				}
			}
		}
	}
	// Every outcome must have been reached, or the table tests less than it claims.
	for _, o := range []orders.ClaimOutcome{orders.ClaimOK, orders.ClaimReclaimed, orders.ClaimNotFound, orders.ClaimExpired,
		orders.ClaimAlreadyClaimed, orders.ClaimInvalidState, orders.ClaimMethod, orders.ClaimProvince} {
		if counts[o] == 0 {
			t.Errorf("no case reached %q", o)
		}
	}
	t.Logf("%d states, outcomes %v", n, counts)
}

// checkClaimWrites holds the rest of the claim script to the store: a claim or a reclaim
// appends one audit entry (the phone's, with its address) and answers with the snapshot
// Load reads after it; a claim starts the retention of the order's keys again (audit.lua's
// "change"), a reclaim gives its entry the order's expiry ("read"); a refusal writes no
// entry and answers no snapshot.
func checkClaimWrites(t *testing.T, s *Store, name, id string, got claimAnswer, entriesBefore int64) {
	t.Helper()
	ctx := context.Background()
	entries := s.rdb.XLen(ctx, rediskeys.Audit(id)).Val() - entriesBefore
	if got.ClaimOutcome != orders.ClaimOK && got.ClaimOutcome != orders.ClaimReclaimed {
		if entries != 0 || got.stored.order != nil {
			t.Errorf("%s: a refusal wrote %d audit entries and answered %q", name, entries, got.stored.order)
		}
		return
	}
	if entries != 1 {
		t.Errorf("%s: %d audit entries written, want 1", name, entries)
	}
	trail, err := s.Audit(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if last := trail[len(trail)-1]; last.Action != orders.AuditClaim || last.Actor != orders.ActorPhone || last.IP != "198.51.100.7" {
		t.Errorf("%s: last audit entry %+v", name, last)
	}
	answered, err := s.decode(got.stored)
	if err != nil {
		t.Fatalf("%s: the script's snapshot: %v", name, err)
	}
	loaded, err := s.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(answered, loaded) {
		t.Errorf("%s: the script answered\n%+v\nLoad reads\n%+v", name, answered, loaded)
	}
	orderTTL := s.rdb.PTTL(ctx, rediskeys.Order(id)).Val()
	auditTTL := s.rdb.PTTL(ctx, rediskeys.Audit(id)).Val()
	if got.ClaimOutcome == orders.ClaimOK {
		for _, k := range []string{rediskeys.Order(id), rediskeys.Version(id), rediskeys.Materials(id), rediskeys.Audit(id)} {
			if ttl := s.rdb.PTTL(ctx, k).Val(); ttl < s.retention-time.Minute {
				t.Errorf("%s: %s TTL %v after a claim, want the retention %v", name, k, ttl, s.retention)
			}
		}
	} else if d := orderTTL - auditTTL; auditTTL <= 0 || d < -time.Second || d > time.Second {
		t.Errorf("%s: audit TTL %v after a reclaim, want the order's %v", name, auditTTL, orderTTL)
	}
}
