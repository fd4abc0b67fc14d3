package server_test

import (
	"context"
	"testing"

	"github.com/beianscan/beianscan/internal/blob/s3test"
	"github.com/beianscan/beianscan/internal/server"
)

// BenchmarkUploadAckStores is BenchmarkUploadAck on each blob store, side by side in one
// run: the file store with images in plaintext (the reference), the file store encrypted
// (the default), and S3 (versitygw on the same disk) encrypted.
func BenchmarkUploadAckStores(b *testing.B) {
	img := photo35MB(b)
	srv := s3test.Start(b)
	bucket := srv.Bucket(b)
	for _, c := range []struct {
		name string
		use  func(*server.Config)
	}{
		{"file-plaintext", func(c *server.Config) { c.DataDir = benchDir(b); server.PlaintextBlobs(c) }},
		{"file-encrypted", func(c *server.Config) { c.DataDir = benchDir(b) }},
		{"s3-encrypted", func(c *server.Config) { c.BlobURL = srv.URL(bucket, "bench") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			_, _, s := paired(b, c.use)
			ctx := context.Background()
			b.SetBytes(int64(len(img)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
