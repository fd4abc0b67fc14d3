package sweep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/blob/s3test"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/redistest"
)

func randomID(t *testing.T) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "sweep" + hex.EncodeToString(b)
}

// fixture is a store with a leftover of an interrupted write in it.
type fixture struct {
	store blob.Store
	name  string
	// leftover makes one and reports whether it is still there.
	leftover func(t *testing.T, order string) (exists func() bool)
}

func fixtures() map[string]func(t *testing.T) fixture {
	return map[string]func(t *testing.T) fixture{
		"file": func(t *testing.T) fixture {
			dir := t.TempDir()
			s, name, err := blob.FromURL(context.Background(), "", dir, os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			return fixture{s, name, func(t *testing.T, order string) func() bool {
				// What a Put killed before its rename leaves (see the kill -9 test in
				// internal/blob for a real crash).
				p := filepath.Join(dir, "blobs", order, ".tmp-12345")
				if err := os.WriteFile(p, []byte("partial ID image"), 0o600); err != nil {
					t.Fatal(err)
				}
				return func() bool { _, err := os.Stat(p); return err == nil }
			}}
		},
		"s3": func(t *testing.T) fixture {
			srv := s3test.Start(t)
			bucket := srv.Bucket(t)
			s, name, err := blob.FromURL(context.Background(), srv.URL(bucket, "pfx"), "", os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			return fixture{s, name, func(t *testing.T, order string) func() bool {
				// An upload started and never finished: what a killed multipart writer leaves.
				core := minio.Core{Client: srv.Client(t)}
				object := "pfx/" + order + "/partial"
				if _, err := core.NewMultipartUpload(context.Background(), bucket, object, minio.PutObjectOptions{}); err != nil {
					t.Fatal(err)
				}
				return func() bool {
					for u := range srv.Client(t).ListIncompleteUploads(context.Background(), bucket, object, true) {
						if u.Err == nil {
							return true
						}
					}
					return false
				}
			}}
		},
	}
}

// TestSweep: young things are kept; once older than the age, leftovers, unreferenced blobs
// and blobs of orders that no longer exist are deleted, and referenced ones are kept.
func TestSweep(t *testing.T) {
	for name, open := range fixtures() {
		t.Run(name, func(t *testing.T) {
			f := open(t)
			ctx := context.Background()
			rdb := redistest.Shared(t)
			rs := redisstore.New(rdb, 0)
			live, gone := randomID(t), randomID(t)
			if err := rs.CreateOrder(ctx, &filing.Order{ID: live}, orders.AuditEntry{}); err != nil {
				t.Fatal(err)
			}
			ref, unref, orphan := []byte("referenced"), []byte("replaced long ago"), []byte("of a deleted order")
			for k, d := range map[string][]byte{blob.KeyOf(live, ref): ref, blob.KeyOf(live, unref): unref, blob.KeyOf(gone, orphan): orphan} {
				if err := f.store.Put(ctx, k, d); err != nil {
					t.Fatal(err)
				}
			}
			_, err := rs.Update(ctx, live, func(s *orders.Snapshot) ([]orders.Event, error) {
				s.Materials["subject_leader_id_front"] = filing.Material{SHA256: blob.KeyOf(live, ref)[len(live)+1:]}
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			leftover := f.leftover(t, live)
			exists := func(k string) bool {
				_, err := f.store.Get(ctx, k)
				if err != nil && !errors.Is(err, blob.ErrNotFound) {
					t.Fatal(err)
				}
				return err == nil
			}

			now := time.Now()
			var told []Result // what the metrics hear
			s := New(Config{Store: f.store, StoreName: f.name + t.Name(), Refs: rs, Redis: rdb, Now: func() time.Time { return now },
				Swept: func(r Result) { told = append(told, r) }})
			r, err := s.Once(ctx)
			if err != nil || r != (Result{}) {
				t.Fatalf("young: %+v, %v; want nothing swept", r, err)
			}
			if !exists(blob.KeyOf(live, unref)) || !exists(blob.KeyOf(gone, orphan)) || !leftover() {
				t.Fatal("a young blob or leftover was swept")
			}

			// Another instance holds the lock: nothing happens.
			now = now.Add(5 * time.Minute)
			rdb.Set(ctx, s.lockKey, "other", time.Minute)
			if r, err := s.Once(ctx); err != nil || !r.Skipped {
				t.Fatalf("locked: %+v, %v", r, err)
			}
			if !exists(blob.KeyOf(live, unref)) {
				t.Fatal("swept while another instance held the lock")
			}
			rdb.Del(ctx, s.lockKey)

			r, err = s.Once(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.Unreferenced != 2 || r.Leftovers != 1 || r.Kept != 1 {
				t.Fatalf("old: %+v; want 2 unreferenced, 1 leftover, 1 kept", r)
			}
			// Told of the sweeps it ran (the young one and this), not of the skipped one.
			if len(told) != 2 || told[1] != r {
				t.Fatalf("Swept heard %+v, want the two sweeps run, the last %+v", told, r)
			}
			if !exists(blob.KeyOf(live, ref)) {
				t.Fatal("a referenced blob was swept")
			}
			if exists(blob.KeyOf(live, unref)) || exists(blob.KeyOf(gone, orphan)) || leftover() {
				t.Fatal("an old unreferenced blob or leftover is still there")
			}
			if n, _ := rdb.Exists(ctx, s.lockKey).Result(); n != 0 {
				t.Fatal("the lock was not released")
			}
		})
	}
}
