package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/internal/testclock"
)

// gdOrganization needs every kind of slot: the organization's certificate, two people
// with two-sided IDs, the form and the face photo.
func gdOrganization() map[string]any {
	return map[string]any{
		"subject_type": "organization", "province": "CN-GD", "subject_name": "广州示例科技有限公司",
		"organization_certificate_type": "business_license",
		"subject_leader": map[string]any{
			"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X", "id_valid_until": "long_term",
		},
		"website_leader": map[string]any{
			"name": "李四", "id_type": "hk_macau_travel_permit", "id_number": "H12345678", "id_valid_until": "2099-01-01",
		},
		"domains": []string{"example.com", "example.cn"},
	}
}

// pairApp chooses the app and creates a pairing; it returns the pairing JSON.
// pairApp chooses the app for o and creates a pairing.
func pairApp(t testing.TB, o order) map[string]any {
	t.Helper()
	must(t, do(t, methodReq(o, "app")), http.StatusOK)
	return createPairing(t, o)
}

// createPairing creates a QR pairing for o and returns the answer's pairing.
func createPairing(t testing.TB, o order) map[string]any {
	t.Helper()
	r := must(t, do(t, req{method: "POST", url: o.url("/pairing"), token: o.Token}), http.StatusCreated)
	p, ok := r.Body["pairing"].(map[string]any)
	if !ok {
		t.Fatalf("no pairing in %s", r.Raw)
	}
	return p
}

// scanQR fetches the pairing's QR PNG and decodes it with a real QR decoder.
func scanQR(t testing.TB, o order) string {
	t.Helper()
	r := must(t, do(t, req{method: "GET", url: o.url("/pairing/qr.png"), token: o.Token}), http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "image/png" {
		t.Fatalf("qr.png Content-Type %q", ct)
	}
	text, err := appsim.DecodeQR(r.Raw)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return text
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestWholeFlow walks an order from creation to withdrawal over real HTTP and a real
// websocket, checking every event and that versions only rise, on each blob store.
func TestWholeFlow(t *testing.T) { eachStore(t, wholeFlow) }

func wholeFlow(t *testing.T, st blobStore) {
	m := start(t, st.use)
	o := createOrder(t, m, gdOrganization())
	conn, snap := dial(t, m.URL, o)
	last := version(snap)
	// expect reads the next event, checks its type and that versions never go down.
	expect := func(typ string) map[string]any {
		t.Helper()
		f := next(t, conn)
		if f["type"] != typ {
			t.Fatalf("event %v, want %s: %v", f["type"], typ, f)
		}
		if v := version(f); v < last || v <= version(snap) {
			t.Fatalf("%s has version %d after %d (snapshot %d)", typ, v, last, version(snap))
		}
		if f["order_id"] != o.ID {
			t.Fatalf("%s for order %v", typ, f["order_id"])
		}
		last = version(f)
		return f
	}

	pairing := pairApp(t, o)
	// Choosing the app is a method change a second tab follows live.
	chosen := expect("method_changed")
	if d := chosen["data"].(map[string]any); d["from"] != "" || d["to"] != "app" {
		t.Fatalf("method_changed on choosing the app: %v", d)
	}
	created := expect("pairing_created")
	if created["data"].(map[string]any)["id"] != pairing["id"] {
		t.Fatalf("pairing_created names %v, want %v", created["data"], pairing["id"])
	}
	scanURL := scanQR(t, o)
	if scanURL != pairing["scan_url"] {
		t.Fatalf("QR holds %q, want scan_url %q", scanURL, pairing["scan_url"])
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base, code, err := appsim.ParseScanURL(scanURL)
	if err != nil {
		t.Fatal(err)
	}
	// A phone reaches the server at the scan URL's host; in the test it is the server.
	if base != m.URL {
		t.Fatalf("scan URL base %q, want %q", base, m.URL)
	}
	c := &appsim.Client{AppVersion: "3.16.0", DeviceID: "test-phone-1"}
	s, err := c.Claim(ctx, base, code)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if s.Desktop.IP != "127.0.0.1" {
		t.Errorf("desktop ip %q", s.Desktop.IP)
	}
	conn1 := expect("phone_connected")
	if d := conn1["data"].(map[string]any); d["device"] != "test-phone-1" || d["app_version"] != "3.16.0" {
		t.Fatalf("phone_connected data %v", d)
	}

	for _, r := range s.Materials {
		if r.GuidanceZh == "" {
			t.Errorf("claim: slot %s has no guidance_zh", r.Slot)
		}
		if r.Slot == "face_photo" && !strings.Contains(r.GuidanceZh, "以白色物体为背景") {
			t.Errorf("face photo guidance %q", r.GuidanceZh)
		}
	}
	uploaded := map[string][]byte{}
	var required []string
	for _, r := range s.Materials {
		if r.Required {
			required = append(required, r.Slot)
		}
	}
	if len(required) != 7 {
		t.Fatalf("required slots %v, want 7 for an organization with two two-sided IDs and the app", required)
	}
	for i, slot := range required {
		img := appsim.SampleImage(slot, int64(i))
		raw, err := s.Upload(ctx, slot, img, "image/jpeg", "")
		if err != nil {
			t.Fatalf("upload %s: %v", slot, err)
		}
		if len(raw) == 0 {
			t.Fatalf("upload %s: empty material", slot)
		}
		uploaded[slot] = img
		ev := expect("material_uploaded")
		md := ev["data"].(map[string]any)
		if md["slot"] != slot || md["sha256"] != sum(img) || md["via"] != "app" {
			t.Fatalf("material_uploaded %v for %s", md, slot)
		}
		if i == len(required)-1 {
			st := expect("state_changed")
			if d := st["data"].(map[string]any); d["from"] != "draft" || d["to"] != "uploaded" {
				t.Fatalf("state_changed %v", d)
			}
			if version(st) != version(ev) {
				t.Fatalf("one change, two versions: %d and %d", version(ev), version(st))
			}
		}
	}
	if err := s.Complete(ctx); err != nil {
		t.Fatalf("complete: %v", err)
	}
	expect("upload_complete")

	list := must(t, do(t, req{method: "GET", url: o.url("/materials"), token: o.Token}), http.StatusOK)
	mats := list.Body["materials"].([]any)
	if len(mats) != len(required) {
		t.Fatalf("%d materials listed, want %d", len(mats), len(required))
	}
	for slot, img := range uploaded {
		r := must(t, do(t, req{method: "GET", url: o.url("/materials/" + slot), token: o.Token}), http.StatusOK)
		if sum(r.Raw) != sum(img) {
			t.Errorf("%s: stored bytes differ from the upload", slot)
		}
		for h, want := range map[string]string{"Content-Type": "image/jpeg", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", slot, h, got, want)
			}
		}
	}

	sub := must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	if st := sub.Body["order"].(map[string]any)["state"]; st != "submitted" {
		t.Fatalf("state after submit %v", st)
	}
	expect("state_changed")
	must(t, do(t, req{method: "POST", url: o.url("/review-result"), header: map[string]string{"X-Api-Key": testOperatorKey},
		body: map[string]any{"approved": false, "reason": "核验单未加盖公章"}}), http.StatusOK)
	rej := expect("state_changed")
	if d := rej["data"].(map[string]any); d["to"] != "rejected" || d["reason"] != "核验单未加盖公章" {
		t.Fatalf("rejection event %v", d)
	}
	// The back office's shortcut is recorded as a review round too.
	if d := expect("review_decided")["data"].(map[string]any); d["outcome"] != "reject" || d["reason"] != "核验单未加盖公章" || d["round"] != 1.0 {
		t.Fatalf("review_decided %v", d)
	}
	w := must(t, do(t, req{method: "POST", url: o.url("/withdraw"), token: o.Token}), http.StatusOK)
	wo := w.Body["order"].(map[string]any)
	if wo["state"] != "draft" || wo["upload_method"] != "" {
		t.Fatalf("after withdraw: state %v, method %v", wo["state"], wo["upload_method"])
	}
	// The phone's pairing went with the withdrawal, the method was cleared, the state moved:
	// one change, one version.
	gone := expect("phone_disconnected")
	cleared := expect("method_changed")
	if d := cleared["data"].(map[string]any); d["from"] != "app" || d["to"] != "" {
		t.Fatalf("method_changed on withdraw: %v", d)
	}
	back := expect("state_changed")
	if version(gone) != version(cleared) || version(cleared) != version(back) || version(back) != int64(wo["version"].(float64)) {
		t.Fatalf("withdraw events at versions %d, %d, %d; order at %v", version(gone), version(cleared), version(back), wo["version"])
	}
	if _, _, err := s.GetOrder(ctx); appsim.ErrorCode(err) != "token_revoked" {
		t.Fatalf("phone after withdraw: %v, want token_revoked", err)
	}
	// Materials are kept for the next attempt.
	list = must(t, do(t, req{method: "GET", url: o.url("/materials"), token: o.Token}), http.StatusOK)
	if n := len(list.Body["materials"].([]any)); n != len(required) {
		t.Fatalf("%d materials after withdraw, want %d", n, len(required))
	}
	// A reconnecting desktop gets a snapshot at the latest version.
	_, again := dial(t, m.URL, o)
	if version(again) != last {
		t.Fatalf("reconnect snapshot at version %d, want %d", version(again), last)
	}
	var imgs [][]byte
	for _, img := range uploaded {
		imgs = append(imgs, img)
	}
	st.checkAtRest(t, imgs, "11010519491231002X", "H12345678")
}

// TestTwoInstances: the desktop's websocket is on instance A, the phone talks to B; every
// event raised on B reaches the desktop on A through Redis pub/sub, and each serves the
// images uploaded through the other.
func TestTwoInstances(t *testing.T) { eachStore(t, twoInstances) }

func twoInstances(t *testing.T, st blobStore) {
	a := start(t, st.use)
	url := redisURL()
	if url == "" {
		// Embedded mode: B shares A's in-process Redis, as a second instance would.
		url = "redis://" + a.Mini.Addr()
	}
	b := start(t, func(c *server.Config) { st.use(c); c.RedisURL = url })
	o := createOrder(t, a, gdIndividual())
	conn, _ := dial(t, a.URL, o)
	ob := order{ID: o.ID, Token: o.Token, Base: b.URL}
	pairApp(t, ob)
	nextOf(t, conn, "pairing_created")
	_, code, err := appsim.ParseScanURL(scanQR(t, ob))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := (&appsim.Client{DeviceID: "phone-b"}).Claim(ctx, b.URL, code)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"phone_connected"}
	for _, r := range s.Materials {
		if r.Required {
			if _, err := s.Upload(ctx, r.Slot, appsim.SampleImage(r.Slot, 1), "image/jpeg", ""); err != nil {
				t.Fatalf("upload %s: %v", r.Slot, err)
			}
			want = append(want, "material_uploaded")
			wantSameImage(t, o, r.Slot, appsim.SampleImage(r.Slot, 1))
			wantSameImage(t, ob, r.Slot, appsim.SampleImage(r.Slot, 1))
		}
	}
	want = append(want, "state_changed")
	if err := s.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	want = append(want, "upload_complete")
	for _, typ := range want {
		if f := next(t, conn); f["type"] != typ {
			t.Fatalf("desktop on A got %v, want %s", f["type"], typ)
		}
	}
}

// TestConcurrentClaims: of 16 phones claiming one code at once, exactly one wins.
func TestConcurrentClaims(t *testing.T) {
	m := start(t, nil)
	o := createOrder(t, m, gdIndividual())
	pairApp(t, o)
	_, code, err := appsim.ParseScanURL(scanQR(t, o))
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	startGun := make(chan struct{})
	codes := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			c := &appsim.Client{DeviceID: "racer-" + string(rune('a'+i))}
			_, err := c.Claim(context.Background(), m.URL, code)
			codes[i] = appsim.ErrorCode(err)
		}()
	}
	close(startGun)
	wg.Wait()
	won := 0
	for i, c := range codes {
		switch c {
		case "":
			won++
		case "pairing_already_claimed":
		default:
			t.Errorf("claimer %d: %q", i, c)
		}
	}
	if won != 1 {
		t.Fatalf("%d claims won, want exactly 1 (%v)", won, codes)
	}
}

// TestPairingExpiry: an unclaimed QR that lapses is announced with pairing_expired even
// though nothing else happens, and a late claim answers 410.
func TestPairingExpiry(t *testing.T) {
	m := start(t, func(c *server.Config) { c.PairingTTL = 300 * time.Millisecond })
	o := createOrder(t, m, gdIndividual())
	conn, _ := dial(t, m.URL, o)
	p := pairApp(t, o)
	_, code, err := appsim.ParseScanURL(p["scan_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	nextOf(t, conn, "pairing_created")
	ev := next(t, conn)
	if ev["type"] != "pairing_expired" || ev["data"].(map[string]any)["pairing_id"] != p["id"] {
		t.Fatalf("after the TTL got %v, want pairing_expired of %v", ev, p["id"])
	}
	_, err = (&appsim.Client{DeviceID: "late"}).Claim(context.Background(), m.URL, code)
	if appsim.ErrorCode(err) != "pairing_expired" {
		t.Fatalf("late claim: %v, want pairing_expired", err)
	}
	var apiErr *appsim.APIError
	if e, ok := err.(*appsim.APIError); ok {
		apiErr = e
	}
	if apiErr == nil || apiErr.Status != http.StatusGone {
		t.Fatalf("late claim status: %v, want 410", err)
	}
	// The lapsed QR is no longer served.
	must(t, do(t, req{method: "GET", url: o.url("/pairing/qr.png"), token: o.Token}), http.StatusNotFound)
}

// TestPairingLapsedUnwatched: a QR that lapsed while no desktop watched is still owed its
// pairing_expired, which is why the server hands the hub a pending pairing
// (orders.Pairing.Pending) whatever the time, not only a claimable one: the first desktop
// to connect gets the snapshot, then the event.
func TestPairingLapsedUnwatched(t *testing.T) {
	// The service's clock runs an hour behind, so that the hub's timer (wall clock) is due
	// at once for a pairing the service's clock sees lapse.
	clk := testclock.New(time.Now().Add(-time.Hour))
	m := start(t, func(c *server.Config) { c.Now = clk.Now })
	o := createOrder(t, m, gdIndividual())
	p := pairApp(t, o)
	clk.Add(10 * time.Minute) // past the 5-minute pairing TTL
	conn, snap := dial(t, m.URL, o)
	if sp, _ := snap["pairing"].(map[string]any); sp == nil || sp["expired"] != true {
		t.Fatalf("snapshot pairing %v, want it shown expired", snap["pairing"])
	}
	ev := next(t, conn)
	if ev["type"] != "pairing_expired" || ev["data"].(map[string]any)["pairing_id"] != p["id"] {
		t.Fatalf("after the snapshot got %v, want pairing_expired of %v", ev, p["id"])
	}
}

// TestShutdownClosesWebsockets: a graceful shutdown tells desktops it is going away.
func TestShutdownClosesWebsockets(t *testing.T) {
	m := start(t, nil)
	o := createOrder(t, m, gdIndividual())
	conn, _ := dial(t, m.URL, o)
	done := make(chan error, 1)
	go func() {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := conn.ReadMessage()
		done <- err
	}()
	m.Close()
	err := <-done
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("websocket ended with %v, want close 1001 going away", err)
	}
}

// TestConcurrentUploads: uploads of every slot at once all land; each change gets a version
// of its own, and the order ends uploaded exactly once.
func TestConcurrentUploads(t *testing.T) {
	m := start(t, nil)
	in := gdOrganization()
	in["province"] = "CN-BJ"
	o := createWith(t, m, in, "pc")
	conn, snap := dial(t, m.URL, o)
	slots := []string{"organization_certificate", "subject_leader_id_front", "subject_leader_id_back",
		"website_leader_id_front", "website_leader_id_back", "verification_form"}
	imgs := make([][]byte, len(slots))
	for i, s := range slots {
		imgs[i] = appsim.SampleImage(s, int64(i))
	}
	var wg sync.WaitGroup
	status := make([]int, len(slots))
	for i, slot := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i] = do(t, req{method: "PUT", url: o.url("/materials/" + slot), token: o.Token, body: imgs[i]}).Status
		}()
	}
	wg.Wait()
	for i, s := range status {
		if s != http.StatusCreated {
			t.Fatalf("upload of %s: status %d", slots[i], s)
		}
	}
	seen := map[int64]string{}
	last := version(snap)
	for range slots {
		f := next(t, conn)
		if f["type"] != "material_uploaded" {
			t.Fatalf("got %v, want material_uploaded", f["type"])
		}
		v := version(f)
		if v <= last || seen[v] != "" {
			t.Fatalf("version %d after %d (seen for %s)", v, last, seen[v])
		}
		seen[v], last = f["data"].(map[string]any)["slot"].(string), v
	}
	// The last upload completed the order: one state change, in the same version.
	if f := next(t, conn); f["type"] != "state_changed" || version(f) != last {
		t.Fatalf("got %v at version %d, want state_changed at %d", f["type"], version(f), last)
	}
	r := must(t, do(t, req{method: "GET", url: o.url(""), token: o.Token}), http.StatusOK)
	ord := r.Body["order"].(map[string]any)
	if ord["state"] != "uploaded" || version(ord) != version(snap)+int64(len(slots)) {
		t.Fatalf("order %v at version %v, want uploaded at %d", ord["state"], ord["version"], version(snap)+int64(len(slots)))
	}
}
