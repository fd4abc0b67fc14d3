package redisstore

import (
	"context"
	"encoding/json"
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
	if err := s.CreateOrder(ctx, &filing.Order{ID: id, State: filing.StateDraft, Province: "CN-GD", Version: 1}); err != nil {
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
