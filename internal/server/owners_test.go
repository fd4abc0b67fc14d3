package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/internal/testclock"
	"github.com/beianscan/beianscan/webapi"
)

var operatorHeader = map[string]string{"X-Api-Key": testOperatorKey}

// ownerSeq makes owner IDs no other run shares (a real Redis keeps indexes between runs).
var ownerSeq = time.Now().UnixNano()

func newOwner() string {
	ownerSeq++
	return fmt.Sprintf("console-user:%d/张三", ownerSeq)
}

// createOwned creates an order for owner as the back office does.
func createOwned(t testing.TB, m *server.Main, owner string) order {
	t.Helper()
	in := gdIndividual()
	in["owner_id"] = owner
	r := must(t, do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: in, header: operatorHeader}), http.StatusCreated)
	if _, ok := r.Body["resume_code"]; ok {
		t.Errorf("an owner's order was given a resume code: %s", r.Raw)
	}
	o := r.Body["order"].(map[string]any)
	if o["owner_id"] != owner {
		t.Errorf("order owner_id %v, want %q", o["owner_id"], owner)
	}
	return order{ID: o["id"].(string), Token: r.Body["desktop_token"].(string), Base: m.URL}
}

// ownerToken mints an owner token as the back office does.
func ownerToken(t testing.TB, m *server.Main, owner string) string {
	t.Helper()
	r := must(t, do(t, req{method: "POST", url: m.URL + "/api/v1/owner-sessions", body: map[string]any{"owner_id": owner}, header: operatorHeader}), http.StatusCreated)
	tok, _ := r.Body["desktop_token"].(string)
	exp, err := time.Parse(time.RFC3339, fmt.Sprint(r.Body["expires_at"]))
	if tok == "" || err != nil || !exp.After(time.Now()) {
		t.Fatalf("owner session %s", r.Raw)
	}
	return tok
}

// listed is the IDs of the owner's list, in its order.
func listed(t testing.TB, m *server.Main, h req) []string {
	t.Helper()
	h.method, h.url = "GET", m.URL+"/api/v1/orders"
	r := must(t, do(t, h), http.StatusOK)
	var ids []string
	for _, o := range r.Body["orders"].([]any) {
		ids = append(ids, o.(map[string]any)["id"].(string))
	}
	return ids
}

func ownerIndexKey(m *server.Main, owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return rediskeys.OwnerOrders(m.Config.LimitScope, hex.EncodeToString(sum[:]))
}

// TestOwnerOrders: an owner token lists only its owner's orders, newest created first,
// and opens each of them through the order routes, and nothing else: another owner's order
// and a standalone order answer 404 order_not_found and are left as they were.
func TestOwnerOrders(t *testing.T) {
	clk := testclock.New(time.Now())
	m := start(t, func(c *server.Config) { c.Now = clk.Now })
	alice, bob := newOwner(), newOwner()
	a1 := createOwned(t, m, alice)
	clk.Add(time.Second)
	a2 := createOwned(t, m, alice)
	clk.Add(time.Second)
	b1 := createOwned(t, m, bob)
	standalone, _ := createResumable(t, m)
	ta, tb := ownerToken(t, m, alice), ownerToken(t, m, bob)

	if got := strings.Join(listed(t, m, req{token: ta}), ","); got != a2.ID+","+a1.ID {
		t.Errorf("alice's list %s, want %s,%s (newest first)", got, a2.ID, a1.ID)
	}
	if got := strings.Join(listed(t, m, req{token: tb}), ","); got != b1.ID {
		t.Errorf("bob's list %s, want %s", got, b1.ID)
	}
	r := must(t, do(t, req{method: "GET", url: m.URL + "/api/v1/orders", token: ta}), http.StatusOK)
	first := r.Body["orders"].([]any)[0].(map[string]any)
	if first["state"] != "draft" || first["subject_name"] == "" || first["review"] != nil || first["authority"] != nil {
		t.Errorf("list entry %v", first)
	}
	if strings.Contains(string(r.Raw), "id_number") {
		t.Errorf("the list shows ID numbers: %s", r.Raw)
	}

	t.Run("the owner token opens the owner's orders", func(t *testing.T) {
		own := order{ID: a1.ID, Token: ta, Base: m.URL}
		must(t, do(t, req{method: "GET", url: own.url(""), token: ta}), http.StatusOK)
		must(t, do(t, req{method: "GET", url: own.url("/materials"), token: ta}), http.StatusOK)
		must(t, do(t, req{method: "GET", url: own.url("/verification-form"), token: ta}), http.StatusOK)
		must(t, do(t, req{method: "PUT", url: own.url("/upload-method"), token: ta, body: map[string]any{"method": "pc"}}), http.StatusOK)
		putPC(t, own, "subject_leader_id_front", testJPEG(t, 400, 400))
		must(t, do(t, req{method: "GET", url: own.url("/audit"), token: ta}), http.StatusOK)
		_, snap := dial(t, m.URL, own)
		if snap["order"].(map[string]any)["id"] != a1.ID {
			t.Errorf("snapshot of %v", snap["order"])
		}
	})

	t.Run("never another owner's or a standalone order", func(t *testing.T) {
		for name, o := range map[string]order{"bob's": b1, "standalone": standalone} {
			before := stored(t, o)
			for _, rq := range []req{
				{method: "GET", url: o.url("")},
				{method: "GET", url: o.url("/materials")},
				{method: "GET", url: o.url("/verification-form")},
				{method: "GET", url: o.url("/audit")},
				{method: "PUT", url: o.url("/upload-method"), body: map[string]any{"method": "pc"}},
				{method: "POST", url: o.url("/submit")},
				{method: "DELETE", url: o.url("/materials/subject_leader_id_front")},
				{method: "GET", url: o.url("/events")},
			} {
				rq.token = ta
				wantError(t, do(t, rq), http.StatusNotFound, "order_not_found")
			}
			if after := stored(t, o); after != before {
				t.Errorf("%s order changed:\n%s\n%s", name, before, after)
			}
		}
	})

	t.Run("an order's own token is no owner token", func(t *testing.T) {
		wantError(t, do(t, req{method: "GET", url: m.URL + "/api/v1/orders", token: a1.Token}), http.StatusUnauthorized, "unauthorized")
		wantError(t, do(t, req{method: "GET", url: m.URL + "/api/v1/orders"}), http.StatusUnauthorized, "unauthorized")
		wantError(t, do(t, req{method: "POST", url: m.URL + "/api/v1/session", token: a1.Token}), http.StatusUnauthorized, "unauthorized")
		// The order's token still opens its own order, and only it.
		must(t, do(t, req{method: "GET", url: a1.url(""), token: a1.Token}), http.StatusOK)
		wantError(t, do(t, req{method: "GET", url: a2.url(""), token: a1.Token}), http.StatusNotFound, "order_not_found")
	})

	t.Run("an owner named like an order opens no order", func(t *testing.T) {
		tok := ownerToken(t, m, standalone.ID)
		wantError(t, do(t, req{method: "GET", url: standalone.url(""), token: tok}), http.StatusNotFound, "order_not_found")
		if got := listed(t, m, req{token: tok}); len(got) != 0 {
			t.Errorf("list %v, want none", got)
		}
	})

	t.Run("the session cookie", func(t *testing.T) {
		evil := map[string]string{"Origin": "https://evil.example"}
		wantError(t, do(t, req{method: "POST", url: m.URL + "/api/v1/session", token: ta, header: evil}), http.StatusForbidden, "origin_not_allowed")
		wantError(t, do(t, req{method: "POST", url: m.URL + "/api/v1/session"}), http.StatusUnauthorized, "unauthorized")
		r := do(t, req{method: "POST", url: m.URL + "/api/v1/session", token: ta, header: map[string]string{"Origin": m.URL}})
		must(t, r, http.StatusNoContent)
		var path string
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			if ck.Name == webapi.CookieName {
				path = ck.Path
				if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
					t.Errorf("cookie %v is not HttpOnly SameSite=Strict", ck)
				}
			}
		}
		if path != "/api/v1/orders" {
			t.Errorf("cookie path %q, want /api/v1/orders", path)
		}
		cookie := map[string]string{"Cookie": desktopCookie(t, r)}
		if got := listed(t, m, req{header: cookie}); len(got) != 2 {
			t.Errorf("list with the cookie: %v", got)
		}
		must(t, do(t, req{method: "GET", url: a2.url(""), header: cookie}), http.StatusOK)
		wantError(t, do(t, req{method: "GET", url: b1.url(""), header: cookie}), http.StatusNotFound, "order_not_found")
	})
}

// TestOwnerSessionsNeedTheOperator: owner sessions and owner_id need the operator key; an
// owner_id without it, or not 1 to 64 printable characters, is 422 and creates nothing.
func TestOwnerSessionsNeedTheOperator(t *testing.T) {
	m := start(t, nil)
	owner := newOwner()
	url := m.URL + "/api/v1/owner-sessions"
	wantError(t, do(t, req{method: "POST", url: url, body: map[string]any{"owner_id": owner}}), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, req{method: "POST", url: url, body: map[string]any{"owner_id": owner}, header: map[string]string{"X-Api-Key": "wrong"}}), http.StatusUnauthorized, "unauthorized")

	bad := map[string]string{
		"empty": "", "65 characters": strings.Repeat("x", 65), "a newline": "alice\nbob",
		"a zero-width joiner": "ali\u200dce", "a bidi override": "\u202ealice", "NUL": "a\x00",
	}
	for name, id := range bad {
		t.Run(name, func(t *testing.T) {
			wantError(t, do(t, req{method: "POST", url: url, body: map[string]any{"owner_id": id}, header: operatorHeader}), http.StatusUnprocessableEntity, "invalid_request")
			in := gdIndividual()
			in["owner_id"] = id
			if id == "" {
				return // "" is no owner: a standalone order
			}
			r := do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: in, header: operatorHeader})
			wantError(t, r, http.StatusUnprocessableEntity, "invalid_request")
			if len(r.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("a refused creation set %v", r.Header.Values("Set-Cookie"))
			}
		})
	}
	must(t, do(t, req{method: "POST", url: url, body: map[string]any{"owner_id": strings.Repeat("张", 64)}, header: operatorHeader}), http.StatusCreated)

	for name, h := range map[string]map[string]string{"no key": nil, "a wrong key": {"X-Api-Key": "wrong"}} {
		t.Run("owner_id with "+name, func(t *testing.T) {
			in := gdIndividual()
			in["owner_id"] = owner
			r := do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: in, header: h})
			wantError(t, r, http.StatusUnprocessableEntity, "invalid_request")
			if len(r.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("a refused creation set %v", r.Header.Values("Set-Cookie"))
			}
		})
	}
	// Nothing was created for the owner.
	if got := listed(t, m, req{token: ownerToken(t, m, owner)}); len(got) != 0 {
		t.Errorf("refused creations left orders %v", got)
	}
	if n, err := m.Redis.Exists(context.Background(), ownerIndexKey(m, owner)).Result(); err != nil || n != 0 {
		t.Errorf("refused creations left an index (%d, %v)", n, err)
	}
}

func redisZ(at time.Time, member string) redis.Z {
	return redis.Z{Score: float64(at.UnixMilli()), Member: member}
}

// TestOwnerIndexStaleEntries: an entry whose order is gone (retention) is dropped by the
// list once it is older than a creation could take; a younger one (a creation in flight)
// is skipped and kept. The index has the owner's hash tag, not an order's, and lives at
// least as long as its orders.
func TestOwnerIndexStaleEntries(t *testing.T) {
	clk := testclock.New(time.Now())
	m := start(t, func(c *server.Config) { c.Now = clk.Now })
	ctx := context.Background()
	owner := newOwner()
	kept := createOwned(t, m, owner)
	gone := createOwned(t, m, owner)
	key := ownerIndexKey(m, owner)

	tag := key[strings.Index(key, "{")+1 : strings.Index(key, "}")]
	if strings.Contains(tag, kept.ID) || !strings.HasPrefix(tag, "owner") {
		t.Errorf("index %s: hash tag %q is not the owner's", key, tag)
	}
	ttl, err := m.Redis.PTTL(ctx, key).Result()
	if err != nil || ttl < 719*time.Hour {
		t.Errorf("index TTL %v (%v), want at least the retention", ttl, err)
	}

	if err := m.Redis.Del(ctx, rediskeys.Order(gone.ID), rediskeys.Version(gone.ID), rediskeys.Materials(gone.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := m.Redis.ZAdd(ctx, key, redisZ(clk.Now(), "inflightaaaaaaaaaaaaaaaaa")).Err(); err != nil {
		t.Fatal(err)
	}
	tok := ownerToken(t, m, owner)
	if got := listed(t, m, req{token: tok}); len(got) != 1 || got[0] != kept.ID {
		t.Errorf("list %v, want only %s", got, kept.ID)
	}
	// Young: both kept for now.
	if n, _ := m.Redis.ZCard(ctx, key).Result(); n != 3 {
		t.Errorf("index holds %d entries, want 3 (young entries are kept)", n)
	}
	clk.Add(11 * time.Minute)
	if got := listed(t, m, req{token: tok}); len(got) != 1 || got[0] != kept.ID {
		t.Errorf("list %v, want only %s", got, kept.ID)
	}
	ids, _ := m.Redis.ZRange(ctx, key, 0, -1).Result()
	if strings.Join(ids, ",") != kept.ID {
		t.Errorf("index %v, want only %s: gone orders' entries dropped", ids, kept.ID)
	}

	// A submitted order does not expire, nor does its owner's index until it leaves
	// submitted.
	o := order{ID: kept.ID, Token: tok, Base: m.URL}
	must(t, do(t, req{method: "PUT", url: o.url("/upload-method"), token: tok, body: map[string]any{"method": "pc"}}), http.StatusOK)
	putStd(t, o, testJPEG(t, 400, 400))
	must(t, do(t, req{method: "POST", url: o.url("/submit"), token: tok}), http.StatusOK)
	if ttl, _ := m.Redis.PTTL(ctx, key).Result(); ttl < 100*24*time.Hour*365-time.Hour {
		t.Errorf("index TTL %v while an order is submitted", ttl)
	}
	must(t, do(t, req{method: "POST", url: o.url("/withdraw"), token: tok}), http.StatusOK)
	listed(t, m, req{token: tok})
	if ttl, _ := m.Redis.PTTL(ctx, key).Result(); ttl > 721*time.Hour || ttl < 719*time.Hour {
		t.Errorf("index TTL %v once nothing is submitted, want the retention", ttl)
	}
}

// TestOperatorReadsAudited: the back office reads any order, its materials list and its
// form with the operator key, and each read is in the order's audit trail as the
// operator's.
func TestOperatorReadsAudited(t *testing.T) {
	m := start(t, nil)
	for name, o := range map[string]order{"owned": createOwned(t, m, newOwner()), "standalone": createOrder(t, m, gdIndividual())} {
		t.Run(name, func(t *testing.T) {
			before := auditTrail(t, o)
			for _, a := range []string{"read_order", "read_materials", "read_form"} {
				if strings.Contains(before, `"action":"`+a+`"`) {
					t.Fatalf("%s in the trail before any read: %s", a, before)
				}
			}
			must(t, do(t, req{method: "GET", url: o.url(""), header: operatorHeader}), http.StatusOK)
			must(t, do(t, req{method: "GET", url: o.url("/materials"), header: operatorHeader}), http.StatusOK)
			must(t, do(t, req{method: "GET", url: o.url("/verification-form"), header: operatorHeader}), http.StatusOK)
			r := must(t, do(t, req{method: "GET", url: o.url("/audit"), header: operatorHeader}), http.StatusOK)
			for _, a := range []string{"read_order", "read_materials", "read_form"} {
				if !strings.Contains(string(r.Raw), `"actor":"operator","action":"`+a+`"`) {
					t.Errorf("no operator %s in %s", a, r.Raw)
				}
			}
			// The owner's own reads are not audited as reads of the order.
			must(t, do(t, req{method: "GET", url: o.url(""), token: o.Token}), http.StatusOK)
			if n := strings.Count(auditTrail(t, o), `"action":"read_order"`); n != 1 {
				t.Errorf("%d read_order entries, want the operator's one", n)
			}
		})
	}
}

// TestOwnerInWebhooks: the deliveries of an owner's order carry its owner_id.
func TestOwnerInWebhooks(t *testing.T) {
	secret := webhookSecret()
	office := newBackOffice(t, secret, false)
	m := start(t, func(c *server.Config) { c.WebhookURL, c.WebhookSecret = office.srv.URL, secret })
	owner := newOwner()
	o := createOwned(t, m, owner)
	h, err := m.Redis.HGetAll(context.Background(), rediskeys.Webhooks(o.ID)).Result()
	if err != nil || len(h) == 0 {
		t.Fatalf("outbox %v (%v)", h, err)
	}
	want := fmt.Sprintf(`"owner_id":%q`, owner)
	for id, d := range h {
		if !strings.Contains(d, want) {
			t.Errorf("delivery %s has no %s: %s", id, want, d)
		}
	}
}
