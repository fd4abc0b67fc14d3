package blob

import (
	"context"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/sealbox"
)

// BenchmarkSealedPut3_5MB alternates a plaintext Put and an encrypted one of the same
// 3.5 MB on the same disk, so that a shared machine's load falls on both alike, and
// reports the median of each and their ratio: the cost of AES-256-GCM on the write path.
func BenchmarkSealedPut3_5MB(b *testing.B) {
	d, err := NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s := NewSealed(d, sealbox.Random())
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
	d, err := NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s := NewSealed(d, sealbox.Random())
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

func medianMS(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}
