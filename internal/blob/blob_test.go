package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newDisk(t *testing.T) (*Disk, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	d, err := NewDisk(dir)
	if err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	return d, dir
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func readAll(t *testing.T, d *Disk, key string) []byte {
	t.Helper()
	rc, size, err := d.Open(testCtx(t), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if int64(len(got)) != size {
		t.Fatalf("Open size = %d, read %d bytes", size, len(got))
	}
	return got
}

func TestNewDiskCreatesPrivateDirs(t *testing.T) {
	_, dir := newDisk(t)
	for _, p := range []string{dir, filepath.Join(dir, "blobs")} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want dir 0700", p, st.Mode())
		}
	}
	if _, err := NewDisk(""); err == nil {
		t.Error("NewDisk(\"\") succeeded")
	}
}

func TestRoundTrip(t *testing.T) {
	d, dir := newDisk(t)
	ctx := testCtx(t)
	data := []byte("\xff\xd8\xff an image")
	key := KeyOf("ord_123-A", data)
	if err := d.Put(ctx, key, data); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := readAll(t, d, key); !bytes.Equal(got, data) {
		t.Fatalf("got %q, want %q", got, data)
	}
	st, err := os.Stat(filepath.Join(dir, "blobs", filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("blob mode %v, want 0600", st.Mode().Perm())
	}
	// Seeking works: handlers serve blobs with http.ServeContent.
	rc, _, err := d.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := rc.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(rc)
	if string(rest) != string(data[4:]) {
		t.Errorf("after seek got %q", rest)
	}
}

func TestEmptyBlob(t *testing.T) {
	d, _ := newDisk(t)
	key := KeyOf("o", nil)
	if err := d.Put(testCtx(t), key, nil); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, d, key); len(got) != 0 {
		t.Fatalf("got %d bytes", len(got))
	}
}

func TestOverwrite(t *testing.T) {
	d, _ := newDisk(t)
	ctx := testCtx(t)
	key := KeyOf("o1", []byte("first"))
	// The store does not check that the key matches the content (the caller hashes); an
	// overwrite must replace the bytes whole.
	for _, data := range [][]byte{[]byte("first"), []byte("first"), []byte("second, longer")} {
		if err := d.Put(ctx, key, data); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got := readAll(t, d, key); !bytes.Equal(got, data) {
			t.Fatalf("got %q, want %q", got, data)
		}
	}
}

func TestNotFound(t *testing.T) {
	d, _ := newDisk(t)
	ctx := testCtx(t)
	for name, key := range map[string]string{
		"no order dir": KeyOf("nobody", []byte("x")),
		"no file":      KeyOf("o1", []byte("y")),
	} {
		t.Run(name, func(t *testing.T) {
			if name == "no file" {
				if err := d.Put(ctx, KeyOf("o1", []byte("x")), []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			rc, _, err := d.Open(ctx, key)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Open err = %v, want ErrNotFound", err)
			}
			if rc != nil {
				t.Error("non-nil reader with ErrNotFound")
			}
		})
	}
}

func TestDelete(t *testing.T) {
	d, _ := newDisk(t)
	ctx := testCtx(t)
	data := []byte("to delete")
	key := KeyOf("o1", data)
	other := KeyOf("o1", []byte("keep"))
	if err := d.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, other, []byte("keep")); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := d.Open(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
	}
	if got := readAll(t, d, other); string(got) != "keep" {
		t.Fatalf("other blob = %q", got)
	}
	// Missing is not an error, whether the file or its order directory is missing.
	if err := d.Delete(ctx, key); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if err := d.Delete(ctx, KeyOf("never", data)); err != nil {
		t.Errorf("Delete of unknown order: %v", err)
	}
}

func TestBadKeys(t *testing.T) {
	d, dir := newDisk(t)
	ctx := testCtx(t)
	sum := strings.Repeat("ab", 32)
	// A file just outside the store that a traversal would reach.
	secret := filepath.Join(dir, sum)
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
	}{
		{"empty", ""},
		{"no slash", "order" + sum},
		{"empty order", "/" + sum},
		{"empty sum", "order/"},
		{"dotdot order", "../" + sum},
		{"dot order", "./" + sum},
		{"dotdot in sum", "order/../" + sum},
		{"traversal", "../../etc/passwd"},
		{"absolute", "/etc/" + sum},
		{"absolute order", filepath.Join(dir, "blobs") + "/" + sum},
		{"three parts", "a/b/" + sum},
		{"uppercase hex", "order/" + strings.ToUpper(sum)},
		{"short hex", "order/" + sum[:63]},
		{"long hex", "order/" + sum + "0"},
		{"non-hex", "order/" + strings.Repeat("g", 64)},
		{"order too long", strings.Repeat("a", 65) + "/" + sum},
		{"order with dot", "a.b/" + sum},
		{"order with space", "a b/" + sum},
		{"order with backslash", `a\..\b/` + sum},
		{"order with NUL", "a\x00/" + sum},
		{"non-ASCII order", "订单/" + sum},
		{"trailing slash", "order/" + sum + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.Put(ctx, tt.key, []byte("evil")); err == nil {
				t.Error("Put accepted the key")
			}
			if rc, _, err := d.Open(ctx, tt.key); err == nil || errors.Is(err, ErrNotFound) {
				if rc != nil {
					rc.Close()
				}
				t.Errorf("Open err = %v, want an invalid-key error", err)
			}
			if err := d.Delete(ctx, tt.key); err == nil {
				t.Error("Delete accepted the key")
			}
		})
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "secret" {
		t.Fatalf("file outside the store changed: %q, %v", b, err)
	}
	// The longest valid order id is accepted.
	if err := d.Put(ctx, strings.Repeat("Z", 64)+"/"+sum, []byte("ok")); err != nil {
		t.Errorf("64-character order id refused: %v", err)
	}
}

// TestNoTempFilesRemain checks that Put leaves nothing but the blob behind: no temporary
// file that a crash-recovery would have to clean, on success and on failure.
func TestNoTempFilesRemain(t *testing.T) {
	d, dir := newDisk(t)
	ctx := testCtx(t)
	for i := range 5 {
		data := bytes.Repeat([]byte{byte(i)}, 1000*(i+1))
		if err := d.Put(ctx, KeyOf("o1", data), data); err != nil {
			t.Fatal(err)
		}
	}
	// A Put whose rename fails (the target name is a non-empty directory) must clean up.
	blocked := KeyOf("o1", []byte("blocked"))
	if err := os.MkdirAll(filepath.Join(dir, "blobs", blocked, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, blocked, []byte("blocked")); err == nil {
		t.Fatal("Put over a directory succeeded")
	}
	var files int
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), tempPrefix) {
			t.Errorf("temporary file left: %s", path)
		}
		if !e.IsDir() {
			files++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 5 {
		t.Errorf("%d files in the store, want 5", files)
	}
}

func TestCanceledContext(t *testing.T) {
	d, _ := newDisk(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	key := KeyOf("o1", []byte("x"))
	if err := d.Put(ctx, key, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put err = %v, want context.Canceled", err)
	}
}

func TestConcurrentPutsSameKey(t *testing.T) {
	d, dir := newDisk(t)
	ctx := testCtx(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	key := KeyOf("busy-order", data)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- d.Put(ctx, key, data)
		}()
		// Readers running alongside see either nothing or the whole blob, never a torn one.
		go func() {
			defer wg.Done()
			rc, size, err := d.Open(ctx, key)
			if errors.Is(err, ErrNotFound) {
				return
			}
			if err != nil {
				errs <- err
				return
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				errs <- err
				return
			}
			if size != int64(len(data)) || !bytes.Equal(got, data) {
				errs <- errors.New("reader saw a partial blob")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := readAll(t, d, key); !bytes.Equal(got, data) {
		t.Fatal("final blob differs")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "busy-order"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("%d entries in the order directory, want 1", len(entries))
	}
}
