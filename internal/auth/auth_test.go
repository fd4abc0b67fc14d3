package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/testclock"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func newSigner(t *testing.T) (*Signer, *testclock.Clock) {
	t.Helper()
	clk := testclock.New(time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC))
	s, err := NewSigner(testSecret, clk.Now)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s, clk
}

var testPhone = Phone{OrderID: "ord_1", PairingID: "pair_1", DeviceID: "dev-abc"}

func TestNewSigner(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		wantErr bool
	}{
		{"nil", nil, true},
		{"31 bytes", bytes.Repeat([]byte("k"), 31), true},
		{"32 bytes", bytes.Repeat([]byte("k"), 32), false},
		{"random", RandomSecret(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSigner(tt.secret, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestRandomSecret(t *testing.T) {
	a, b := RandomSecret(), RandomSecret()
	if len(a) != 32 || len(b) != 32 {
		t.Fatalf("lengths %d, %d; want 32", len(a), len(b))
	}
	if bytes.Equal(a, b) {
		t.Fatal("two random secrets are equal")
	}
}

func TestSecretIsCopied(t *testing.T) {
	secret := bytes.Repeat([]byte("s"), 32)
	s, err := NewSigner(secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.DesktopToken("o", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	secret[0] = 'x' // the caller reusing its buffer must not change the key
	if _, err := s.ParseDesktop(tok); err != nil {
		t.Fatalf("ParseDesktop after the caller's buffer changed: %v", err)
	}
}

func TestDesktopRoundTrip(t *testing.T) {
	s, clk := newSigner(t)
	tok, exp, err := s.DesktopToken("ord_1", 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(72 * time.Hour); !exp.Equal(want) {
		t.Errorf("expires = %v, want %v", exp, want)
	}
	got, err := s.ParseDesktop(tok)
	if err != nil || got != "ord_1" {
		t.Fatalf("ParseDesktop = %q, %v", got, err)
	}
	// Another instance with the same secret accepts it (production runs several).
	other, err := NewSigner(append([]byte(nil), testSecret...), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := other.ParseDesktop(tok); err != nil || got != "ord_1" {
		t.Fatalf("other instance: %q, %v", got, err)
	}
	// Tokens for the same order are still distinct (random jti).
	tok2, _, _ := s.DesktopToken("ord_1", 72*time.Hour)
	if tok == tok2 {
		t.Error("two tokens are identical")
	}
}

func TestPhoneRoundTrip(t *testing.T) {
	s, clk := newSigner(t)
	tok, exp, err := s.PhoneToken(testPhone, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(30 * time.Minute); !exp.Equal(want) {
		t.Errorf("expires = %v, want %v", exp, want)
	}
	got, err := s.ParsePhone(tok)
	if err != nil || got != testPhone {
		t.Fatalf("ParsePhone = %+v, %v", got, err)
	}
	// The claims are the documented ones.
	c := decodeClaims(t, tok)
	for k, want := range map[string]any{"sub": "ord_1", "pid": "pair_1", "dev": "dev-abc", "iss": "beianscan"} {
		if c[k] != want {
			t.Errorf("claim %s = %v, want %v", k, c[k], want)
		}
	}
	for _, k := range []string{"aud", "exp", "iat", "jti"} {
		if _, ok := c[k]; !ok {
			t.Errorf("claim %s missing", k)
		}
	}
}

func TestIssueErrors(t *testing.T) {
	s, _ := newSigner(t)
	if _, _, err := s.DesktopToken("", time.Hour); err == nil {
		t.Error("DesktopToken with an empty order succeeded")
	}
	if _, _, err := s.DesktopToken("o", 0); err == nil {
		t.Error("DesktopToken with ttl 0 succeeded")
	}
	for _, p := range []Phone{{}, {OrderID: "o", PairingID: "p"}, {OrderID: "o", DeviceID: "d"}, {PairingID: "p", DeviceID: "d"}} {
		if _, _, err := s.PhoneToken(p, time.Hour); err == nil {
			t.Errorf("PhoneToken(%+v) succeeded", p)
		}
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		wantErr bool
	}{
		{"fresh", 0, false},
		{"one second before", 30*time.Minute - time.Second, false},
		{"at expiry", 30 * time.Minute, true},
		{"after expiry", 31 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newSigner(t)
			desk, _, err := s.DesktopToken("ord_1", 30*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			phone, _, err := s.PhoneToken(testPhone, 30*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(tt.advance)
			_, errD := s.ParseDesktop(desk)
			_, errP := s.ParsePhone(phone)
			for kind, err := range map[string]error{"desktop": errD, "phone": errP} {
				if tt.wantErr {
					assertUnauthorized(t, kind, err)
				} else if err != nil {
					t.Errorf("%s: %v", kind, err)
				}
			}
		})
	}
}

// TestRefused is the table of tokens that must not pass, each as the desktop and as the
// phone would present it.
func TestRefused(t *testing.T) {
	s, clk := newSigner(t)
	now := clk.Now()
	desk, _, err := s.DesktopToken("ord_1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	phone, _, err := s.PhoneToken(testPhone, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewSigner(bytes.Repeat([]byte("o"), 32), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	otherDesk, _, _ := other.DesktopToken("ord_1", time.Hour)
	otherPhone, _, _ := other.PhoneToken(testPhone, time.Hour)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	valid := func(aud string) jwt.MapClaims {
		return jwt.MapClaims{
			"iss": "beianscan", "sub": "ord_1", "aud": aud, "jti": "x",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"pid": "pair_1", "dev": "dev-abc",
		}
	}
	without := func(c jwt.MapClaims, keys ...string) jwt.MapClaims {
		for _, k := range keys {
			delete(c, k)
		}
		return c
	}
	with := func(c jwt.MapClaims, k string, v any) jwt.MapClaims { c[k] = v; return c }
	hs256 := func(c jwt.MapClaims) string { return signed(t, jwt.SigningMethodHS256, c, testSecret) }

	tests := []struct {
		name          string
		desk, phone   string // what each endpoint is handed
		forPhoneToken bool   // true: only the phone case applies
	}{
		{name: "empty", desk: "", phone: ""},
		{name: "garbage", desk: "not a token", phone: "a.b.c"},
		{name: "garbage base64", desk: "!!!.???.***", phone: "eyJhbGciOiJIUzI1NiJ9.e30"},
		{name: "oversized", desk: strings.Repeat("a", 5000), phone: strings.Repeat("a", 5000)},
		{name: "wrong audience", desk: phone, phone: desk},
		{name: "other secret", desk: otherDesk, phone: otherPhone},
		{name: "tampered signature", desk: tamperSig(desk), phone: tamperSig(phone)},
		{name: "tampered payload", desk: swapPayload(t, desk, with(valid("desktop"), "sub", "ord_2")),
			phone: swapPayload(t, phone, with(valid("mobile"), "pid", "pair_2"))},
		{name: "alg none", desk: signed(t, jwt.SigningMethodNone, valid("desktop"), jwt.UnsafeAllowNoneSignatureType),
			phone: signed(t, jwt.SigningMethodNone, valid("mobile"), jwt.UnsafeAllowNoneSignatureType)},
		{name: "alg none header on our signature", desk: swapHeader(t, desk, `{"alg":"none","typ":"JWT"}`),
			phone: swapHeader(t, phone, `{"alg":"none","typ":"JWT"}`)},
		{name: "HS512 with our secret", desk: signed(t, jwt.SigningMethodHS512, valid("desktop"), testSecret),
			phone: signed(t, jwt.SigningMethodHS512, valid("mobile"), testSecret)},
		{name: "HS384 with our secret", desk: signed(t, jwt.SigningMethodHS384, valid("desktop"), testSecret),
			phone: signed(t, jwt.SigningMethodHS384, valid("mobile"), testSecret)},
		{name: "RS256", desk: signed(t, jwt.SigningMethodRS256, valid("desktop"), rsaKey),
			phone: signed(t, jwt.SigningMethodRS256, valid("mobile"), rsaKey)},
		{name: "missing exp", desk: hs256(without(valid("desktop"), "exp")), phone: hs256(without(valid("mobile"), "exp"))},
		{name: "missing aud", desk: hs256(without(valid("desktop"), "aud")), phone: hs256(without(valid("mobile"), "aud"))},
		{name: "both audiences", desk: hs256(with(valid("desktop"), "aud", []string{"desktop", "mobile"})),
			phone: hs256(with(valid("mobile"), "aud", []string{"desktop", "mobile"}))},
		{name: "missing sub", desk: hs256(without(valid("desktop"), "sub")), phone: hs256(without(valid("mobile"), "sub"))},
		{name: "wrong issuer", desk: hs256(with(valid("desktop"), "iss", "someone")), phone: hs256(with(valid("mobile"), "iss", "someone"))},
		{name: "not yet valid", desk: hs256(with(valid("desktop"), "nbf", now.Add(time.Minute).Unix())),
			phone: hs256(with(valid("mobile"), "nbf", now.Add(time.Minute).Unix()))},
		{name: "phone missing pid", phone: hs256(without(valid("mobile"), "pid")), forPhoneToken: true},
		{name: "phone missing dev", phone: hs256(without(valid("mobile"), "dev")), forPhoneToken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.forPhoneToken {
				id, err := s.ParseDesktop(tt.desk)
				assertUnauthorized(t, "desktop", err)
				if id != "" {
					t.Errorf("desktop: order %q returned with an error", id)
				}
			}
			p, err := s.ParsePhone(tt.phone)
			assertUnauthorized(t, "phone", err)
			if p != (Phone{}) {
				t.Errorf("phone: %+v returned with an error", p)
			}
		})
	}

	// The hand-made tokens differ from the refused ones only in what each case changes.
	if _, err := s.ParseDesktop(hs256(valid("desktop"))); err != nil {
		t.Fatalf("control desktop token refused: %v", err)
	}
	if _, err := s.ParsePhone(hs256(valid("mobile"))); err != nil {
		t.Fatalf("control phone token refused: %v", err)
	}
}

func assertUnauthorized(t *testing.T, kind string, err error) {
	t.Helper()
	if !errors.Is(err, filing.ErrUnauthorized) {
		t.Errorf("%s: err = %v, want filing.ErrUnauthorized", kind, err)
		return
	}
	// Exactly the sentinel: no jwt text reaches a client.
	if err != filing.ErrUnauthorized {
		t.Errorf("%s: err = %#v, want the sentinel itself", kind, err)
	}
}

func signed(t *testing.T, m jwt.SigningMethod, c jwt.Claims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return s
}

func tamperSig(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	sig := []byte(tok[i+1:])
	// Change the first character: the last one may only carry padding bits.
	if sig[0] == 'A' {
		sig[0] = 'B'
	} else {
		sig[0] = 'A'
	}
	return tok[:i+1] + string(sig)
}

func swapPayload(t *testing.T, tok string, c jwt.MapClaims) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func swapHeader(t *testing.T, tok, header string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString([]byte(header))
	return strings.Join(parts, ".")
}

func decodeClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
