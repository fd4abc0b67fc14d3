package appsim

import (
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/beianscan/beianscan/internal/appsim/appsimtest"
)

// TestDecodeServerQR: every QR the server renders (webapi's qrCache: Medium, 8 px per
// module) for a scan URL of the real shape must decode. With 320 px and detection only,
// about 1 in 200 random codes did not, which made every test that pairs a phone flaky.
func TestDecodeServerQR(t *testing.T) {
	n := 400
	if testing.Short() || raceEnabled {
		n = 50
	}
	for i := range n {
		mac := make([]byte, 32)
		rand.Read(mac)
		u := "http://127.0.0.1:43215/m/scan?code=abcdefghijklmnopqrstuvwxyz." + base64.RawURLEncoding.EncodeToString(mac)
		got, err := DecodeQR(appsimtest.QR(t, u, -8))
		if err != nil || got != u {
			t.Fatalf("code %d: %q, %v", i, got, err)
		}
	}
}
