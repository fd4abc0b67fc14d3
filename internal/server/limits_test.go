package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/server"
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
	clk := &clock{t: time.Now()}
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
