package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

// benchClient is one keep-alive HTTP client for the HTTP benchmarks, with as many idle
// connections as there are parallel clients.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}

func benchDo(b *testing.B, r *http.Request, want int) {
	resp, err := benchClient.Do(r)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("status %d, want %d", resp.StatusCode, want)
	}
}

// benchServer is a server as production runs it: the guess limit on (20), over HTTP.
func benchServer(b *testing.B) *server.Main {
	return start(b, func(c *server.Config) { c.ClaimGuessLimit = 20 })
}

// BenchmarkClaimHTTP claims fresh pairings over HTTP from 50 parallel phones (the whole
// path: routing, app version, the claim script, the snapshot read, the JWT, the JSON answer).
// BenchmarkHealthzHTTP is the same client's GET /healthz on the same kind of server: the
// reference docs/benchmarks.md compares claims with (at least half of it). Both run their client in
// the server's process, which flatters the claim: BenchmarkClaimHTTPOutside says why and
// measures from another process.
func BenchmarkClaimHTTP(b *testing.B) {
	m := benchServer(b)
	codes := make(chan []byte, b.N)
	for i := 0; i < b.N; i++ {
		o := createOrder(b, m, gdIndividual())
		p := pairApp(b, o)
		_, code, _ := appsim.ParseScanURL(p["scan_url"].(string))
		body, _ := json.Marshal(map[string]string{"code": code})
		codes <- body
	}
	close(codes)
	url := m.URL + "/m/v1/pairings/claim"
	b.SetParallelism(25) // 50 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := http.NewRequestWithContext(context.Background(), "POST", url, bytes.NewReader(<-codes))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-App-Version", "3.16.0")
			r.Header.Set("X-Device-Id", "bench-device")
			benchDo(b, r, http.StatusOK)
		}
	})
}

func BenchmarkHealthzHTTP(b *testing.B) {
	m := benchServer(b)
	url := m.URL + "/healthz"
	b.SetParallelism(25)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := http.NewRequestWithContext(context.Background(), "GET", url, nil)
			benchDo(b, r, http.StatusOK)
		}
	})
}
