package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/server"
)

// BenchmarkIdleDesktops is internal/hub's BenchmarkIdleConnections through the whole server:
// N orders (BEIANSCAN_BENCH_DESKTOPS, default 1000), each with its desktop's websocket open
// past its snapshot, authorized, behind the per-order websocket limit (20, as in production,
// so each holds a lease), opened by a child process. It reports the growth of HeapInuse +
// StackInuse per desktop, the orders already created before the first measurement.
// BEIANSCAN_BENCH_HEAPPROFILE=file writes a heap profile while the desktops are open.
//
//	BEIANSCAN_BENCH_DESKTOPS=10000 go test ./internal/server -run '^$' -bench IdleDesktops -benchtime 1x
func BenchmarkIdleDesktops(b *testing.B) {
	n := 1000
	if s := os.Getenv("BEIANSCAN_BENCH_DESKTOPS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("BEIANSCAN_BENCH_DESKTOPS=%q", s)
		}
		n = v
	}
	for range b.N {
		m := start(b, func(c *server.Config) {
			c.WebsocketsPerOrder = 20
			c.LimitScope = fmt.Sprintf("%s-%d", b.Name(), time.Now().UnixNano())
		})
		orders := make([]order, n+1)
		// Four at a time to save minutes; a failed creation ends its worker and fails the run.
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i <= n; i += 4 {
					orders[i] = createOrder(b, m, gdIndividual())
				}
			}()
		}
		wg.Wait()
		dial(b, m.URL, orders[n]) // not counted: pools, the PubSub connection; closed by cleanup

		var list bytes.Buffer
		for _, o := range orders[:n] {
			fmt.Fprintf(&list, "%s %s\n", o.ID, o.Token)
		}
		file := b.TempDir() + "/desktops"
		if err := os.WriteFile(file, list.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}

		var before, after runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&before)
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleDesktopsHelper$")
		cmd.Env = append(os.Environ(), "BEIANSCAN_IDLE_DESKTOPS="+strings.TrimPrefix(m.URL, "http://")+" "+file)
		cmd.Stderr = os.Stderr
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if line != "ready\n" {
			_ = stdin.Close()
			_ = cmd.Wait()
			b.Fatalf("client process: %q, %v", line, err)
		}
		for range 5 {
			runtime.GC()
		}
		runtime.ReadMemStats(&after)
		per := func(a, bb uint64) float64 { return (float64(a) - float64(bb)) / float64(n) }
		b.ReportMetric(per(after.HeapInuse+after.StackInuse, before.HeapInuse+before.StackInuse), "B/desktop")
		b.ReportMetric(per(after.HeapInuse, before.HeapInuse), "heapB/desktop")
		b.ReportMetric(per(after.StackInuse, before.StackInuse), "stackB/desktop")
		if f := os.Getenv("BEIANSCAN_BENCH_HEAPPROFILE"); f != "" {
			out, _ := os.Create(f)
			_ = pprof.Lookup("heap").WriteTo(out, 0)
			_ = out.Close()
		}
		_ = stdin.Close()
		_ = cmd.Wait()
	}
}

// TestIdleDesktopsHelper is BenchmarkIdleDesktops' client process: it opens the websockets
// of the orders listed in a file, prints "ready" once each has its snapshot, and holds them
// until stdin closes.
func TestIdleDesktopsHelper(t *testing.T) {
	spec := strings.Fields(os.Getenv("BEIANSCAN_IDLE_DESKTOPS"))
	if len(spec) != 2 {
		t.Skip("only run by BenchmarkIdleDesktops")
	}
	addr := spec[0]
	data, err := os.ReadFile(spec[1])
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		id, token, _ := strings.Cut(l, " ")
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, conn)
		req := "GET /api/v1/orders/" + id + "/events HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + token +
			"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var buf [8192]byte
		got := 0
		for !bytes.Contains(buf[:got], []byte(`"type":"snapshot"`)) {
			if got == len(buf) {
				t.Fatal("no snapshot in the first 8 KiB")
			}
			m, err := conn.Read(buf[got:])
			if err != nil {
				t.Fatalf("read: %v (%q)", err, buf[:got])
			}
			got += m
		}
		if !strings.HasPrefix(string(buf[:got]), "HTTP/1.1 101") {
			t.Fatalf("handshake answered %q", buf[:min(got, 80)])
		}
		_ = conn.SetReadDeadline(time.Time{})
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.Close()
	}
}
