package server_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

// medianDur of d (sorted in place).
func medianDur(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// meanDur of d.
func meanDur(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

// decodeOnce is one full image/jpeg decode of img, timed.
func decodeOnce(b *testing.B, img []byte) time.Duration {
	t0 := time.Now()
	if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// writeFsyncOnce writes img to a file in dir and fsyncs it, timed.
func writeFsyncOnce(b *testing.B, dir string, img []byte) time.Duration {
	return writeFsync(b, filepath.Join(dir, "raw"), img)
}

// writeFsync writes img to path and fsyncs it, timed.
func writeFsync(b *testing.B, path string, img []byte) time.Duration {
	t0 := time.Now()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(img); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return time.Since(t0)
}

// steps sums the server's own image step timings (images.Options.Observe) from the moment
// it is reset: what the image worker spent decoding and analysing.
type steps struct {
	mu      sync.Mutex
	decode  time.Duration
	analyse time.Duration
	n       int
}

func (s *steps) observe(step string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch step {
	case "decode":
		s.decode += d
		s.n++
	case "analyse":
		s.analyse += d
	}
}

func (s *steps) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decode, s.analyse, s.n = 0, 0, 0
}

// report reports the mean decode and analysis per upload and decode ÷ (decode + analysis),
// the most uploads ÷ decodes one worker can reach.
func (s *steps) report(b *testing.B) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(s.n) }
	b.ReportMetric(ms(s.decode), "server-decode-ms")
	b.ReportMetric(ms(s.analyse), "server-analyse-ms")
	b.ReportMetric(float64(s.decode)/float64(s.decode+s.analyse), "decode/(decode+analyse)")
}

// BenchmarkAckRatio12MP is the acknowledgment bar with its reference interleaved in
// one loop, so that a shared machine's load falls on both alike: per iteration a phone's
// upload of a 12 MP JPEG (3.9 MB) to an ID front (decode, quality, face detection, strip,
// sealed blob write with its fsyncs, Redis transaction) until its 201; one image/jpeg decode
// of the same bytes; one raw write+fsync of them on the same disk. It reports the medians
// and ack ÷ (decode + write+fsync), the bar being 1, and ack ÷ (decode + 2 × write+fsync),
// the bar before.
//
//	go test ./internal/server -run '^$' -bench AckRatio12MP -benchtime 15x -count 3
//
// It also reports the reference decode's mean (decode-mean-ms), the statistic of the
// server's own decode (server-decode-ms).
func BenchmarkAckRatio12MP(b *testing.B) {
	img := photo12MP(b)
	dir := benchDir(b)
	var st steps
	_, _, s := paired(b, func(c *server.Config) {
		c.DataDir = dir
		c.Images.Observe = st.observe
		// BENCH_PLAINTEXT_BLOBS=1 stores the image unsealed, to see what the sealing
		// beside the decode costs the acknowledgment.
		if os.Getenv("BENCH_PLAINTEXT_BLOBS") != "" {
			server.PlaintextBlobs(c)
		}
	})
	ctx := context.Background()
	var ack, dec, fs []time.Duration
	st.reset()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", ""); err != nil {
			b.Fatal(err)
		}
		ack = append(ack, time.Since(t0))
		dec = append(dec, decodeOnce(b, img))
		fs = append(fs, writeFsyncOnce(b, dir, img))
	}
	b.StopTimer()
	a, d, w := medianDur(ack), medianDur(dec), medianDur(fs)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(a), "ack-ms")
	b.ReportMetric(ms(d), "decode-ms")
	// The server's decode is reported as a mean (steps.report); so is the reference's here,
	// to compare like with like.
	b.ReportMetric(ms(meanDur(dec)), "decode-mean-ms")
	b.ReportMetric(ms(w), "write+fsync-ms")
	b.ReportMetric(float64(a)/float64(d+w), "ack/(decode+1fsync)")
	b.ReportMetric(float64(a)/float64(d+2*w), "ack/(decode+2fsync)")
	st.report(b)
}

// BenchmarkThroughputOneWorker is the bar of throughput per core: one image worker, four
// phones (four orders) uploading the 12 MP photo to an ID front at once, b.N uploads each;
// uploads per second against one goroutine's decodes per second of the same bytes, measured
// right before and right after in the same run (their mean). The goal: uploads/s ≥ 0.9 ×
// decodes/s (the pipeline adds at most 10 % to the decoder's own cost). It also reports the
// server's own decode and analysis per upload (its step timings) and decode ÷ (decode +
// analysis): what the worker does beyond the decode, free of the reference's noise.
//
//	go test ./internal/server -run '^$' -bench ThroughputOneWorker -benchtime 6x -count 3
func BenchmarkThroughputOneWorker(b *testing.B) {
	img := photo12MP(b)
	var st steps
	m := start(b, func(c *server.Config) { c.DataDir = benchDir(b); c.ImageWorkers = 1; c.Images.Observe = st.observe })
	const phones = 4
	var sessions []*appsim.Session
	for range phones {
		_, s := pairedOrder(b, m)
		sessions = append(sessions, s)
	}
	decodeRate := func() float64 {
		t0 := time.Now()
		const n = 4
		for range n {
			decodeOnce(b, img)
		}
		return n / time.Since(t0).Seconds()
	}
	ctx := context.Background()
	// One upload each first: the server's first decode and the cascade's unpacking.
	for _, s := range sessions {
		if _, err := s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", ""); err != nil {
			b.Fatal(err)
		}
	}
	before := decodeRate()
	st.reset()
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range b.N {
				if _, err := s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", ""); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	after := decodeRate()
	up := float64(phones*b.N) / elapsed.Seconds()
	dr := (before + after) / 2
	b.ReportMetric(up, "uploads/s")
	b.ReportMetric(dr, "decodes/s")
	b.ReportMetric(up/dr, "uploads/decodes")
	st.report(b)
}
