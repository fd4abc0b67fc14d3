package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

// Benchmarks of the webhooks through the HTTP server (docs/benchmarks.md, "Webhooks
// (issue 19)"):
//
//	go test ./internal/server -run '^$' -bench 'UploadAckWebhooks' -benchtime 8x
//	go test ./internal/server -run '^$' -bench 'WebhooksUnderUploadLoad' -benchtime 1x -timeout 30m

// hookReceiver is the back office of the benchmarks: it verifies every request's signature
// with the Standard Webhooks library, notes when each webhook-id first arrived, and answers
// 204 after delay (a slow receiver), or 503 at once while down.
type hookReceiver struct {
	hook  *standardwebhooks.Webhook
	delay time.Duration
	down  atomic.Bool
	mu    sync.Mutex
	first map[string]time.Time
	bad   atomic.Int64
	srv   *httptest.Server
}

func newHookReceiver(b *testing.B, secret string, delay time.Duration) *hookReceiver {
	hook, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		b.Fatal(err)
	}
	r := &hookReceiver{hook: hook, delay: delay, first: map[string]time.Time{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	b.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	at := time.Now()
	if err := r.hook.Verify(body, req.Header); err != nil {
		r.bad.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	if _, ok := r.first[id]; !ok {
		r.first[id] = at
	}
	r.mu.Unlock()
	if r.delay > 0 {
		// The receiver's own slowness, not a synchronisation.
		t := time.NewTimer(r.delay)
		select {
		case <-t.C:
		case <-req.Context().Done():
		}
		t.Stop()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *hookReceiver) arrived(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[id]
	return t, ok
}

func (r *hookReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.first)
}

// withWebhooks turns the webhooks of a benchmark server on, to rec, with a due index of its
// own.
func withWebhooks(rec *hookReceiver, secret string) func(*server.Config) {
	return func(c *server.Config) {
		c.WebhookURL, c.WebhookSecret = rec.srv.URL, secret
		c.LimitScope = "bench-wh-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
}

// loadAvg returns the 1-minute load average (/proc/loadavg), or -1.
func loadAvg() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
	if err != nil {
		return -1
	}
	return f
}

// BenchmarkUploadAckWebhooks: a phone's 3.5 MB upload until its 201, on a server with
// webhooks on (a healthy receiver) and on two with them off, in the same process and on
// the same Redis and disk, interleaved: each of b.N rounds uploads 3 times to each server,
// the order of the servers rotating from round to round. The second server without
// webhooks is the noise floor: off2/off is what two identical servers differ by in this
// run. An upload produces no webhook; what the outbox adds to it is the deletion watch its
// change rewrites (and the deliverer's poll beside it).
func BenchmarkUploadAckWebhooks(b *testing.B) {
	img := photo35MB(b)
	secret := webhookSecret()
	rec := newHookReceiver(b, secret, 0)
	dir := benchDir(b)
	servers := []*server.Main{
		start(b, func(c *server.Config) { c.DataDir = dir }),
		start(b, func(c *server.Config) { c.DataDir = dir; withWebhooks(rec, secret)(c) }),
		start(b, func(c *server.Config) { c.DataDir = dir }),
	}
	names := []string{"off", "on", "off2"}
	sessions := make([]*appsim.Session, len(servers))
	for i, m := range servers {
		_, sessions[i] = pairedOrder(b, m)
	}
	ctx := context.Background()
	upload := func(s *appsim.Session) time.Duration {
		t0 := time.Now()
		if _, err := s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", ""); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	for _, s := range sessions {
		upload(s) // warm each
	}
	load0 := loadAvg()
	took := make([][]time.Duration, len(servers))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range servers {
			j := (i + k) % len(servers)
			for range 3 {
				took[j] = append(took[j], upload(sessions[j]))
			}
		}
	}
	b.StopTimer()
	mean := func(d []time.Duration) float64 {
		var s time.Duration
		for _, x := range d {
			s += x
		}
		return float64(s) / float64(len(d))
	}
	for j, name := range names {
		b.ReportMetric(median(took[j]), name+"-p50-ms")
	}
	b.ReportMetric(median(took[1])/median(took[0]), "on/off-p50")
	b.ReportMetric(mean(took[1])/mean(took[0]), "on/off-mean")
	b.ReportMetric(median(took[2])/median(took[0]), "off2/off-p50")
	b.ReportMetric(mean(took[2])/mean(took[0]), "off2/off-mean")
	b.ReportMetric(load0, "load1-start")
	b.ReportMetric(loadAvg(), "load1-end")
}

// BenchmarkWebhooksUnderUploadLoad: BENCH_ORDERS (default 200) orders, each with a paired
// phone and a desktop websocket, upload a 12 MP photo all at once (a phone answered 503
// retries after its Retry-After, as the app does), for at most BENCH_WINDOW (90 s; the
// uploads still under way then are abandoned). Meanwhile a back office creates an order
// every 100 ms through the API; per creation, the time from its 201 to the receiver (which
// verifies the signature) having its order.created. Beside it in the same run: a plain POST
// of the same size to a loopback server every 100 ms (the reference), each upload's time
// from sending to its 201, and each upload's 201 → its desktop's material_uploaded frame.
// Sub-benchmarks: a healthy receiver, one that takes 2 s per answer, one that is down
// (503); uploads' acks and frames should not move between them.
func BenchmarkWebhooksUnderUploadLoad(b *testing.B) {
	img := photo12MP(b)
	n := envInt("BENCH_ORDERS", 200)
	for _, rc := range []struct {
		name  string
		delay time.Duration
		down  bool
	}{{"receiver=healthy", 0, false}, {"receiver=slow2s", 2 * time.Second, false}, {"receiver=down", 0, true}} {
		b.Run(rc.name, func(b *testing.B) {
			for range b.N {
				webhooksUnderLoad(b, img, n, rc.delay, rc.down)
			}
		})
	}
}

// benchWindow is how long BenchmarkWebhooksUnderUploadLoad measures under the load:
// BENCH_WINDOW (a Go duration), default 90 s.
func benchWindow() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("BENCH_WINDOW")); err == nil && d > 0 {
		return d
	}
	return 90 * time.Second
}

func webhooksUnderLoad(b *testing.B, img []byte, n int, delay time.Duration, down bool) {
	secret := webhookSecret()
	rec := newHookReceiver(b, secret, delay)
	m := start(b, func(c *server.Config) {
		c.DataDir = benchDir(b)
		c.UploadsPerIP = -1 // every phone of the benchmark is on one loopback address
		withWebhooks(rec, secret)(c)
	})
	slots := uploaders(b, m, n)
	rec.down.Store(down)
	if delay == 0 && !down {
		// A healthy receiver has the setup's order.created before the load starts.
		deadline := time.Now().Add(30 * time.Second)
		for rec.count() < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // polling with a deadline
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Timeout: 30 * time.Second}
	// The back office's creations, and the reference POSTs, every 100 ms until the uploads
	// are done.
	type creation struct {
		id    string
		acked time.Time
	}
	var cmu sync.Mutex
	var created []creation
	var createFailed atomic.Int64
	body, _ := json.Marshal(gdIndividual())
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer plain.Close()
	var ref []time.Duration
	loadDone := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		every(100*time.Millisecond, loadDone, func() bool {
			resp, err := client.Post(m.URL+"/api/v1/orders", "application/json", bytes.NewReader(body))
			if err != nil {
				createFailed.Add(1)
				return true
			}
			acked := time.Now()
			var out struct {
				Order struct {
					ID string `json:"id"`
				} `json:"order"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusCreated {
				createFailed.Add(1)
				return true
			}
			cmu.Lock()
			created = append(created, creation{out.Order.ID, acked})
			cmu.Unlock()
			return true
		})
	})
	bg.Go(func() {
		payload := bytes.Repeat([]byte("x"), 180)
		every(100*time.Millisecond, loadDone, func() bool {
			t0 := time.Now()
			resp, err := client.Post(plain.URL, "application/json", bytes.NewReader(payload))
			if err == nil {
				resp.Body.Close()
				ref = append(ref, time.Since(t0))
			}
			return true
		})
	})

	var refused, failed atomic.Int64
	load0 := loadAvg()
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for _, sl := range slots {
		wg.Go(func() {
			for {
				sl.tries++
				start := time.Now()
				_, err := sl.s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", "")
				if err == nil {
					sl.ackAt = time.Now().UnixNano()
					sl.took = time.Since(start)
					return
				}
				var ae *appsim.APIError
				if errors.As(err, &ae) && ae.Code == "unavailable" && sl.tries < 100 {
					refused.Add(1)
					wait := time.Second // Retry-After, as the app obeys it
					if v, ok := ae.Details["retry_after_seconds"].(float64); ok && v >= 1 {
						wait = time.Duration(v) * time.Second
					}
					select {
					case <-time.After(wait):
					case <-ctx.Done():
						return
					}
					continue
				}
				if ctx.Err() != nil {
					return // abandoned at the window's end
				}
				failed.Add(1)
				b.Error(err)
				return
			}
		})
	}
	// The window: while it lasts, all n orders are uploading or waiting to (on 2 cores 200
	// 12 MP photos take minutes); then the uploads still under way are abandoned.
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	window := time.NewTimer(benchWindow())
	select {
	case <-finished:
	case <-window.C:
		cancel()
		<-finished
	}
	window.Stop()
	elapsed := time.Since(t0)
	b.StopTimer()
	close(loadDone)
	bg.Wait()
	load1 := loadAvg()

	var frames, acks []time.Duration
	deadline := time.Now().Add(10 * time.Second)
	for _, sl := range slots {
		if sl.ackAt == 0 {
			continue
		}
		acks = append(acks, sl.took)
		for sl.frameAt.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // polling with a deadline
		}
		if f := sl.frameAt.Load(); f != 0 {
			frames = append(frames, time.Duration(f-sl.ackAt))
		}
	}
	// The creations' webhooks: a healthy receiver gets the last ones within a few seconds.
	var hooks []time.Duration
	wait := time.Now().Add(10 * time.Second)
	if delay > 0 || down {
		wait = time.Now() // what has arrived by now
	}
	cmu.Lock()
	defer cmu.Unlock()
	for _, c := range created {
		for {
			if at, ok := rec.arrived("wh_" + c.id + "_1_created"); ok {
				hooks = append(hooks, at.Sub(c.acked))
				break
			}
			if time.Now().After(wait) {
				break
			}
			time.Sleep(5 * time.Millisecond) // polling with a deadline
		}
	}
	if rec.bad.Load() > 0 {
		b.Errorf("%d requests failed the signature check", rec.bad.Load())
	}
	report(b, "upload-ack", acks)
	report(b, "ack→frame", frames)
	if len(hooks) > 0 {
		report(b, "ack→receiver", hooks)
	}
	report(b, "raw-post", ref)
	b.ReportMetric(float64(len(created)), "creations")
	b.ReportMetric(float64(len(hooks)), "webhooks-arrived")
	b.ReportMetric(float64(createFailed.Load()), "creations-failed")
	b.ReportMetric(float64(refused.Load()), "503s")
	b.ReportMetric(float64(len(acks)), "uploads-acked")
	b.ReportMetric(elapsed.Seconds(), "wall-s")
	b.ReportMetric(load0, "load1-start")
	b.ReportMetric(load1, "load1-end")
	if len(frames) < len(acks) {
		b.Errorf("%d frames for %d acknowledged uploads", len(frames), len(acks))
	}
	fmt.Fprintf(os.Stderr, "%s: %d uploads in %v, %d creations, %d webhooks arrived\n", b.Name(), len(acks), elapsed.Round(time.Second), len(created), len(hooks))
}
