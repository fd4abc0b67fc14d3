package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/beianscan/beianscan/internal/filing"
)

// AudienceDevice is the audience of a device token: the phone's key to the list of the
// orders it uploaded to, outliving any one pairing.
const AudienceDevice = "device"

// DeviceHash is the subject of a device token and the name of the device's index. It is
// keyed with the signing secret so the raw X-Device-Id never appears in a token or a key,
// and cannot be recovered from either by hashing candidate IDs without the secret.
func (s *Signer) DeviceHash(deviceID string) string {
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(s.macs.sum(sum[:0], []byte("device\x00"), []byte(deviceID))[:18])
}

type deviceClaims struct {
	jwt.RegisteredClaims
	// Generation lets the server revoke every token of a device at once (DELETE
	// /m/v1/device bumps it) without keeping a list of token IDs.
	Generation int64 `json:"gen"`
}

// DeviceToken returns a token bound to deviceID at generation gen, valid for ttl.
func (s *Signer) DeviceToken(deviceID string, gen int64, ttl time.Duration) (string, time.Time, error) {
	if deviceID == "" {
		return "", time.Time{}, errors.New("auth: device token needs a device")
	}
	if ttl <= 0 {
		return "", time.Time{}, errors.New("auth: token lifetime must be positive")
	}
	c := &deviceClaims{RegisteredClaims: s.registered(s.DeviceHash(deviceID), AudienceDevice, ttl), Generation: gen}
	tok, err := s.signJWT(c)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, c.ExpiresAt.Time, nil
}

// ParseDevice checks a device token against the X-Device-Id it came with and returns the
// device's hash and the token's generation. A token presented with another device ID is
// filing.ErrUnauthorized, like any other failure.
func (s *Signer) ParseDevice(token, deviceID string) (hash string, gen int64, err error) {
	if token == "" || len(token) > maxTokenLen || deviceID == "" {
		return "", 0, filing.ErrUnauthorized
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithAudience(AudienceDevice),
		jwt.WithIssuer(issuer),
		jwt.WithTimeFunc(s.now),
		jwt.WithStrictDecoding(),
	)
	c := new(deviceClaims)
	t, err := p.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return s.secret, nil })
	if err != nil || !t.Valid || len(c.Audience) != 1 {
		return "", 0, filing.ErrUnauthorized
	}
	want := s.DeviceHash(deviceID)
	if !hmac.Equal([]byte(c.Subject), []byte(want)) {
		return "", 0, filing.ErrUnauthorized
	}
	return want, c.Generation, nil
}
