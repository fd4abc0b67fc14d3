package orders

import (
	"strings"
	"testing"
	"time"
)

func TestDeviceName(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "iPhone 15", "iPhone 15"},
		{"trimmed", "  Mate 60 Pro \t", "Mate 60 Pro"},
		{"Chinese", "张三的iPhone", "张三的iPhone"},
		{"control characters dropped", "evil\r\nSet-Cookie: x\x00", "evilSet-Cookie: x"},
		{"bidi and zero-width characters dropped", "iPhone\u202E 15\u200B\u2066", "iPhone 15"},
		{"line separator and byte-order mark dropped", "\ufeffMate\u2028 60", "Mate 60"},
		{"invalid UTF-8 dropped", "ab\xff\xfecd", "abcd"},
		{"64 characters kept", strings.Repeat("长", 64), strings.Repeat("长", 64)},
		{"cut at 64 characters, not bytes", strings.Repeat("长", 65), strings.Repeat("长", 64)},
		{"cut, then trimmed", strings.Repeat("a", 63) + "  tail", strings.Repeat("a", 63)},
		{"empty", "", ""},
		{"only spaces", "   ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deviceName(tc.in); got != tc.want {
				t.Errorf("deviceName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestPairingPredicates pins the one definition of a pairing's life that ViewPairing,
// QRScanURL, ScanState, ExpirePairing, DecideClaim and the server's snapshot all use.
func TestPairingPredicates(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Minute), now.Add(-time.Minute)
	for _, tc := range []struct {
		name                                  string
		p                                     *Pairing
		lapsed, claimable, pending, expireDue bool
	}{
		{name: "none", p: nil},
		{name: "fresh", p: &Pairing{ExpiresAt: later}, claimable: true, pending: true},
		{name: "at expires_at", p: &Pairing{ExpiresAt: now}, lapsed: true, pending: true, expireDue: true},
		{name: "past, not yet published", p: &Pairing{ExpiresAt: earlier}, lapsed: true, pending: true, expireDue: true},
		{name: "published", p: &Pairing{ExpiresAt: earlier, Expired: true}, lapsed: true},
		{name: "published early", p: &Pairing{ExpiresAt: later, Expired: true}, lapsed: true},
		{name: "claimed", p: &Pairing{ExpiresAt: later, DeviceID: "d"}},
		{name: "claimed, past", p: &Pairing{ExpiresAt: earlier, DeviceID: "d"}, lapsed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.p != nil {
				if got := tc.p.Lapsed(now); got != tc.lapsed {
					t.Errorf("Lapsed = %v, want %v", got, tc.lapsed)
				}
			}
			if got := tc.p.Claimable(now); got != tc.claimable {
				t.Errorf("Claimable = %v, want %v", got, tc.claimable)
			}
			if got := tc.p.Pending(); got != tc.pending {
				t.Errorf("Pending = %v, want %v", got, tc.pending)
			}
			if got := tc.p.ExpireDue(now); got != tc.expireDue {
				t.Errorf("ExpireDue = %v, want %v", got, tc.expireDue)
			}
		})
	}
}
