package server_test

import (
	"context"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"
)

// BenchmarkQRvsHealthz serves the pairing's QR PNG and GET /healthz from the same server
// to the same client, one request at a time, alternating, and reports each one's p50 and
// their ratio (docs/benchmarks.md via issue 10: the QR within 2× of /healthz once rendered once per
// pairing). The first QR request renders; every later one is served from the cache.
func BenchmarkQRvsHealthz(b *testing.B) {
	m := start(b, nil)
	o := createOrder(b, m, gdIndividual())
	pairApp(b, o)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	get := func(url, token string) time.Duration {
		r, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		t0 := time.Now()
		resp, err := client.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
		return d
	}
	qrURL, health := o.url("/pairing/qr.png"), m.URL+"/healthz"
	get(qrURL, o.Token) // the one render
	get(health, "")
	ping := func() time.Duration {
		t0 := time.Now()
		if err := m.Redis.Ping(context.Background()).Err(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	qr := make([]time.Duration, 0, b.N)
	hz := make([]time.Duration, 0, b.N)
	rp := make([]time.Duration, 0, b.N)
	or := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		qr = append(qr, get(qrURL, o.Token))
		hz = append(hz, get(health, ""))
		rp = append(rp, ping())
		or = append(or, get(o.url(""), o.Token))
	}
	b.StopTimer()
	p50 := func(d []time.Duration) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	q, h := p50(qr), p50(hz)
	b.ReportMetric(q, "qr-p50-ms")
	b.ReportMetric(h, "healthz-p50-ms")
	b.ReportMetric(q/h, "qr/healthz")
	// The QR must ask Redis whether the pairing is still current (revoked or renewed on
	// another instance: 404), so one round trip is its floor above /healthz.
	b.ReportMetric(p50(rp), "redis-ping-p50-ms")
	// GET /api/v1/orders/{id}: the same token check and order load, answered in JSON.
	b.ReportMetric(p50(or), "get-order-p50-ms")
}
