package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/server"
)

// The ID numbers of gdOrganization, which every test here looks for where they must not be.
const (
	subjectIDNumber = "11010519491231002X"
	websiteIDNumber = "H12345678"
)

// walkApp runs an order through the app path: method, QR, a phone that uploads every
// material and completes. It returns the phone's session and the scan URL.
func walkApp(t testing.TB, o order) (*appsim.Session, string) {
	t.Helper()
	pairApp(t, o)
	scanURL := scanQR(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := appsim.Walk(ctx, &appsim.Client{DeviceID: "privacy-phone"}, scanURL, nil)
	if err != nil {
		t.Fatalf("phone walk: %v", err)
	}
	return s, scanURL
}

// redisContents reads every key matching pattern by its type (a DUMP may compress a long
// string, which would hide a plaintext ID number from a search of its bytes).
func redisContents(t testing.TB, rdb redis.UniversalClient, pattern string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rdb.Get(ctx, k).Result()
		case "hash":
			v, err = rdb.HGetAll(ctx, k).Result()
		case "stream":
			v, err = rdb.XRange(ctx, k, "-", "+").Result()
		case "list":
			v, err = rdb.LRange(ctx, k, 0, -1).Result()
		case "set":
			v, err = rdb.SMembers(ctx, k).Result()
		case "zset":
			v, err = rdb.ZRange(ctx, k, 0, -1).Result()
		case "none":
			continue // expired between SCAN and TYPE
		default:
			t.Fatalf("key %s of unexpected type %s", k, typ)
		}
		if err != nil && err != redis.Nil {
			t.Fatalf("read %s: %v", k, err)
		}
		out[k] = fmt.Sprint(v)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// orderPattern matches every key of the order (its hash tag, after the one prefix).
func orderPattern(id string) string { return rediskeys.Prefix + "{" + id + "}*" }

// TestIDNumbersSealedInRedis: after a whole flow nothing in Redis holds a full ID number,
// while the order still answers with the masked numbers and the form with the full ones.
func TestIDNumbersSealedInRedis(t *testing.T) {
	m := start(t, nil)
	o := createOrder(t, m, gdOrganization())
	walkApp(t, o)
	must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)

	// Every key of the order; with the embedded Redis, which no other test shares, every key.
	pattern := orderPattern(o.ID)
	if m.Mini != nil {
		pattern = "*"
	}
	keys := redisContents(t, m.Redis, pattern)
	if len(keys) < 3 {
		t.Fatalf("only %d keys under the order's tag: %v", len(keys), keys)
	}
	for k, v := range keys {
		for _, n := range []string{subjectIDNumber, websiteIDNumber} {
			if strings.Contains(v, n) {
				t.Errorf("key %s holds the full ID number %s: %.200s", k, n, v)
			}
		}
	}
	r := must(t, do(t, req{method: "GET", url: o.url(""), token: o.Token}), http.StatusOK)
	sl := r.Body["order"].(map[string]any)["subject_leader"].(map[string]any)
	if sl["id_number_masked"] != "110***********002X" {
		t.Fatalf("masked number %v", sl["id_number_masked"])
	}
	if strings.Contains(string(r.Raw), subjectIDNumber) || strings.Contains(string(r.Raw), websiteIDNumber) {
		t.Fatalf("ORDER shows a full ID number: %s", r.Raw)
	}
}

// TestVerificationFormFullIDs: the printed form carries the full ID numbers, the
// province's name alone and links to the filled-in samples, and is never cached.
func TestVerificationFormFullIDs(t *testing.T) {
	m := start(t, nil)
	cases := []struct {
		name     string
		in       map[string]any
		want     []string
		wantNone []string
	}{
		{"guangdong organization", gdOrganization(),
			[]string{subjectIDNumber, websiteIDNumber, "广东省", "TB1OyC0JVXXXXaaXpXXA9lwMXXX-1240-1958.jpg", "填写样例"},
			[]string{"CN-GD", "*"}},
		{"guangdong individual", gdIndividual(),
			[]string{subjectIDNumber, "广东省", "TB1hY54JVXXXXc6XXXX9vlzMXXX-1240-1974.jpg"},
			[]string{"CN-GD", "TB1OyC0JVXXXXaaXpXXA9lwMXXX"}},
		{"beijing individual", withProvince(gdIndividual(), "CN-BJ"),
			[]string{subjectIDNumber, "北京市", "TB11nCSJVXXXXcIXpXXBkJCMXXX-1240-1993.jpg"},
			[]string{"CN-BJ", "TB1hY54JVXXXXc6XXXX9vlzMXXX"}},
		{"xinjiang organization", withProvince(gdOrganization(), "CN-XJ"),
			[]string{"新疆维吾尔自治区", "TB1f.iSJVXXXXXkXFXX6HFAMXXX-1240-1980.jpg", "公章"},
			[]string{"CN-XJ"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := createOrder(t, m, tc.in)
			r := must(t, do(t, req{method: "GET", url: o.url("/verification-form"), token: o.Token}), http.StatusOK)
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			page := string(r.Raw)
			// Only the table of the form is checked for what must not appear: the page's
			// script and style may hold anything.
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("form lacks %q", w)
				}
			}
			body := page[strings.Index(page, "<table"):]
			for _, w := range tc.wantNone {
				if strings.Contains(body, w) {
					t.Errorf("form shows %q", w)
				}
			}
		})
	}
}

func withProvince(in map[string]any, p string) map[string]any {
	in["province"] = p
	return in
}

// TestRetentionExpiresOrder: with the default retention (720h) an order untouched that long
// is gone, keys and all, while a change restarts the clock and a submitted order stays.
// The embedded Redis's clock is moved by hand.
func TestRetentionExpiresOrder(t *testing.T) {
	m := start(t, func(c *server.Config) { c.RedisURL = "" })
	ctx := context.Background()
	idle := createOrder(t, m, gdIndividual())
	busy := createOrder(t, m, gdIndividual())
	sub := createOrder(t, m, gdOrganization())
	walkApp(t, sub)
	must(t, do(t, req{method: "POST", url: sub.url("/submit"), token: sub.Token}), http.StatusOK)

	m.Mini.FastForward(700 * time.Hour)
	must(t, do(t, methodReq(busy, "pc")), http.StatusOK)
	must(t, do(t, req{method: "GET", url: idle.url(""), token: idle.Token}), http.StatusOK)
	m.Mini.FastForward(21 * time.Hour)

	wantError(t, do(t, req{method: "GET", url: idle.url(""), token: idle.Token}), http.StatusNotFound, "order_not_found")
	if left := redisContents(t, m.Redis, orderPattern(idle.ID)); len(left) != 0 {
		t.Fatalf("keys left of the expired order: %v", left)
	}
	must(t, do(t, req{method: "GET", url: busy.url(""), token: busy.Token}), http.StatusOK)
	must(t, do(t, req{method: "GET", url: sub.url(""), token: sub.Token}), http.StatusOK)

	m.Mini.FastForward(700 * time.Hour)
	wantError(t, do(t, req{method: "GET", url: busy.url(""), token: busy.Token}), http.StatusNotFound, "order_not_found")
	// A submitted order waits for its review however long it takes; the review's result
	// then starts the clock again.
	must(t, do(t, req{method: "GET", url: sub.url(""), token: sub.Token}), http.StatusOK)
	for k, v := range redisContents(t, m.Redis, orderPattern(sub.ID)) {
		if ttl := m.Mini.TTL(k); ttl != 0 && !strings.Contains(k, ":idem:") && !strings.HasSuffix(k, ":pairing") {
			t.Errorf("submitted order's key %s has TTL %v (%.40s)", k, ttl, v)
		}
	}
	must(t, do(t, req{method: "POST", url: sub.url("/review-result"), header: map[string]string{"X-Api-Key": testOperatorKey},
		body: map[string]any{"approved": true}}), http.StatusOK)
	m.Mini.FastForward(721 * time.Hour)
	wantError(t, do(t, req{method: "GET", url: sub.url(""), token: sub.Token}), http.StatusNotFound, "order_not_found")
	if left := redisContents(t, m.Redis, orderPattern(sub.ID)); len(left) != 0 {
		t.Fatalf("keys left of the reviewed order: %v", left)
	}
	_ = ctx
}

// TestAuditTrail: every change and every image read is recorded with who, when, which slot
// and from where; the owner and the operator can read it, nobody else.
func TestAuditTrail(t *testing.T) {
	m := start(t, nil)
	o := createOrder(t, m, gdIndividual())
	walkApp(t, o)
	must(t, do(t, req{method: "GET", url: o.url("/materials/verification_form"), token: o.Token}), http.StatusOK)
	must(t, do(t, req{method: "GET", url: o.url("/verification-form"), token: o.Token}), http.StatusOK)
	op := map[string]string{"X-Api-Key": testOperatorKey}
	must(t, do(t, req{method: "GET", url: o.url("/materials/face_photo"), header: op}), http.StatusOK)
	must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	must(t, do(t, req{method: "POST", url: o.url("/review-result"), header: op, body: map[string]any{"approved": true}}), http.StatusOK)

	wantError(t, do(t, req{method: "GET", url: o.url("/audit")}), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, req{method: "GET", url: o.url("/audit"), header: map[string]string{"X-Api-Key": "wrong"}}), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, req{method: "GET", url: o.url("/materials/face_photo"), header: map[string]string{"X-Api-Key": "wrong"}}), http.StatusUnauthorized, "unauthorized")
	other := createOrder(t, m, gdIndividual())
	wantError(t, do(t, req{method: "GET", url: o.url("/audit"), token: other.Token}), http.StatusNotFound, "order_not_found")

	byOwner := must(t, do(t, req{method: "GET", url: o.url("/audit"), token: o.Token}), http.StatusOK)
	byOperator := must(t, do(t, req{method: "GET", url: o.url("/audit"), header: op}), http.StatusOK)
	if string(byOwner.Raw) != string(byOperator.Raw) {
		t.Fatalf("owner and operator see different trails:\n%s\n%s", byOwner.Raw, byOperator.Raw)
	}
	if cc := byOwner.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("audit Cache-Control %q", cc)
	}
	var got []string
	var last time.Time
	for _, e := range byOwner.Body["entries"].([]any) {
		e := e.(map[string]any)
		at, err := time.Parse(time.RFC3339Nano, e["at"].(string))
		if err != nil {
			t.Fatalf("entry time %v", e["at"])
		}
		if at.Before(last) {
			t.Fatalf("entries not oldest first: %v after %v", at, last)
		}
		last = at
		if ip, _ := e["ip"].(string); e["actor"] != "system" && ip != "127.0.0.1" {
			t.Errorf("entry %v: ip %q", e, ip)
		}
		got = append(got, fmt.Sprintf("%s %s %s", e["actor"], e["action"], e["slot"]))
	}
	want := []string{
		"desktop create ", "desktop method ", "desktop pairing_create ", "phone claim ",
		"phone upload subject_leader_id_front", "phone upload subject_leader_id_back",
		"phone upload verification_form", "phone upload face_photo", "phone complete ",
		"desktop read verification_form", "desktop read_form ", "operator read face_photo", "desktop submit ", "operator review ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit trail\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRetentionRealRedis: against a real Redis and its own clock, an order left alone for
// the retention (3 s here) answers 404 and leaves no key under its tag: the order, its
// materials, pairing, audit trail and idempotency records all go.
func TestRetentionRealRedis(t *testing.T) {
	url := redisURL()
	if url == "" {
		t.Skip("needs a real Redis: set BEIANSCAN_REDIS_URL=redis://127.0.0.1:6379/0 (apt-get install redis-server)")
	}
	const keep = 3 * time.Second
	m := start(t, func(c *server.Config) { c.Retention = keep })
	ctx := context.Background()
	o := createOrder(t, m, gdIndividual())
	pairApp(t, o)
	_, code, err := appsim.ParseScanURL(scanQR(t, o))
	if err != nil {
		t.Fatal(err)
	}
	s, err := (&appsim.Client{DeviceID: "retention-phone"}).Claim(ctx, m.URL, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Upload(ctx, "verification_form", appsim.SampleImage("verification_form", 1), "image/jpeg", "idem-retention"); err != nil {
		t.Fatal(err)
	}
	must(t, do(t, req{method: "GET", url: o.url("/materials/verification_form"), header: map[string]string{"X-Api-Key": testOperatorKey}}), http.StatusOK)
	keys := redisContents(t, m.Redis, orderPattern(o.ID))
	for _, key := range []string{rediskeys.Order(o.ID), rediskeys.Version(o.ID), rediskeys.Materials(o.ID), rediskeys.Pairing(o.ID), rediskeys.Audit(o.ID)} {
		if _, ok := keys[key]; !ok {
			t.Errorf("no key %s: %v", key, keys)
		}
	}
	for k := range keys {
		if ttl := m.Redis.PTTL(ctx, k).Val(); ttl <= 0 || ttl > keep {
			t.Errorf("key %s has TTL %v, want (0, %v]", k, ttl, keep)
		}
	}

	deadline := time.Now().Add(keep + 10*time.Second)
	for {
		r := do(t, req{method: "GET", url: o.url(""), token: o.Token})
		if r.Status == http.StatusNotFound {
			wantError(t, r, http.StatusNotFound, "order_not_found")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order still answers %d %v after the retention", r.Status, deadline)
		}
		time.Sleep(100 * time.Millisecond) // polling Redis's own expiry, with a deadline
	}
	// Redis expires keys independently; each must go within moments of the order.
	for deadline := time.Now().Add(5 * time.Second); ; {
		left := redisContents(t, m.Redis, orderPattern(o.ID))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keys left under the order's tag: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProductionNeedsEncryptionKeys: with a Redis URL the server refuses to start without
// keys (each instance would seal with a key no other can open) or with malformed ones, and
// the error never echoes a key.
func TestProductionNeedsEncryptionKeys(t *testing.T) {
	mr := miniredis.RunT(t)
	for _, tc := range []struct{ keys, want string }{
		{"", "BEIANSCAN_ENCRYPTION_KEYS is required"},
		{"k1:c2hvcnQ=", "32 bytes"},
		{"no-colon-secretpart", "ID:BASE64"},
	} {
		_, err := server.Open(server.Config{
			Addr: "127.0.0.1:0", RedisURL: "redis://" + mr.Addr(), DataDir: t.TempDir(), JWTSecret: testSecret,
			EncryptionKeys: tc.keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("keys %q: err %v, want one saying %q", tc.keys, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "c2hvcnQ") || strings.Contains(err.Error(), "secretpart")) {
			t.Errorf("error shows the key: %v", err)
		}
	}
	m := start(t, func(c *server.Config) { c.RedisURL = "redis://" + mr.Addr() })
	if m.Keyring == nil || m.Keyring.Primary() != "k1" {
		t.Fatalf("keyring %v, want the configured key", m.Keyring)
	}
}
