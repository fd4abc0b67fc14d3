package hub

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// readLoop reads the desktop's frames until the connection ends. Desktops only listen, so it
// is there for pongs (which push the read deadline), pings, close frames, and noticing a dead
// peer.
//
// It reads the network connection itself instead of going through gorilla's reader: an idle
// reader then waits in net.Conn.Read a few frames deep, on a stack that the garbage collector
// shrinks to the 2 KiB minimum, with no buffer of its own. Blocked in gorilla's NextReader
// under Serve, the same goroutine kept a 4 KiB stack (BenchmarkIdleConnections). Gorilla only
// writes; it never reads this connection. The rules are RFC 6455's for a server, as gorilla
// applies them: client frames are masked, reserved bits are zero (no extension is
// negotiated), control frames are final and at most 125 bytes.
func (c *client) readLoop() {
	nc := c.conn.NetConn()
	pongWait := c.hub.cfg.PongWait
	_ = nc.SetReadDeadline(time.Now().Add(pongWait))
	var hdr [8]byte
	inMessage := false // a fragmented data message has begun
	var msgLen int64   // its length so far
	for {
		// The idle wait: straight into net.Conn.Read, so as few frames as possible lie under
		// it. A frame's first byte is enough to return from it.
		m, err := nc.Read(hdr[:2])
		var op int
		var fin bool
		var n int64
		var mask [4]byte
		if err == nil {
			op, fin, n, mask, err = readHeader(nc, &hdr, m)
		}
		if err == nil {
			err = checkFrame(op, fin, n, inMessage)
		}
		if err != nil {
			c.close(readErrorClose(err))
			return
		}
		if op >= websocket.CloseMessage {
			payload := make([]byte, n)
			if _, err := io.ReadFull(nc, payload); err != nil {
				c.close(readErrorClose(err))
				return
			}
			unmask(payload, mask)
			switch op {
			case websocket.PongMessage:
				_ = nc.SetReadDeadline(time.Now().Add(pongWait))
			case websocket.PingMessage:
				// WriteControl may be called beside the writer (gorilla serializes it).
				_ = c.conn.WriteControl(websocket.PongMessage, payload, time.Now().Add(c.hub.cfg.WriteWait))
			case websocket.CloseMessage:
				c.closeFromPeer(payload)
				return
			}
			continue
		}
		// A data frame: nothing a desktop has to say, so it is counted and dropped.
		if op != continuationFrame {
			msgLen = 0
		}
		msgLen += n
		if msgLen > readLimit {
			c.close(websocket.CloseMessageTooBig, "message too big")
			return
		}
		inMessage = !fin
		if _, err := io.CopyN(io.Discard, nc, n); err != nil {
			c.close(readErrorClose(err))
			return
		}
	}
}

const continuationFrame = 0

// errProtocol is a frame that breaks RFC 6455; the connection is closed with 1002.
type errProtocol string

func (e errProtocol) Error() string { return string(e) }

// readHeader reads one client frame's header, of which buf holds the first got bytes:
// opcode, FIN, payload length and mask key.
//
//go:noinline
func readHeader(r io.Reader, buf *[8]byte, got int) (op int, fin bool, n int64, mask [4]byte, err error) {
	if _, err = io.ReadFull(r, buf[got:2]); err != nil {
		return
	}
	b0, b1 := buf[0], buf[1]
	op, fin = int(b0&0x0f), b0&0x80 != 0
	if b0&0x70 != 0 {
		err = errProtocol("reserved bits set")
		return
	}
	if b1&0x80 == 0 {
		err = errProtocol("unmasked client frame")
		return
	}
	switch n = int64(b1 & 0x7f); n {
	case 126:
		if _, err = io.ReadFull(r, buf[:2]); err != nil {
			return
		}
		n = int64(binary.BigEndian.Uint16(buf[:2]))
	case 127:
		if _, err = io.ReadFull(r, buf[:8]); err != nil {
			return
		}
		u := binary.BigEndian.Uint64(buf[:8])
		if u > 1<<62 {
			err = errProtocol("frame length")
			return
		}
		n = int64(u)
	}
	_, err = io.ReadFull(r, mask[:])
	return
}

// checkFrame applies the rules a frame's header must follow.
func checkFrame(op int, fin bool, n int64, inMessage bool) error {
	switch op {
	case websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
		if !fin || n > 125 {
			return errProtocol("bad control frame")
		}
	case continuationFrame:
		if !inMessage {
			return errProtocol("continuation without a message")
		}
	case websocket.TextMessage, websocket.BinaryMessage:
		if inMessage {
			return errProtocol("message inside a message")
		}
	default:
		return errProtocol("unknown opcode " + strconv.Itoa(op))
	}
	return nil
}

func unmask(b []byte, key [4]byte) {
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// closeFromPeer answers a close frame with the same code, as RFC 6455 asks.
func (c *client) closeFromPeer(payload []byte) {
	switch {
	case len(payload) == 0:
		c.closeWith(websocket.CloseNoStatusReceived, "", "client closed "+strconv.Itoa(websocket.CloseNoStatusReceived))
		return
	case len(payload) == 1:
		c.close(websocket.CloseProtocolError, "bad close frame")
		return
	}
	code := int(binary.BigEndian.Uint16(payload))
	if !validCloseCode(code) || !utf8.Valid(payload[2:]) {
		c.close(websocket.CloseProtocolError, "bad close frame")
		return
	}
	c.closeWith(code, "", "client closed "+strconv.Itoa(code))
}

// validCloseCode is what a peer may send in a close frame (RFC 6455 §7.4).
func validCloseCode(code int) bool {
	switch code {
	case 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014:
		return true
	}
	return code >= 3000 && code <= 4999
}

func readErrorClose(err error) (int, string) {
	var pe errProtocol
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		return websocket.CloseProtocolError, string(pe)
	case errors.As(err, &ne) && ne.Timeout():
		return closeGoingAway, "pong timeout"
	default:
		return 0, "read failed"
	}
}
