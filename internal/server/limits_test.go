package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/beianscan/beianscan/internal/limits"
	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/internal/testclock"
)

// TestGuessLimitIsAtomic sends many wrong codes at once: counting and refusing are one step,
// so no more than the limit of them are answered 404, however they interleave.
func TestGuessLimitIsAtomic(t *testing.T) {
	const limit, n = 5, 40
	m := start(t, func(c *server.Config) { c.ClaimGuessLimit = limit })
	ip := freshIP(t, m)
	var wg sync.WaitGroup
	statuses := make([]reply, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = do(t, claimReq(m, fmt.Sprintf("nosuchorder.parallel%d", i), "device-1", appVersionOK, ip))
		}()
	}
	wg.Wait()
	var notFound, limited int
	for _, r := range statuses {
		switch r.Status {
		case http.StatusNotFound:
			notFound++
		case http.StatusTooManyRequests:
			limited++
			if r.Header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After: %s", r.Raw)
			}
		default:
			t.Errorf("unexpected answer %d %s", r.Status, r.Raw)
		}
	}
	if notFound != limit || limited != n-limit {
		t.Errorf("%d parallel wrong codes with limit %d: %d × 404, %d × 429; want %d and %d",
			n, limit, notFound, limited, limit, n-limit)
	}
}

// TestGuessLimitSparesGenuineCodes: a guesser behind the same address as a real phone
// cannot lock the phone out; only codes the server never issued are refused.
func TestGuessLimitSparesGenuineCodes(t *testing.T) {
	m := start(t, func(c *server.Config) { c.ClaimGuessLimit = 3 })
	ip := freshIP(t, m)
	o := orderWith(t, m, "app")
	code := pair(t, o)
	for i := 0; i < 5; i++ {
		do(t, claimReq(m, fmt.Sprintf("nosuchorder.guess%d", i), "device-1", appVersionOK, ip))
	}
	wantError(t, do(t, claimReq(m, "nosuchorder.more", "device-1", appVersionOK, ip)), http.StatusTooManyRequests, "rate_limited")
	r := must(t, do(t, claimReq(m, code, "device-1", appVersionOK, ip)), http.StatusOK)
	if tok, _ := r.Body["phone_token"].(string); tok == "" {
		t.Fatalf("genuine claim from a blocked address got no token: %s", r.Raw)
	}
	// A retired code is one the server issued: it is answered 410 even while the address
	// is blocked, and does not count.
	old := pair(t, o) // replaces the claimed pairing
	pair(t, o)
	wantError(t, do(t, claimReq(m, old, "device-2", appVersionOK, ip)), http.StatusGone, "pairing_expired")
}

// TestClaimOfRetiredCodes: a code the server issued answers 410 once its pairing lapsed or
// was replaced; only a code it never issued answers 404.
func TestClaimOfRetiredCodes(t *testing.T) {
	m := start(t, nil)
	cases := []struct {
		name   string
		retire func(t *testing.T, o order)
		status int
		code   string
	}{
		{"replaced by a newer QR", func(t *testing.T, o order) { pair(t, o) }, http.StatusGone, "pairing_expired"},
		{"revoked by the desktop", func(t *testing.T, o order) {
			must(t, do(t, req{method: "DELETE", url: o.url("/pairing"), token: o.Token}), http.StatusNoContent)
		}, http.StatusGone, "pairing_expired"},
		{"method switched to pc", func(t *testing.T, o order) { must(t, do(t, methodReq(o, "pc")), http.StatusOK) },
			http.StatusGone, "pairing_expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := orderWith(t, m, "app")
			code := pair(t, o)
			tc.retire(t, o)
			conn, snap := dial(t, m.URL, o)
			before := stored(t, o)
			wantError(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), tc.status, tc.code)
			if after := stored(t, o); after != before {
				t.Errorf("refused claim changed the order:\nbefore %s\nafter  %s", before, after)
			}
			noEventBefore(t, conn, o, version(snap))
		})
	}
	t.Run("never issued: right order, wrong code", func(t *testing.T) {
		o := orderWith(t, m, "app")
		code := pair(t, o)
		wantError(t, do(t, claimReq(m, code[:len(code)-2]+"xx", "device-1", appVersionOK, "")), http.StatusNotFound, "pairing_not_found")
	})
}

// TestReclaimUntilExpiry: the same device may claim again (a retry after a lost reply) only
// until the pairing's expires_at.
func TestReclaimUntilExpiry(t *testing.T) {
	clk := testclock.New(time.Now())
	m := start(t, func(c *server.Config) { c.Now = clk.Now; c.PairingTTL = 5 * time.Minute })
	o := orderWith(t, m, "app")
	code := pair(t, o)
	first := must(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), http.StatusOK)
	clk.Add(4 * time.Minute)
	second := must(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), http.StatusOK)
	if first.Body["phone_token"] == second.Body["phone_token"] {
		t.Error("the reclaim returned the same token")
	}
	clk.Add(2 * time.Minute)
	conn, snap := dial(t, m.URL, o)
	before := stored(t, o)
	wantError(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), http.StatusGone, "pairing_expired")
	if after := stored(t, o); after != before {
		t.Errorf("refused reclaim changed the order:\nbefore %s\nafter  %s", before, after)
	}
	noEventBefore(t, conn, o, version(snap))
	// The phone's token of the first claim still works: expiry ends claiming, not the pairing.
	must(t, do(t, phoneReq(m, "GET", "/m/v1/order", second.Body["phone_token"].(string), nil)), http.StatusOK)
}

// TestIdempotencyKeySpentOnceMaterialGone: a retry returns the first answer only while the
// slot still holds that material.
func TestIdempotencyKeySpentOnceMaterialGone(t *testing.T) {
	m := start(t, nil)
	o, phone := claimedApp(t, m)
	img := testJPEG(t, 400, 400)
	put := func(body []byte, key string) reply {
		r := phoneReq(m, "PUT", "/m/v1/materials/verification_form", phone, body)
		r.header["Idempotency-Key"] = key
		return do(t, r)
	}
	first := must(t, put(img, "k1"), http.StatusCreated)
	retry := must(t, put(img, "k1"), http.StatusCreated)
	if string(first.Raw) != string(retry.Raw) {
		t.Errorf("retry while the material stands: %s, want the first answer %s", retry.Raw, first.Raw)
	}
	must(t, do(t, req{method: "DELETE", url: o.url("/materials/verification_form"), token: o.Token}), http.StatusNoContent)
	before := stored(t, o)
	wantError(t, put([]byte("this is not an image, just some text\n"), "k1"), http.StatusUnsupportedMediaType, "unsupported_format")
	if after := stored(t, o); after != before {
		t.Errorf("refused upload changed the order:\nbefore %s\nafter  %s", before, after)
	}
	// Replaced from the desktop: the key is spent too, and the new upload is processed.
	must(t, put(img, "k2"), http.StatusCreated)
	putPC(t, o, "verification_form", testPNG(t, 320, 320))
	again := must(t, put(img, "k2"), http.StatusCreated)
	mat := again.Body["material"].(map[string]any)
	if mat["format"] != "jpeg" || mat["via"] != "app" {
		t.Errorf("upload with a spent key answered %s, want the new JPEG from the app", again.Raw)
	}
	got := must(t, do(t, req{method: "GET", url: o.url("/materials/verification_form"), token: o.Token}), http.StatusOK)
	if sniff(got.Raw) != "jpeg" {
		t.Errorf("slot holds %s after the new upload with a spent key, want the JPEG", sniff(got.Raw))
	}
}

// sharedRedis is the Redis URL a second instance of m uses: the real one, or m's embedded
// miniredis reached over the network.
func sharedRedis(m *server.Main) string {
	if u := redisURL(); u != "" {
		return u
	}
	return "redis://" + m.Mini.Addr()
}

// limitedPair starts two servers on one Redis with the same limits, counted apart from any
// other test's (a scope of their own).
func limitedPair(t *testing.T, mutate func(*server.Config)) (*server.Main, *server.Main) {
	t.Helper()
	scope := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	a := start(t, func(c *server.Config) { mutate(c); c.LimitScope = scope })
	b := start(t, func(c *server.Config) { mutate(c); c.RedisURL = sharedRedis(a); c.LimitScope = scope })
	return a, b
}

func wantRetryAfterHeader(t *testing.T, r reply, max int) {
	t.Helper()
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 || n > max {
		t.Errorf("Retry-After %q, want 1..%d", r.Header.Get("Retry-After"), max)
	}
	if s, _ := details(r)["retry_after_seconds"].(float64); int(s) != n {
		t.Errorf("details.retry_after_seconds = %v, header %d", details(r)["retry_after_seconds"], n)
	}
}

// TestOrderRate: one client may create 30 orders an hour, counted across instances.
func TestOrderRate(t *testing.T) {
	a, b := limitedPair(t, func(c *server.Config) { c.OrderRate = limits.Rate{N: 30, Per: time.Hour} })
	for i := 0; i < 30; i++ {
		m := a
		if i%2 == 1 {
			m = b
		}
		createOrder(t, m, gdIndividual())
	}
	for _, m := range []*server.Main{a, b} {
		r := do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: gdIndividual()})
		wantError(t, r, http.StatusTooManyRequests, "rate_limited")
		wantRetryAfterHeader(t, r, 120)
		if r.Header.Get("Set-Cookie") != "" || r.Body["order"] != nil {
			t.Errorf("refused creation handed out an order: %s", r.Raw)
		}
	}
	// Off by default: the harness's servers create as many orders as they like.
	m := start(t, nil)
	for i := 0; i < 35; i++ {
		createOrder(t, m, gdIndividual())
	}
}

// TestPairingRate: an order may renew its QR a limited number of times, counted across
// instances; the refusal changes nothing.
func TestPairingRate(t *testing.T) {
	m, b := limitedPair(t, func(c *server.Config) { c.PairingRate = limits.Rate{N: 3, Per: time.Hour} })
	o := orderWith(t, m, "app")
	onB := order{ID: o.ID, Token: o.Token, Base: b.URL}
	for i, on := range []order{o, onB, o} {
		if r := do(t, req{method: "POST", url: on.url("/pairing"), token: o.Token}); r.Status != http.StatusCreated {
			t.Fatalf("pairing %d: %d %s", i+1, r.Status, r.Raw)
		}
	}
	wantError(t, do(t, req{method: "POST", url: onB.url("/pairing"), token: o.Token}), http.StatusTooManyRequests, "rate_limited")
	conn, snap := dial(t, m.URL, o)
	before := stored(t, o)
	qrBefore := do(t, qrReq(o))
	r := do(t, req{method: "POST", url: o.url("/pairing"), token: o.Token})
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	wantRetryAfterHeader(t, r, 1200)
	if after := stored(t, o); after != before {
		t.Errorf("refused pairing changed the order:\nbefore %s\nafter  %s", before, after)
	}
	if qr := do(t, qrReq(o)); qr.Status != http.StatusOK || string(qr.Raw) != string(qrBefore.Raw) {
		t.Errorf("refused pairing changed the QR code (status %d)", qr.Status)
	}
	noEventBefore(t, conn, o, version(snap))
	// Another order has its own budget.
	pair(t, orderWith(t, m, "app"))
}

// TestWebsocketsPerOrder: 20 websockets on one order across two instances, the 21st is
// refused before the upgrade; a closed connection frees its place.
func TestWebsocketsPerOrder(t *testing.T) {
	const limit = 20
	a, b := limitedPair(t, func(c *server.Config) { c.WebsocketsPerOrder = limit })
	o := createOrder(t, a, gdIndividual())
	var conns []*websocket.Conn
	for i := 0; i < limit; i++ {
		m := a
		if i%2 == 1 {
			m = b
		}
		conn, _ := dial(t, m.URL, o)
		conns = append(conns, conn)
	}
	refused := func(m *server.Main) {
		t.Helper()
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL(order{ID: o.ID, Token: o.Token, Base: m.URL}),
			http.Header{"Authorization": {"Bearer " + o.Token}})
		if err == nil {
			conn.Close()
			t.Fatalf("websocket %d on %s was accepted", limit+1, m.URL)
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("dial: %v, response %v; want 429", err, resp)
		}
		var body struct {
			Error struct {
				Code      string `json:"code"`
				MessageZh string `json:"message_zh"`
			} `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		if body.Error.Code != "rate_limited" || !hasCJK(body.Error.MessageZh) || resp.Header.Get("Retry-After") == "" {
			t.Errorf("refusal: code %q, message_zh %q, Retry-After %q", body.Error.Code, body.Error.MessageZh, resp.Header.Get("Retry-After"))
		}
	}
	refused(a)
	refused(b)
	// Another order is not affected.
	dial(t, b.URL, createOrder(t, b, gdIndividual()))

	// Closing one connection on a frees a place for a websocket on b.
	conns[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL(order{ID: o.ID, Token: o.Token, Base: b.URL}),
			http.Header{"Authorization": {"Bearer " + o.Token}})
		if err == nil {
			defer conn.Close()
			break
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("place not freed within 10s of a close: %v (%v)", err, resp)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronisation
	}
	refused(a)
}

// TestDeviceNameShown: X-Device-Name reaches the desktop in phone_connected and in the
// snapshot's pairing; an overlong one is cut to 64 characters.
func TestDeviceNameShown(t *testing.T) {
	m := start(t, nil)
	long := strings.Repeat("长", 70)
	for _, tc := range []struct{ name, sent, want string }{
		{"plain", "  iPhone 15 ", "iPhone 15"},
		{"overlong is cut", long, strings.Repeat("长", 64)},
		{"absent", "", ""},
		// Disguising characters (a right-to-left override, a zero-width space, a bidi
		// isolate) are stripped: the name is only a label, so the claim goes on.
		{"disguising characters stripped", "iPhone\u202E 15\u200B\u2066", "iPhone 15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := orderWith(t, m, "app")
			code := pair(t, o)
			conn, _ := dial(t, m.URL, o)
			r := claimReq(m, code, "device-1", appVersionOK, "")
			if tc.sent != "" {
				r.header["X-Device-Name"] = tc.sent
			}
			must(t, do(t, r), http.StatusOK)
			ev := nextOf(t, conn, "phone_connected")
			data, _ := ev["data"].(map[string]any)
			if data["device"] != "device-1" || data["app_version"] != appVersionOK {
				t.Errorf("phone_connected data %v", data)
			}
			if got, _ := data["device_name"].(string); got != tc.want {
				t.Errorf("phone_connected device_name %q, want %q", got, tc.want)
			}
			_, snap := dial(t, m.URL, o)
			p, _ := snap["pairing"].(map[string]any)
			if got, _ := p["device_name"].(string); got != tc.want {
				t.Errorf("snapshot pairing device_name %q, want %q", got, tc.want)
			}
		})
	}
}
