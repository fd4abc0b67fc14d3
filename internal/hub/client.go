package hub

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
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
	// done is closed by close(); the writer then sends the close frame, closes the conn and
	// closes finished.
	done      chan struct{}
	finished  chan struct{}
	writing   atomic.Bool // a writer goroutine is running
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
// connection ends and closes conn. The calling goroutine reads; a writer goroutine runs only
// while there is something to write, so an idle connection has one goroutine.
//
// Memory per idle connection (BenchmarkIdleConnections) depends mostly on the caller:
//   - While a handler blocks, net/http keeps the request and the hijacked connection's 4 KiB
//     bufio.Reader and 4 KiB bufio.Writer alive. A handler that upgrades and then runs
//     `go hub.Serve(ctx, conn, id)` and returns lets go of all that. ctx must then not be the
//     request's context, which ends when the handler returns: pass the server's base context
//     (or context.Background(); Close ends the connections at shutdown).
//   - The upgrader should then use a shared WriteBufferPool (a *sync.Pool, so an idle
//     connection holds no write buffer) and a small ReadBufferSize (desktops send only pongs
//     and closes; 512 is plenty). With a blocking handler, websocket.Upgrader{} with all three
//     zero is the leaner choice instead, as it reuses the hijacked buffers.
func (h *Hub) Serve(ctx context.Context, conn *websocket.Conn, orderID string) {
	c := &client{
		hub:      h,
		conn:     conn,
		orderID:  orderID,
		send:     make(chan []byte, h.cfg.SendQueue),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	r := h.join(c)
	if r == nil {
		c.code, c.reason = closeGoingAway, "server shutting down"
		c.writeClose()
		_ = conn.Close()
		return
	}
	start := time.Now()
	stop := context.AfterFunc(ctx, func() { c.close(closeGoingAway, "request ended") })

	// The first writer sets the connection up (subscription, snapshot) while this goroutine
	// already reads, so that pongs and closes are seen from the start.
	c.writing.Store(true)
	go c.setUp(ctx, r)
	c.readLoop()

	stop()
	<-c.finished
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

// setUp is the first writer: it waits for the room's subscription, queues the snapshot and
// writes until the queue is empty.
func (c *client) setUp(ctx context.Context, r *room) {
	c.hub.log.Info("websocket connected", "order_id", c.orderID)
	c.start(ctx, r)
	c.writeLoop()
}

// kick starts a writer unless one is running. Only one goroutine writes at a time; the
// writing flag hands the connection from one writer to the next.
func (c *client) kick() {
	if c.writing.CompareAndSwap(false, true) {
		go c.writeLoop()
	}
}

// writeLoop writes the queue until it is empty, then exits; once the client is closed it
// sends the close frame and closes the connection. It is the only writer of data frames and
// pings, which is why a goroutine per connection need not wait on an idle queue.
func (c *client) writeLoop() {
	ww := c.hub.cfg.WriteWait
	for {
		select {
		case <-c.done:
			c.writeClose()
			_ = c.conn.Close()
			close(c.finished)
			return
		default:
		}
		select {
		case frame := <-c.send:
			var err error
			if frame == nil {
				err = c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(ww))
			} else {
				_ = c.conn.SetWriteDeadline(time.Now().Add(ww))
				err = c.conn.WriteMessage(websocket.TextMessage, frame)
				if fw := c.hub.cfg.FrameWritten; fw != nil && err == nil {
					fw(frame)
				}
			}
			if err != nil {
				c.close(0, "write failed")
			}
			continue
		default:
		}
		// Idle: hand over. A push or close that came after the checks above saw writing set
		// and started no writer, so look again after clearing it.
		c.writing.Store(false)
		if len(c.send) == 0 && !c.isClosed() {
			return
		}
		if !c.writing.CompareAndSwap(false, true) {
			return // another writer took over
		}
	}
}

func (c *client) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// start waits for Redis to confirm the room's subscription (so that no event published after
// the snapshot is read can be missed), then reads the snapshot and queues it first.
func (c *client) start(ctx context.Context, r *room) {
	h := c.hub
	t := time.NewTimer(h.cfg.SubscribeTimeout)
	select {
	case <-r.ready:
		t.Stop()
	case <-c.done:
		t.Stop()
		return
	case <-t.C:
		c.close(closeInternal, "subscribe timeout")
		return
	}
	sctx, cancel := context.WithTimeout(ctx, backgroundTimeout)
	snap, err := h.snapshot(sctx, c.orderID)
	cancel()
	if err != nil {
		h.log.Warn("snapshot failed", "order_id", c.orderID, "err", err)
		c.close(closeInternal, "snapshot failed")
		return
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
		c.kick()
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
		c.kick()
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
