package hub

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Close codes the hub sends.
const (
	closeGoingAway = websocket.CloseGoingAway         // 1001: shutdown, request ended, no pong
	closeInternal  = websocket.CloseInternalServerErr // 1011: no subscription, no snapshot
	closeTooSlow   = websocket.CloseTryAgainLater     // 1013: the client's queue was full
	// readLimit is far above anything a desktop sends: it only answers pings and closes.
	readLimit = 512
)

// client is one desktop websocket. Everything the room needs (hold state, versions) is guarded
// by the room's shard mutex; send and done are channels; the close reason is set once.
type client struct {
	hub     *Hub
	conn    *websocket.Conn
	orderID string

	// send is the bounded queue to the writer: a frame, or nil for a ping.
	send chan []byte
	// done is closed by close(); the writer then sends the close frame and closes the conn.
	done      chan struct{}
	closeOnce sync.Once
	code      int // close code to send; 0: send none (the peer is gone or already closed)
	reason    string

	// Guarded by the shard mutex.
	pending bool // waiting for a snapshot: events are held, not queued
	gen     uint32
	min     int64 // lowest version still forwarded
	held    []heldEvent
}

type heldEvent struct {
	version int64
	frame   []byte
}

// Serve streams an order's snapshot and events to a desktop websocket. Call it after the
// handler has authorized the request, checked its Origin and upgraded; it blocks until the
// connection ends and closes conn. It reads in the calling goroutine and writes in one other.
//
// Memory per idle connection depends on the upgrader: while Serve blocks, net/http keeps the
// hijacked connection's 4 KiB bufio.Reader and 4 KiB bufio.Writer alive, so the leanest upgrader
// reuses them — websocket.Upgrader{} with ReadBufferSize, WriteBufferSize and WriteBufferPool
// left zero. Setting ReadBufferSize allocates a second read buffer; WriteBufferPool saves
// nothing here because the hijacked writer stays allocated anyway (BenchmarkIdleConnections
// measures both).
func (h *Hub) Serve(ctx context.Context, conn *websocket.Conn, orderID string) {
	c := &client{
		hub:     h,
		conn:    conn,
		orderID: orderID,
		send:    make(chan []byte, h.cfg.SendQueue),
		done:    make(chan struct{}),
	}
	r := h.join(c)
	if r == nil {
		c.code, c.reason = closeGoingAway, "server shutting down"
		c.writeClose()
		_ = conn.Close()
		return
	}
	h.log.Info("websocket connected", "order_id", orderID)
	start := time.Now()
	stop := context.AfterFunc(ctx, func() { c.close(closeGoingAway, "request ended") })

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(ctx, r)
	}()
	c.readLoop()

	stop()
	<-writerDone
	h.leave(c, r)
	h.log.Info("websocket disconnected", "order_id", orderID, "reason", c.reason, "code", c.code,
		"duration", time.Since(start).Round(time.Millisecond))
}

// readLoop reads until the connection fails: desktops only listen, so it is there for pongs
// (which push the read deadline), close frames, and noticing a dead peer.
func (c *client) readLoop() {
	conn := c.conn
	pongWait := c.hub.cfg.PongWait
	conn.SetReadLimit(readLimit)
	_ = conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		// NextReader discards whatever is left of the previous message.
		if _, _, err := conn.NextReader(); err != nil {
			c.close(readErrorClose(err))
			return
		}
	}
}

func readErrorClose(err error) (int, string) {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return 0, "client closed " + strconv.Itoa(ce.Code)
	case errors.Is(err, websocket.ErrReadLimit):
		return 0, "message too big" // the websocket library has sent 1009
	case errors.As(err, &ne) && ne.Timeout():
		return closeGoingAway, "pong timeout"
	default:
		return 0, "read failed"
	}
}

// writeLoop waits for the room's subscription, sends the first snapshot, then writes the queue.
// It is the only writer of data frames and pings on the connection.
func (c *client) writeLoop(ctx context.Context, r *room) {
	defer c.conn.Close()
	if !c.start(ctx, r) {
		c.writeClose()
		return
	}
	ww := c.hub.cfg.WriteWait
	for {
		select {
		case <-c.done:
			c.writeClose()
			return
		case frame := <-c.send:
			var err error
			if frame == nil {
				err = c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(ww))
			} else {
				_ = c.conn.SetWriteDeadline(time.Now().Add(ww))
				err = c.conn.WriteMessage(websocket.TextMessage, frame)
			}
			if err != nil {
				c.close(0, "write failed")
				return
			}
		}
	}
}

// start waits for Redis to confirm the room's subscription (so that no event published after
// the snapshot is read can be missed), then reads the snapshot and queues it first.
func (c *client) start(ctx context.Context, r *room) bool {
	h := c.hub
	t := time.NewTimer(h.cfg.SubscribeTimeout)
	select {
	case <-r.ready:
		t.Stop()
	case <-c.done:
		t.Stop()
		return false
	case <-t.C:
		c.close(closeInternal, "subscribe timeout")
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, backgroundTimeout)
	snap, err := h.snapshot(sctx, c.orderID)
	cancel()
	if err != nil {
		h.log.Warn("snapshot failed", "order_id", c.orderID, "err", err)
		c.close(closeInternal, "snapshot failed")
		return false
	}
	sh := h.shard(c.orderID)
	sh.mu.Lock()
	if sh.rooms[c.orderID] == r {
		h.applySnapshotLocked(r, snap)
	}
	// gen 1 is this first hold; a higher one means a re-snapshot, read later, is on its way.
	if c.gen == 1 {
		c.deliverLocked(snap)
	}
	sh.mu.Unlock()
	return true
}

// hold makes the client wait for a new snapshot: events are held (with their versions) until
// it is delivered. The shard mutex is held.
func (c *client) hold() {
	c.gen++
	c.pending = true
}

// deliverLocked queues a snapshot, then the held events newer than it.
func (c *client) deliverLocked(snap *Snapshot) {
	held := c.held
	c.held = nil
	c.pending = false
	c.min = snap.Version + 1
	if !c.push(snap.Payload) {
		return
	}
	for _, e := range held {
		c.offerLocked(e.version, e.frame)
	}
}

// offerLocked queues an event if it is not stale: newer than the snapshot, and not older than
// the last event forwarded (several events of one change share a version).
func (c *client) offerLocked(version int64, frame []byte) {
	if c.pending {
		if len(c.held) >= cap(c.send) {
			c.close(closeTooSlow, "too slow")
			return
		}
		c.held = append(c.held, heldEvent{version, frame})
		return
	}
	if version < c.min {
		return
	}
	if c.push(frame) {
		c.min = version
	}
}

// push queues a frame without ever blocking; a client whose queue is full is disconnected.
func (c *client) push(frame []byte) bool {
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.send <- frame:
		return true
	default:
		c.close(closeTooSlow, "too slow")
		return false
	}
}

// close ends the connection once, with a close code (0: none) and a reason for the log.
func (c *client) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.done)
	})
}

// writeClose sends the close frame, if any; the caller closes the connection afterwards.
func (c *client) writeClose() {
	if c.code == 0 {
		return
	}
	msg := websocket.FormatCloseMessage(c.code, c.reason)
	_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.hub.cfg.WriteWait))
}
