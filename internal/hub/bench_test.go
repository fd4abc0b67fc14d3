package hub

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/beianscan/beianscan/internal/broker"
	"github.com/beianscan/beianscan/internal/wstest"
)

// BenchmarkIdleConnections measures what an idle desktop websocket costs: it opens N
// connections (default 2000, HUB_BENCH_CONNS to change), each watching its own order and
// past its snapshot, and reports (HeapInuse+StackInuse after − before) / N as B/conn, with its
// heap and stack parts (StackInuse counts every goroutine's stack). HUB_BENCH_HEAPPROFILE=file
// also writes heap and goroutine profiles while the connections are open.
//
// Clients:
//   - client=raw: bare TCP connections that did the handshake by hand, opened by a child
//     process (this test binary, re-run as TestIdleClientsHelper), so B/conn is the server's
//     cost alone, and 10,000 connections fit the per-process file limit;
//   - client=gorilla: a gorilla client in this process (1 KiB read buffer, pooled write
//     buffer), i.e. server plus a lean Go client.
//
// handler=blocking calls Serve in the HTTP handler; handler=go upgrades, calls Start and
// returns, so net/http drops the request and the hijacked 4 KiB reader and
// writer. upgrader=reuse is websocket.Upgrader{} (reuses those hijacked buffers);
// upgrader=pool is webapi's: ReadBufferSize 128 and a shared WriteBufferPool.
//
// The references, in the same run, use upgrader=pool without the hub: reference=gorilla-bare
// upgrades, writes the snapshot frame and keeps the *websocket.Conn with no goroutine at all
// (the floor of a gorilla connection); reference=gorilla-reader adds the usual goroutine
// blocked in NextReader.
//
// It opens N sockets per iteration, so run it once per case:
//
//	HUB_BENCH_CONNS=10000 go test ./internal/hub -run '^$' -bench 'IdleConnections/.*raw' -benchtime=1x
//	go test ./internal/hub -run '^$' -bench IdleConnections -benchtime=1x
func BenchmarkIdleConnections(b *testing.B) {
	n := wstest.EnvCount(b, "HUB_BENCH_CONNS", 2000)
	pool := websocket.Upgrader{ReadBufferSize: 128, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{}}
	cases := []struct {
		name   string
		up     websocket.Upgrader
		server string // blocking, go, gorilla-bare, gorilla-reader
	}{
		{"handler=blocking/upgrader=reuse", websocket.Upgrader{}, "blocking"},
		{"handler=blocking/upgrader=pool", pool, "blocking"},
		{"handler=go/upgrader=reuse", websocket.Upgrader{}, "go"},
		{"handler=go/upgrader=pool", pool, "go"},
		{"reference=gorilla-bare/upgrader=pool", pool, "gorilla-bare"},
		{"reference=gorilla-reader/upgrader=pool", pool, "gorilla-reader"},
	}
	for _, tc := range cases {
		for _, client := range []string{"raw", "gorilla"} {
			b.Run(tc.name+"/client="+client, func(b *testing.B) {
				for range b.N {
					benchIdle(b, n, tc.up, tc.server, client == "raw")
				}
			})
		}
	}
}

func benchIdle(b *testing.B, n int, up websocket.Upgrader, server string, raw bool) {
	tr := newTestRedis(b)
	rdb := tr.client(b, "")
	store := newFakeStore()
	h := New(broker.NewRedis(rdb, broker.RedisOptions{Logger: testLogger()}), store.snapshot, nil, Config{Logger: testLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = h.Run(ctx) }()
	var refMu sync.Mutex
	var refConns []*websocket.Conn
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		orderID := r.URL.Query().Get("order")
		switch server {
		case "go":
			// The handler returns at once: net/http lets go of the request and of the
			// hijacked connection's buffers. The request's context ends when the handler
			// returns, so Start gets a context of its own.
			h.Start(context.Background(), conn, orderID, nil)
		case "blocking":
			h.Serve(r.Context(), conn, orderID)
		default:
			snap, _ := store.snapshot(r.Context(), orderID)
			_ = conn.WriteMessage(websocket.TextMessage, snap.Payload)
			refMu.Lock()
			refConns = append(refConns, conn)
			refMu.Unlock()
			if server == "gorilla-reader" {
				go func() {
					for {
						if _, _, err := conn.NextReader(); err != nil {
							_ = conn.Close()
							return
						}
					}
				}()
			}
		}
	}))
	addr := srv.Listener.Addr().String()
	dialer := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferPool: &sync.Pool{}}
	prefix := uniqueID(b)

	// Warm up: one connection first, so that pools, the PubSub connection and the server's
	// goroutines are not counted.
	closers := []func(){openIdle(b, dialer, srv.URL, addr, prefix+"w", raw)}

	var opened time.Duration
	wstest.ReportGrowth(b, n, "conn", os.Getenv("HUB_BENCH_HEAPPROFILE"), func() {
		start := time.Now()
		if raw {
			closers = append(closers, wstest.StartChild(b, "TestIdleClientsHelper",
				"HUB_IDLE_CLIENTS="+addr+" "+prefix+" "+strconv.Itoa(n)))
		} else {
			for i := range n {
				closers = append(closers, openIdle(b, dialer, srv.URL, addr, prefix+strconv.Itoa(i), raw))
			}
		}
		opened = time.Since(start)
	})
	b.ReportMetric(float64(opened.Microseconds())/float64(n), "µs/open")
	if server == "go" || server == "blocking" {
		if got := h.Connections(); got != n+1 {
			b.Fatalf("Connections() = %d, want %d", got, n+1)
		}
	} else {
		refMu.Lock()
		got := len(refConns)
		refMu.Unlock()
		if got != n+1 {
			b.Fatalf("reference connections = %d, want %d", got, n+1)
		}
	}
	b.StopTimer()
	h.Close()
	refMu.Lock()
	for _, c := range refConns {
		_ = c.Close()
	}
	refMu.Unlock()
	for _, c := range closers {
		c()
	}
	srv.Close()
	cancel()
	<-runDone
}

// TestIdleClientsHelper is BenchmarkIdleConnections' client process: it opens the raw
// websockets HUB_IDLE_CLIENTS names, prints "ready", and holds them until stdin closes.
func TestIdleClientsHelper(t *testing.T) {
	spec := strings.Fields(os.Getenv("HUB_IDLE_CLIENTS"))
	if len(spec) != 3 {
		t.Skip("only run by BenchmarkIdleConnections")
	}
	n, err := strconv.Atoi(spec[2])
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 0, n)
	for i := range n {
		conns = append(conns, dialRaw(t, spec[0], spec[1]+strconv.Itoa(i)))
	}
	wstest.Hold(conns)
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
	conn := dialRaw(b, addr, orderID)
	return func() { _ = conn.Close() }
}

// dialRaw opens a raw websocket to the test server's order.
func dialRaw(tb testing.TB, addr, orderID string) net.Conn {
	tb.Helper()
	return wstest.DialRaw(tb, addr, "/?order="+orderID, "")
}
