package webhook_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/testclock"
	"github.com/beianscan/beianscan/internal/webhook"
)

// newSecret returns a fresh whsec_ secret.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// received is one request the receiver verified.
type received struct {
	ID   string
	Body webhook.Body
	// Status is what the receiver answered.
	Status int
}

// receiver is the back office of the tests: it verifies every request's signature with the
// Standard Webhooks library (refusing, and failing the test on, a bad one) and answers what
// answer says.
type receiver struct {
	t      testing.TB
	hook   *standardwebhooks.Webhook
	addr   string
	ln     net.Listener
	srv    *http.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, id string) int
	strict bool // Verify with the library's timestamp tolerance
	notify chan struct{}
}

// newReceiver reserves an address; start listens on it (until then it refuses connections).
func newReceiver(t testing.TB, secret string) *receiver {
	t.Helper()
	hook, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, hook: hook, addr: ln.Addr().String(), strict: true, notify: make(chan struct{}, 1),
		answer: func(int, string) int { return http.StatusNoContent }}
	ln.Close()
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) URL() string { return "http://" + r.addr + "/hooks" }

func (r *receiver) start() {
	r.t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.ln = ln
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve)}
	go r.srv.Serve(ln)
}

func (r *receiver) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	verify := r.hook.Verify
	if !r.strict {
		verify = r.hook.VerifyIgnoringTimestamp
	}
	if err := verify(body, req.Header); err != nil {
		r.t.Errorf("receiver: signature refused: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b webhook.Body
	if err := json.Unmarshal(body, &b); err != nil {
		r.t.Errorf("receiver: body %s: %v", body, err)
	}
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	status := r.answer(len(r.got), id)
	r.got = append(r.got, received{ID: id, Body: b, Status: status})
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(status)
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// delivered returns the IDs answered 2xx, with how many times each.
func (r *receiver) delivered() map[string]int {
	m := map[string]int{}
	for _, g := range r.requests() {
		if g.Status/100 == 2 {
			m[g.ID]++
		}
	}
	return m
}

// waitFor polls until cond holds or fails the test after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition with a deadline
	}
}

// rig is a store with webhooks on the shared Redis (its own scope), a clock and deliverers.
type rig struct {
	t      testing.TB
	rdb    redis.UniversalClient
	scope  string
	clock  *testclock.Clock
	secret string
	store  *redisstore.Store
	mini   *miniredis.Miniredis
	// retention of the rig's stores; default redisstore.DefaultRetention.
	retention time.Duration
	paced     time.Time // keepPace's last real time
}

func newRig(t testing.TB) *rig {
	t.Helper()
	r := &rig{t: t, scope: "t" + randomID(), clock: testclock.New(time.Now()), secret: newSecret(), retention: redisstore.DefaultRetention}
	if os.Getenv("BEIANSCAN_REDIS_URL") != "" {
		r.rdb = redistest.Shared(t)
	} else {
		// A miniredis of its own, so that expire can move its clock.
		r.mini = miniredis.RunT(t)
		r.rdb = redis.NewClient(&redis.Options{Addr: r.mini.Addr()})
	}
	r.store = r.newStore()
	return r
}

// newStore is another instance's store on the same Redis and scope.
func (r *rig) newStore() *redisstore.Store {
	return redisstore.New(r.rdb, 0, redisstore.WithWebhooks(r.scope), redisstore.WithClock(r.clock.Now), redisstore.WithRetention(r.retention))
}

// keepPace moves the test clock with the Redis's expiry clock, for tests where both must
// agree (retention): on miniredis both move by d; a real Redis's runs by itself, and the
// test clock is moved by the real time since the last call.
func (r *rig) keepPace(d time.Duration) {
	if r.mini != nil {
		r.mini.FastForward(d)
		r.clock.Add(d)
		return
	}
	now := time.Now()
	if !r.paced.IsZero() {
		r.clock.Add(now.Sub(r.paced))
	}
	r.paced = now
}

// deliverer starts a deliverer on store (notified by it) that posts to url.
func (r *rig) deliverer(store *redisstore.Store, url string, tune func(*webhook.Config)) *webhook.Deliverer {
	r.t.Helper()
	signer, err := webhook.NewSigner(r.secret)
	if err != nil {
		r.t.Fatal(err)
	}
	cfg := webhook.Config{URL: url, Signer: signer, Outbox: store, Poll: 10 * time.Millisecond,
		Now: r.clock.Now, Jitter: func() float64 { return 0.5 }, Timeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tune != nil {
		tune(&cfg)
	}
	d := webhook.New(cfg)
	store.SetWebhookNotify(d.Notify)
	d.Start()
	r.t.Cleanup(d.Close)
	return d
}

func randomID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

var idAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// orderID returns an ID such as the service makes (base32, lower case).
func orderID() string {
	b := make([]byte, 26)
	rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// create stores a new draft order.
func (r *rig) create(store *redisstore.Store) string {
	r.t.Helper()
	id := orderID()
	now := r.clock.Now()
	o := &filing.Order{ID: id, State: filing.StateDraft, Version: 1, SubjectType: filing.Individual,
		Province: "CN-GD", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateOrder(context.Background(), o, orders.AuditEntry{}); err != nil {
		r.t.Fatal(err)
	}
	return id
}

// setState writes a change of the order's state, as the service's transitions do.
func (r *rig) setState(store *redisstore.Store, id string, st filing.State) {
	r.t.Helper()
	if _, err := store.Update(context.Background(), id, func(s *orders.Snapshot) ([]orders.Event, error) {
		s.Order.State = st
		return nil, nil
	}); err != nil {
		r.t.Fatal(err)
	}
}

// attempts is how many attempts the first failed delivery has had (0: none failed).
func (r *rig) attempts() int {
	ds, err := r.store.Deliveries(context.Background(), webhook.StatusFailed, 100)
	if err != nil || len(ds) == 0 {
		return 0
	}
	return ds[0].Attempts
}
