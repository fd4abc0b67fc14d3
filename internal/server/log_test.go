package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

// TestAccessLog: one line per request with the route pattern, status, duration and the
// request ID the client got as X-Request-Id; a client's own X-Request-Id is not taken over;
// no token, pairing code, ID number or name is in the log at debug level.
func TestAccessLog(t *testing.T) {
	var buf lockedBuffer
	m := start(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	o := createOrder(t, m, gdIndividual())
	code := pair(t, func() order { pairApp(t, o); return o }())
	r := must(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), http.StatusOK)
	tok := r.Body["phone_token"].(string)
	must(t, do(t, phoneReq(m, "PUT", "/m/v1/materials/subject_leader_id_front", tok, appsim.SampleImage("id", 1))), http.StatusCreated)
	smuggled := "Bearer " + tok
	got := do(t, req{method: "GET", url: o.url(""), token: o.Token, header: map[string]string{"X-Request-Id": smuggled}})
	must(t, got, http.StatusOK)
	id := got.Header.Get("X-Request-Id")
	if len(id) < 16 || id == smuggled {
		t.Fatalf("X-Request-Id %q", id)
	}
	wantError(t, do(t, req{method: "GET", url: o.url("/pairing/qr.png"), token: o.Token}), 404, "pairing_not_found")

	logs := buf.String()
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if e["msg"] != "request" {
			continue
		}
		for _, k := range []string{"request_id", "method", "route", "status", "duration"} {
			if _, ok := e[k]; !ok {
				t.Errorf("access line lacks %s: %s", k, line)
			}
		}
		if e["request_id"] == id {
			found = true
			if e["route"] != "/api/v1/orders/:id" || e["status"] != float64(200) {
				t.Errorf("access line %s", line)
			}
		}
	}
	if !found {
		t.Errorf("no access line carries the answered request ID %s", id)
	}
	for what, secret := range map[string]string{
		"desktop token": o.Token, "phone token": tok, "pairing code": code, "code's MAC": code[strings.IndexByte(code, '.')+1:],
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds the %s", what)
		}
	}
}
