package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/server"
)

// TestMetricLabelsFromRequests is the attack on the request metrics: 200 requests, each
// with its own method, path and slot, must not make a series each (they used to: 200
// requests with 4 KB methods were 3,600 series and a 14.7 MB scrape).
func TestMetricLabelsFromRequests(t *testing.T) {
	m := start(t, func(c *server.Config) { c.MetricsAddr = "127.0.0.1:0" })
	o := orderWith(t, m, "pc")
	for i := range 200 {
		h := fmt.Sprintf("HOSTILE%d%s", i, strings.Repeat("X", 200))
		for _, r := range []struct{ method, url string }{
			{h, o.url("")},
			{"GET", m.URL + "/api/v1/" + h},
			{"PUT", o.url("/materials/" + h)},
			{"PUT", m.URL + "/m/v1/materials/" + h},
		} {
			hr, err := http.NewRequest(r.method, r.url, strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			hr.Header.Set("Authorization", "Bearer "+o.Token)
			hr.Header.Set("X-App-Version", "3.16.0")
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	series := 0
	for k := range scrape(t, m) {
		if strings.Contains(k, "HOSTILE") {
			t.Fatalf("a label carries a request's value: %.120s…", k)
		}
		if strings.HasPrefix(k, "beianscan_http_requests_total") || strings.HasPrefix(k, "beianscan_uploads_total") {
			series++
		}
	}
	if series > 20 {
		t.Errorf("%d request and upload series after 800 hostile requests, want a handful", series)
	}
}
