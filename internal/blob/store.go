package blob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// Store is a raw blob store: it keeps whatever bytes it is given. Put is durable and
// atomic (a reader sees nothing or everything), Get of a missing key is ErrNotFound,
// Delete of a missing key is not an error. List and Remove serve the sweeper.
type Store interface {
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, fn func(Entry) error) error
	Remove(ctx context.Context, e Entry) error
}

// Kind of a listed entry.
type Kind int

const (
	// Blob is a stored blob; its Key is set.
	Blob Kind = iota
	// Leftover is what an interrupted write left: a temporary file, an incomplete
	// multipart upload. It never holds a whole blob under its key.
	Leftover
	// Folder is an empty order folder of the file store.
	Folder
)

// Entry is one listed thing of a store.
type Entry struct {
	Kind Kind
	// Key is the blob key, for a Blob.
	Key string
	// Name is the store's own name of the entry, what Remove needs.
	Name    string
	ModTime time.Time
	Size    int64
}

// ErrChanged is Remove finding the entry written again since it was listed.
var ErrChanged = errors.New("blob: changed since listed")

// unavailable marks a store failure as a dependency failure (503 unavailable). A
// cancelled request is left as it is: nobody waits for its answer.
func unavailable(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: blob %s: %w", filing.ErrUnavailable, op, err)
}

// FromURL opens the raw store that BEIANSCAN_BLOB_URL names: empty → the file store under
// dataDir; file:///path → the file store under /path; s3://bucket/prefix?endpoint=…&region=…
// → S3-compatible object storage, with credentials from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if set) as getenv gives them. An S3 store
// is checked before it is returned: a missing bucket, refused credentials or an
// unreachable endpoint is an error of one line.
func FromURL(ctx context.Context, raw, dataDir string, getenv func(string) string) (Store, string, error) {
	if raw == "" {
		d, err := NewDisk(dataDir)
		if err != nil {
			return nil, "", err
		}
		abs, _ := filepath.Abs(dataDir)
		return d, "file://" + abs, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("BEIANSCAN_BLOB_URL is not a URL (want file:///path or s3://bucket/prefix?endpoint=…)")
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		if u.Host != "" && u.Host != "localhost" || u.Path == "" {
			return nil, "", fmt.Errorf("BEIANSCAN_BLOB_URL %q: a file URL is file:///absolute/path", raw)
		}
		d, err := NewDisk(u.Path)
		if err != nil {
			return nil, "", err
		}
		return d, "file://" + u.Path, nil
	case "s3":
		s, err := NewS3(ctx, u, getenv)
		if err != nil {
			return nil, "", err
		}
		return s, s.String(), nil
	}
	return nil, "", fmt.Errorf("BEIANSCAN_BLOB_URL %q: scheme must be file or s3", raw)
}
