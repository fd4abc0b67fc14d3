package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/broker"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

// testRedis is the Redis the tests run against: a real one when BEIANSCAN_REDIS_URL or
// REDIS_URL is set, else an in-process miniredis.
type testRedis struct {
	opts *redis.Options
	mr   *miniredis.Miniredis // nil for a real Redis
}

func newTestRedis(tb testing.TB) *testRedis {
	tb.Helper()
	url := os.Getenv("BEIANSCAN_REDIS_URL")
	if url == "" {
		url = os.Getenv("REDIS_URL")
	}
	if url != "" {
		opts, err := redis.ParseURL(url)
		if err != nil {
			tb.Fatalf("parse Redis URL: %v", err)
		}
		return &testRedis{opts: opts}
	}
	mr := miniredis.RunT(tb)
	return &testRedis{opts: &redis.Options{Addr: mr.Addr()}, mr: mr}
}

// client returns a new client of the test Redis, named so that its connections can be found.
func (tr *testRedis) client(tb testing.TB, name string) *redis.Client {
	tb.Helper()
	o := *tr.opts
	o.ClientName = name
	rdb := redis.NewClient(&o)
	tb.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis ping: %v", err)
	}
	return rdb
}

// uniqueID is random and of fixed length, so no test's order ID is a prefix of another's.
func uniqueID(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return "hubtest" + hex.EncodeToString(b)
}

// fakeStore serves snapshots from a map.
type fakeStore struct {
	mu    sync.Mutex
	snaps map[string]*Snapshot
}

func newFakeStore() *fakeStore {
	return &fakeStore{snaps: map[string]*Snapshot{}}
}

func (s *fakeStore) set(orderID string, version int64, p *PendingPairing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snaps[orderID] = &Snapshot{
		Payload: fmt.Appendf(nil, `{"type":"snapshot","version":%d,"order":{"id":%q},"materials":[],"pairing":null}`, version, orderID),
		Version: version,
		Pairing: p,
	}
}

func (s *fakeStore) snapshot(_ context.Context, orderID string) (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if snap, ok := s.snaps[orderID]; ok {
		return snap, nil
	}
	return &Snapshot{
		Payload: fmt.Appendf(nil, `{"type":"snapshot","version":0,"order":{"id":%q},"materials":[],"pairing":null}`, orderID),
	}, nil
}

// fakeExpiry records, per order, what the hub tells its Expiry: "watch ID@expires_at" or
// "forget".
type fakeExpiry struct {
	mu      sync.Mutex
	told    map[string][]string
	changed chan struct{}
}

func newFakeExpiry() *fakeExpiry {
	return &fakeExpiry{told: map[string][]string{}, changed: make(chan struct{}, 1)}
}

func (e *fakeExpiry) Watch(orderID, pairingID string, expiresAt time.Time) {
	e.note(orderID, fmt.Sprintf("watch %s@%s", pairingID, expiresAt.UTC().Format(time.RFC3339Nano)))
}

func (e *fakeExpiry) Forget(orderID string) { e.note(orderID, "forget") }

func (e *fakeExpiry) note(orderID, what string) {
	e.mu.Lock()
	e.told[orderID] = append(e.told[orderID], what)
	e.mu.Unlock()
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// wait waits until the hub has told exactly want of the order, and fails if it tells
// something else.
func (e *fakeExpiry) wait(tb testing.TB, orderID string, want ...string) {
	tb.Helper()
	timeout := time.After(5 * time.Second)
	for {
		e.mu.Lock()
		got := slices.Clone(e.told[orderID])
		e.mu.Unlock()
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			tb.Fatalf("told Expiry %q, want %q", got, want)
		}
		if len(got) == len(want) {
			return
		}
		select {
		case <-e.changed:
		case <-timeout:
			tb.Fatalf("told Expiry %q, want %q", got, want)
		}
	}
}

type testHub struct {
	*Hub
	srv *httptest.Server
}

func testLogger() *slog.Logger {
	if os.Getenv("HUB_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type hubOpts struct {
	cfg Config
	// expiry, if set, is told the rooms' pending pairings.
	expiry Expiry
	// onUpgrade, if set, sees each server-side conn before Serve.
	onUpgrade func(*websocket.Conn, *http.Request)
	// onUnsubscribed, if set, is the hub's hook for Redis's unsubscribe confirmations.
	onUnsubscribed func(orderID string)
	// noRun leaves Run unstarted.
	noRun bool
}

// newHub starts a Hub as startHub does, on its own Redis client and fake store.
func newHub(tb testing.TB, o hubOpts) (*testHub, *redis.Client, *fakeStore) {
	tb.Helper()
	rdb := newTestRedis(tb).client(tb, "")
	store := newFakeStore()
	return startHub(tb, rdb, store, o), rdb, store
}

// startHub starts a Hub with Run, behind an httptest server whose handler upgrades
// /?order=ID and serves it.
func startHub(tb testing.TB, rdb redis.UniversalClient, store *fakeStore, o hubOpts) *testHub {
	tb.Helper()
	cfg, onUpgrade := o.cfg, o.onUpgrade
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	h := New(broker.NewRedis(rdb, broker.RedisOptions{Logger: cfg.Logger}), store.snapshot, o.expiry, cfg)
	h.onUnsubscribed = o.onUnsubscribed
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	if o.noRun {
		runDone <- nil
	} else {
		go func() { runDone <- h.Run(ctx) }()
	}
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if onUpgrade != nil {
			onUpgrade(conn, r)
		}
		h.Serve(r.Context(), conn, r.URL.Query().Get("order"))
	}))
	tb.Cleanup(func() {
		h.Close()
		srv.Close()
		cancel()
		select {
		case err := <-runDone:
			if err != nil {
				tb.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Errorf("Run did not return")
		}
	})
	return &testHub{Hub: h, srv: srv}
}

func (th *testHub) dial(tb testing.TB, orderID string) *websocket.Conn {
	tb.Helper()
	return dialWith(tb, websocket.DefaultDialer, th.srv.URL, orderID)
}

func dialWith(tb testing.TB, d *websocket.Dialer, srvURL, orderID string) *websocket.Conn {
	tb.Helper()
	u := "ws" + strings.TrimPrefix(srvURL, "http") + "/?order=" + orderID
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	_ = resp.Body.Close()
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

type frame struct {
	Type    string          `json:"type"`
	Version int64           `json:"version"`
	OrderID string          `json:"order_id"`
	Data    json.RawMessage `json:"data"`
	Order   struct {
		ID string `json:"id"`
	} `json:"order"`
}

// readFrame reads the next data frame, failing the test if none comes within 5s.
func readFrame(tb testing.TB, conn *websocket.Conn) frame {
	tb.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, msg, err := conn.ReadMessage()
	if err != nil {
		tb.Fatalf("read frame: %v", err)
	}
	if typ != websocket.TextMessage {
		tb.Fatalf("frame type %d, want text", typ)
	}
	var f frame
	if err := json.Unmarshal(msg, &f); err != nil {
		tb.Fatalf("frame %q: %v", msg, err)
	}
	return f
}

func expectFrame(tb testing.TB, conn *websocket.Conn, typ string, version int64) frame {
	tb.Helper()
	f := readFrame(tb, conn)
	if f.Type != typ || f.Version != version {
		tb.Fatalf("got frame %s v%d, want %s v%d", f.Type, f.Version, typ, version)
	}
	return f
}

// expectClosed reads until the connection ends, failing if it does not within 5s; it returns
// the close code (websocket.CloseAbnormalClosure when no close frame came).
func expectClosed(tb testing.TB, conn *websocket.Conn) int {
	tb.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if asCloseError(err, &ce) {
			return ce.Code
		}
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			tb.Fatalf("connection not closed: %v", err)
		}
		return websocket.CloseAbnormalClosure
	}
}

func asCloseError(err error, ce **websocket.CloseError) bool {
	e, ok := err.(*websocket.CloseError)
	if ok {
		*ce = e
	}
	return ok
}

func publish(tb testing.TB, rdb redis.UniversalClient, orderID, typ string, version int64, data string) {
	tb.Helper()
	if data == "" {
		data = "{}"
	}
	msg := fmt.Sprintf(`{"type":%q,"version":%d,"order_id":%q,"at":%q,"data":%s}`,
		typ, version, orderID, time.Now().UTC().Format(time.RFC3339), data)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Publish(ctx, rediskeys.Events(orderID), msg).Err(); err != nil {
		tb.Fatalf("publish: %v", err)
	}
}

func numSub(tb testing.TB, rdb redis.UniversalClient, orderID string) int64 {
	tb.Helper()
	ch := rediskeys.Events(orderID)
	n, err := rdb.PubSubNumSub(context.Background(), ch).Result()
	if err != nil {
		tb.Fatalf("PUBSUB NUMSUB: %v", err)
	}
	return n[ch]
}
