package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash"
	"sync"
)

// hs256Header is the first segment of every token we issue: the base64url of
// {"alg":"HS256","typ":"JWT"}, the header golang-jwt writes for HS256 (TestSignMatchesJWT).
const hs256Header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

// macs hands out HMAC-SHA256 states keyed with one secret. hmac.New hashes the key into
// both pads each time; a state from the pool only restores its keyed start (Reset).
type macs struct{ pool sync.Pool }

func newMACs(secret []byte) *macs {
	m := &macs{}
	m.pool.New = func() any { return hmac.New(sha256.New, secret) }
	return m
}

// sum is the HMAC of the parts, one after another, appended to b.
func (m *macs) sum(b []byte, parts ...[]byte) []byte {
	h := m.pool.Get().(hash.Hash)
	h.Reset()
	for _, p := range parts {
		h.Write(p)
	}
	b = h.Sum(b)
	m.pool.Put(h)
	return b
}

// signJWT is golang-jwt's jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
// byte for byte (the same header, c as encoding/json writes it, unpadded base64url), without
// encoding the constant header or keying an HMAC each time.
func (s *Signer) signJWT(c any) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	n := len(hs256Header) + 1 + enc.EncodedLen(len(payload))
	b := make([]byte, n, n+1+enc.EncodedLen(sha256.Size))
	copy(b, hs256Header)
	b[len(hs256Header)] = '.'
	enc.Encode(b[len(hs256Header)+1:], payload)
	var sum [sha256.Size]byte
	mac := s.macs.sum(sum[:0], b)
	b = append(b, '.')
	b = enc.AppendEncode(b, mac)
	return string(b), nil
}
