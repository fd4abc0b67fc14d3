package hub

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
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
	n := 2000
	if s := os.Getenv("HUB_BENCH_CONNS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("HUB_BENCH_CONNS=%q", s)
		}
		n = v
	}
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

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	if raw {
		closers = append(closers, openRawChild(b, addr, prefix, n))
	} else {
		for i := range n {
			closers = append(closers, openIdle(b, dialer, srv.URL, addr, prefix+strconv.Itoa(i), raw))
		}
	}
	opened := time.Since(start)
	// Each GC may halve a goroutine stack that uses under a quarter of it: a few GCs show
	// the steady state of an idle connection.
	for range 5 {
		runtime.GC()
	}
	runtime.ReadMemStats(&after)
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

// openRawChild has a child process open n raw websockets to addr (orders prefix0 … prefixN-1)
// and waits until each has its snapshot; it returns how to close them all.
func openRawChild(b *testing.B, addr, prefix string, n int) func() {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientsHelper$")
	cmd.Env = append(os.Environ(), "HUB_IDLE_CLIENTS="+addr+" "+prefix+" "+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		_ = stdin.Close()
		_ = cmd.Wait()
		b.Fatalf("client process: %q, %v", line, err)
	}
	return func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}
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
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.Close()
	}
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

// dialRaw does a websocket handshake by hand over TCP and reads up to the snapshot frame.
func dialRaw(tb testing.TB, addr, orderID string) net.Conn {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	req := "GET /?order=" + orderID + " HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		tb.Fatalf("handshake: %v", err)
	}
	// Read the 101 response and the snapshot frame (unmasked text frame from the server).
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [2048]byte
	got := 0
	for !bytes.Contains(buf[:got], []byte(`"type":"snapshot"`)) {
		if got == len(buf) {
			tb.Fatal("no snapshot in the first 2 KiB")
		}
		m, err := conn.Read(buf[got:])
		if err != nil {
			tb.Fatalf("read: %v", err)
		}
		got += m
	}
	if !strings.HasPrefix(string(buf[:got]), "HTTP/1.1 101") {
		tb.Fatalf("handshake answered %q", buf[:min(got, 40)])
	}
	_ = conn.SetReadDeadline(time.Time{})
	return conn
}
