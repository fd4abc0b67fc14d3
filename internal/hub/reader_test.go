package hub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
