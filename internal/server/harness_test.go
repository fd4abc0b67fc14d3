package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/beianscan/beianscan/internal/desktoptest"
	"github.com/beianscan/beianscan/internal/limits"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/server"
)

// redisURL is the real Redis the tests use when one is configured; empty means each
// server runs its embedded miniredis.
func redisURL() string {
	if u := os.Getenv("BEIANSCAN_REDIS_URL"); u != "" {
		return u
	}
	return os.Getenv("REDIS_URL")
}

// every calls f every d until stop is closed or f returns false; it returns then.
func every(d time.Duration, stop <-chan struct{}, f func() bool) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if !f() {
				return
			}
		}
	}
}

// durableRedis is a private redis-server that writes every change to its append-only file
// before answering (appendfsync always), as production's is configured.
func durableRedis(tb testing.TB) *redistest.Server {
	return redistest.Start(tb, "--appendonly", "yes", "--appendfsync", "always")
}

const testSecret = "test-secret-0123456789-0123456789-0123456789"

// testOperatorKey is the operator key of the test servers: as long as production needs.
const testOperatorKey = "operator-key-of-the-tests-0123456789"

// start runs a server on a free loopback port for the test.
func start(t testing.TB, mutate func(*server.Config)) *server.Main {
	t.Helper()
	cfg := server.Config{
		Addr: "127.0.0.1:0", RedisURL: redisURL(), DataDir: t.TempDir(),
		JWTSecret: testSecret, OperatorKey: testOperatorKey, EncryptionKeys: testKeys,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// The test client plays the reverse proxy: tests name their client's address in
		// X-Forwarded-For (freshIP).
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		// The abuse limits and the metrics listener are off unless a test turns them on:
		// many servers share one client address, and one port could serve only one.
		ClaimGuessLimit: orders.GuessLimitOff, OrderRate: limits.RateOff, PairingRate: limits.RateOff,
		WebsocketsPerOrder: limits.Off, MetricsAddr: server.MetricsOff,
		// Each server counts its own limits (the guesses of wrong keys from 127.0.0.1 among
		// them), so that tests sharing one Redis do not count each other's; the tests of
		// counting across instances set one scope on both servers.
		LimitScope: fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano()),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := server.Open(cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// reply is a decoded JSON answer.
type reply struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func (r reply) errCode() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

type req struct {
	method, url string
	token       string
	body        any // []byte is sent raw, anything else as JSON
	header      map[string]string
}

func do(t testing.TB, r req) reply {
	t.Helper()
	var body io.Reader
	var sent []byte
	switch b := r.body.(type) {
	case nil:
	case []byte:
		sent = b
		body = bytes.NewReader(b)
	default:
		sent, _ = json.Marshal(b)
		body = bytes.NewReader(sent)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if _, raw := r.body.([]byte); r.body != nil && !raw {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	validateExchange(t, hr, sent, resp, raw)
	out := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: bad JSON %q", r.method, r.url, raw)
		}
	}
	return out
}

// must checks the status of a reply.
func must(t testing.TB, r reply, status int) reply {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	return r
}

// wantError checks status, code and that both messages are present.
func wantError(t testing.TB, r reply, status int, code string) {
	t.Helper()
	if r.Status != status || r.errCode() != code {
		t.Fatalf("got %d %s, want %d %s: %s", r.Status, r.errCode(), status, code, r.Raw)
	}
	e := r.Body["error"].(map[string]any)
	if m, _ := e["message"].(string); m == "" {
		t.Errorf("%s: empty English message", code)
	}
	if m, _ := e["message_zh"].(string); !hasCJK(m) {
		t.Errorf("%s: message_zh %q has no Chinese", code, m)
	}
}

func hasCJK(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// gdIndividual is a Guangdong individual filing: app verification is open there. It is the
// order the outside clients (desktoptest) create too.
var gdIndividual = desktoptest.GDIndividual

// order is a created order as the desktop holds it.
type order struct {
	ID, Token, Base string
}

func (o order) url(path string) string { return o.Base + "/api/v1/orders/" + o.ID + path }

func createOrder(t testing.TB, m *server.Main, in map[string]any) order {
	t.Helper()
	r := must(t, do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: in}), http.StatusCreated)
	o := r.Body["order"].(map[string]any)
	return order{ID: o["id"].(string), Token: r.Body["desktop_token"].(string), Base: m.URL}
}

// dial opens the order's websocket and returns it with the snapshot frame.
func dial(t testing.TB, base string, o order) (*websocket.Conn, map[string]any) {
	t.Helper()
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/orders/" + o.ID + "/events"
	h := http.Header{"Authorization": {"Bearer " + o.Token}}
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL, h)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", wsURL, err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	snap := next(t, conn)
	if snap["type"] != "snapshot" {
		t.Fatalf("first frame is %v, want snapshot", snap["type"])
	}
	return conn, snap
}

// next reads one frame, failing after a deadline rather than hanging.
func next(t testing.TB, conn *websocket.Conn) map[string]any {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var f map[string]any
	if err := conn.ReadJSON(&f); err != nil {
		t.Fatalf("read event: %v", err)
	}
	validateFrame(t, f)
	return f
}

// nextOf reads frames until one of the given type, returning those skipped too.
func nextOf(t testing.TB, conn *websocket.Conn, typ string) map[string]any {
	t.Helper()
	for i := 0; i < 50; i++ {
		f := next(t, conn)
		if f["type"] == typ {
			return f
		}
	}
	t.Fatalf("no %s event within 50 frames", typ)
	return nil
}

func version(f map[string]any) int64 {
	v, _ := f["version"].(float64)
	return int64(v)
}

// stored is what the server holds about an order, for checking that a refused request
// changed nothing.
func stored(t testing.TB, o order) string {
	t.Helper()
	r := must(t, do(t, req{method: "GET", url: o.url(""), token: o.Token}), http.StatusOK)
	mats := must(t, do(t, req{method: "GET", url: o.url("/materials"), token: o.Token}), http.StatusOK)
	return string(r.Raw) + "\n" + string(mats.Raw)
}
