package hub

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
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
	is := startIdleServer(b, up, server)
	addr := is.addr
	dialer := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferPool: &sync.Pool{}}
	prefix := uniqueID(b)

	// Warm up: one connection first, so that pools, the PubSub connection and the server's
	// goroutines are not counted.
	closers := []func(){openIdle(b, dialer, is.srv.URL, addr, prefix+"w", raw)}

	var opened time.Duration
	wstest.ReportGrowth(b, n, "conn", os.Getenv("HUB_BENCH_HEAPPROFILE"), func() {
		start := time.Now()
		if raw {
			closers = append(closers, wstest.StartChild(b, "TestIdleClientsHelper",
				"HUB_IDLE_CLIENTS="+addr+" "+prefix+" "+strconv.Itoa(n)))
		} else {
			for i := range n {
				closers = append(closers, openIdle(b, dialer, is.srv.URL, addr, prefix+strconv.Itoa(i), raw))
			}
		}
		opened = time.Since(start)
	})
	b.ReportMetric(float64(opened.Microseconds())/float64(n), "µs/open")
	if got := is.connections(); got != n+1 {
		b.Fatalf("%s connections = %d, want %d", server, got, n+1)
	}
	b.StopTimer()
	is.stop()
	for _, c := range closers {
		c()
	}
}

// idleServer is a hub behind an httptest server whose handler upgrades /?order=ID with up
// and then, by mode: "go" calls Start and returns, as webapi does; "blocking" calls Serve;
// "gorilla-bare" and "gorilla-reader" are BenchmarkIdleConnections' references without the
// hub, the connections kept in refs.
type idleServer struct {
	*Hub
	mode string
	srv  *httptest.Server
	addr string
	stop func()

	mu   sync.Mutex
	refs []*websocket.Conn
}

func startIdleServer(tb testing.TB, up websocket.Upgrader, mode string) *idleServer {
	tb.Helper()
	rdb := newTestRedis(tb).client(tb, "")
	store := newFakeStore()
	h := New(broker.NewRedis(rdb, broker.RedisOptions{Logger: testLogger()}), store.snapshot, nil, Config{Logger: testLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = h.Run(ctx) }()
	is := &idleServer{Hub: h, mode: mode}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		orderID := r.URL.Query().Get("order")
		switch mode {
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
			is.mu.Lock()
			is.refs = append(is.refs, conn)
			is.mu.Unlock()
			if mode == "gorilla-reader" {
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
	is.addr = is.srv.Listener.Addr().String()
	is.stop = func() {
		h.Close()
		is.mu.Lock()
		for _, c := range is.refs {
			_ = c.Close()
		}
		is.mu.Unlock()
		is.srv.Close()
		cancel()
		<-runDone
	}
	return is
}

// connections is how many websockets the server holds: the hub's, or the references'.
func (is *idleServer) connections() int {
	if is.mode == "go" || is.mode == "blocking" {
		return is.Connections()
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	return len(is.refs)
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

// TestIdleConnectionCost opens idle connections the way webapi does (Start, handler returns,
// pooled write buffer) and checks that each holds one goroutine on the minimum 2 KiB stack:
// gorilla's reader under Serve held a 4 KiB one.
func TestIdleConnectionCost(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 500 connections")
	}
	const n = 500
	is := startIdleServer(t, websocket.Upgrader{ReadBufferSize: 128, WriteBufferPool: &sync.Pool{}}, "go")
	t.Cleanup(is.stop)
	h, addr := is.Hub, is.addr
	prefix := uniqueID(t)
	warm := dialRaw(t, addr, prefix+"w") // warm-up, not counted
	t.Cleanup(func() { _ = warm.Close() })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	for i := range n {
		c := dialRaw(t, addr, prefix+strconv.Itoa(i))
		t.Cleanup(func() { _ = c.Close() })
	}
	if got := h.Connections(); got != n+1 {
		t.Fatalf("Connections() = %d, want %d", got, n+1)
	}
	// The writers exit once the snapshots are written; each GC may halve a stack.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine()-g0 > n && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if d := runtime.NumGoroutine() - g0; d > n {
		t.Fatalf("%d goroutines for %d idle connections, want one each", d, n)
	}
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&after)
	perConn := (float64(after.StackInuse) - float64(before.StackInuse)) / n
	t.Logf("stack per idle connection: %.0f B", perConn)
	if raceEnabled {
		return // the race detector's instrumentation makes every frame larger
	}
	if perConn > 2.5*1024 {
		t.Fatalf("stack per idle connection %.0f B, want the 2 KiB minimum", perConn)
	}
}
