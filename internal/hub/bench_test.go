package hub

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/beianscan/beianscan/internal/broker"
)

// BenchmarkIdleConnections measures what an idle desktop websocket costs: it opens N
// connections (default 2000, HUB_BENCH_CONNS to change), each watching its own order and
// past its snapshot, and reports (HeapInuse+StackInuse after − before) / N as B/conn, with its
// heap and stack parts. HUB_BENCH_HEAPPROFILE=file also writes heap and goroutine profiles
// while the connections are open.
//
// Server and clients share the process, so the clients are counted too:
//   - client=raw: each client is a bare TCP connection that did the handshake by hand (a few
//     hundred bytes), so B/conn is close to the server's cost alone;
//   - client=gorilla: a gorilla client on the other end (1 KiB read buffer, pooled write
//     buffer), i.e. server plus a lean Go client.
//
// handler=blocking calls Serve in the HTTP handler; handler=go upgrades, runs Serve in a
// goroutine and returns, so net/http drops the request and the hijacked 4 KiB reader and
// writer. upgrader=reuse is websocket.Upgrader{} (reuses those hijacked buffers);
// upgrader=pool sets ReadBufferSize 512 and a shared WriteBufferPool.
//
// It opens N sockets per iteration, so run it once per case:
//
//	go test ./internal/hub -run '^$' -bench IdleConnections -benchtime=1x
//	BEIANSCAN_REDIS_URL=redis://127.0.0.1:6379/0 go test ./internal/hub -run '^$' -bench IdleConnections -benchtime=1x
func BenchmarkIdleConnections(b *testing.B) {
	n := 2000
	if s := os.Getenv("HUB_BENCH_CONNS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("HUB_BENCH_CONNS=%q", s)
		}
		n = v
	}
	upgraders := []struct {
		name string
		up   websocket.Upgrader
	}{
		{"upgrader=reuse", websocket.Upgrader{}},
		{"upgrader=pool", websocket.Upgrader{ReadBufferSize: 512, WriteBufferPool: &sync.Pool{}}},
	}
	for _, handler := range []string{"blocking", "go"} {
		for _, u := range upgraders {
			for _, client := range []string{"raw", "gorilla"} {
				b.Run("handler="+handler+"/"+u.name+"/client="+client, func(b *testing.B) {
					for range b.N {
						benchIdle(b, n, u.up, handler == "go", client == "raw")
					}
				})
			}
		}
	}
}

func benchIdle(b *testing.B, n int, up websocket.Upgrader, async, raw bool) {
	tr := newTestRedis(b)
	rdb := tr.client(b, "")
	store := newFakeStore()
	h := New(broker.NewRedis(rdb, broker.RedisOptions{Logger: testLogger()}), store.snapshot, nil, Config{Logger: testLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = h.Run(ctx) }()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if async {
			// The handler returns at once: net/http lets go of the request and of the
			// hijacked connection's buffers. The request's context ends when the handler
			// returns, so Serve gets a context of its own.
			go h.Serve(context.Background(), conn, r.URL.Query().Get("order"))
			return
		}
		h.Serve(r.Context(), conn, r.URL.Query().Get("order"))
	}))
	addr := srv.Listener.Addr().String()
	dialer := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferPool: &sync.Pool{}}
	prefix := uniqueID(b)

	// Warm up: one connection first, so that pools, the PubSub connection and the server's
	// goroutines are not counted.
	closers := []func(){openIdle(b, dialer, srv.URL, addr, prefix+"w", raw)}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := range n {
		closers = append(closers, openIdle(b, dialer, srv.URL, addr, prefix+strconv.Itoa(i), raw))
	}
	opened := time.Since(start)
	// Each GC may halve a goroutine stack that uses under a quarter of it: a few GCs show
	// the steady state of an idle connection.
	for range 5 {
		runtime.GC()
	}
	runtime.ReadMemStats(&after)
	if got := h.Connections(); got != n+1 {
		b.Fatalf("Connections() = %d, want %d", got, n+1)
	}
	per := func(a, bb uint64) float64 { return (float64(a) - float64(bb)) / float64(n) }
	b.ReportMetric(per(after.HeapInuse+after.StackInuse, before.HeapInuse+before.StackInuse), "B/conn")
	b.ReportMetric(per(after.HeapInuse, before.HeapInuse), "heapB/conn")
	b.ReportMetric(per(after.StackInuse, before.StackInuse), "stackB/conn")
	b.ReportMetric(float64(opened.Microseconds())/float64(n), "µs/open")

	if f := os.Getenv("HUB_BENCH_HEAPPROFILE"); f != "" {
		out, _ := os.Create(f)
		_ = pprof.Lookup("heap").WriteTo(out, 0)
		_ = out.Close()
		out, _ = os.Create(f + ".goroutines")
		_ = pprof.Lookup("goroutine").WriteTo(out, 1)
		_ = out.Close()
	}
	b.StopTimer()
	h.Close()
	for _, c := range closers {
		c()
	}
	srv.Close()
	cancel()
	<-runDone
}

// openIdle opens one websocket for orderID and waits for its snapshot; it returns how to
// close it.
func openIdle(b *testing.B, d *websocket.Dialer, srvURL, addr, orderID string, raw bool) func() {
	b.Helper()
	if !raw {
		conn := dialWith(b, d, srvURL, orderID)
		expectFrame(b, conn, "snapshot", 0)
		return func() { _ = conn.Close() }
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatalf("dial: %v", err)
	}
	req := "GET /?order=" + orderID + " HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		b.Fatalf("handshake: %v", err)
	}
	// Read the 101 response and the snapshot frame (unmasked text frame from the server).
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [2048]byte
	got := 0
	for !bytes.Contains(buf[:got], []byte(`"type":"snapshot"`)) {
		if got == len(buf) {
			b.Fatal("no snapshot in the first 2 KiB")
		}
		m, err := conn.Read(buf[got:])
		if err != nil {
			b.Fatalf("read: %v", err)
		}
		got += m
	}
	if !strings.HasPrefix(string(buf[:got]), "HTTP/1.1 101") {
		b.Fatalf("handshake answered %q", buf[:min(got, 40)])
	}
	_ = conn.SetReadDeadline(time.Time{})
	return func() { _ = conn.Close() }
}
