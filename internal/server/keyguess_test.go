package server_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/beianscan/beianscan/internal/server"
)

// TestOperatorKeyGuessLimit: wrong operator keys from one client IP, on every route that
// takes the key, get no more than 20 judged (401) in a window however many arrive at once;
// the rest answer 429 with Retry-After. Another address is not affected, and the right key
// gives its count back.
func TestOperatorKeyGuessLimit(t *testing.T) {
	m := start(t, nil)
	o := orderWith(t, m, "pc")
	guesser, other := freshIP(t, m), freshIP(t, m)
	routes := []req{
		{method: "POST", url: o.url("/review-result"), body: map[string]any{"approved": true}},
		{method: "GET", url: o.url("/audit")},
		{method: "GET", url: o.url("/materials/subject_leader_id_front")},
	}
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := routes[i%len(routes)]
			r.header = map[string]string{"X-Api-Key": "wrong-key-" + strings.Repeat("x", i), "X-Forwarded-For": guesser}
			got := do(t, r)
			if got.Status == http.StatusTooManyRequests && got.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			mu.Lock()
			statuses[got.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[http.StatusUnauthorized] != 20 || statuses[http.StatusTooManyRequests] != 40 {
		t.Fatalf("60 wrong keys at once: %v, want 20 × 401 and 40 × 429", statuses)
	}
	right := map[string]string{"X-Api-Key": testOperatorKey, "X-Forwarded-For": other}
	for range 30 {
		must(t, do(t, req{method: "GET", url: o.url("/audit"), header: right}), http.StatusOK)
	}
}

// TestOperatorKeyLength: production (a Redis URL) refuses to start with an operator key
// shorter than 32 bytes.
func TestOperatorKeyLength(t *testing.T) {
	mr := miniredis.RunT(t)
	_, err := server.Open(server.Config{Addr: "127.0.0.1:0", RedisURL: "redis://" + mr.Addr(), DataDir: t.TempDir(),
		JWTSecret: testSecret, EncryptionKeys: testKeys, OperatorKey: "short-operator-key"})
	if err == nil || !strings.Contains(err.Error(), "BEIANSCAN_OPERATOR_KEY") {
		t.Fatalf("short operator key: %v, want a refusal naming BEIANSCAN_OPERATOR_KEY", err)
	}
}
