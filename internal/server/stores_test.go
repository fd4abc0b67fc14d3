package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/blob/s3test"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/sealbox"
	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/internal/sweep"
)

// testKeys is the BEIANSCAN_ENCRYPTION_KEYS every test instance shares.
const testKeys = "k1:3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs="

// blobStore is one blob store the server tests run on: every instance of a test that
// calls use shares it.
type blobStore struct {
	name string
	use  func(*server.Config)
	// dirs hold every byte the store wrote, to look at as someone holding the disk would.
	dirs []string
	// fail makes the store fail for the order, as a dead disk or an S3 outage; restore ends it.
	fail func(t *testing.T, orderID string) (restore func())
}

// eachStore runs test on the file store and on S3 (versitygw; skipped when missing). On
// S3 the instances keep separate data dirs: they share nothing but Redis and the bucket.
func eachStore(t *testing.T, test func(t *testing.T, st blobStore)) {
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		test(t, blobStore{
			name: "file", dirs: []string{dir},
			use: func(c *server.Config) { c.DataDir = dir },
			fail: func(t *testing.T, orderID string) func() {
				// A file where the order's blob folder should be makes every read and
				// write fail; the folder is put back afterwards.
				folder := filepath.Join(dir, "blobs", orderID)
				moved := os.Rename(folder, folder+".away") == nil
				if err := os.WriteFile(folder, []byte("in the way"), 0o600); err != nil {
					t.Fatal(err)
				}
				return func() {
					os.Remove(folder)
					if moved {
						os.Rename(folder+".away", folder)
					}
				}
			},
		})
	})
	t.Run("s3", func(t *testing.T) {
		srv := s3test.Start(t)
		url := srv.URL(srv.Bucket(t), "beianscan")
		test(t, blobStore{
			name: "s3", dirs: []string{srv.Root},
			use: func(c *server.Config) { c.BlobURL = url },
			fail: func(t *testing.T, _ string) func() {
				srv.Stop()
				return func() { srv.Restart(t) }
			},
		})
	})
}

// checkAtRest looks at every file the store wrote: none starts with image magic bytes or
// holds a run of any uploaded image or the ID number; each is sealed under the test key.
func (st blobStore) checkAtRest(t *testing.T, images [][]byte, secrets ...string) {
	t.Helper()
	files := 0
	for _, dir := range st.dirs {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, magic := range []string{"\xFF\xD8\xFF", "\x89PNG", "GIF87a", "GIF89a"} {
				if bytes.HasPrefix(b, []byte(magic)) {
					t.Errorf("%s starts with image magic %q", p, magic)
				}
			}
			for _, img := range images {
				// Runs of 32 bytes every 1 KiB through each image.
				for off := 0; off+32 <= len(img); off += 1024 {
					if bytes.Contains(b, img[off:off+32]) {
						t.Errorf("%s holds plaintext of an image (offset %d)", p, off)
						return nil
					}
				}
			}
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds %q", p, s)
				}
			}
			if len(b) > 1000 {
				files++
				if id, ok := sealbox.KeyID(b); !ok || id != "k1" {
					t.Errorf("%s is not sealed under k1 (%q, %v)", p, id, ok)
				}
			}
			return nil
		})
	}
	if files == 0 {
		t.Fatalf("%s: no stored image found under %v", st.name, st.dirs)
	}
}

// wantSameImage fetches a material and compares it with what was uploaded.
func wantSameImage(t *testing.T, o order, slot string, img []byte) {
	t.Helper()
	r := must(t, do(t, req{method: "GET", url: o.url("/materials/" + slot), token: o.Token}), http.StatusOK)
	if !bytes.Equal(r.Raw, img) {
		t.Fatalf("%s from %s: %d bytes differ from the %d uploaded", slot, o.Base, len(r.Raw), len(img))
	}
}

// TestProductionNeedsKeys: with a Redis URL the server refuses to start without encryption
// keys, or with a malformed one, and a bad blob URL fails at start with one clear line.
func TestProductionNeedsKeys(t *testing.T) {
	mr := miniredis.RunT(t)
	for _, c := range []struct{ keys, blobURL, want string }{
		{"", "", "BEIANSCAN_ENCRYPTION_KEYS is required"},
		{"k1:c2hvcnQ=", "", "32 bytes"},
		{testKeys, "s3://bucket/?endpoint=ftp://x", "endpoint"},
	} {
		_, err := server.Open(server.Config{
			Addr: "127.0.0.1:0", RedisURL: "redis://" + mr.Addr(), DataDir: t.TempDir(), JWTSecret: testSecret,
			EncryptionKeys: c.keys, BlobURL: c.blobURL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("keys %q, blob URL %q: err %v, want one line containing %q", c.keys, c.blobURL, err, c.want)
		}
	}
}

// TestSweepDeletesImagesOfGoneOrders: once an order is gone from Redis (retention expires
// its keys), the sweeper deletes its images from either store, and keeps those of a live
// order. The sweeper's clock is moved past the age rule rather than waiting 4 minutes.
func TestSweepDeletesImagesOfGoneOrders(t *testing.T) { eachStore(t, sweepGoneOrders) }

func sweepGoneOrders(t *testing.T, st blobStore) {
	m := start(t, st.use)
	in := gdIndividual()
	in["province"] = "CN-BJ"
	live, gone := createOrder(t, m, in), createOrder(t, m, in)
	img := appsim.SampleImage("x", 3)
	for _, o := range []order{live, gone} {
		must(t, do(t, req{method: "PUT", url: o.url("/materials/subject_leader_id_front"), token: o.Token, body: img}), http.StatusCreated)
	}
	ctx := context.Background()
	if err := m.Redis.Del(ctx, rediskeys.Order(gone.ID), rediskeys.Version(gone.ID), rediskeys.Materials(gone.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(5 * time.Minute)
	s := sweep.New(sweep.Config{Store: m.Blobs.Raw(), StoreName: t.Name(), Refs: redisstore.New(m.Redis, 0), Redis: m.Redis,
		Now: func() time.Time { return later }})
	r, err := s.Once(ctx)
	if err != nil || r.Unreferenced != 1 || r.Kept != 1 {
		t.Fatalf("sweep: %+v, %v; want the gone order's image deleted, the live one's kept", r, err)
	}
	sha := sum(img)
	if _, err := m.Blobs.Get(ctx, gone.ID+"/"+sha); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("image of the gone order: %v, want not found", err)
	}
	wantSameImage(t, live, "subject_leader_id_front", img)
}
