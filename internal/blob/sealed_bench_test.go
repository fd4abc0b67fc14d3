package blob

import (
	"context"
	"strconv"
	"testing"

	"github.com/beianscan/beianscan/internal/sealbox"
)

// BenchmarkSealedPut3_5MB is BenchmarkPut3_5MB through the encrypting wrapper: the
// difference is the cost of AES-256-GCM on the write path.
func BenchmarkSealedPut3_5MB(b *testing.B) {
	d, err := NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s := NewSealed(d, sealbox.Random())
	data := benchData(b)
	ctx := context.Background()
	if err := s.Put(ctx, keyOf("bench", []byte("warm")), []byte("warm")); err != nil {
		b.Fatal(err)
	}
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = keyOf("bench", []byte(strconv.Itoa(i)))
	}
	b.SetBytes(size35MB)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Put(ctx, keys[i], data); err != nil {
			b.Fatal(err)
		}
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
	key := keyOf("bench", data)
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
