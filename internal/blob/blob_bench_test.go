package blob

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// size35MB is the size of the phone upload DESIGN §4 is about.
const size35MB = 3_500_000

func benchData(b *testing.B) []byte {
	b.Helper()
	data := make([]byte, size35MB)
	rand.Read(data)
	return data
}

// BenchmarkPut3_5MB measures a durable Put: temp file, write, fsync, rename, directory
// fsync. Every iteration uses a new key so each one creates a file as an upload does.
func BenchmarkPut3_5MB(b *testing.B) {
	d, err := NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	data := benchData(b)
	ctx := context.Background()
	// The order directory is created (and its parent synced) once, as for one order
	// receiving many uploads.
	if err := d.Put(ctx, KeyOf("bench", []byte("warm")), []byte("warm")); err != nil {
		b.Fatal(err)
	}
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = KeyOf("bench", []byte(strconv.Itoa(i)))
	}
	b.SetBytes(size35MB)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Put(ctx, keys[i], data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawWriteFsync3_5MB is the baseline: create, write, fsync and close a file of
// the same bytes in the same kind of directory, with no rename and no directory fsync.
func BenchmarkRawWriteFsync3_5MB(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "blobs", "bench")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	data := benchData(b)
	b.SetBytes(size35MB)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(i)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
