package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestSignMatchesJWT: every kind of token we sign is golang-jwt's HS256 token of the same
// claims byte for byte, from many goroutines at once (the pooled HMAC states), and the
// device hash is the HMAC it always was.
func TestSignMatchesJWT(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-test")
	at := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	s, err := NewSigner(secret, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	kinds := []any{
		&claims{RegisteredClaims: s.registered("order-1", AudienceDesktop, time.Hour)},
		&claims{RegisteredClaims: s.registered("order-1", AudienceMobile, time.Hour), PairingID: "p<1>", DeviceID: "dev \"x\" 张"},
		&claims{RegisteredClaims: s.registered("owner-1", AudienceDesktop, time.Hour), Owner: true},
		&deviceClaims{RegisteredClaims: s.registered(s.DeviceHash("dev"), AudienceDevice, time.Hour), Generation: 7},
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, c := range kinds {
				want, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c.(jwt.Claims)).SignedString(secret)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := s.signJWT(c)
				if err != nil || got != want {
					t.Errorf("token %d:\n got %s (%v)\nwant %s", i, got, err, want)
				}
			}
			m := hmac.New(sha256.New, secret)
			m.Write([]byte("device\x00dev-42"))
			if got, want := s.DeviceHash("dev-42"), base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18]); got != want {
				t.Errorf("DeviceHash %s, want %s", got, want)
			}
		}()
	}
	wg.Wait()
	// And what we sign, we accept.
	tok, _, err := s.PhoneToken(Phone{OrderID: "o", PairingID: "p", DeviceID: "d"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.ParsePhone(tok); err != nil || p.DeviceID != "d" {
		t.Errorf("ParsePhone: %+v, %v", p, err)
	}
}

// BenchmarkSign: a phone token signed by golang-jwt, as before, and by signJWT.
//
//	go test ./internal/auth -run '^$' -bench Sign -benchmem -count 5
func BenchmarkSign(b *testing.B) {
	secret := []byte("0123456789abcdef0123456789abcdef-test")
	s, err := NewSigner(secret, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := &claims{RegisteredClaims: s.registered("zkzmqy7us7gqrpptgvnxssrhmm", AudienceMobile, time.Hour), PairingID: "qgtivxw452agw5f77zzrylxchi", DeviceID: "bench-device"}
	b.Run("golang-jwt", func(b *testing.B) {
		for b.Loop() {
			jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
		}
	})
	b.Run("signJWT", func(b *testing.B) {
		for b.Loop() {
			s.signJWT(c)
		}
	})
}
