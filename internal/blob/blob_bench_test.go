package blob

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/sealbox"
)

// size35MB is the size of the phone upload docs/benchmarks.md is about.
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

// BenchmarkSealedPut3_5MB alternates a plaintext Put and an encrypted one of the same
// 3.5 MB on the same disk, so that a shared machine's load falls on both alike, and
// reports the median of each and their ratio: the cost of AES-256-GCM on the write path.
func BenchmarkSealedPut3_5MB(b *testing.B) {
	d, s := sealedDisk(b)
	data := benchData(b)
	ctx := context.Background()
	if err := d.Put(ctx, KeyOf("bench", []byte("warm")), []byte("warm")); err != nil {
		b.Fatal(err)
	}
	var plain, sealed []time.Duration
	b.SetBytes(2 * size35MB)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := d.Put(ctx, KeyOf("bench", []byte("p"+strconv.Itoa(i))), data); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := s.Put(ctx, KeyOf("bench", []byte("s"+strconv.Itoa(i))), data); err != nil {
			b.Fatal(err)
		}
		plain, sealed = append(plain, t1.Sub(t0)), append(sealed, time.Since(t1))
	}
	b.StopTimer()
	p, e := medianMS(plain), medianMS(sealed)
	b.ReportMetric(p, "plain-ms")
	b.ReportMetric(e, "sealed-ms")
	b.ReportMetric(e/p, "sealed/plain")
}

// BenchmarkSeal3_5MB is the encryption alone, in memory.
func BenchmarkSeal3_5MB(b *testing.B) {
	k := sealbox.Random()
	data := benchData(b)
	b.SetBytes(size35MB)
	for i := 0; i < b.N; i++ {
		k.Seal(data, []byte("order/key"))
	}
}

// BenchmarkSealedOpen3_5MB reads a blob back and decrypts it, as a GET of an image does.
func BenchmarkSealedOpen3_5MB(b *testing.B) {
	_, s := sealedDisk(b)
	data := benchData(b)
	ctx := context.Background()
	key := KeyOf("bench", data)
	if err := s.Put(ctx, key, data); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size35MB)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rc, _, err := s.Open(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}

// sealedDisk is a Disk in a fresh folder and a Sealed store on it under a random key.
func sealedDisk(b *testing.B) (*Disk, *Sealed) {
	d, err := NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return d, NewSealed(d, sealbox.Random())
}

func medianMS(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}
