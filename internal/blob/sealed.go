package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/sealbox"
)

// Sealed encrypts every blob before it reaches the raw store beneath (docs/operations.md, Privacy): what lies
// on the disk or in the bucket is a sealbox message, AES-256-GCM under the keyring's first
// key, its key ID in the header, authenticated together with the blob's key so that a file
// moved to another name does not open. The sha256 in a key is of the plaintext.
//
// Open decrypts into memory: images are at most a few MiB (docs/benchmarks.md), and the handler
// needs a seekable reader for Range requests, which a stream cipher's output is not.
type Sealed struct {
	raw  Store
	keys *sealbox.Keyring
}

// NewSealed wraps raw.
func NewSealed(raw Store, keys *sealbox.Keyring) *Sealed { return &Sealed{raw: raw, keys: keys} }

// Raw is the store beneath, for the sweeper, which never reads contents.
func (s *Sealed) Raw() Store { return s.raw }

// Put seals data and stores it durably under key.
func (s *Sealed) Put(ctx context.Context, key string, data []byte) error {
	return s.raw.Put(ctx, key, s.keys.Seal(data, []byte(key)))
}

// Delete removes the blob under key.
func (s *Sealed) Delete(ctx context.Context, key string) error { return s.raw.Delete(ctx, key) }

// Get returns the plaintext stored under key.
func (s *Sealed) Get(ctx context.Context, key string) ([]byte, error) {
	sealed, err := s.raw.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.open(key, sealed)
}

// Open returns the plaintext stored under key as a seekable reader, with its size.
func (s *Sealed) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	plain, err := s.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	return nopCloser{bytes.NewReader(plain)}, int64(len(plain)), nil
}

// open decrypts a stored blob. A blob written before encryption was turned on is
// plaintext; it is accepted only if it is what its key says (its SHA-256 is the key's), so
// that nothing planted in the store can pass for an image, and `beianscan reencrypt` seals it.
func (s *Sealed) open(key string, stored []byte) ([]byte, error) {
	if _, ok := sealbox.KeyID(stored); !ok {
		if plaintextMatches(key, stored) {
			return stored, nil
		}
		return nil, failedAuth(key, sealbox.ErrCorrupt)
	}
	plain, err := s.keys.Open(stored, []byte(key))
	if err != nil {
		return nil, failedAuth(key, err)
	}
	return plain, nil
}

// failedAuth is a stored blob that cannot be opened (tampered with, damaged, or sealed under
// a key no longer configured): the blob store is failing this read, 503 unavailable, not a
// bug of the service; the error names the blob (order and content hash, nothing of the
// image), which the edge logs as the 503's cause.
func failedAuth(key string, err error) error {
	return fmt.Errorf("%w: blob %s failed authentication: %w", filing.ErrUnavailable, key, err)
}

func plaintextMatches(key string, data []byte) bool {
	_, want, err := splitKey(key)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == want
}

// Reseal moves the blob under key to the first key: it reads it, and unless it is already
// sealed under the first key, opens it (or checks a legacy plaintext against its hash),
// seals it again and writes it back with the raw store's atomic, durable Put, which
// replaces the old bytes only once the new ones are stored. It reports whether it wrote.
// A blob deleted meanwhile is not an error (nothing to move).
func (s *Sealed) Reseal(ctx context.Context, key string) (bool, error) {
	stored, err := s.raw.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if id, ok := sealbox.KeyID(stored); ok && id == s.keys.Primary() {
		return false, nil
	}
	plain, err := s.open(key, stored)
	if err != nil {
		return false, err
	}
	if err := s.raw.Put(ctx, key, s.keys.Seal(plain, []byte(key))); err != nil {
		return false, err
	}
	return true, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
