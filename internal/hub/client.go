package hub

import (
	"context"
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

	// done is closed by close(); the writer then sends the close frame, closes the conn and
	// closes finished.
	done     chan struct{}
	finished chan struct{}

	// Guarded by mu, which is taken last (under the shard mutex, never the other way).
	mu sync.Mutex
	// queue holds the frames waiting for the writer, a nil frame being a ping; at most
	// SendQueue. It is a slice, not a channel, so that an idle connection holds none.
	queue   [][]byte
	writing bool // a writer goroutine is running
	closed  bool // close has been called; code, text and reason are set
	code    int  // close code to send; 0: send none (the peer is gone or already closed)
	text    string
	reason  string // for the log

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
// connection ends and closes conn, reading on the calling goroutine. A caller that can return
// at once should call Start instead: see there for the memory it saves.
func (h *Hub) Serve(ctx context.Context, conn *websocket.Conn, orderID string) {
	if c, r, stop := h.open(ctx, conn, orderID); c != nil {
		c.serveReads(r, stop, nil, time.Now())
	}
}

// Start is Serve without the wait: it returns at once, and calls ended (if not nil) once
// the connection has ended and conn is closed. ctx ends the connection with 1001; pass the
// server's base context (or context.Background(): Close ends the connections at shutdown),
// not the request's, which ends when the handler returns.
//
// A connection is served by one reader goroutine, started here, and a writer goroutine only
// while there is something to write, so an idle connection has one goroutine, on the 2 KiB
// minimum stack: the reader is started fresh and waits a few frames deep (see readLoop).
//
// Memory per idle connection (BenchmarkIdleConnections) depends on the caller too:
//   - A handler that upgrades, calls Start and returns lets net/http drop the request and the
//     hijacked connection's 4 KiB bufio.Reader and Writer; one that blocks in Serve keeps
//     them, and its goroutine's deeper stack.
//   - The upgrader should use a shared WriteBufferPool (a *sync.Pool, so an idle connection
//     holds no write buffer) and the smallest ReadBufferSize, 128: the hub never reads through
//     gorilla, so that buffer is never used. With a blocking handler, websocket.Upgrader{}
//     with all three zero is the leaner choice instead, as it reuses the hijacked buffers.
func (h *Hub) Start(ctx context.Context, conn *websocket.Conn, orderID string, ended func()) {
	c, r, stop := h.open(ctx, conn, orderID)
	if c == nil {
		if ended != nil {
			ended()
		}
		return
	}
	go c.serveReads(r, stop, ended, time.Now())
}

// open joins the order's room and starts the first writer; it returns a nil client, having
// closed conn, once the hub is closed.
func (h *Hub) open(ctx context.Context, conn *websocket.Conn, orderID string) (*client, *room, func() bool) {
	c := &client{
		hub:      h,
		conn:     conn,
		orderID:  orderID,
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	r := h.join(c)
	if r == nil {
		c.code, c.text, c.reason = closeGoingAway, "server shutting down", "server shutting down"
		c.writeClose()
		_ = conn.Close()
		return nil, nil, nil
	}
	// A context that never ends (the server's base context) needs no watcher.
	stop := func() bool { return false }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { c.close(closeGoingAway, "request ended") })
	}
	// The first writer sets the connection up (subscription, snapshot) while the reader
	// already reads, so that pongs and closes are seen from the start.
	c.writing = true
	go c.setUp(ctx, r)
	return c, r, stop
}

// serveReads is the reader goroutine: it reads until the connection ends, then waits for
// the writer to close it and leaves the room.
func (c *client) serveReads(r *room, stop func() bool, ended func(), start time.Time) {
	c.readLoop()
	c.finish(r, stop, start)
	if ended != nil {
		ended()
	}
}

// finish is kept out of serveReads so that its frame is not on the idle reader's stack.
//
//go:noinline
func (c *client) finish(r *room, stop func() bool, start time.Time) {
	stop()
	<-c.finished
	c.hub.leave(c, r)
	c.hub.log.Info("websocket disconnected", "order_id", c.orderID, "reason", c.reason, "code", c.code,
		"duration", time.Since(start).Round(time.Millisecond))
}

// setUp is the first writer: it waits for the room's subscription, queues the snapshot and
// writes until the queue is empty.
func (c *client) setUp(ctx context.Context, r *room) {
	c.hub.log.Info("websocket connected", "order_id", c.orderID)
	c.start(ctx, r)
	c.writeLoop()
}

// writeLoop writes the queue until it is empty, then exits; once the client is closed it
// sends the close frame and closes the connection. It is the only writer of data frames and
// pings, which is why no goroutine per connection need wait on an idle queue: whoever queues
// a frame while no writer runs starts one (the writing flag, under mu, hands over).
func (c *client) writeLoop() {
	ww := c.hub.cfg.WriteWait
	for {
		c.mu.Lock()
		if c.closed {
			c.queue = nil
			c.mu.Unlock()
			c.writeClose()
			_ = c.conn.Close()
			close(c.finished)
			return
		}
		if len(c.queue) == 0 {
			c.queue = nil // an idle connection holds no queue
			c.writing = false
			c.mu.Unlock()
			return
		}
		frame := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.mu.Unlock()

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
		if len(c.held) >= c.hub.cfg.SendQueue {
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
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.hub.cfg.SendQueue {
		c.closeLocked(closeTooSlow, "too slow", "too slow")
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, frame)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	return true
}

// close ends the connection once, with a close code (0: none) whose text is the reason.
func (c *client) close(code int, reason string) { c.closeWith(code, reason, reason) }

// closeWith ends the connection once, with a close code (0: none), the close frame's text,
// and a reason for the log.
func (c *client) closeWith(code int, text, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code, text, reason)
}

func (c *client) closeLocked(code int, text, reason string) {
	if c.closed {
		return
	}
	c.closed = true
	c.code, c.text, c.reason = code, text, reason
	close(c.done)
	if !c.writing {
		c.writing = true
		go c.writeLoop()
	}
}

// writeClose sends the close frame, if any; the caller closes the connection afterwards.
func (c *client) writeClose() {
	if c.code == 0 {
		return
	}
	msg := websocket.FormatCloseMessage(c.code, c.text)
	_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.hub.cfg.WriteWait))
}
