package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beianscan/beianscan/internal/broker"
	"github.com/beianscan/beianscan/internal/events"
)

// Snapshot is an order's full state as a desktop first sees it.
type Snapshot struct {
	// Payload is the whole snapshot frame, {"type":"snapshot","version":N,...}; it is sent as
	// is and never modified.
	Payload []byte
	// Version is the order's version the snapshot shows.
	Version int64
	// Pairing is the order's current QR pairing while it is unclaimed and its pairing_expired
	// has not been published (orders.Pairing.Pending; even past expires_at), else nil.
	Pairing *PendingPairing
}

// PendingPairing is an unclaimed QR pairing, to be expired when it lapses.
type PendingPairing struct {
	ID        string
	ExpiresAt time.Time
}

// Expiry is told the pending pairing of every order this hub holds a room of, in version
// order, so that a pairing is expired when it lapses while a desktop watches (internal/pairingexpiry).
type Expiry interface {
	Watch(orderID, pairingID string, expiresAt time.Time)
	Forget(orderID string)
}

// Config tunes a Hub. Zero fields take the documented defaults.
type Config struct {
	// PingInterval is how often every connection is pinged. Default 30s. It is kept below
	// PongWait.
	PingInterval time.Duration
	// PongWait is how long a connection may stay silent (no pong, no message) before it is
	// closed. Default 60s.
	PongWait time.Duration
	// WriteWait bounds every write to a connection. Default 10s.
	WriteWait time.Duration
	// SendQueue is how many frames may wait for a connection's writer. A client whose queue is
	// full is disconnected (close 1013 "too slow"), never waited for. Default 32.
	SendQueue int
	// SubscribeTimeout bounds the wait for Redis to confirm an order's subscription before
	// the connection is closed with 1011. Default 5s.
	SubscribeTimeout time.Duration
	// Logger receives connects, disconnects and pub/sub trouble. Default slog.Default().
	Logger *slog.Logger
	// FrameWritten, if set, is called with each data frame once written (event delivery
	// metrics); it must be quick and must not keep the frame.
	FrameWritten func(frame []byte)
}

const (
	numShards = 16
	// backgroundTimeout bounds the re-snapshots the hub reads on its own.
	backgroundTimeout = 10 * time.Second
)

// Hub is one instance's set of desktop websockets, grouped into rooms by order.
type Hub struct {
	broker   broker.Broker
	snapshot func(ctx context.Context, orderID string) (*Snapshot, error)
	expiry   Expiry
	cfg      Config
	log      *slog.Logger
	seed     maphash.Seed

	shards [numShards]shard

	// ctx bounds the hub's own background calls (re-snapshots); Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	closed atomic.Bool
	conns  atomic.Int64
	serves sync.WaitGroup // one per Serve that joined a room; Close waits for them

	// onUnsubscribed, if set (tests), is called from Run when the broker confirms an
	// unsubscription.
	onUnsubscribed func(orderID string)
}

type shard struct {
	mu    sync.Mutex
	rooms map[string]*room
}

// room is one order's clients on this instance. All fields are guarded by its shard's mutex.
type room struct {
	orderID string
	// clients is a slice: an order usually has one desktop, and a map costs more.
	clients []*client
	// ready is closed when Redis first confirms the room's subscription; live says so.
	ready chan struct{}
	live  bool
	// version is the highest version the room has seen, from an event or a snapshot: the
	// pending pairing Expiry was last told of is the one of this version.
	version int64
}

// event is what the hub reads of a published event: enough to order it and to follow the
// order's pending pairing. The frame itself is forwarded as published.
type event struct {
	Type    string          `json:"type"`
	Version int64           `json:"version"`
	Data    json.RawMessage `json:"data"`
}

// New returns a Hub on b. snapshot reads an order's current snapshot; expiry is told each
// room's pending pairing (nil: nobody is). Start Run before serving.
func New(b broker.Broker, snapshot func(ctx context.Context, orderID string) (*Snapshot, error), expiry Expiry, cfg Config) *Hub {
	if b == nil || snapshot == nil {
		panic("hub: New needs a broker and a snapshot func")
	}
	cfg.PingInterval = cmp.Or(cfg.PingInterval, 30*time.Second)
	cfg.PongWait = cmp.Or(cfg.PongWait, 60*time.Second)
	if cfg.PingInterval >= cfg.PongWait {
		// A ping must have time to be answered before the read deadline passes.
		cfg.PingInterval = cfg.PongWait * 9 / 10
	}
	cfg.WriteWait = cmp.Or(cfg.WriteWait, 10*time.Second)
	cfg.SendQueue = cmp.Or(cfg.SendQueue, 32)
	cfg.SubscribeTimeout = cmp.Or(cfg.SubscribeTimeout, 5*time.Second)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	h := &Hub{
		broker:   b,
		snapshot: snapshot,
		expiry:   expiry,
		cfg:      cfg,
		log:      cfg.Logger.With("component", "hub"),
		seed:     maphash.MakeSeed(),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	for i := range h.shards {
		h.shards[i].rooms = make(map[string]*room)
	}
	return h
}

func (h *Hub) shard(orderID string) *shard {
	return &h.shards[maphash.String(h.seed, orderID)%numShards]
}

// enqueueLocked asks the broker for an order's (un)subscription. The caller holds the shard
// lock that decided it, and the broker keeps call order, so the broker sees one order's
// requests in the order its room's ref-count changed (a join racing the last leave gives
// unsubscribe then subscribe, never the reverse).
func (h *Hub) enqueueLocked(subscribe bool, orderID string) {
	if subscribe {
		h.broker.Subscribe(orderID)
	} else {
		h.broker.Unsubscribe(orderID)
	}
}

// Run runs the broker, delivering to the hub, and pings every connection every
// PingInterval. It returns when ctx ends (nil), or with the broker's error. Run it once at a
// time; a later Run re-subscribes the rooms still open and re-snapshots them.
func (h *Hub) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.pingSweep(ctx) }()
	defer func() {
		stop()
		wg.Wait()
	}()
	err := h.broker.Run(ctx, brokerEvents{h})
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = errBrokerStopped
	}
	return err
}

// brokerEvents is the hub as the broker's Handler, kept off the hub's own method set.
type brokerEvents struct{ h *Hub }

func (e brokerEvents) Subscribed(orderID string) { e.h.subscribed(orderID) }

func (e brokerEvents) Unsubscribed(orderID string) {
	if e.h.onUnsubscribed != nil {
		e.h.onUnsubscribed(orderID)
	}
}

func (e brokerEvents) Message(orderID string, payload []byte) { e.h.dispatch(orderID, payload) }

type hubError string

func (e hubError) Error() string { return string(e) }

const errBrokerStopped = hubError("hub: the broker stopped")

// subscribed handles Redis's confirmation of an order's subscription.
func (h *Hub) subscribed(orderID string) {
	sh := h.shard(orderID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.rooms[orderID]
	if r == nil {
		return // the room emptied before Redis answered; its UNSUBSCRIBE follows
	}
	if !r.live {
		r.live = true
		close(r.ready)
		return
	}
	// A confirmation for a room already live is the broker re-subscribing after a reconnect
	// or a failover (or, rarely, the late answer to an earlier room's SUBSCRIBE followed by
	// this room's):
	// events may have been missed in between, so every client gets a fresh snapshot.
	h.resnapshotLocked(sh, r)
}

// resnapshotLocked puts every client of r on hold, reads a new snapshot, and sends it to them,
// followed by the events that arrived meanwhile and are newer than it.
func (h *Hub) resnapshotLocked(sh *shard, r *room) {
	if len(r.clients) == 0 {
		return
	}
	targets := make(map[*client]uint32, len(r.clients))
	for _, c := range r.clients {
		c.hold()
		targets[c] = c.gen
	}
	go func() {
		snap, err := h.snapshotRetrying(r.orderID)
		sh.mu.Lock()
		defer sh.mu.Unlock()
		if err != nil {
			h.log.Warn("re-snapshot failed", "order_id", r.orderID, "err", err)
		} else if sh.rooms[r.orderID] == r {
			h.applySnapshotLocked(r, snap)
		}
		for c, gen := range targets {
			if c.gen != gen {
				continue // a newer snapshot is on its way to this client
			}
			if err != nil {
				c.close(closeInternal, "snapshot failed")
				continue
			}
			c.deliverLocked(snap)
		}
	}()
}

// snapshotRetrying reads a snapshot for a re-snapshot, retrying for up to backgroundTimeout:
// a re-subscription often comes the moment Redis is back, while the command pool is still
// backing off from its failed dials, and a desktop should not be closed for that.
func (h *Hub) snapshotRetrying(orderID string) (*Snapshot, error) {
	ctx, cancel := context.WithTimeout(h.ctx, backgroundTimeout)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		snap, err := h.snapshot(ctx, orderID)
		if err == nil || ctx.Err() != nil {
			return snap, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

// dispatch forwards a published event to the order's clients on this instance.
func (h *Hub) dispatch(orderID string, payload []byte) {
	var ev event
	if err := json.Unmarshal(payload, &ev); err != nil {
		h.log.Warn("event dropped: not JSON", "order_id", orderID, "bytes", len(payload))
		return
	}
	frame := payload // shared, read-only, by every client's queue
	sh := h.shard(orderID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.rooms[orderID]
	if r == nil {
		return
	}
	h.applyEventLocked(r, &ev)
	for _, c := range r.clients {
		c.offerLocked(ev.Version, frame)
	}
}

// applyEventLocked follows the order's pending pairing through its events.
func (h *Hub) applyEventLocked(r *room, ev *event) {
	if ev.Version < r.version {
		return
	}
	r.version = ev.Version
	switch ev.Type {
	case events.PairingCreated:
		var d events.PairingCreatedData
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.ID == "" || d.ExpiresAt.IsZero() {
			h.log.Warn("pairing_created without id or expires_at", "order_id", r.orderID)
			h.setPairingLocked(r, nil)
			return
		}
		h.setPairingLocked(r, &PendingPairing{ID: d.ID, ExpiresAt: d.ExpiresAt})
	case events.PhoneConnected, events.PairingExpired, events.PhoneDisconnected:
		h.setPairingLocked(r, nil)
	}
}

func (h *Hub) applySnapshotLocked(r *room, snap *Snapshot) {
	// A snapshot of version N already holds every event of version N.
	if snap.Version < r.version {
		return
	}
	r.version = snap.Version
	h.setPairingLocked(r, snap.Pairing)
}

// setPairingLocked tells Expiry the room's pending pairing, p, or that it has none.
func (h *Hub) setPairingLocked(r *room, p *PendingPairing) {
	switch {
	case h.expiry == nil:
	case p == nil:
		h.expiry.Forget(r.orderID)
	default:
		h.expiry.Watch(r.orderID, p.ID, p.ExpiresAt)
	}
}

// pingSweep queues a ping for every connection every PingInterval: one ticker for the hub
// instead of one per connection.
func (h *Hub) pingSweep(ctx context.Context) {
	t := time.NewTicker(h.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for i := range h.shards {
			sh := &h.shards[i]
			sh.mu.Lock()
			for _, r := range sh.rooms {
				for _, c := range r.clients {
					c.push(nil)
				}
			}
			sh.mu.Unlock()
		}
	}
}

// join puts c into its order's room, creating and subscribing the room if c is its first
// client. It returns nil once the hub is closed.
func (h *Hub) join(c *client) *room {
	sh := h.shard(c.orderID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if h.closed.Load() {
		return nil
	}
	r := sh.rooms[c.orderID]
	if r == nil {
		r = &room{orderID: c.orderID, ready: make(chan struct{})}
		sh.rooms[c.orderID] = r
		h.enqueueLocked(true, c.orderID)
	}
	r.clients = append(r.clients, c)
	c.hold()
	h.serves.Add(1)
	h.conns.Add(1)
	return r
}

// leave takes c out of its room; the last client out unsubscribes and forgets the room's
// pending pairing (another instance's desktop, or the next to connect, watches it).
func (h *Hub) leave(c *client, r *room) {
	sh := h.shard(c.orderID)
	sh.mu.Lock()
	if i := slices.Index(r.clients, c); i >= 0 {
		r.clients = slices.Delete(r.clients, i, i+1)
	}
	if len(r.clients) == 0 && sh.rooms[c.orderID] == r {
		delete(sh.rooms, c.orderID)
		h.setPairingLocked(r, nil)
		h.enqueueLocked(false, c.orderID)
	}
	sh.mu.Unlock()
	h.conns.Add(-1)
	h.serves.Done()
}

// Close sends close 1001 (going away) to every connection, waits until they have ended, and
// stops the hub's background work. Serve refuses connections from then on. Register it with
// http.Server.RegisterOnShutdown: Shutdown does not drain hijacked connections. Close does not
// stop Run; its context does.
func (h *Hub) Close() {
	h.closed.Store(true)
	h.cancel()
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		for _, r := range sh.rooms {
			for _, c := range r.clients {
				c.close(closeGoingAway, "server shutting down")
			}
		}
		sh.mu.Unlock()
	}
	h.serves.Wait()
}

// Connections returns how many websockets this hub holds.
func (h *Hub) Connections() int { return int(h.conns.Load()) }
