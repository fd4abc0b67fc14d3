package hub

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/beianscan/beianscan/internal/broker"
)

// clientFrame builds a frame as a client sends it: b0 is FIN, RSV and opcode; masked unless
// unmasked is set.
func clientFrame(b0 byte, payload []byte, unmasked bool) []byte {
	var f []byte
	f = append(f, b0)
	maskBit := byte(0x80)
	if unmasked {
		maskBit = 0
	}
	switch n := len(payload); {
	case n < 126:
		f = append(f, maskBit|byte(n))
	case n < 1<<16:
		f = append(f, maskBit|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, maskBit|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if unmasked {
		return append(f, payload...)
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i&3])
	}
	return f
}

const (
	finText  = 0x80 | websocket.TextMessage
	finPing  = 0x80 | websocket.PingMessage
	finClose = 0x80 | websocket.CloseMessage
)

func closePayload(code int, text string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), text...)
}

var errPong = errors.New("pong")

// TestClientFrames sends each kind of frame a client may send, well formed or not, byte by
// byte where it matters, and checks what the hub answers: a pong, the close code of RFC 6455
// (1002 protocol error, 1009 too big, the client's own code echoed), or nothing.
func TestClientFrames(t *testing.T) {
	th, _, _ := newHub(t, hubOpts{})
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	ping := clientFrame(finPing, []byte("p1"), false)
	tests := []struct {
		name      string
		send      []byte
		wantClose int // 0: the connection stays, and answers the ping at the end
	}{
		{"ping answered", ping, 0},
		{"small text dropped", cat(clientFrame(finText, []byte("hello"), false), ping), 0},
		{"fragmented text then ping", cat(clientFrame(websocket.TextMessage, []byte("a"), false), ping, clientFrame(0x80, []byte("b"), false), ping), 0},
		{"pong accepted", cat(clientFrame(0x80|websocket.PongMessage, nil, false), ping), 0},
		{"text of 16-bit length", cat(clientFrame(finText, bytes.Repeat([]byte("x"), 300), false), ping), 0},
		{"unmasked", clientFrame(finText, []byte("hi"), true), websocket.CloseProtocolError},
		{"reserved bit", clientFrame(0x80|0x40|websocket.TextMessage, []byte("hi"), false), websocket.CloseProtocolError},
		{"fragmented ping", clientFrame(websocket.PingMessage, nil, false), websocket.CloseProtocolError},
		{"long ping", clientFrame(finPing, bytes.Repeat([]byte("x"), 126), false), websocket.CloseProtocolError},
		{"unknown opcode", clientFrame(0x80|3, nil, false), websocket.CloseProtocolError},
		{"continuation alone", clientFrame(0x80, []byte("a"), false), websocket.CloseProtocolError},
		{"text inside text", cat(clientFrame(websocket.TextMessage, []byte("a"), false), clientFrame(finText, []byte("b"), false)), websocket.CloseProtocolError},
		{"too big", clientFrame(finText, bytes.Repeat([]byte("x"), readLimit+1), false), websocket.CloseMessageTooBig},
		{"too big in fragments", cat(clientFrame(websocket.TextMessage, bytes.Repeat([]byte("x"), 300), false), clientFrame(0x80, bytes.Repeat([]byte("x"), 300), false)), websocket.CloseMessageTooBig},
		{"64-bit length", clientFrame(finText, bytes.Repeat([]byte("x"), 1<<16), false), websocket.CloseMessageTooBig},
		{"close 1000 echoed", clientFrame(finClose, closePayload(1000, "bye"), false), 1000},
		{"close 4001 echoed", clientFrame(finClose, closePayload(4001, ""), false), 4001},
		{"empty close echoed", clientFrame(finClose, nil, false), websocket.CloseNoStatusReceived},
		{"close of one byte", clientFrame(finClose, []byte{3}, false), websocket.CloseProtocolError},
		{"close code 1005", clientFrame(finClose, closePayload(1005, ""), false), websocket.CloseProtocolError},
		{"close text not UTF-8", clientFrame(finClose, closePayload(1000, "\xff"), false), websocket.CloseProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := th.dial(t, uniqueID(t))
			expectFrame(t, conn, "snapshot", 0)
			pongs := make(chan string, 4)
			conn.SetPongHandler(func(data string) error {
				pongs <- data
				return errPong
			})
			// One byte at a time, so that every read of the hub may return short. A hub that
			// has closed may refuse the rest of a frame it has already judged.
			for _, b := range tc.send {
				if _, err := conn.NetConn().Write([]byte{b}); err != nil {
					if tc.wantClose == 0 {
						t.Fatalf("write: %v", err)
					}
					break
				}
			}
			if tc.wantClose != 0 {
				if code := expectClosed(t, conn); code != tc.wantClose {
					t.Fatalf("close code %d, want %d", code, tc.wantClose)
				}
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := conn.ReadMessage(); !errors.Is(err, errPong) {
				t.Fatalf("read: %v, want a pong", err)
			}
			if got := <-pongs; got != "p1" {
				t.Fatalf("pong %q, want %q", got, "p1")
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for th.Connections() != 0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	// The dialled connections are closed by the subtests' cleanups; the hub must have let
	// go of all of them.
	if n := th.Connections(); n != 0 {
		t.Fatalf("Connections() = %d after every client went", n)
	}
}

// TestIdleConnectionCost opens idle connections the way webapi does (Start, handler returns,
// pooled write buffer) and checks that each holds one goroutine on the minimum 2 KiB stack:
// gorilla's reader under Serve held a 4 KiB one.
func TestIdleConnectionCost(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 500 connections")
	}
	const n = 500
	tr := newTestRedis(t)
	rdb := tr.client(t, "")
	store := newFakeStore()
	h := New(broker.NewRedis(rdb, broker.RedisOptions{Logger: testLogger()}), store.snapshot, nil, Config{Logger: testLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = h.Run(ctx) }()
	up := websocket.Upgrader{ReadBufferSize: 128, WriteBufferPool: &sync.Pool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		h.Start(context.Background(), conn, r.URL.Query().Get("order"), nil)
	}))
	t.Cleanup(func() {
		h.Close()
		srv.Close()
		cancel()
		<-runDone
	})
	addr := strings.TrimPrefix(srv.URL, "http://")
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
