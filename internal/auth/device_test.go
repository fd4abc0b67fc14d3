package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

func TestDeviceToken(t *testing.T) {
	s, clock := newSigner(t)
	tok, exp, err := s.DeviceToken("dev-abc", 3, time.Hour)
	if err != nil {
		t.Fatalf("DeviceToken: %v", err)
	}
	if !exp.After(clock.Now()) {
		t.Fatalf("expiry %v not after now", exp)
	}
	hash, gen, err := s.ParseDevice(tok, "dev-abc")
	if err != nil || gen != 3 || hash != s.DeviceHash("dev-abc") {
		t.Fatalf("ParseDevice = %q, %d, %v", hash, gen, err)
	}
	desk, _, _ := s.DesktopToken("ord_1", time.Hour)
	phone, _, _ := s.PhoneToken(testPhone, time.Hour)
	for name, c := range map[string]struct{ tok, dev string }{
		"other device": {tok, "dev-xyz"},
		"no device":    {tok, ""},
		"desktop":      {desk, "dev-abc"},
		"phone":        {phone, "dev-abc"},
		"empty":        {"", "dev-abc"},
	} {
		if _, _, err := s.ParseDevice(c.tok, c.dev); !errors.Is(err, filing.ErrUnauthorized) {
			t.Errorf("%s: err = %v, want unauthorized", name, err)
		}
	}
	if _, err := s.ParsePhone(tok); err == nil {
		t.Error("a device token opened the phone API")
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if len(payload) == 0 || strings.Contains(string(payload), "dev-abc") {
		t.Error("the raw device id is in the token")
	}
	clock.Add(2 * time.Hour)
	if _, _, err := s.ParseDevice(tok, "dev-abc"); !errors.Is(err, filing.ErrUnauthorized) {
		t.Errorf("expired token: err = %v", err)
	}
}
