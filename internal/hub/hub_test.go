package hub

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
)

func TestSnapshotThenEventsInOrder(t *testing.T) {
	th, rdb, store := newHub(t, hubOpts{})
	order := uniqueID(t)
	store.set(order, 3, nil)

	conn := th.dial(t, order)
	snap := expectFrame(t, conn, "snapshot", 3)
	if snap.Order.ID != order {
		t.Fatalf("snapshot of order %q, want %q", snap.Order.ID, order)
	}
	publish(t, rdb, order, "material_uploaded", 4, `{"slot":"verification_form"}`)
	publish(t, rdb, order, "state_changed", 4, `{"from":"draft","to":"uploaded"}`)
	publish(t, rdb, order, "upload_complete", 5, "")
	expectFrame(t, conn, "material_uploaded", 4)
	expectFrame(t, conn, "state_changed", 4)
	f := expectFrame(t, conn, "upload_complete", 5)
	if f.OrderID != order {
		t.Fatalf("event of order %q, want %q", f.OrderID, order)
	}
	if n := th.Connections(); n != 1 {
		t.Fatalf("Connections() = %d, want 1", n)
	}
}

func TestVersionFiltering(t *testing.T) {
	tests := []struct {
		name     string
		snapshot int64
		publish  []int64 // versions, in order
		want     []int64 // versions the client gets, in order
	}{
		{"not newer than snapshot skipped", 5, []int64{4, 5, 6}, []int64{6}},
		{"stale after forwarding dropped", 0, []int64{3, 2, 3, 1, 4}, []int64{3, 3, 4}},
		{"same version of one change kept", 1, []int64{2, 2, 2, 3}, []int64{2, 2, 2, 3}},
	}
	th, rdb, store := newHub(t, hubOpts{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			order := uniqueID(t)
			store.set(order, tc.snapshot, nil)
			conn := th.dial(t, order)
			expectFrame(t, conn, "snapshot", tc.snapshot)
			for i, v := range tc.publish {
				publish(t, rdb, order, "material_removed", v, fmt.Sprintf(`{"slot":"s%d"}`, i))
			}
			// A marker with a version above all others tells the test that everything before
			// it has been through the hub.
			publish(t, rdb, order, "state_changed", 1000, "")
			for _, v := range tc.want {
				expectFrame(t, conn, "material_removed", v)
			}
			expectFrame(t, conn, "state_changed", 1000)
		})
	}
}

func TestTwoClientsOfOneOrder(t *testing.T) {
	th, rdb, _ := newHub(t, hubOpts{})
	order := uniqueID(t)
	a, b := th.dial(t, order), th.dial(t, order)
	expectFrame(t, a, "snapshot", 0)
	expectFrame(t, b, "snapshot", 0)
	publish(t, rdb, order, "upload_complete", 1, "")
	expectFrame(t, a, "upload_complete", 1)
	expectFrame(t, b, "upload_complete", 1)
}

func TestOtherOrderNotDelivered(t *testing.T) {
	th, rdb, _ := newHub(t, hubOpts{})
	mine, other := uniqueID(t), uniqueID(t)
	a, b := th.dial(t, mine), th.dial(t, other)
	expectFrame(t, a, "snapshot", 0)
	expectFrame(t, b, "snapshot", 0)
	publish(t, rdb, other, "upload_complete", 1, "")
	publish(t, rdb, mine, "state_changed", 2, "")
	// Redis delivers one connection's messages in order: had the other order's event come
	// to a, it would have come first.
	expectFrame(t, a, "state_changed", 2)
	expectFrame(t, b, "upload_complete", 1)
}

func TestTwoInstances(t *testing.T) {
	tr := newTestRedis(t)
	store := newFakeStore()
	h1 := startHub(t, tr.client(t, ""), store, hubOpts{})
	h2 := startHub(t, tr.client(t, ""), store, hubOpts{})
	pub := tr.client(t, "")
	order := uniqueID(t)
	a, b := h1.dial(t, order), h2.dial(t, order)
	expectFrame(t, a, "snapshot", 0)
	expectFrame(t, b, "snapshot", 0)
	publish(t, pub, order, "phone_connected", 1, `{"device":"d","app_version":"3.16.0"}`)
	expectFrame(t, a, "phone_connected", 1)
	expectFrame(t, b, "phone_connected", 1)
}

func TestSlowClientDisconnected(t *testing.T) {
	// Small socket buffers on both sides of the slow connection make its writer block after
	// a few frames, so that its queue fills.
	th, rdb, _ := newHub(t, hubOpts{
		cfg: Config{SendQueue: 16, WriteWait: 500 * time.Millisecond},
		onUpgrade: func(c *websocket.Conn, r *http.Request) {
			if tc, ok := c.UnderlyingConn().(*net.TCPConn); ok && r.URL.Query().Has("slow") {
				_ = tc.SetWriteBuffer(4096)
			}
		},
	})
	order := uniqueID(t)
	slowDialer := &websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4096)
			}
			return c, err
		},
	}
	slow := dialWith(t, slowDialer, th.srv.URL, order+"&slow=1")
	fast := th.dial(t, order)
	expectFrame(t, slow, "snapshot", 0)
	expectFrame(t, fast, "snapshot", 0)

	const n = 64
	pad := strings.Repeat("x", 16<<10)
	// The fast client takes each frame before the next is published, so only the slow
	// client's queue can fill, however the scheduler runs the readers.
	got := make(chan error, n)
	go func() {
		for i := 1; i <= n; i++ {
			_ = fast.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := fast.ReadMessage()
			if err == nil {
				if want := fmt.Sprintf(`"version":%d,`, i); !strings.Contains(string(msg[:min(len(msg), 200)]), want) {
					err = fmt.Errorf("frame %d lacks %s", i, want)
				}
			}
			got <- err
			if err != nil {
				return
			}
		}
	}()
	for i := 1; i <= n; i++ {
		start := time.Now()
		publish(t, rdb, order, "material_uploaded", int64(i), fmt.Sprintf(`{"pad":%q}`, pad))
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("publish %d took %v", i, d)
		}
		if err := <-got; err != nil {
			t.Fatalf("fast client: %v", err)
		}
	}
	// The slow client reads what reached its socket, then the end of the connection.
	if code := expectClosed(t, slow); code != websocket.CloseTryAgainLater && code != websocket.CloseAbnormalClosure {
		t.Fatalf("slow client closed with %d", code)
	}
	publish(t, rdb, order, "upload_complete", n+1, "")
	expectFrame(t, fast, "upload_complete", n+1)
}

func TestLastClientLeavingUnsubscribes(t *testing.T) {
	unsub := make(chan string, 16)
	th, rdb, _ := newHub(t, hubOpts{onUnsubscribed: func(ch string) { unsub <- ch }})
	order := uniqueID(t)
	a, b := th.dial(t, order), th.dial(t, order)
	expectFrame(t, a, "snapshot", 0)
	expectFrame(t, b, "snapshot", 0)
	if n := numSub(t, rdb, order); n != 1 {
		t.Fatalf("NUMSUB with two clients = %d, want 1 (one per instance)", n)
	}
	_ = a.Close()
	publish(t, rdb, order, "upload_complete", 1, "")
	expectFrame(t, b, "upload_complete", 1)
	if n := numSub(t, rdb, order); n != 1 {
		t.Fatalf("NUMSUB after one left = %d, want 1", n)
	}
	_ = b.Close()
	select {
	case ch := <-unsub:
		if ch != order {
			t.Fatalf("unsubscribed %q, want %q", ch, order)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no unsubscribe")
	}
	if n := numSub(t, rdb, order); n != 0 {
		t.Fatalf("NUMSUB after the last left = %d, want 0", n)
	}
}

// A join right after the last leave must not be undone by the leave's UNSUBSCRIBE.
func TestRejoinAfterLeave(t *testing.T) {
	th, rdb, store := newHub(t, hubOpts{})
	order := uniqueID(t)
	for i := 1; i <= 20; i++ {
		c := th.dial(t, order)
		expectFrame(t, c, "snapshot", int64(i-1))
		store.set(order, int64(i), nil)
		publish(t, rdb, order, "state_changed", int64(i), "")
		expectFrame(t, c, "state_changed", int64(i))
		_ = c.Close()
	}
}

func TestResubscribeSendsNewSnapshot(t *testing.T) {
	tr := newTestRedis(t)
	name := uniqueID(t)
	rdb := tr.client(t, name)
	pub := tr.client(t, "")
	store := newFakeStore()
	th := startHub(t, rdb, store, hubOpts{})
	order := uniqueID(t)
	store.set(order, 1, nil)
	conn := th.dial(t, order)
	expectFrame(t, conn, "snapshot", 1)

	// Events 2..5 are "lost" while the pub/sub connection is down.
	store.set(order, 5, nil)
	killPubSub(t, tr, pub, name)
	expectFrame(t, conn, "snapshot", 5)
	publish(t, pub, order, "material_removed", 5, "")
	publish(t, pub, order, "state_changed", 6, "")
	expectFrame(t, conn, "state_changed", 6)
}

// killPubSub drops the hub's pub/sub connection: on a real Redis with CLIENT KILL (only the
// connection named name), on miniredis by restarting it.
func killPubSub(tb testing.TB, tr *testRedis, admin *redis.Client, name string) {
	tb.Helper()
	if tr.mr != nil {
		tr.mr.Close()
		if err := tr.mr.Restart(); err != nil {
			tb.Fatalf("restart miniredis: %v", err)
		}
		return
	}
	list, err := admin.ClientList(context.Background()).Result()
	if err != nil {
		tb.Fatalf("CLIENT LIST: %v", err)
	}
	killed := 0
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		var id, cname string
		var sub bool
		for _, kv := range strings.Fields(sc.Text()) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "id":
				id = v
			case "name":
				cname = v
			case "sub":
				sub = v != "0"
			}
		}
		if cname == name && sub {
			if err := admin.Do(context.Background(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
				tb.Fatalf("CLIENT KILL: %v", err)
			}
			killed++
		}
	}
	if killed == 0 {
		tb.Fatalf("no pub/sub connection named %q", name)
	}
}

// TestPairingWatch: the hub tells Expiry each room's pending pairing as its snapshot and
// events show it, in version order, and forgets it when the room empties.
func TestPairingWatch(t *testing.T) {
	exp := newFakeExpiry()
	th, rdb, store := newHub(t, hubOpts{expiry: exp})
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	const watchAt = "@2026-11-29T10:00:00Z"
	type event struct {
		typ     string
		version int64
		pairing string // pairing_created's
		stale   bool   // older than the snapshot: neither followed nor forwarded
	}
	for _, tc := range []struct {
		name     string
		version  int64  // the snapshot's
		pairing  string // the snapshot's pending pairing, if any
		events   []event
		leave    bool // the desktop closes once it has had every frame
		wantTold []string
	}{
		{name: "from snapshot", version: 1, pairing: "p1",
			wantTold: []string{"watch p1" + watchAt}},
		{name: "from pairing_created",
			events:   []event{{typ: "pairing_created", version: 1, pairing: "p2"}},
			wantTold: []string{"forget", "watch p2" + watchAt}},
		{name: "phone_connected, then a new pairing", version: 1, pairing: "p3",
			events:   []event{{typ: "phone_connected", version: 2}, {typ: "pairing_created", version: 3, pairing: "p4"}},
			wantTold: []string{"watch p3" + watchAt, "forget", "watch p4" + watchAt}},
		{name: "events older than the snapshot change nothing", version: 5, pairing: "p5",
			events: []event{
				{typ: "pairing_created", version: 3, pairing: "old", stale: true},
				{typ: "phone_connected", version: 4, stale: true},
				{typ: "phone_connected", version: 6},
			},
			wantTold: []string{"watch p5" + watchAt, "forget"}},
		{name: "forgotten when the room empties", version: 1, pairing: "p6", leave: true,
			wantTold: []string{"watch p6" + watchAt, "forget"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order := uniqueID(t)
			var pending *PendingPairing
			if tc.pairing != "" {
				pending = &PendingPairing{ID: tc.pairing, ExpiresAt: at}
			}
			store.set(order, tc.version, pending)
			conn := th.dial(t, order)
			expectFrame(t, conn, "snapshot", tc.version)
			for _, ev := range tc.events {
				data := `{"device":"d","app_version":"3.16.0"}`
				if ev.pairing != "" {
					data = fmt.Sprintf(`{"id":%q,"expires_at":%q}`, ev.pairing, at.Format(time.RFC3339Nano))
				}
				publish(t, rdb, order, ev.typ, ev.version, data)
			}
			for _, ev := range tc.events {
				if !ev.stale {
					expectFrame(t, conn, ev.typ, ev.version)
				}
			}
			if tc.leave {
				_ = conn.Close()
				waitRoomGone(t, th.Hub, order)
			}
			exp.wait(t, order, tc.wantTold...)
		})
	}
}

func room0(h *Hub, order string) *room {
	sh := h.shard(order)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.rooms[order]
}

// waitRoomGone waits for the server to notice a client's close; it polls, with a deadline,
// because nothing else announces a leave.
func waitRoomGone(tb testing.TB, h *Hub, order string) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for room0(h, order) != nil {
		if time.Now().After(deadline) {
			tb.Fatal("room still open")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCloseSendsGoingAway(t *testing.T) {
	th, _, _ := newHub(t, hubOpts{})
	order := uniqueID(t)
	a, b := th.dial(t, order), th.dial(t, uniqueID(t))
	expectFrame(t, a, "snapshot", 0)
	expectFrame(t, b, "snapshot", 0)
	th.Close()
	for _, c := range []*websocket.Conn{a, b} {
		if code := expectClosed(t, c); code != websocket.CloseGoingAway {
			t.Fatalf("close code %d, want 1001", code)
		}
	}
	if n := th.Connections(); n != 0 {
		t.Fatalf("Connections() after Close = %d", n)
	}
	// A connection after Close is refused with 1001 too.
	c := th.dial(t, order)
	if code := expectClosed(t, c); code != websocket.CloseGoingAway {
		t.Fatalf("close code after Close %d, want 1001", code)
	}
}

func TestSubscribeTimeout(t *testing.T) {
	// Without Run nobody subscribes, so Redis never confirms.
	th, _, _ := newHub(t, hubOpts{noRun: true, cfg: Config{SubscribeTimeout: 100 * time.Millisecond}})
	c := th.dial(t, uniqueID(t))
	if code := expectClosed(t, c); code != websocket.CloseInternalServerErr {
		t.Fatalf("close code %d, want 1011", code)
	}
}

func TestPingPong(t *testing.T) {
	const pongWait = 500 * time.Millisecond
	th, rdb, _ := newHub(t, hubOpts{cfg: Config{PingInterval: 50 * time.Millisecond, PongWait: pongWait}})
	order := uniqueID(t)

	// The silent client sees pings but does not answer them.
	silent := th.dial(t, order)
	var pings atomic.Int64
	silent.SetPingHandler(func(string) error { pings.Add(1); return nil })
	// The live client answers pings (as the default handler does) as long as it reads, and
	// reports each one.
	live := th.dial(t, order)
	livePings := make(chan struct{}, 1024)
	live.SetPingHandler(func(data string) error {
		livePings <- struct{}{}
		return live.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	frames := make(chan frame, 16)
	go func() {
		defer close(frames)
		for {
			_ = live.SetReadDeadline(time.Now().Add(10 * time.Second))
			var f frame
			if err := live.ReadJSON(&f); err != nil {
				return
			}
			frames <- f
		}
	}()

	expectFrame(t, silent, "snapshot", 0)
	start := time.Now()
	code := expectClosed(t, silent)
	if elapsed := time.Since(start); elapsed < pongWait/2 {
		t.Fatalf("silent client closed after %v, before PongWait %v", elapsed, pongWait)
	}
	if code != websocket.CloseGoingAway && code != websocket.CloseAbnormalClosure {
		t.Fatalf("silent client close code %d", code)
	}
	if pings.Load() == 0 {
		t.Fatal("no ping seen")
	}
	// The live client stays through pings spanning twice PongWait more, on its pongs alone.
	for range 2 * int(pongWait/(50*time.Millisecond)) {
		select {
		case <-livePings:
		case <-time.After(5 * time.Second):
			t.Fatal("live client: pings stopped")
		}
	}
	publish(t, rdb, order, "upload_complete", 1, "")
	for _, want := range []string{"snapshot", "upload_complete"} {
		select {
		case f, ok := <-frames:
			if !ok || f.Type != want {
				t.Fatalf("live client got %+v (open %v), want %s", f, ok, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("live client: no %s", want)
		}
	}
}
