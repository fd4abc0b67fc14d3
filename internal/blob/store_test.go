package blob_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/blob/s3test"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/sealbox"
)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// rawStore is a store under test and the folder where its bytes end up on this machine.
type rawStore struct {
	name  string // "file" or "s3"
	store blob.Store
	dir   string
	// outage makes the store fail until the returned function is called.
	outage func() (restore func())
}

// forEachStore runs test on each raw store in a subtest of its own.
func forEachStore(t *testing.T, test func(t *testing.T, rs rawStore, ctx context.Context)) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			rs := open(t)
			rs.name = name
			test(t, rs, ctxT(t))
		})
	}
}

// stores is the table every store test runs over: the file store and S3 (versitygw).
func stores(t *testing.T) map[string]func(t *testing.T) rawStore {
	return map[string]func(t *testing.T) rawStore{
		"file": func(t *testing.T) rawStore {
			dir := t.TempDir()
			s, _, err := blob.FromURL(ctxT(t), "", dir, os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			return rawStore{store: s, dir: dir, outage: func() func() {
				// The store's folder made unwritable and unreadable: a failing disk.
				os.Chmod(filepath.Join(dir, "blobs"), 0)
				return func() { os.Chmod(filepath.Join(dir, "blobs"), 0o700) }
			}}
		},
		"s3": func(t *testing.T) rawStore {
			srv := s3test.Start(t)
			s, _, err := blob.FromURL(ctxT(t), srv.URL(srv.Bucket(t), "pre/fix"), "", os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			return rawStore{store: s, dir: srv.Root, outage: func() func() {
				srv.Stop()
				return func() { srv.Restart(t) }
			}}
		},
	}
}

func TestStores(t *testing.T) {
	forEachStore(t, func(t *testing.T, rs rawStore, ctx context.Context) {
		s := rs.store
		a, b := []byte("first blob"), bytes.Repeat([]byte{7}, 3<<20)
		for _, d := range [][]byte{a, b} {
			if err := s.Put(ctx, blob.KeyOf("o1", d), d); err != nil {
				t.Fatalf("put: %v", err)
			}
		}
		got, err := s.Get(ctx, blob.KeyOf("o1", b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("get: %d bytes, %v", len(got), err)
		}
		if _, err := s.Get(ctx, blob.KeyOf("o2", a)); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("missing blob: %v, want ErrNotFound", err)
		}
		if err := s.Put(ctx, "../x/"+strings.Repeat("a", 64), a); err == nil {
			t.Fatal("bad key accepted")
		}
		listed := map[string]blob.Entry{}
		if err := s.List(ctx, func(e blob.Entry) error {
			if e.Kind == blob.Blob {
				listed[e.Key] = e
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(listed) != 2 || listed[blob.KeyOf("o1", a)].Size != int64(len(a)) || time.Since(listed[blob.KeyOf("o1", a)].ModTime) > time.Minute {
			t.Fatalf("listed %v", listed)
		}
		// Remove refuses what was written again after it was listed.
		stale := listed[blob.KeyOf("o1", a)]
		stale.ModTime = stale.ModTime.Add(-time.Hour)
		if err := s.Remove(ctx, stale); !errors.Is(err, blob.ErrChanged) {
			t.Fatalf("remove of a rewritten blob: %v, want ErrChanged", err)
		}
		if err := s.Remove(ctx, listed[blob.KeyOf("o1", a)]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, blob.KeyOf("o1", a)); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("removed blob: %v", err)
		}
		if err := s.Delete(ctx, blob.KeyOf("o1", b)); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, blob.KeyOf("o1", b)); err != nil {
			t.Fatalf("delete of a missing blob: %v", err)
		}
	})
}

// TestOutageIsUnavailable: a failing store is a dependency failure (503 unavailable), and
// what was stored before is there again when the store comes back.
func TestOutageIsUnavailable(t *testing.T) {
	forEachStore(t, func(t *testing.T, rs rawStore, ctx context.Context) {
		kept := []byte("kept")
		if err := rs.store.Put(ctx, blob.KeyOf("o1", kept), kept); err != nil {
			t.Fatal(err)
		}
		restore := rs.outage()
		if rs.name == "file" && os.Geteuid() == 0 {
			restore()
			t.Skip("running as root: file modes cannot make the disk fail (the server test puts a file in the way instead)")
		}
		if err := rs.store.Put(ctx, blob.KeyOf("o1", []byte("x")), []byte("x")); !errors.Is(err, filing.ErrUnavailable) {
			t.Errorf("put during outage: %v, want unavailable", err)
		}
		if _, err := rs.store.Get(ctx, blob.KeyOf("o1", kept)); !errors.Is(err, filing.ErrUnavailable) {
			t.Errorf("get during outage: %v, want unavailable", err)
		}
		restore()
		if got, err := rs.store.Get(ctx, blob.KeyOf("o1", kept)); err != nil || !bytes.Equal(got, kept) {
			t.Fatalf("after the outage: %q, %v", got, err)
		}
	})
}

// TestFromURLFailsClearly: a wrong S3 configuration fails at start with one line that
// says what is wrong.
func TestFromURLFailsClearly(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	for _, c := range []struct {
		name, url, access, secret, want string
	}{
		{"missing bucket", srv.URL("no-such-bucket", ""), s3test.Access, s3test.Secret, "does not exist"},
		{"unknown access key", srv.URL(bucket, ""), "nobody", s3test.Secret, "credentials refused"},
		{"wrong secret", srv.URL(bucket, ""), s3test.Access, "wrong-secret-0123456789", "credentials refused"},
		{"unreachable", "s3://" + bucket + "/?endpoint=" + dead, s3test.Access, s3test.Secret, "unreachable"},
		{"no credentials", srv.URL(bucket, ""), "", s3test.Secret, "AWS_ACCESS_KEY_ID"},
		{"bad scheme", "ftp://x/y", s3test.Access, s3test.Secret, "scheme"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"AWS_ACCESS_KEY_ID": c.access, "AWS_SECRET_ACCESS_KEY": c.secret}
			_, _, err := blob.FromURL(ctxT(t), c.url, "", func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %v, want one line containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), s3test.Secret) {
				t.Fatal("the secret is in the error")
			}
		})
	}
	s, desc, err := blob.FromURL(ctxT(t), "file://"+t.TempDir(), "", os.Getenv)
	if err != nil || s == nil || !strings.HasPrefix(desc, "file:///") {
		t.Fatalf("file URL: %v %q", err, desc)
	}
}

func ring(t *testing.T, ids ...string) *sealbox.Keyring {
	t.Helper()
	keys := map[string][]byte{}
	for _, id := range ids {
		keys[id] = bytes.Repeat([]byte(id[:1]), 32)
	}
	k, err := sealbox.New(ids, keys)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSealedAtRest: what reaches either store is ciphertext under the first key; the
// plaintext comes back byte for byte; a swapped or flipped blob is an error, never an image.
func TestSealedAtRest(t *testing.T) {
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte("JFIF plaintext run "), 5000)...)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("png plaintext run! "), 100)...)
	forEachStore(t, func(t *testing.T, rs rawStore, ctx context.Context) {
		s := blob.NewSealed(rs.store, ring(t, "k1"))
		for _, img := range [][]byte{jpeg, png} {
			if err := s.Put(ctx, blob.KeyOf("o1", img), img); err != nil {
				t.Fatal(err)
			}
			rc, size, err := s.Open(ctx, blob.KeyOf("o1", img))
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, size)
			rc.Read(buf)
			rc.Close()
			if !bytes.Equal(buf, img) {
				t.Fatal("opened bytes differ from the stored image")
			}
		}
		files := 0
		filepath.WalkDir(rs.dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, _ := os.ReadFile(p)
			if len(b) < 100 {
				return nil // versitygw's own metadata files
			}
			files++
			for _, magic := range []string{"\xFF\xD8\xFF", "\x89PNG", "GIF8"} {
				if bytes.HasPrefix(b, []byte(magic)) {
					t.Errorf("%s starts with image magic %q", p, magic)
				}
			}
			if bytes.Contains(b, []byte("plaintext run")) {
				t.Errorf("%s contains plaintext", p)
			}
			if id, ok := sealbox.KeyID(b); !ok || id != "k1" {
				t.Errorf("%s: key id %q %v", p, id, ok)
			}
			return nil
		})
		if files != 2 {
			t.Fatalf("%d stored files, want 2", files)
		}
		// Swapped: the bytes of one blob stored under another's key.
		other := blob.KeyOf("o2", jpeg)
		sealed, _ := rs.store.Get(ctx, blob.KeyOf("o1", jpeg))
		rs.store.Put(ctx, other, sealed)
		if _, _, err := s.Open(ctx, other); !errors.Is(err, sealbox.ErrCorrupt) {
			t.Fatalf("swapped blob: %v, want ErrCorrupt", err)
		}
		// Flipped byte.
		sealed[len(sealed)/2] ^= 1
		rs.store.Put(ctx, blob.KeyOf("o1", jpeg), sealed)
		if _, _, err := s.Open(ctx, blob.KeyOf("o1", jpeg)); !errors.Is(err, sealbox.ErrCorrupt) {
			t.Fatalf("flipped byte: %v, want ErrCorrupt", err)
		}
		// A plaintext blob from before encryption opens only if it is what its key says.
		rs.store.Put(ctx, blob.KeyOf("o3", png), png)
		if got, err := s.Get(ctx, blob.KeyOf("o3", png)); err != nil || !bytes.Equal(got, png) {
			t.Fatalf("legacy plaintext: %v", err)
		}
		rs.store.Put(ctx, blob.KeyOf("o3", jpeg), png)
		if _, err := s.Get(ctx, blob.KeyOf("o3", jpeg)); !errors.Is(err, sealbox.ErrCorrupt) {
			t.Fatalf("planted plaintext: %v, want ErrCorrupt", err)
		}
	})
}

// TestReseal: after a rotation (k2 first, k1 kept) Reseal moves blobs to k2, skips those
// already there, and then k2 alone reads everything.
func TestReseal(t *testing.T) {
	forEachStore(t, func(t *testing.T, rs rawStore, ctx context.Context) {
		old := blob.NewSealed(rs.store, ring(t, "k1"))
		imgs := [][]byte{[]byte("image one"), []byte("image two")}
		for _, img := range imgs {
			old.Put(ctx, blob.KeyOf("o1", img), img)
		}
		legacy := []byte("plaintext from before encryption")
		rs.store.Put(ctx, blob.KeyOf("o1", legacy), legacy)
		imgs = append(imgs, legacy)
		rotated := blob.NewSealed(rs.store, ring(t, "k2", "k1"))
		for pass, want := range []bool{true, false} {
			for _, img := range imgs {
				changed, err := rotated.Reseal(ctx, blob.KeyOf("o1", img))
				if err != nil || changed != want {
					t.Fatalf("pass %d: changed %v, err %v; want changed %v", pass, changed, err, want)
				}
			}
		}
		only := blob.NewSealed(rs.store, ring(t, "k2"))
		for _, img := range imgs {
			raw, _ := rs.store.Get(ctx, blob.KeyOf("o1", img))
			if id, _ := sealbox.KeyID(raw); id != "k2" {
				t.Errorf("key id %q after reseal", id)
			}
			if got, err := only.Get(ctx, blob.KeyOf("o1", img)); err != nil || !bytes.Equal(got, img) {
				t.Fatalf("k2 alone: %q, %v", got, err)
			}
		}
	})
}
