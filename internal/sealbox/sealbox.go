// Package sealbox encrypts sensitive bytes at rest (docs/operations.md, Privacy): ID images before they reach
// a disk or a bucket, full ID numbers before they reach Redis. It is AES-256-GCM with a
// fresh random nonce per message and the key's ID in a small header, so that keys can be
// rotated: the first key of a Keyring seals, every key opens. GCM authenticates the header,
// the ciphertext and a caller-given context (e.g. the blob's key), so a flipped byte, a
// swapped file or a header pointing at another key is an error, never a wrong image.
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// magic starts every sealed message. It is not a JPEG, PNG or GIF signature, and it lets
// Opened tell sealed bytes from plaintext written before encryption was turned on.
var magic = []byte("BSX1")

const (
	keySize   = 32
	nonceSize = 12
	maxIDLen  = 32
)

// ErrUnknownKey is an Open of a message sealed with a key the ring does not hold.
var ErrUnknownKey = errors.New("sealbox: sealed with a key that is not configured")

// ErrCorrupt is a message that is not a sealed message or fails authentication.
var ErrCorrupt = errors.New("sealbox: sealed data is damaged or does not belong here")

// Keyring holds the keys: the first seals, all open.
type Keyring struct {
	primary string
	aeads   map[string]cipher.AEAD
	ids     []string
}

// Parse reads BEIANSCAN_ENCRYPTION_KEYS: comma-separated ID:BASE64 entries, each a
// 32-byte key in standard or URL base64; the first seals.
func Parse(s string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, b64, ok := strings.Cut(entry, ":")
		if !ok || !validID(id) {
			return nil, fmt.Errorf("encryption key %q: want ID:BASE64 with an ID of 1-%d letters, digits, '-' or '_'", short(entry), maxIDLen)
		}
		raw, err := decodeKey(b64)
		if err != nil || len(raw) != keySize {
			return nil, fmt.Errorf("encryption key %q: the key must be 32 bytes in base64 (e.g. openssl rand -base64 32)", id)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("encryption key %q is given twice", id)
		}
		if err := k.add(id, raw); err != nil {
			return nil, err
		}
	}
	if len(k.ids) == 0 {
		return nil, errors.New("no encryption key given")
	}
	return k, nil
}

// Random returns a ring of one random key, for the embedded mode and tests: what it seals
// can be opened only by this process.
func Random() *Keyring {
	raw := make([]byte, keySize)
	rand.Read(raw)
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	if err := k.add("ephemeral", raw); err != nil {
		panic(err)
	}
	return k
}

// New returns a ring of the given keys (ID → 32 bytes), ids[0] sealing.
func New(ids []string, keys map[string][]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for _, id := range ids {
		if !validID(id) || len(keys[id]) != keySize {
			return nil, fmt.Errorf("encryption key %q: bad ID or not 32 bytes", id)
		}
		if err := k.add(id, keys[id]); err != nil {
			return nil, err
		}
	}
	if len(k.ids) == 0 {
		return nil, errors.New("no encryption key given")
	}
	return k, nil
}

func (k *Keyring) add(id string, raw []byte) error {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	if k.primary == "" {
		k.primary = id
	}
	k.aeads[id] = aead
	k.ids = append(k.ids, id)
	return nil
}

// Primary is the ID of the key that seals.
func (k *Keyring) Primary() string { return k.primary }

// Seal encrypts plain under the primary key. context is authenticated but not stored: the
// same context must be given to Open (use what names the message, e.g. the blob key).
func (k *Keyring) Seal(plain, context []byte) []byte {
	hdr := header(k.primary)
	out := make([]byte, len(hdr), len(hdr)+nonceSize+len(plain)+16)
	copy(out, hdr)
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	out = append(out, nonce...)
	return k.aeads[k.primary].Seal(out, nonce, plain, aad(hdr, context))
}

// Open decrypts a sealed message with whichever key sealed it.
func (k *Keyring) Open(sealed, context []byte) ([]byte, error) {
	id, hdrLen, ok := parseHeader(sealed)
	if !ok || len(sealed) < hdrLen+nonceSize+16 {
		return nil, ErrCorrupt
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w (%q)", ErrUnknownKey, id)
	}
	nonce := sealed[hdrLen : hdrLen+nonceSize]
	plain, err := aead.Open(nil, nonce, sealed[hdrLen+nonceSize:], aad(sealed[:hdrLen], context))
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// KeyID returns the ID of the key that sealed a message; ok is false for anything that is
// not a sealed message.
func KeyID(sealed []byte) (id string, ok bool) {
	id, _, ok = parseHeader(sealed)
	return id, ok
}

// Overhead is how many bytes Seal adds under the primary key.
func (k *Keyring) Overhead() int { return len(header(k.primary)) + nonceSize + 16 }

// stringPrefix marks a sealed string; what follows is the sealed bytes in URL base64.
const stringPrefix = "sealed:"

// SealString seals a short text (an ID number) for a text store such as Redis.
func (k *Keyring) SealString(plain, context string) string {
	return stringPrefix + base64.RawURLEncoding.EncodeToString(k.Seal([]byte(plain), []byte(context)))
}

// OpenString opens what SealString made.
func (k *Keyring) OpenString(sealed, context string) (string, error) {
	raw, ok := stringBytes(sealed)
	if !ok {
		return "", ErrCorrupt
	}
	plain, err := k.Open(raw, []byte(context))
	return string(plain), err
}

// StringKeyID returns the ID of the key that sealed a SealString text.
func StringKeyID(sealed string) (string, bool) {
	raw, ok := stringBytes(sealed)
	if !ok {
		return "", false
	}
	return KeyID(raw)
}

func stringBytes(sealed string) ([]byte, bool) {
	b64, ok := strings.CutPrefix(sealed, stringPrefix)
	if !ok {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	return raw, err == nil
}

// IsSealedString reports whether s was made by SealString (or looks like it).
func IsSealedString(s string) bool { return strings.HasPrefix(s, stringPrefix) }

func header(id string) []byte {
	h := make([]byte, 0, len(magic)+1+len(id))
	h = append(h, magic...)
	h = append(h, byte(len(id)))
	return append(h, id...)
}

func parseHeader(b []byte) (id string, n int, ok bool) {
	if len(b) < len(magic)+1 || string(b[:len(magic)]) != string(magic) {
		return "", 0, false
	}
	l := int(b[len(magic)])
	n = len(magic) + 1 + l
	if l == 0 || l > maxIDLen || len(b) < n {
		return "", 0, false
	}
	return string(b[len(magic)+1 : n]), n, true
}

func aad(hdr, context []byte) []byte {
	a := make([]byte, 0, len(hdr)+len(context))
	return append(append(a, hdr...), context...)
}

func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// short keeps a key's secret part out of error messages.
func short(entry string) string {
	id, _, ok := strings.Cut(entry, ":")
	if !ok {
		// Without a colon the entry may be a bare key: show none of it.
		return "(no ID)"
	}
	if len(id) > maxIDLen {
		id = id[:maxIDLen]
	}
	return id
}
