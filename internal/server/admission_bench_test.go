package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

// photo12MP is a 4000×3000 JPEG of about 3.5 MB, like a phone's photo.
var photo12MP = lazyPhoto(func(tb testing.TB) []byte { return photoJPEG(tb, 4000, 3000, 40, 85) })

// procsAsTheCommand sets GOMAXPROCS to what cmd/beianscan runs with (admission.Procs),
// unless the GOMAXPROCS variable is set, and returns the undo. A benchmark of the server as
// it runs calls it; GOMAXPROCS=2 shows the server with as many Ps as cores.
func procsAsTheCommand() func() {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	old := runtime.GOMAXPROCS(admission.Procs())
	return func() { runtime.GOMAXPROCS(old) }
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkEventsUnderUploadLoad is docs/benchmarks.md's event bar: BENCH_ORDERS (default 200)
// orders, each with a paired phone and a desktop websocket, upload a 12 MP photo all at
// once; per upload, the time from the phone's 201 to its desktop's material_uploaded
// frame. Beside it, under the same load, a raw Redis PUBLISH→SUBSCRIBE round trip (one
// publisher every 2 ms, one subscriber, own connections), from another process and from
// this one. A phone answered 503 unavailable retries after its Retry-After
// (details.retry_after_seconds), as the app does. Sub-benchmarks: image workers unbounded without a budget (as before admission),
// 2, and 1 (cores − 1 here, the default). It also reports upload throughput. It runs with
// GOMAXPROCS at admission.Procs, as cmd/beianscan does, unless GOMAXPROCS is set:
//
//	go test ./internal/server -run '^$' -bench EventsUnderUploadLoad -benchtime 1x -timeout 30m
//	GOMAXPROCS=2 go test ./internal/server -run '^$' -bench 'EventsUnderUploadLoad/workers=1' -benchtime 1x
func BenchmarkEventsUnderUploadLoad(b *testing.B) {
	img := photo12MP(b)
	n := envInt("BENCH_ORDERS", 200)
	for _, w := range []int{-1, 2, 1} {
		name := "workers=" + strconv.Itoa(w)
		if w < 0 {
			name = "workers=unbounded"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				eventsUnderLoad(b, img, n, w)
			}
		})
	}
}

func eventsUnderLoad(b *testing.B, img []byte, n, workers int) {
	defer procsAsTheCommand()()
	m := start(b, func(c *server.Config) {
		c.DataDir = benchDir(b)
		c.ImageWorkers = workers
		// 200 phones on 200 networks: here they all come from 127.0.0.1, whose cap of
		// uploads in flight (32) would refuse most of them with 429.
		c.UploadsPerIP = -1
		if workers < 0 {
			c.DecodeMemory = -1
		}
	})
	if budget := m.Images.Memory(); budget > 0 { // as cmd/beianscan sets it
		old := debug.SetMemoryLimit(admission.SoftLimit(budget, admission.DefaultBodyMemory))
		defer debug.SetMemoryLimit(old)
	}
	slots := uploaders(b, m, n)

	// The reference: raw PUBLISH→SUBSCRIBE on the same Redis, under the same load.
	var opts *redis.Options
	if u := redisURL(); u != "" {
		opts, _ = redis.ParseURL(u)
	} else {
		opts = &redis.Options{Addr: m.Mini.Addr()}
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := fmt.Sprintf("beian:bench:ping:%d", time.Now().UnixNano())
	ps := rdb.Subscribe(ctx, ch)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		b.Fatal(err)
	}
	var refMu sync.Mutex
	var ref []time.Duration
	refDone := make(chan struct{})
	go func() {
		defer close(refDone)
		for {
			msg, err := ps.ReceiveMessage(ctx)
			if err != nil {
				return
			}
			sent, _ := strconv.ParseInt(msg.Payload, 10, 64)
			d := time.Duration(time.Now().UnixNano() - sent)
			refMu.Lock()
			ref = append(ref, d)
			refMu.Unlock()
		}
	}()
	loadDone := make(chan struct{})
	go every(2*time.Millisecond, loadDone, func() bool {
		rdb.Publish(ctx, ch, strconv.FormatInt(time.Now().UnixNano(), 10))
		return true
	})

	// The same round trip from another process, which the server's goroutines cannot
	// crowd out of the Go scheduler: only the machine's load and Redis stand in its way.
	probe := exec.Command(os.Args[0], "-test.run=^TestHelperPubSubProbe$")
	probe.Env = append(os.Environ(), "BEIANSCAN_PUBSUB_PROBE="+opts.Addr)
	probeIn, _ := probe.StdinPipe()
	var probeOut strings.Builder
	probe.Stdout = &probeOut
	if err := probe.Start(); err != nil {
		b.Fatal(err)
	}

	var refused, failed atomic.Int64
	runtime.GC()
	resetPeakRSS(b)
	rss0 := vmKB("VmRSS")
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for _, sl := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				sl.tries++
				_, err := sl.s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", "")
				if err == nil {
					sl.ackAt = time.Now().UnixNano()
					return
				}
				var ae *appsim.APIError
				if errors.As(err, &ae) && ae.Code == "unavailable" && sl.tries < 100 {
					refused.Add(1)
					wait := time.Second // Retry-After, as the app obeys it
					if v, ok := ae.Details["retry_after_seconds"].(float64); ok && v >= 1 {
						wait = time.Duration(v) * time.Second
					}
					time.Sleep(wait)
					continue
				}
				failed.Add(1)
				b.Error(err)
				return
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	close(loadDone)
	// Frames of the last acknowledgments may still be on their way.
	deadline := time.Now().Add(10 * time.Second)
	var lat []time.Duration
	for _, sl := range slots {
		if sl.ackAt == 0 {
			continue
		}
		for sl.frameAt.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if f := sl.frameAt.Load(); f != 0 {
			lat = append(lat, time.Duration(f-sl.ackAt))
		}
	}
	cancel()
	ps.Close() // ReceiveMessage does not return on ctx's end alone
	<-refDone
	probeIn.Close()
	if err := probe.Wait(); err != nil {
		b.Fatalf("probe: %v %s", err, probeOut.String())
	}
	var ext []time.Duration
	for _, l := range strings.Fields(probeOut.String()) {
		if v, err := strconv.ParseInt(l, 10, 64); err == nil {
			ext = append(ext, time.Duration(v))
		}
	}
	if len(ext) == 0 {
		b.Fatalf("probe measured nothing: %s", probeOut.String())
	}
	report(b, "pubsub-other-process", ext)
	if len(lat) < n-int(failed.Load()) {
		b.Errorf("%d frames for %d acknowledged uploads", len(lat), n-int(failed.Load()))
	}
	report(b, "ack→frame", lat)
	refMu.Lock()
	report(b, "pubsub-same-process", ref)
	refMu.Unlock()
	b.ReportMetric(float64(vmKB("VmHWM")-rss0)/1024, "peak-RSS-over-start-MiB")
	b.ReportMetric(elapsed.Seconds(), "wall-s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "uploads/s")
	b.ReportMetric(float64(refused.Load()), "503s")
}

// TestHelperPubSubProbe is the other-process side of BenchmarkEventsUnderUploadLoad's
// reference: with BEIANSCAN_PUBSUB_PROBE=host:port it publishes its clock on a channel of
// its own every 2 ms and subscribes to it until its standard input closes, then prints
// each round trip in nanoseconds. Without the variable it does nothing.
func TestHelperPubSubProbe(t *testing.T) {
	addr := os.Getenv("BEIANSCAN_PUBSUB_PROBE")
	if addr == "" {
		t.Skip("the benchmark's helper process")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx := context.Background()
	ch := fmt.Sprintf("beian:bench:probe:%d:%d", os.Getpid(), time.Now().UnixNano())
	ps := rdb.Subscribe(ctx, ch)
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	got := make(chan []time.Duration)
	go func() {
		var d []time.Duration
		for {
			msg, err := ps.ReceiveMessage(ctx)
			if err != nil {
				got <- d
				return
			}
			sent, _ := strconv.ParseInt(msg.Payload, 10, 64)
			d = append(d, time.Duration(time.Now().UnixNano()-sent))
		}
	}()
	every(2*time.Millisecond, stop, func() bool {
		rdb.Publish(ctx, ch, strconv.FormatInt(time.Now().UnixNano(), 10))
		return true
	})
	time.Sleep(50 * time.Millisecond) // the last messages in flight
	ps.Close()
	for _, d := range <-got {
		fmt.Println(int64(d))
	}
}

// BenchmarkMemory8x36MP is docs/benchmarks.md's memory bar: 8 parallel desktop uploads of a 36 MP
// photo (54 MB decoded each); it reports the process's peak RSS (VmHWM, reset before each
// case through /proc/self/clear_refs) and peak heap, against the decode budget. Cases: no
// admission (as before it), the defaults (512 MiB, cores − 1 workers, soft memory limit as
// cmd/beianscan sets it), and a 128 MiB budget with unbounded workers (the budget alone).
//
//	go test ./internal/server -run '^$' -bench Memory8x36MP -benchtime 1x
func BenchmarkMemory8x36MP(b *testing.B) {
	img := photo36MP(b)
	for _, tc := range []struct {
		name    string
		memory  int64
		workers int
	}{
		{"admission=off", -1, -1},
		{"defaults", 0, 0},
		{"budget=128MiB,workers=unbounded", 128 << 20, -1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				m := start(b, func(c *server.Config) {
					c.DataDir = benchDir(b)
					c.DecodeMemory, c.ImageWorkers = tc.memory, tc.workers
				})
				budget := m.Images.Memory()
				if budget > 0 {
					old := debug.SetMemoryLimit(admission.SoftLimit(budget, admission.DefaultBodyMemory))
					defer debug.SetMemoryLimit(old)
				}
				var ords []order
				for range 8 {
					ords = append(ords, orderWith(b, m, "pc"))
				}
				runtime.GC()
				base := heapNow()
				resetPeakRSS(b)
				rss0 := vmKB("VmRSS")
				stop := make(chan struct{})
				peakc := heapPeak(stop)
				b.ResetTimer()
				var wg sync.WaitGroup
				for _, o := range ords {
					wg.Add(1)
					go func() {
						defer wg.Done()
						// A 503 after the admission's wait (a loaded machine: one worker, 36 MP
						// decodes of seconds) is retried after its Retry-After, as clients do.
						for try := 0; ; try++ {
							st, body, _, err := rawPut(o, "subject_leader_id_front", img)
							if err == nil && st == http.StatusServiceUnavailable && try < 20 {
								time.Sleep(time.Second)
								continue
							}
							if err != nil || st != http.StatusCreated {
								b.Errorf("upload: %d %v %v", st, body, err)
							}
							return
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				close(stop)
				peak := <-peakc
				b.ReportMetric(float64(peak-base)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(vmKB("VmHWM")-rss0)/1024, "peak-RSS-over-start-MiB")
				b.ReportMetric(float64(max(budget, 0))/(1<<20), "budget-MiB")
			}
		})
	}
}

// resetPeakRSS resets the kernel's VmHWM for this process (proc(5), clear_refs 5).
func resetPeakRSS(b testing.TB) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS (%v): needs Linux /proc", err)
	}
}

// vmKB reads a kB field of /proc/self/status.
func vmKB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v
		}
	}
	return 0
}

// BenchmarkAck12MP is docs/benchmarks.md's acknowledgment bar, each part in the same run: a phone's
// upload of a 12 MP JPEG (about 3.5 MB) until its 201, one full decode of the same bytes
// with image/jpeg, and one raw write+fsync of them on the same disk. The bar: ack ≤
// decode + 1 × write+fsync (the write overlaps the decode; BenchmarkAckRatio12MP measures
// the three interleaved and reports the ratio).
//
//	go test ./internal/server -run '^$' -bench Ack12MP -benchtime 10x -count 3
func BenchmarkAck12MP(b *testing.B) {
	img := photo12MP(b)
	b.Run("ack", func(b *testing.B) { benchUploadAck(b, img) })
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(img)))
		for range b.N {
			if _, err := jpeg.Decode(bytes.NewReader(img)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write+fsync", func(b *testing.B) { benchWriteFsync(b, img) })
}

// uploader is one order of the upload-load benchmarks: its paired phone, and the times
// of its upload's answer and of its desktop's material_uploaded frame.
type uploader struct {
	s       *appsim.Session
	frameAt atomic.Int64
	ackAt   int64
	took    time.Duration
	tries   int
}

// uploaders pairs n orders on m, each with its desktop's websocket noting when its
// material_uploaded frame arrives.
func uploaders(b *testing.B, m *server.Main, n int) []*uploader {
	b.Helper()
	slots := make([]*uploader, n)
	for i := range slots {
		o, s := pairedOrder(b, m)
		conn, _ := dial(b, m.URL, o)
		sl := &uploader{s: s}
		slots[i] = sl
		go func() {
			for {
				conn.SetReadDeadline(time.Now().Add(10 * time.Minute))
				var f map[string]any
				if err := conn.ReadJSON(&f); err != nil {
					return
				}
				if f["type"] == "material_uploaded" {
					sl.frameAt.CompareAndSwap(0, time.Now().UnixNano())
				}
			}
		}()
	}
	return slots
}
