package server_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

// scrape reads the server's /metrics into "name{labels}" → value, labels in the exposition's
// (sorted) order.
func scrape(t testing.TB, m *server.Main) map[string]float64 {
	t.Helper()
	if m.MetricsURL == "" {
		t.Fatal("metrics are not served")
	}
	resp, err := http.Get(m.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// metric is one series' value (0 when absent); labels as `a="x",b="y"` in sorted order.
func metric(s map[string]float64, name, labels string) float64 {
	if labels != "" {
		name += "{" + labels + "}"
	}
	return s[name]
}

// TestMetricsAfterFlow drives a whole app flow with a few refusals and a failing disk, then
// checks every counter moved exactly as it must.
func TestMetricsAfterFlow(t *testing.T) {
	dataDir := t.TempDir()
	m := start(t, func(c *server.Config) { c.MetricsAddr = "127.0.0.1:0"; c.DataDir = dataDir })
	if !strings.HasPrefix(m.MetricsURL, "http://127.0.0.1:") {
		t.Fatalf("MetricsURL %q", m.MetricsURL)
	}
	before := scrape(t, m)
	if metric(before, "beianscan_claims_total", `outcome="ok"`) != 0 {
		t.Fatal("a fresh server has claims")
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "beianscan_websockets_open"} {
		if _, ok := before[name]; !ok {
			t.Errorf("%s is not exposed", name)
		}
	}

	o := createOrder(t, m, gdIndividual())
	conn, _ := dial(t, m.URL, o)
	pairApp(t, o)
	nextOf(t, conn, "pairing_created")
	code := pair(t, o) // replaces the first pairing
	nextOf(t, conn, "pairing_expired")
	wantError(t, do(t, claimReq(m, o.ID+".not-a-code", "device-1", appVersionOK, "")), 404, "pairing_not_found")
	r := must(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), http.StatusOK)
	tok := r.Body["phone_token"].(string)
	jpeg := appsim.SampleImage("id", 1)
	must(t, do(t, phoneReq(m, "PUT", "/m/v1/materials/subject_leader_id_front", tok, jpeg)), http.StatusCreated)
	nextOf(t, conn, "material_uploaded")
	wantError(t, do(t, phoneReq(m, "PUT", "/m/v1/materials/subject_leader_id_back", tok, []byte("not an image at all"))), 415, "unsupported_format")
	wantError(t, do(t, phoneReq(m, "PUT", "/m/v1/materials/no_such_slot", tok, jpeg)), 404, "unknown_slot")
	wantError(t, do(t, req{method: "GET", url: m.URL + "/api/v1/orders/" + o.ID + "/materials", token: "garbage"}), 401, "unauthorized")
	// A file where an order's blob folder should be makes the desktop's write fail: the blob
	// store is a failing dependency (503), not a bug.
	o2 := createOrder(t, m, gdIndividual())
	if err := os.WriteFile(filepath.Join(dataDir, "blobs", o2.ID), []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantError(t, do(t, req{method: "PUT", url: o2.url("/materials/verification_form"), token: o2.Token, body: jpeg,
		header: map[string]string{"Content-Type": "image/jpeg"}}), 503, "unavailable")

	do(t, req{method: "GET", url: m.URL + "/api/v1/no-such-thing"})
	do(t, req{method: "GET", url: m.URL + "/nowhere/" + o.ID})

	s := scrape(t, m)
	for _, c := range []struct {
		name, labels string
		want         float64
	}{
		{"beianscan_http_requests_total", `code="",method="POST",route="/api/v1/orders",status="201"`, 2},
		{"beianscan_http_requests_total", `code="pairing_not_found",method="POST",route="/m/v1/pairings/claim",status="404"`, 1},
		{"beianscan_http_requests_total", `code="unauthorized",method="GET",route="/api/v1/orders/:id/materials",status="401"`, 1},
		{"beianscan_http_request_duration_seconds_count", `method="POST",route="/api/v1/orders/:id/pairing"`, 2},
		{"beianscan_claims_total", `outcome="ok"`, 1},
		{"beianscan_claims_total", `outcome="pairing_not_found"`, 1},
		{"beianscan_uploads_total", `outcome="ok",slot="subject_leader_id_front",via="app"`, 1},
		{"beianscan_uploads_total", `outcome="unsupported_format",slot="subject_leader_id_back",via="app"`, 1},
		{"beianscan_uploads_total", `outcome="unknown_slot",slot="unknown",via="app"`, 1},
		{"beianscan_uploads_total", `outcome="unavailable",slot="verification_form",via="pc"`, 1},
		{"beianscan_pairings_created_total", "", 2},
		{"beianscan_pairings_expired_total", `reason="replaced"`, 1},
		{"beianscan_events_published_total", `type="material_uploaded"`, 1},
		{"beianscan_blob_errors_total", `op="put"`, 1},
		{"beianscan_websockets_open", "", 1},
		{"beianscan_decode_bytes_budget", "", 512 << 20},
		// The app's JPEG and the desktop's went through every step; the text "image" was
		// refused by admission's header read, before Process.
		{"beianscan_image_step_duration_seconds_count", `step="header"`, 2},
		{"beianscan_image_step_duration_seconds_count", `step="decode"`, 2},
		{"beianscan_image_step_duration_seconds_count", `step="strip"`, 2},
		{"beianscan_image_step_duration_seconds_count", `step="analyse"`, 2},
		{"beianscan_decode_bytes_in_flight", "", 0},
	} {
		if got := metric(s, c.name, c.labels); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Event frames written: pairing_created, pairing_expired, phone_connected,
	// material_uploaded at least, each observed from its "at".
	if n := metric(s, "beianscan_event_delivery_seconds_count", ""); n < 4 {
		t.Errorf("event deliveries observed: %v, want >= 4", n)
	}
	for k := range s {
		if strings.Contains(k, o.ID) || strings.Contains(k, tok) || strings.Contains(k, "no-such-thing") {
			t.Errorf("an order ID or token is in a label: %s", k)
		}
	}

	// Redis going away is counted (embedded mode only: the shared Redis must stay up).
	if m.Mini != nil {
		m.Mini.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hr, _ := http.NewRequestWithContext(ctx, "GET", o.url(""), nil)
		hr.Header.Set("Authorization", "Bearer "+o.Token)
		if resp, err := http.DefaultClient.Do(hr); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if n := sumPrefix(scrape(t, m), "beianscan_redis_errors_total"); n < 1 {
			t.Errorf("redis errors after Redis stopped: %v", n)
		}
	}
}

func sumPrefix(s map[string]float64, prefix string) float64 {
	var n float64
	for k, v := range s {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func TestMetricsListener(t *testing.T) {
	off := start(t, func(c *server.Config) { c.MetricsAddr = "off" })
	if off.MetricsURL != "" {
		t.Errorf("metrics off, yet served at %s", off.MetricsURL)
	}
	on := start(t, func(c *server.Config) { c.MetricsAddr = "127.0.0.1:0" })
	taken := strings.TrimSuffix(strings.TrimPrefix(on.MetricsURL, "http://"), "/metrics")
	_, err := server.Open(server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), MetricsAddr: taken,
		Logger: on.Config.Logger})
	if err == nil || !strings.Contains(err.Error(), "BEIANSCAN_METRICS_ADDR") {
		t.Fatalf("a taken metrics port: %v", err)
	}
}

// TestPanicCounted: a handler's panic answers 500 internal in the envelope, and is counted
// and logged like any other answer.
func TestPanicCounted(t *testing.T) {
	var buf lockedBuffer
	m := start(t, func(c *server.Config) {
		c.MetricsAddr = "127.0.0.1:0"
		c.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	})
	m.Echo().GET("/test-panic", func(echo.Context) error { panic("boom") })
	resp, err := http.Get(m.URL + "/test-panic")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(body), `"code":"internal"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	s := scrape(t, m)
	// The route was added after the server started, so it is not among the router's patterns
	// the route label may take (internal/metrics, labels.go): it is counted as "other".
	if got := metric(s, "beianscan_http_requests_total", `code="internal",method="GET",route="other",status="500"`); got != 1 {
		t.Errorf("panic counted %v times", got)
	}
	if !strings.Contains(buf.String(), `"route":"/test-panic","status":500`) {
		t.Errorf("no access line for the panic: %s", buf.String())
	}
}
