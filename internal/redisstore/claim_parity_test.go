package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

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
	states := []filing.State{filing.StateDraft, filing.StateUploaded, filing.StateSubmitted, filing.StateApproved, filing.StateRejected}
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
									if err := s.CreateOrder(ctx, o); err != nil {
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
										Now: now, AppProvinces: []string{"CN-GD", "CN-CQ"}}
									want := orders.DecideClaim(snap, retiredUntil, req, province == "CN-GD")
									pre, post, err := phoneConnectedFrame(req, now)
									if err != nil {
										t.Fatal(err)
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
									if want == orders.ClaimInvalidState && got.state != string(state) {
										t.Errorf("%s: script reports state %q", name, got.state)
									}
									counts[want]++
									n++
									rdb.Del(ctx, rediskeys.Order(id), rediskeys.Version(id), rediskeys.Pairing(id), rediskeys.Retired(id))
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
