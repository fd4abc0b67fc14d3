package server_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/server"
)

// clusterAck is one upload attempt of the Cluster test, with its bytes: ok, the server
// acknowledged it with 201.
type clusterAck struct {
	i    int // the order's index
	slot string
	img  []byte
	ok   bool
}

// desktopView replays a desktop's frames: a snapshot replaces what it shows, a newer
// material event changes one slot. It returns slot → sha256 and the version shown.
func desktopView(l *frameLog) (map[string]string, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	view, at := map[string]string{}, int64(-1)
	for _, tf := range l.frames {
		f, v := tf.f, version(tf.f)
		switch {
		case f["type"] == "snapshot":
			view, at = map[string]string{}, v
			mats, _ := f["materials"].([]any)
			for _, raw := range mats {
				m, _ := raw.(map[string]any)
				slot, _ := m["slot"].(string)
				view[slot], _ = m["sha256"].(string)
			}
		case v <= at: // already in the snapshot shown
		case f["type"] == "material_uploaded":
			d, _ := f["data"].(map[string]any)
			slot, _ := d["slot"].(string)
			view[slot], _ = d["sha256"].(string)
			at = v
		case f["type"] == "material_removed":
			d, _ := f["data"].(map[string]any)
			slot, _ := d["slot"].(string)
			delete(view, slot)
			at = v
		default:
			at = v
		}
	}
	return view, at
}

// storedMaterials is slot → sha256 of an order's materials as the server lists them.
func storedMaterials(t *testing.T, o order) map[string]string {
	t.Helper()
	r := must(t, do(t, req{method: "GET", url: o.url("/materials"), token: o.Token}), http.StatusOK)
	out := map[string]string{}
	for _, raw := range r.Body["materials"].([]any) {
		m, _ := raw.(map[string]any)
		slot, _ := m["slot"].(string)
		out[slot], _ = m["sha256"].(string)
	}
	return out
}

func sameMaterials(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestClusterFailover runs the app flow on two instances against a Redis Cluster of three
// masters with a replica each, with BEIANSCAN_REDIS_MIN_REPLICAS=1, and moves every master
// to its replica (CLUSTER FAILOVER, one shard after the other) while uploads and claims
// run and every order's desktop watches its websocket. Afterwards: every acknowledged
// upload reads back byte for byte, every desktop shows what is stored (no event lost
// without a snapshot to make up for it), live events still arrive, a desktop that
// reconnects gets a snapshot with everything, and no claimed code can be claimed again.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six redis-servers")
	}
	minReplicas := 1
	if v := os.Getenv("BEIANSCAN_FAULT_MIN_REPLICAS"); v != "" {
		fmt.Sscan(v, &minReplicas) // 0 shows what the replicas are for, as in TestSentinelFailover
	}
	cl := redistest.StartCluster(t, 3, 1)
	var logs lockedBuffer // the instances' warnings and errors, shown when something fails
	cfg := func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		c.RedisURL = cl.URL()
		c.RedisMinReplicas = minReplicas
		c.RedisWaitTimeout = 500 * time.Millisecond
	}
	insts := []*server.Main{start(t, cfg), start(t, cfg)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Claimed orders, half through each instance, each with its phone and its desktop.
	const numOrders = 12
	type paired struct {
		o     order
		s     *appsim.Session
		slots []string
		log   *frameLog
	}
	ps := make([]paired, numOrders)
	claimedCodes := make([]string, numOrders) // claimed before the failover
	codes := make([]string, numOrders)        // of other orders, claimed during it
	for i := range ps {
		m := insts[i%2]
		o := createOrder(t, m, gdIndividual())
		pairApp(t, o)
		claimedCodes[i] = pair(t, o)
		s, err := (&appsim.Client{DeviceID: fmt.Sprintf("phone-%d", i)}).Claim(ctx, m.URL, claimedCodes[i])
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		ps[i] = paired{o: o, s: s}
		for _, r := range s.Materials {
			ps[i].slots = append(ps[i].slots, r.Slot)
		}
		// The desktop watches through the other instance: its events cross Redis.
		conn, _ := dial(t, insts[(i+1)%2].URL, o)
		ps[i].log = watch(t, conn)
		other := createOrder(t, m, gdIndividual())
		pairApp(t, other)
		codes[i] = pair(t, other)
	}

	var (
		mu       sync.Mutex
		acks     []clusterAck
		claimed  = map[int]string{} // order index → device whose claim was acknowledged
		failures = map[string]int{}
		acked    atomic.Int64
		afterAck atomic.Int64 // acknowledged after the last switch
		switched atomic.Bool
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 { // three upload workers, each on its own orders
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				i := w + 3*(n%(numOrders/3))
				p := ps[i]
				slot := p.slots[n%len(p.slots)]
				img := appsim.SampleImage(slot, int64(1000*w+n))
				_, err := p.s.Upload(ctx, slot, img, "image/jpeg", "")
				mu.Lock()
				acks = append(acks, clusterAck{i, slot, img, err == nil})
				if err == nil {
					acked.Add(1)
					if switched.Load() {
						afterAck.Add(1)
					}
				} else {
					failures["upload "+appsim.ErrorCode(err)]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() { // claims of the other orders' codes, one every 200 ms
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < numOrders; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			dev := fmt.Sprintf("second-%d", i)
			_, err := (&appsim.Client{DeviceID: dev}).Claim(ctx, insts[i%2].URL, codes[i])
			mu.Lock()
			if err == nil {
				claimed[i] = dev
			} else {
				failures["claim "+appsim.ErrorCode(err)]++
			}
			mu.Unlock()
		}
	}()

	for deadline := time.Now().Add(30 * time.Second); acked.Load() < 8; {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 8 uploads acknowledged in 30 s before the failover")
		}
		time.Sleep(20 * time.Millisecond) // polling a counter with a deadline
	}
	began := time.Now()
	for _, m := range cl.Masters(t) {
		promoted := cl.Failover(t, m)
		t.Logf("%s → %s at +%v, %d uploads acknowledged so far", m, promoted, time.Since(began).Round(time.Millisecond), acked.Load())
	}
	switched.Store(true)
	cl.WaitHealthy(t, 3, 1)
	t.Logf("three failovers and a healthy cluster in %v", time.Since(began).Round(time.Millisecond))
	for deadline := time.Now().Add(30 * time.Second); afterAck.Load() < 8; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d uploads acknowledged in the 30 s after the failovers", afterAck.Load())
		}
		time.Sleep(20 * time.Millisecond) // polling a counter with a deadline
	}
	close(stop)
	wg.Wait()
	t.Logf("acknowledged %d uploads (%d after the switches), %d claims; refused: %v", acked.Load(), afterAck.Load(), len(claimed), failures)
	// A switch is an unavailable dependency: 503 and retry, never 500 (which is for bugs).
	if n := failures["upload internal"] + failures["claim internal"]; n > 0 {
		t.Errorf("%d requests answered 500 internal during the switches; the instances logged:\n%s", n, logs.String())
	}

	// Every 201 reads back byte for byte: a slot holds its last acknowledged image, or one of
	// a later attempt that answered 503 (unconfirmed is not the same as not written).
	type slotKey struct {
		i    int
		slot string
	}
	allowed := map[slotKey][][]byte{}
	numAcked := 0
	for _, k := range acks { // each slot's attempts are in order: one worker per order
		key := slotKey{k.i, k.slot}
		if k.ok {
			allowed[key] = [][]byte{k.img}
			numAcked++
		} else if allowed[key] != nil {
			allowed[key] = append(allowed[key], k.img)
		}
	}
	lost := 0
	for key, imgs := range allowed {
		o := ps[key.i].o
		r := do(t, req{method: "GET", url: o.url("/materials/" + key.slot), token: o.Token})
		found := false
		for _, img := range imgs {
			found = found || (r.Status == http.StatusOK && bytes.Equal(r.Raw, img))
		}
		if !found {
			lost++
			t.Errorf("order %s slot %s: acknowledged upload lost (read %d, %d bytes)", o.ID, key.slot, r.Status, len(r.Raw))
		}
	}
	t.Logf("min replicas %d: %d of %d acknowledged uploads lost (%d slots read back)", minReplicas, lost, numAcked, len(allowed))

	// Every desktop shows what is stored once the last events have arrived: an event lost
	// in a switch, with no snapshot after it, would leave a slot behind. Then a live event
	// reaches each desktop, and a desktop that connects again gets everything at once.
	snapshots := 0
	for i, p := range ps {
		want := storedMaterials(t, p.o)
		var view map[string]string
		for deadline := time.Now().Add(5 * time.Second); ; {
			if view, _ = desktopView(p.log); sameMaterials(view, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("order %d: the desktop shows %v 5 s after the last upload, the server stores %v", i, view, want)
				break
			}
			time.Sleep(20 * time.Millisecond) // polling the frames read in the background
		}
		p.log.mu.Lock()
		// dial read the first snapshot: any in the log is a fresh one (and a desktop whose
		// order got no upload may have no frame at all).
		for _, tf := range p.log.frames {
			if tf.f["type"] == "snapshot" {
				snapshots++
			}
		}
		p.log.mu.Unlock()
	}
	t.Logf("fresh snapshots sent to the %d desktops during the switches: %d", numOrders, snapshots)
	for i, p := range ps[:2] { // one desktop on each instance
		from := p.log.len()
		img := appsim.SampleImage(p.slots[0], 999)
		if _, err := p.s.Upload(ctx, p.slots[0], img, "image/jpeg", ""); err != nil {
			t.Fatalf("upload after the failovers: %v", err)
		}
		ackAt := time.Now()
		at := p.log.waitFor(t, from, 3*time.Second, func(f map[string]any) bool {
			d, _ := f["data"].(map[string]any)
			return f["type"] == "material_uploaded" && d["sha256"] == sum(img)
		})
		t.Logf("desktop %d: live event %v after its upload's 201", i, at.Sub(ackAt).Round(time.Microsecond))
	}
	for i, p := range ps {
		_, snap := dial(t, insts[i%2].URL, p.o)
		got := map[string]string{}
		for _, raw := range snap["materials"].([]any) {
			m, _ := raw.(map[string]any)
			slot, _ := m["slot"].(string)
			got[slot], _ = m["sha256"].(string)
		}
		if want := storedMaterials(t, p.o); !sameMaterials(got, want) {
			t.Errorf("order %d: a reconnected desktop's snapshot has %v, the server stores %v", i, got, want)
		}
	}

	// No acknowledged claim can be taken by another device now (a claim that answered 503
	// may or may not have survived; either answer is right then).
	for i := range ps {
		check := map[string]string{claimedCodes[i]: fmt.Sprintf("phone-%d", i)}
		if dev, ok := claimed[i]; ok {
			check[codes[i]] = dev
		}
		for code, dev := range check {
			_, err := (&appsim.Client{DeviceID: "intruder"}).Claim(ctx, insts[0].URL, code)
			if err == nil {
				t.Errorf("order %d: a code claimed by %s was claimed again by another device", i, dev)
			} else if c := appsim.ErrorCode(err); c != "pairing_already_claimed" {
				t.Errorf("order %d: second claim answered %q, want pairing_already_claimed", i, c)
			}
		}
	}
}
