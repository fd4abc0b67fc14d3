package server_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/blob/s3test"
	"github.com/beianscan/beianscan/internal/server"
)

// BenchmarkUploadAckStores is BenchmarkUploadAck on each blob store, side by side: the
// file store with images in plaintext (the reference), the file store encrypted (the
// default), and S3 (versitygw, its folder on the same disk) encrypted. Each iteration
// uploads the same photo to each of the three in turn, so that the load of a shared
// machine falls on all three alike; it reports the median of each and their ratios.
func BenchmarkUploadAckStores(b *testing.B) {
	img := photo35MB(b)
	srv := s3test.Start(b)
	bucket := srv.Bucket(b)
	stores := []struct {
		name string
		use  func(*server.Config)
	}{
		{"plain", func(c *server.Config) { c.DataDir = benchDir(b); server.PlaintextBlobs(c) }},
		{"enc", func(c *server.Config) { c.DataDir = benchDir(b) }},
		{"s3", func(c *server.Config) { c.BlobURL = srv.URL(bucket, "bench") }},
	}
	sessions := make([]*appsim.Session, len(stores))
	for i, st := range stores {
		_, _, sessions[i] = paired(b, st.use)
	}
	ctx := context.Background()
	took := make([][]time.Duration, len(stores))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, s := range sessions {
			t0 := time.Now()
			if _, err := s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", ""); err != nil {
				b.Fatal(err)
			}
			took[j] = append(took[j], time.Since(t0))
		}
	}
	b.StopTimer()
	med := make([]float64, len(stores))
	for j, st := range stores {
		med[j] = median(took[j])
		b.ReportMetric(med[j], st.name+"-ms")
	}
	b.ReportMetric(med[1]/med[0], "enc/plain")
	b.ReportMetric(med[2]/med[1], "s3/file")
}

func median(d []time.Duration) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}
