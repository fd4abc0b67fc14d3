package webhook_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/webhook"
)

// percentiles reports p50 and p99 of ds in ms.
func percentiles(b *testing.B, prefix string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(ds[len(ds)/2]), prefix+"p50-ms")
	b.ReportMetric(ms(ds[len(ds)*99/100]), prefix+"p99-ms")
}

// BenchmarkAckToReceiver: from a change's acknowledgment (Update returned) to the receiver
// having the webhook, while 200 orders are written to continuously by 8 writers; beside it,
// in the same run, the reference: a plain signed-size POST to the same receiver.
func BenchmarkAckToReceiver(b *testing.B) {
	r := newRig(b)
	rec := newReceiver(b, r.secret)
	rec.strict = false
	got := map[string]time.Time{}
	var mu sync.Mutex
	arrived := make(chan struct{}, 1)
	rec.answer = func(_ int, id string) int {
		mu.Lock()
		got[id] = time.Now()
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
		return http.StatusNoContent
	}
	rec.start()
	store := redisstore.New(r.rdb, 0, redisstore.WithWebhooks(r.scope))
	r.store = store
	r.deliverer(store, rec.URL(), func(c *webhook.Config) { c.Now = time.Now; c.Workers = 8 })
	// Background: 200 orders, each changed in turn (upload-like writes, no webhooks).
	var load []string
	for range 200 {
		load = append(load, r.create(store))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for n := w; ; n += 8 {
				select {
				case <-stop:
					return
				default:
				}
				st := filing.StateDraft
				if n%2 == 0 {
					st = filing.StateUploaded
				}
				r.setState(store, load[n%len(load)], st)
			}
		})
	}
	var lat, ref []time.Duration
	client := &http.Client{}
	body := bytes.Repeat([]byte("x"), 180)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer plain.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := r.create(store)
		acked := time.Now()
		want := "wh_" + id + "_1_created"
		for {
			mu.Lock()
			at, ok := got[want]
			mu.Unlock()
			if ok {
				lat = append(lat, at.Sub(acked))
				break
			}
			<-arrived
		}
		t0 := time.Now()
		resp, err := client.Post(plain.URL, "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
		}
		ref = append(ref, time.Since(t0))
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	percentiles(b, "ack-", lat)
	percentiles(b, "rawpost-", ref)
}

// BenchmarkUpdateWebhooks: the acknowledgment of a change that produces a webhook
// (submitted, then back to draft: withdrawn), with the outbox on and off, interleaved in
// the same run (no deliverer: the cost of the write path alone).
func BenchmarkUpdateWebhooks(b *testing.B) {
	for _, on := range []bool{false, true, false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			r := newRig(b)
			var opts []redisstore.Option
			if on {
				opts = append(opts, redisstore.WithWebhooks(r.scope))
			}
			store := redisstore.New(r.rdb, 0, opts...)
			id := r.create(store)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st := filing.StateSubmitted
				if i%2 == 1 {
					st = filing.StateDraft
				}
				r.setState(store, id, st)
			}
		})
	}
}

// BenchmarkDeliveriesPerSecond: one instance's deliverer (DefaultWorkers, as the server
// starts it) drains b.N waiting deliveries to a receiver that verifies each signature and
// answers at once. Beside it in the same run, the reference: as many goroutines POSTing
// signed bodies of the same size to the same receiver as fast as they can (the HTTP floor,
// without the outbox's Redis round trips).
func BenchmarkDeliveriesPerSecond(b *testing.B) {
	b.Run("deliverer", func(b *testing.B) {
		r := newRig(b)
		rec := newReceiver(b, r.secret)
		rec.strict = false
		rec.start()
		for range b.N {
			r.create(r.store)
		}
		b.ResetTimer()
		start := time.Now()
		r.deliverer(r.store, rec.URL(), func(c *webhook.Config) { c.Now = time.Now; c.Workers = webhook.DefaultWorkers })
		waitFor(b, 5*time.Minute, "every delivery", func() bool { return len(rec.delivered()) >= b.N })
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
	})
	b.Run("raw-post", func(b *testing.B) {
		r := newRig(b)
		rec := newReceiver(b, r.secret)
		rec.strict = false
		rec.start()
		signer, err := webhook.NewSigner(r.secret)
		if err != nil {
			b.Fatal(err)
		}
		d := webhook.Delivery{ID: "wh_bench", Type: webhook.OrderCreated, OrderID: orderID(), At: time.Now().UnixMilli(), State: "draft", Version: 1}
		body := d.Body()
		var next atomic.Int64
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for range webhook.DefaultWorkers {
			wg.Go(func() {
				for int(next.Add(1)) <= b.N {
					req, _ := http.NewRequest(http.MethodPost, rec.URL(), bytes.NewReader(body))
					at := time.Now()
					sig, err := signer.Sign(d.ID, at, body)
					if err != nil {
						b.Error(err)
						return
					}
					req.Header.Set("webhook-id", d.ID)
					req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
					req.Header.Set("webhook-signature", sig)
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "posts/s")
	})
}
