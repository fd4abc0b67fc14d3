// Package auth issues and checks the signed tokens of the desktop and the phone.
//
// Both are HS256 JWTs signed with one secret shared by every instance (docs/architecture.md), so any
// instance accepts a token another one issued. The desktop token has aud "desktop" and the
// order as subject; the phone token has aud "mobile", the order as subject and the pairing
// ("pid") and device ("dev") it was claimed for. The audience keeps the two apart: a phone
// token never opens the desktop API and a desktop token never opens the app's.
//
// Checking a token proves only that we issued it and that it has not expired. Whether its
// pairing is still the order's current one (a revoked or replaced pairing) is for the
// caller to check against the store.
package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/beianscan/beianscan/internal/filing"
)

// Audiences of the two kinds of token.
const (
	AudienceDesktop = "desktop"
	AudienceMobile  = "mobile"
)

const (
	issuer = "beianscan"
	// minSecret is the shortest secret accepted: HS256 wants a key at least as long as
	// its output (RFC 7518 §3.2).
	minSecret = 32
	// maxTokenLen bounds the work done on a token before it is refused; ours are well
	// under 512 bytes.
	maxTokenLen = 4096
)

// Signer issues and verifies tokens. It is safe for concurrent use.
type Signer struct {
	secret []byte
	now    func() time.Time
	// Parsers pin everything a token must satisfy, so no check depends on remembering it
	// at each call site.
	desktop *jwt.Parser
	mobile  *jwt.Parser
	// macs are HMAC states keyed with secret, for signing and for DeviceHash.
	macs *macs
}

// NewSigner returns a Signer using secret, which must be at least 32 bytes. now is the
// clock for issuing and for expiry checks; nil means time.Now.
func NewSigner(secret []byte, now func() time.Time) (*Signer, error) {
	if len(secret) < minSecret {
		return nil, fmt.Errorf("auth: the signing secret must be at least %d bytes, got %d", minSecret, len(secret))
	}
	if now == nil {
		now = time.Now
	}
	s := &Signer{secret: append([]byte(nil), secret...), now: now}
	s.macs = newMACs(s.secret)
	parser := func(aud string) *jwt.Parser {
		return jwt.NewParser(
			// Only HS256: a token claiming "none", an RSA or another HMAC algorithm is
			// refused before its signature is looked at (algorithm confusion).
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithAudience(aud),
			jwt.WithIssuer(issuer),
			jwt.WithTimeFunc(now),
			jwt.WithStrictDecoding(),
		)
	}
	s.desktop = parser(AudienceDesktop)
	s.mobile = parser(AudienceMobile)
	return s, nil
}

// RandomSecret returns 32 bytes from crypto/rand, for the embedded mode's per-process key.
func RandomSecret() []byte {
	b := make([]byte, minSecret)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return b
}

// Phone is what a phone token carries: the order, the pairing it was claimed through and
// the device that claimed it.
type Phone struct {
	OrderID, PairingID, DeviceID string
}

type claims struct {
	jwt.RegisteredClaims
	PairingID string `json:"pid,omitempty"`
	DeviceID  string `json:"dev,omitempty"`
	// Owner marks an owner token (owner.go): the subject is an owner, not an order.
	Owner bool `json:"own,omitempty"`
}

var errUnauthorized = filing.ErrUnauthorized

// DesktopToken returns a token for the desktop of orderID, valid for ttl.
func (s *Signer) DesktopToken(orderID string, ttl time.Duration) (token string, expires time.Time, err error) {
	if orderID == "" {
		return "", time.Time{}, errors.New("auth: empty order id")
	}
	return s.sign(&claims{RegisteredClaims: s.registered(orderID, AudienceDesktop, ttl)}, ttl)
}

// ParseDesktop checks a desktop token and returns its order. Any failure is
// filing.ErrUnauthorized.
func (s *Signer) ParseDesktop(token string) (orderID string, err error) {
	c, err := s.parse(s.desktop, token)
	if err != nil {
		return "", err
	}
	if c.Owner {
		return "", filing.ErrUnauthorized
	}
	return c.Subject, nil
}

// PhoneToken returns a token for the phone p, valid for ttl.
func (s *Signer) PhoneToken(p Phone, ttl time.Duration) (string, time.Time, error) {
	if p.OrderID == "" || p.PairingID == "" || p.DeviceID == "" {
		return "", time.Time{}, errors.New("auth: phone token needs an order, a pairing and a device")
	}
	return s.sign(&claims{
		RegisteredClaims: s.registered(p.OrderID, AudienceMobile, ttl),
		PairingID:        p.PairingID,
		DeviceID:         p.DeviceID,
	}, ttl)
}

// ParsePhone checks a phone token and returns what it carries. Any failure is
// filing.ErrUnauthorized.
func (s *Signer) ParsePhone(token string) (Phone, error) {
	c, err := s.parse(s.mobile, token)
	if err != nil {
		return Phone{}, err
	}
	if c.PairingID == "" || c.DeviceID == "" {
		return Phone{}, filing.ErrUnauthorized
	}
	return Phone{OrderID: c.Subject, PairingID: c.PairingID, DeviceID: c.DeviceID}, nil
}

func (s *Signer) registered(subject, aud string, ttl time.Duration) jwt.RegisteredClaims {
	now := s.now()
	return jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   subject,
		Audience:  jwt.ClaimStrings{aud},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		ID:        newID(),
	}
}

func (s *Signer) sign(c *claims, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		return "", time.Time{}, fmt.Errorf("auth: token lifetime must be positive, got %v", ttl)
	}
	tok, err := s.signJWT(c)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign: %w", err)
	}
	// The returned expiry is the one in the token (whole seconds), not now+ttl.
	return tok, c.ExpiresAt.Time, nil
}

// parse verifies token with p. Every failure is the same filing.ErrUnauthorized: the
// jwt library's reasons are not for clients (and telling "expired" from "bad signature"
// helps only an attacker).
func (s *Signer) parse(p *jwt.Parser, token string) (*claims, error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, filing.ErrUnauthorized
	}
	c := new(claims)
	t, err := p.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return s.secret, nil })
	if err != nil || !t.Valid {
		return nil, filing.ErrUnauthorized
	}
	// One audience exactly: a token naming both could open both APIs. We never issue
	// one, so this only guards against a future mistake.
	if c.Subject == "" || len(c.Audience) != 1 {
		return nil, filing.ErrUnauthorized
	}
	return c, nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
