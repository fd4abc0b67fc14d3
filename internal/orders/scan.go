package orders

import (
	"context"
	"strings"
)

// Scan-page states of a code, for the page an ordinary camera opens.
const (
	ScanLive    = "live"    // the order's current QR: scan it with the app
	ScanExpired = "expired" // a lapsed or replaced QR of an existing order: refresh on the computer
	ScanClaimed = "claimed" // a phone has already claimed it
	ScanUnknown = ""        // no order, or no answer: the page only says to use the app
)

// ScanState tells the scan page whether the code it was opened with can still be claimed,
// so a person holding an old printout or a stale screen learns to refresh the computer's QR
// before installing anything. It changes nothing and records no guess: it only reads the
// order the code names, and a code that is not the current one cannot be told apart from a
// replaced one, so it reveals nothing a claim would not.
func (s *Service) ScanState(ctx context.Context, code string) string {
	orderID, _, ok := strings.Cut(code, ".")
	if !ok || len(code) > 200 || !validID(orderID) {
		return ScanUnknown
	}
	snap, err := s.store.Load(ctx, orderID)
	if err != nil {
		return ScanUnknown
	}
	p := snap.Pairing
	switch {
	case p == nil || p.CodeHash != hashCode(code):
		return ScanExpired
	case p.Claimed():
		return ScanClaimed
	case p.Lapsed(s.now()):
		return ScanExpired
	}
	return ScanLive
}
