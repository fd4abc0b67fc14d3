package server_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/internal/wstest"
)

// BenchmarkIdleDesktops is internal/hub's BenchmarkIdleConnections through the whole server:
// N orders (BEIANSCAN_BENCH_DESKTOPS, default 1000), each with its desktop's websocket open
// past its snapshot, authorized, behind the per-order websocket limit (20, as in production,
// so each holds a lease), opened by a child process. It reports the growth of HeapInuse +
// StackInuse per desktop, the orders already created before the first measurement.
// BEIANSCAN_BENCH_HEAPPROFILE=file writes heap and goroutine profiles while the desktops are open.
//
//	BEIANSCAN_BENCH_DESKTOPS=10000 go test ./internal/server -run '^$' -bench IdleDesktops -benchtime 1x
func BenchmarkIdleDesktops(b *testing.B) {
	n := wstest.EnvCount(b, "BEIANSCAN_BENCH_DESKTOPS", 1000)
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

		var stop func()
		wstest.ReportGrowth(b, n, "desktop", os.Getenv("BEIANSCAN_BENCH_HEAPPROFILE"), func() {
			stop = wstest.StartChild(b, "TestIdleDesktopsHelper",
				"BEIANSCAN_IDLE_DESKTOPS="+strings.TrimPrefix(m.URL, "http://")+" "+file)
		})
		stop()
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
		conns = append(conns, wstest.DialRaw(t, addr, "/api/v1/orders/"+id+"/events", "Authorization: Bearer "+token+"\r\n"))
	}
	wstest.Hold(conns)
}
