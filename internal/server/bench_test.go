package server_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/server"
)

// photo35MB is a 3.5 MB-class JPEG photo: a colourful, textured scene at a size and
// quality that put it just under 4 MiB, like a phone's photo of a document.
var photo35MB = lazyPhoto(func(tb testing.TB) []byte {
	const w, h = 3000, 2250
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewSource(35))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8(rng.Intn(48))
			img.Set(x, y, color.RGBA{uint8(x*255/w) + n/2, uint8(y*255/h) + n/2, 128 + n, 255})
		}
	}
	var photo []byte
	for q := 95; q >= 50; q -= 5 {
		var buf bytes.Buffer
		jpeg.Encode(&buf, img, &jpeg.Options{Quality: q})
		photo = buf.Bytes()
		if len(photo) < 4<<20 {
			break
		}
	}
	if len(photo) >= 4<<20 || len(photo) < 3<<20 {
		tb.Fatalf("test photo is %d bytes, want 3–4 MiB", len(photo))
	}
	return photo
})

// paired returns a server and a phone session on an app order.
func paired(b *testing.B, mutate func(*server.Config)) (*server.Main, order, *appsim.Session) {
	b.Helper()
	m := start(b, mutate)
	o, s := pairedOrder(b, m)
	return m, o, s
}

// pairedOrder creates an app order on m and claims its QR as a phone.
func pairedOrder(b *testing.B, m *server.Main) (order, *appsim.Session) {
	b.Helper()
	o := createOrder(b, m, gdIndividual())
	p := pairApp(b, o)
	_, code, _ := appsim.ParseScanURL(p["scan_url"].(string))
	s, err := (&appsim.Client{DeviceID: "bench"}).Claim(context.Background(), m.URL, code)
	if err != nil {
		b.Fatal(err)
	}
	return o, s
}

// BenchmarkUploadAck is the phone's view of a 3.5 MB upload: sent, validated, written,
// fsynced, recorded, acknowledged. BenchmarkRawWriteFsync writes the same bytes to the same
// disk with one fsync, the floor any durable upload stands on.
func BenchmarkUploadAck(b *testing.B) { benchUploadAck(b, photo35MB(b)) }

// benchUploadAck uploads img from one phone b.N times, on a server whose blobs are on the
// repository's disk (benchDir), each until its acknowledgment.
func benchUploadAck(b *testing.B, img []byte) {
	_, _, s := paired(b, func(c *server.Config) { c.DataDir = benchDir(b) })
	ctx := context.Background()
	b.SetBytes(int64(len(img)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadAckParallel is the same upload from as many phones at once as there are
// cores: the throughput one instance reaches when several people upload together.
func BenchmarkUploadAckParallel(b *testing.B) {
	img := photo35MB(b)
	m := start(b, func(c *server.Config) { c.DataDir = benchDir(b) })
	sessions := make(chan *appsim.Session, 64)
	for i := 0; i < cap(sessions); i++ {
		_, s := pairedOrder(b, m)
		sessions <- s
	}
	b.SetBytes(int64(len(img)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := <-sessions
		for pb.Next() {
			if _, err := s.Upload(context.Background(), "subject_leader_id_front", img, "image/jpeg", ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRawWriteFsync(b *testing.B) { benchWriteFsync(b, photo35MB(b)) }

// benchWriteFsync writes img to a file on the repository's disk (benchDir) and fsyncs it,
// b.N times: the floor under any durable upload of those bytes.
func benchWriteFsync(b *testing.B, img []byte) {
	dir := benchDir(b)
	b.SetBytes(int64(len(img)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		writeFsync(b, filepath.Join(dir, fmt.Sprintf("raw-%d", i%4)), img)
	}
}

// benchDir is on the same disk as the repository (not a tmpfs /tmp), so both sides of the
// comparison write to one device.
func benchDir(b *testing.B) string {
	dir, err := os.MkdirTemp(".", "bench-data-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	abs, _ := filepath.Abs(dir)
	return abs
}

// BenchmarkEventLatency measures, per upload, the time from the phone's acknowledgment to
// the desktop's material_uploaded frame, and from the request's start to that frame. The
// event is published inside the transaction that records the material, before the
// acknowledgment is written, so the first is often below zero; both are reported.
func BenchmarkEventLatency(b *testing.B) {
	m, o, s := paired(b, nil)
	conn, _ := dial(b, m.URL, o)
	small := appsim.SampleImage("subject_leader_id_front", 1)
	ctx := context.Background()
	frames := make(chan time.Time, 1)
	go func() {
		for {
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			var f map[string]any
			if err := conn.ReadJSON(&f); err != nil {
				close(frames)
				return
			}
			if f["type"] == "material_uploaded" {
				frames <- time.Now()
			}
		}
	}()
	afterAck := make([]time.Duration, 0, b.N)
	fromStart := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := s.Upload(ctx, "subject_leader_id_front", small, "image/jpeg", ""); err != nil {
			b.Fatal(err)
		}
		ack := time.Now()
		at, ok := <-frames
		if !ok {
			b.Fatal("websocket closed")
		}
		afterAck = append(afterAck, at.Sub(ack))
		fromStart = append(fromStart, at.Sub(t0))
	}
	b.StopTimer()
	report(b, "ack→frame", afterAck)
	report(b, "request→frame", fromStart)
}

func report(b *testing.B, name string, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), name+"-p50-ms")
	b.ReportMetric(q(0.99), name+"-p99-ms")
}

// BenchmarkClaim claims fresh pairings as fast as parallel phones can, through the
// service (no HTTP), beside BenchmarkRedisSET: plain SETs from the same client on the same
// Redis, the reference the design compares claims with.
func BenchmarkClaim(b *testing.B) {
	m := start(b, nil)
	svc := m.Service
	ctx := context.Background()
	// Enough app orders with a pairing each, made before the clock starts.
	codes := make(chan string, b.N)
	for i := 0; i < b.N; i++ {
		o := createOrder(b, m, gdIndividual())
		p := pairApp(b, o)
		_, code, _ := appsim.ParseScanURL(p["scan_url"].(string))
		codes <- code
	}
	close(codes)
	b.SetParallelism(25) // 50 clients on 2 cores, as redis-benchmark's default -c 50
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Claim(ctx, orders.ClaimInput{Code: <-codes, DeviceID: "bench-device", AppVersion: "3.16.0"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRedisSET(b *testing.B) {
	m := start(b, nil)
	var rdb redis.UniversalClient = m.Redis
	ctx := context.Background()
	b.SetParallelism(25)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := rdb.Set(ctx, "beian:bench:set", "x", time.Minute).Err(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
