package server_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/beianscan/beianscan/internal/server"
)

// TestReviewLoginGuessesShared: two instances on one Redis count one client IP's wrong
// reviewer keys together (429 past the limit on either), parallel wrong keys get no more
// than the limit judged, and the right key always logs in, the limited IP's included.
func TestReviewLoginGuessesShared(t *testing.T) {
	const limit = 3
	w := startWorkbench(t, func(c *server.Config) { c.ClaimGuessLimit = limit })
	other := start(t, func(c *server.Config) {
		c.Reviewers, c.LimitScope, c.ClaimGuessLimit, c.RedisURL = w.file, w.m.Config.LimitScope, limit, sharedRedis(w.m)
	})
	bases := []string{w.m.URL, other.URL}
	login := func(base, ip, key string) reply {
		return do(t, req{method: "POST", url: base + "/api/v1/review/session",
			body: map[string]any{"name": "alice", "key": key}, header: map[string]string{"X-Forwarded-For": ip}})
	}
	const guesser = "203.0.113.91"
	for i := range limit {
		wantError(t, login(bases[i%2], guesser, "wrong"), http.StatusUnauthorized, "unauthorized")
	}
	for _, base := range bases {
		r := login(base, guesser, "wrong")
		wantError(t, r, http.StatusTooManyRequests, "rate_limited")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		// The right key still works from the limited address, on either instance.
		must(t, login(base, guesser, w.keys["alice"]), http.StatusNoContent)
		must(t, do(t, req{method: "GET", url: base + "/api/v1/review/queue", token: w.as("alice"),
			header: map[string]string{"X-Forwarded-For": guesser}}), http.StatusOK)
	}
	// Another address has a count of its own.
	wantError(t, login(other.URL, "203.0.113.92", "wrong"), http.StatusUnauthorized, "unauthorized")

	// Wrong keys at once, across both instances: exactly the limit are judged.
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := login(bases[i%2], "203.0.113.93", "wrong")
			mu.Lock()
			statuses[got.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[http.StatusUnauthorized] != limit || statuses[http.StatusTooManyRequests] != 20-limit {
		t.Fatalf("20 wrong keys at once on two instances: %v, want %d × 401 and %d × 429", statuses, limit, 20-limit)
	}
}
