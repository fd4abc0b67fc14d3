// Package reviewers knows the named reviewers of the workbench: a file of NAME:SHA256HEX
// lines (BEIANSCAN_REVIEWERS), re-read whenever it changes, so that a reviewer is added or
// removed without a restart, and removing a line ends that reviewer's sessions at once.
package reviewers

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// validName is what a reviewer's name may be: it is shown to operators and kept in the
// audit trail, so it stays short and plain.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// ValidName reports whether n may name a reviewer.
func ValidName(n string) bool { return validName.MatchString(n) }

// File is the reviewers' file. Its methods stat the file on each call and re-read it when
// its size or modification time changed: a stat costs a few microseconds, and no watcher
// goroutine can then miss a removal.
type File struct {
	path string

	mu     sync.Mutex
	mod    time.Time
	size   int64
	hashes map[string][32]byte
	err    error
}

// Open reads the file at path; it must exist and be well formed.
func Open(path string) (*File, error) {
	f := &File{path: path}
	f.refresh()
	if f.err != nil {
		return nil, f.err
	}
	return f, nil
}

// refresh re-reads the file if it changed. A file that cannot be read or parsed keeps no
// reviewer at all: refusing everyone is safer than keeping a removed reviewer.
func (f *File) refresh() {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil {
		f.hashes, f.err, f.mod, f.size = nil, err, time.Time{}, -1
		return
	}
	if f.hashes != nil && st.ModTime().Equal(f.mod) && st.Size() == f.size {
		return
	}
	b, err := os.ReadFile(f.path)
	if err == nil {
		f.hashes, err = Parse(b)
	}
	if err != nil {
		f.hashes = nil
	}
	f.err, f.mod, f.size = err, st.ModTime(), st.Size()
}

// Parse reads NAME:SHA256HEX lines; blank lines and lines starting with # are skipped.
func Parse(b []byte) (map[string][32]byte, error) {
	out := map[string][32]byte{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hexHash, ok := strings.Cut(line, ":")
		h, err := hex.DecodeString(hexHash)
		if !ok || !ValidName(name) || err != nil || len(h) != 32 || hexHash != strings.ToLower(hexHash) {
			return nil, fmt.Errorf("reviewers: line %d is not NAME:SHA256HEX (lowercase hex)", n)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("reviewers: line %d repeats a name", n)
		}
		out[name] = [32]byte(h)
	}
	return out, sc.Err()
}

// ErrUnknown is a wrong name or key.
var ErrUnknown = errors.New("reviewers: unknown name or wrong key")

// Check reports whether key is the named reviewer's key, comparing hashes in constant time.
func (f *File) Check(name, key string) error {
	f.refresh()
	f.mu.Lock()
	want, ok := f.hashes[name]
	f.mu.Unlock()
	got := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !ok {
		return ErrUnknown
	}
	return nil
}

// Fingerprint identifies the named reviewer's current key without revealing it: a
// session keeps it, and stops working when the line is removed or the key replaced.
// ok is false for a reviewer not in the file.
func (f *File) Fingerprint(name string) (fp string, ok bool) {
	f.refresh()
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hashes[name]
	if !ok {
		return "", false
	}
	return hex.EncodeToString(h[:8]), true
}

// NewKey returns a fresh random key (256 bits, URL-safe base64) and its file line.
func NewKey(name string) (key, line string, err error) {
	if !ValidName(name) {
		return "", "", fmt.Errorf("reviewers: %q is not a reviewer name (letters, digits, . _ -, up to 32)", name)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	key = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	return key, name + ":" + hex.EncodeToString(sum[:]), nil
}
