// Package blob is durable image storage on a local or shared disk, keyed by order and
// SHA-256.
//
// A key is "<orderID>/<sha256 hex>" and names the file dir/blobs/<orderID>/<sha256 hex>.
// Keys are validated strictly before they touch the file system, so a key can never name
// a path outside the store.
//
// Put is durable before it returns: the bytes go to a temporary file in the target
// directory, which is fsynced, renamed into place, and then the directory (and any
// directory Put had to create) is fsynced too, so that the rename itself survives a power
// cut. A reader therefore sees either nothing or the whole blob, never a torn file, and an
// acknowledged upload is never lost (docs/benchmarks.md). Because a blob's name is its content's
// hash, writing the same key twice is harmless: the second rename replaces identical bytes.
//
// Disk and S3 are raw stores (the Store interface); Sealed wraps either so that every image
// is encrypted before it reaches them (docs/operations.md, Privacy). FromURL picks the store of
// BEIANSCAN_BLOB_URL. A raw store's failures other than "not found" and a bad key are
// filing.ErrUnavailable: a dependency failing, answered 503 and retried by the client.
package blob

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/beianscan/beianscan/internal/filing"

	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned by Open when no blob is stored under the key. It is the domain's
// material_not_found, so a handler can return it as it is.
var ErrNotFound = filing.ErrMaterialNotFound

// errBadKey is returned for any key that is not "<orderID>/<64 lowercase hex>".
var errBadKey = errors.New("blob: invalid key")

const (
	dirPerm  = 0o700
	filePerm = 0o600
	// tempPrefix marks files being written; they never carry a valid key's name, so a
	// leftover from a crash can never be opened as a blob.
	tempPrefix = ".tmp-"
)

// Disk stores blobs as files under one directory. It is safe for concurrent use, also by
// several processes sharing the directory (each writer uses its own temporary file and
// rename is atomic).
type Disk struct {
	root string // dir/blobs
	// beforeRename, set by tests only, runs when the temporary file is written and synced
	// but not yet renamed: the moment a crash leaves a leftover.
	beforeRename func(tmp string)
}

var _ Store = (*Disk)(nil)

// NewDisk returns a store keeping its blobs under dir/blobs, creating the directories
// (mode 0700) when missing.
func NewDisk(dir string) (*Disk, error) {
	if dir == "" {
		return nil, errors.New("blob: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	root := filepath.Join(abs, "blobs")
	if err := mkdirSync(root); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", root, err)
	}
	return &Disk{root: root}, nil
}

// locate validates key (before it touches the file system) and returns its order's folder
// and its file name; a done ctx stops the operation here.
func (d *Disk) locate(ctx context.Context, key string) (dir, name string, err error) {
	order, name, err := splitKey(key)
	if err != nil {
		return "", "", err
	}
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	return filepath.Join(d.root, order), name, nil
}

// Put stores data under key and returns only once it is durable on disk.
func (d *Disk) Put(ctx context.Context, key string, data []byte) error {
	dir, name, err := d.locate(ctx, key)
	if err != nil {
		return err
	}
	if err := mkdirSync(dir); err != nil {
		return unavailable("put", err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if errors.Is(err, os.ErrNotExist) {
		// The sweeper removed the (then empty) order folder between mkdir and here.
		if err := mkdirSync(dir); err != nil {
			return unavailable("put", err)
		}
		f, err = os.CreateTemp(dir, tempPrefix+"*")
	}
	if err != nil {
		return unavailable("put", err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp already makes the file 0600; Chmod states it rather than relying on that.
	if err := f.Chmod(filePerm); err != nil {
		return unavailable("put", err)
	}
	if _, err := f.Write(data); err != nil {
		return unavailable("put", err)
	}
	if err := syncFile(f); err != nil {
		return unavailable("put", err)
	}
	if d.beforeRename != nil {
		d.beforeRename(tmp)
	}
	if err := f.Close(); err != nil {
		return unavailable("put", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return unavailable("put", err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return unavailable("put", err)
	}
	return nil
}

// Get returns the bytes stored under key.
func (d *Disk) Get(ctx context.Context, key string) ([]byte, error) {
	dir, name, err := d.locate(ctx, key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, unavailable("get", err)
	}
	return b, nil
}

// List calls fn for every blob, every leftover temporary file of an interrupted Put and
// every order folder, in no particular order.
func (d *Disk) List(ctx context.Context, fn func(Entry) error) error {
	orders, err := os.ReadDir(d.root)
	if err != nil {
		return unavailable("list", err)
	}
	for _, o := range orders {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !o.IsDir() || !validOrderID(o.Name()) {
			continue
		}
		dir := filepath.Join(d.root, o.Name())
		files, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return unavailable("list", err)
		}
		for _, f := range files {
			e := Entry{Name: o.Name() + "/" + f.Name()}
			switch {
			case strings.HasPrefix(f.Name(), tempPrefix):
				e.Kind = Leftover
			case validSHA256Hex(f.Name()):
				e.Kind, e.Key = Blob, e.Name
			default:
				continue
			}
			info, err := f.Info()
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return unavailable("list", err)
			}
			e.ModTime, e.Size = info.ModTime(), info.Size()
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(files) == 0 {
			info, err := o.Info()
			if err == nil {
				if err := fn(Entry{Kind: Folder, Name: o.Name(), ModTime: info.ModTime()}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Remove deletes a listed entry unless it changed since it was listed (a blob written
// again, a folder written into): what the sweeper judged is what it deletes.
func (d *Disk) Remove(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	order, name, _ := strings.Cut(e.Name, "/")
	if !validOrderID(order) {
		return fmt.Errorf("%w: %q", errBadKey, e.Name)
	}
	dir := filepath.Join(d.root, order)
	path := dir
	switch {
	case e.Kind == Folder && name == "":
	case e.Kind == Leftover && strings.HasPrefix(name, tempPrefix) && !strings.ContainsAny(name, `/\`):
		path = filepath.Join(dir, name)
	case e.Kind == Blob && validSHA256Hex(name):
		path = filepath.Join(dir, name)
	default:
		return fmt.Errorf("%w: %q", errBadKey, e.Name)
	}
	info, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return unavailable("remove", err)
	}
	if info.ModTime().After(e.ModTime) {
		return ErrChanged
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if e.Kind == Folder {
			// Not empty any more: a Put is writing into it.
			return ErrChanged
		}
		return unavailable("remove", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return unavailable("remove", err)
	}
	return nil
}

// Open returns the blob stored under key with its size. The caller closes it.
func (d *Disk) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	dir, name, err := d.locate(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, unavailable("open", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, unavailable("open", err)
	}
	return f, st.Size(), nil
}

// Delete removes the blob under key; a missing blob is not an error.
func (d *Disk) Delete(ctx context.Context, key string) error {
	dir, name, err := d.locate(ctx, key)
	if err != nil {
		return err
	}
	err = os.Remove(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return unavailable("delete", err)
	}
	// Without this a crash could bring a deleted image (an ID card) back.
	if err := syncDir(dir); err != nil {
		return unavailable("delete", err)
	}
	return nil
}

// splitKey validates key and returns its order and hash parts. Only the characters
// [A-Za-z0-9_-] and lowercase hex can pass, so neither part can be ".", "..", empty or
// contain a separator: a key always names a file two levels under the root.
// Key is the key of the blob of an order whose content hashes to sum (SHA-256, lowercase
// hex).
func Key(orderID, sum string) string { return orderID + "/" + sum }

// KeyOf is the key of data stored for an order.
func KeyOf(orderID string, data []byte) string {
	sum := sha256.Sum256(data)
	return Key(orderID, hex.EncodeToString(sum[:]))
}

func splitKey(key string) (order, sum string, err error) {
	order, sum, ok := strings.Cut(key, "/")
	if !ok || !validOrderID(order) || !validSHA256Hex(sum) {
		return "", "", fmt.Errorf("%w: %q", errBadKey, key)
	}
	return order, sum, nil
}

func validOrderID(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func validSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// mkdirSync creates dir and any missing parents, fsyncing the parent of every directory it
// creates so that the new entries survive a crash (a blob fsynced into a directory whose
// own entry was lost would be lost with it).
func mkdirSync(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirPerm); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return err
		}
		// Another Put (or process) created it meanwhile and may not have synced the parent
		// yet; syncing it here too keeps our own Put's promise.
	}
	return syncDir(parent)
}

// syncFile is every fsync of this package, of files and directories alike: a variable so
// that the durability test can count them (a Put without them passes every other test).
var syncFile = (*os.File).Sync

// syncDir fsyncs a directory, making renames, creations and removals in it durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = syncFile(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
