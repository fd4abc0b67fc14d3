package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/reviewers"
	"github.com/beianscan/beianscan/internal/server"
)

// workbench is a server with two reviewers, alice and bob, in its reviewers' file, and a
// review queue of its own on the shared Redis.
type workbench struct {
	m    *server.Main
	file string
	keys map[string]string
}

func startWorkbench(t testing.TB, mutate func(*server.Config)) *workbench {
	t.Helper()
	w := &workbench{file: filepath.Join(t.TempDir(), "reviewers"), keys: map[string]string{}}
	var lines []string
	for _, n := range []string{"alice", "bob"} {
		key, line, err := reviewers.NewKey(n)
		if err != nil {
			t.Fatal(err)
		}
		w.keys[n] = key
		lines = append(lines, line)
	}
	if err := os.WriteFile(w.file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scope := make([]byte, 8)
	rand.Read(scope)
	w.m = start(t, func(c *server.Config) {
		c.Reviewers, c.LimitScope = w.file, hex.EncodeToString(scope)
		if mutate != nil {
			mutate(c)
		}
	})
	return w
}

// as is a reviewer's bearer credential, as a script sends it.
func (w *workbench) as(name string) string { return name + ":" + w.keys[name] }

func (w *workbench) url(path string) string { return w.m.URL + "/api/v1/review" + path }

func (w *workbench) queueIDs(t *testing.T) []string {
	t.Helper()
	r := must(t, do(t, req{method: "GET", url: w.url("/queue"), token: w.as("alice")}), http.StatusOK)
	var ids []string
	for _, e := range r.Body["orders"].([]any) {
		ids = append(ids, e.(map[string]any)["id"].(string))
	}
	return ids
}

func orderOf(r reply) map[string]any { return r.Body["order"].(map[string]any) }

// TestReviewRounds walks two review rounds from outside: the queue, holds, a refused and
// an accepted request for changes, the owner's targeted fix, approval and the authority's
// stages; every refused call leaves the stored order as it was.
func TestReviewRounds(t *testing.T) {
	w := startWorkbench(t, nil)
	o := submittedPC(t, w.m)
	op := map[string]string{"X-Api-Key": testOperatorKey}

	if ids := w.queueIDs(t); !slices.Contains(ids, o.ID) {
		t.Fatalf("queue %v lacks the submitted order", ids)
	}
	// alice takes it and sees the full ID number; bob cannot take it nor decide.
	v := must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("alice")}), http.StatusOK)
	if n := v.Body["order"].(map[string]any)["subject_leader"].(map[string]any)["id_number"]; n != "11010519491231002X" {
		t.Errorf("reviewer's view id_number %v", n)
	}
	if r := v.Body["rounds"].([]any); len(r) != 0 {
		t.Errorf("rounds %v before the first decision", r)
	}
	held := do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("bob")})
	wantError(t, held, http.StatusConflict, "held_by_other")
	if d := held.Body["error"].(map[string]any)["details"].(map[string]any); d["reviewer"] != "alice" || d["until"] == nil {
		t.Errorf("held_by_other details %v", d)
	}
	before := stored(t, o)
	wantError(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("bob"),
		body: map[string]any{"outcome": "approve"}}), http.StatusConflict, "not_held")
	q := must(t, do(t, req{method: "GET", url: w.url("/queue"), token: w.as("bob")}), http.StatusOK)
	for _, e := range q.Body["orders"].([]any) {
		if e := e.(map[string]any); e["id"] == o.ID && (e["held_by"] != "alice" || e["round"] != 1.0) {
			t.Errorf("queue entry %v", e)
		}
	}
	// Refused decisions: 422 invalid_request saying which, nothing changed.
	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"outcome": "changes"}, "issues"},
		{map[string]any{"outcome": "reject"}, "reason"},
		{map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "material", "slot": "verification_form", "code": "nope"}}}, "issues[0].code"},
		{map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "material", "slot": "verification_form", "code": "face_background"}}}, "issues[0].code"},
		{map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "material", "slot": "organization_certificate", "code": "image_unclear"}}}, "issues[0].slot"},
		{map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "field", "field": "domains", "code": "other"}}}, "issues[0].note"},
		{map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "field", "field": "domains", "code": "field_invalid", "note": strings.Repeat("长", 201)}}}, "issues[0].note"},
	} {
		r := do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("alice"), body: tt.body})
		wantError(t, r, http.StatusUnprocessableEntity, "invalid_request")
		if f := r.Body["error"].(map[string]any)["details"].(map[string]any)["field"]; f != tt.field {
			t.Errorf("%v: details.field %v, want %s", tt.body, f, tt.field)
		}
	}
	if after := stored(t, o); after != before {
		t.Fatalf("refused decisions changed the order:\n%s\n%s", before, after)
	}
	conn, _ := dial(t, o.Base, o)
	dec := must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("alice"), body: map[string]any{
		"outcome": "changes", "issues": []any{
			map[string]any{"target": "material", "slot": "subject_leader_id_front", "code": "image_unclear"},
			map[string]any{"target": "field", "field": "subject_name", "code": "field_invalid", "note": "与证件姓名不一致"},
		}}}), http.StatusOK)
	ord := orderOf(dec)
	rev := ord["review"].(map[string]any)
	if ord["state"] != "changes_requested" || rev["round"] != 1.0 || len(rev["pending"].([]any)) != 2 {
		t.Fatalf("after changes: %v", ord)
	}
	if i := rev["issues"].([]any)[0].(map[string]any); i["suggest_zh"] == "" || i["message_zh"] == nil {
		t.Errorf("issue without the catalogue's texts: %v", i)
	}
	for _, r := range ord["required_materials"].([]any) {
		r := r.(map[string]any)
		if r["flagged"] != (r["slot"] == "subject_leader_id_front") {
			t.Errorf("%v flagged %v", r["slot"], r["flagged"])
		}
	}
	if ev := nextOf(t, conn, "review_decided"); ev["data"].(map[string]any)["outcome"] != "changes" {
		t.Errorf("review_decided %v", ev)
	}
	if slices.Contains(w.queueIDs(t), o.ID) {
		t.Error("the order is still in the queue after the decision")
	}
	// The owner's fix: only the flagged items; the next round only when all are fixed.
	before = stored(t, o)
	img := testJPEG(t, 420, 420)
	r := do(t, req{method: "PUT", url: o.url("/materials/verification_form"), token: o.Token, body: img, header: map[string]string{"Content-Type": "image/jpeg"}})
	wantError(t, r, http.StatusConflict, "slot_locked")
	if f := r.Body["error"].(map[string]any)["details"].(map[string]any)["flagged"]; fmt.Sprint(f) != "[subject_leader_id_front]" {
		t.Errorf("details.flagged %v", f)
	}
	wantError(t, do(t, req{method: "DELETE", url: o.url("/materials/subject_leader_id_front"), token: o.Token}), http.StatusConflict, "slot_locked")
	wantError(t, do(t, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"domains": []string{"example.org"}}}), http.StatusConflict, "field_locked")
	wantError(t, do(t, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"province": "CN-BJ"}}), http.StatusUnprocessableEntity, "invalid_request")
	sub := do(t, req{method: "POST", url: o.url("/submit"), token: o.Token})
	wantError(t, sub, http.StatusUnprocessableEntity, "changes_incomplete")
	if p := sub.Body["error"].(map[string]any)["details"].(map[string]any)["pending"]; fmt.Sprint(p) != "[material:subject_leader_id_front field:subject_name]" {
		t.Errorf("details.pending %v", p)
	}
	if after := stored(t, o); after != before {
		t.Fatalf("refused fixes changed the order:\n%s\n%s", before, after)
	}
	putPC(t, o, "subject_leader_id_front", img)
	wantError(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusUnprocessableEntity, "changes_incomplete")
	ed := must(t, do(t, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"subject_name": "张三丰"}}), http.StatusOK)
	if orderOf(ed)["subject_name"] != "张三丰" {
		t.Errorf("after PATCH %v", orderOf(ed))
	}
	if ev := nextOf(t, conn, "order_edited"); fmt.Sprint(ev["data"].(map[string]any)["fields"]) != "[subject_name]" {
		t.Errorf("order_edited %v", ev)
	}
	sub = must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	if ord := orderOf(sub); ord["state"] != "submitted" || ord["round"] != 2.0 {
		t.Fatalf("resubmitted: %v", ord)
	}
	// Round 2: what changed is shown; alice approves.
	v = must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("alice")}), http.StatusOK)
	ch := v.Body["changed_since_last_round"].(map[string]any)
	if fmt.Sprint(ch["slots"]) != "[subject_leader_id_front]" || fmt.Sprint(ch["fields"]) != "[subject_name]" || len(v.Body["rounds"].([]any)) != 1 {
		t.Errorf("round 2 view: changed %v, rounds %v", ch, v.Body["rounds"])
	}
	must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("alice"), body: map[string]any{"outcome": "approve"}}), http.StatusOK)
	// The authority's stages, reported by the back office.
	auth := func(body map[string]any) reply {
		return do(t, req{method: "POST", url: o.url("/authority"), header: op, body: body})
	}
	wantError(t, do(t, req{method: "POST", url: o.url("/authority"), body: map[string]any{"status": "submitted"}}), http.StatusUnauthorized, "unauthorized")
	wantError(t, auth(map[string]any{"status": "filed", "icp_number": "粤ICP备2026012345号"}), http.StatusConflict, "invalid_state")
	a := must(t, auth(map[string]any{"status": "submitted"}), http.StatusOK)
	if orderOf(a)["state"] != "authority_review" {
		t.Fatalf("after authority submitted: %v", orderOf(a))
	}
	a = must(t, auth(map[string]any{"status": "sms_sent"}), http.StatusOK)
	dl, _ := time.Parse(time.RFC3339, orderOf(a)["authority"].(map[string]any)["sms_deadline"].(string))
	if d := time.Until(dl); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("sms_deadline in %v, want 24h", d)
	}
	before = stored(t, o)
	wantError(t, auth(map[string]any{"status": "filed", "icp_number": "京ICP备2026012345号"}), http.StatusUnprocessableEntity, "invalid_icp_number")
	wantError(t, auth(map[string]any{"status": "rejected"}), http.StatusUnprocessableEntity, "invalid_request")
	wantError(t, auth(map[string]any{"status": "approved"}), http.StatusUnprocessableEntity, "invalid_request")
	if after := stored(t, o); after != before {
		t.Fatal("refused authority reports changed the order")
	}
	a = must(t, auth(map[string]any{"status": "filed", "icp_number": "粤ICP备2026012345号-1"}), http.StatusOK)
	if ord := orderOf(a); ord["state"] != "filed" || ord["authority"].(map[string]any)["icp_number"] != "粤ICP备2026012345号-1" {
		t.Errorf("filed: %v", ord)
	}
	for _, want := range []string{"submitted", "sms_sent", "filed"} {
		if ev := nextOf(t, conn, "authority_updated"); ev["data"].(map[string]any)["status"] != want {
			t.Errorf("authority_updated %v, want %s", ev, want)
		}
	}
	// A reviewer reads an image with the key; the audit names alice to the operator only.
	rd, err := http.NewRequest("GET", o.url("/materials/verification_form"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rd.Header.Set("Authorization", "Bearer "+w.as("bob"))
	resp, err := http.DefaultClient.Do(rd)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reviewer's image read: %v %v", resp, err)
	}
	resp.Body.Close()
	opAudit := must(t, do(t, req{method: "GET", url: o.url("/audit"), header: op}), http.StatusOK)
	ownerAudit := must(t, do(t, req{method: "GET", url: o.url("/audit"), token: o.Token}), http.StatusOK)
	var names []string
	for _, e := range opAudit.Body["entries"].([]any) {
		if e := e.(map[string]any); e["actor"] == "reviewer" {
			names = append(names, fmt.Sprint(e["action"], "/", e["reviewer"]))
		}
	}
	for _, want := range []string{"read_pii/alice", "review/alice", "read/bob"} {
		if !slices.Contains(names, want) {
			t.Errorf("operator's audit %v lacks %s", names, want)
		}
	}
	for _, e := range ownerAudit.Body["entries"].([]any) {
		e := e.(map[string]any)
		if _, ok := e["reviewer"]; ok || (e["actor"] == "reviewer" || e["actor"] == "operator") && e["ip"] != "" {
			t.Errorf("the owner sees staff: %v", e)
		}
	}
}

// TestReviewSessions: the login's cookie, a wrong key's guess limit (the right key still
// works), and a removed line ending the reviewer's session at once.
func TestReviewSessions(t *testing.T) {
	w := startWorkbench(t, func(c *server.Config) { c.ClaimGuessLimit = 2 })
	ip := map[string]string{"X-Forwarded-For": "203.0.113.77"}
	login := func(name, key string) reply {
		return do(t, req{method: "POST", url: w.url("/session"), body: map[string]any{"name": name, "key": key}, header: ip})
	}
	wantError(t, login("alice", "wrong"), http.StatusUnauthorized, "unauthorized")
	wantError(t, login("mallory", w.keys["alice"]), http.StatusUnauthorized, "unauthorized")
	wantError(t, login("alice", "wrong"), http.StatusTooManyRequests, "rate_limited")
	r := must(t, login("bob", w.keys["bob"]), http.StatusNoContent)
	ck := (&http.Response{Header: r.Header}).Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "/api/v1" || ck[0].MaxAge != 12*3600 {
		t.Fatalf("session cookie %+v", ck)
	}
	cookie := map[string]string{"Cookie": ck[0].Name + "=" + ck[0].Value}
	must(t, do(t, req{method: "GET", url: w.url("/queue"), header: cookie}), http.StatusOK)
	must(t, do(t, req{method: "GET", url: w.url("/reasons"), header: cookie}), http.StatusOK)
	wantError(t, do(t, req{method: "GET", url: w.url("/queue")}), http.StatusUnauthorized, "unauthorized")
	// bob's line goes: his session ends with it.
	lines := strings.Split(strings.TrimSpace(readFile(t, w.file)), "\n")
	if err := os.WriteFile(w.file, []byte(lines[0]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(w.file, time.Now().Add(time.Second), time.Now().Add(time.Second))
	wantError(t, do(t, req{method: "GET", url: w.url("/queue"), header: cookie}), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, req{method: "GET", url: w.url("/queue"), token: w.as("bob")}), http.StatusUnauthorized, "unauthorized")
	must(t, do(t, req{method: "GET", url: w.url("/queue"), token: w.as("alice")}), http.StatusOK)
	// Logout ends a session.
	r = must(t, login("alice", w.keys["alice"]), http.StatusNoContent)
	ck = (&http.Response{Header: r.Header}).Cookies()
	cookie = map[string]string{"Cookie": ck[0].Name + "=" + ck[0].Value}
	must(t, do(t, req{method: "DELETE", url: w.url("/session"), header: cookie}), http.StatusNoContent)
	wantError(t, do(t, req{method: "GET", url: w.url("/queue"), header: cookie}), http.StatusUnauthorized, "unauthorized")
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReviewRaces: two reviewers taking one order at once, exactly one holds it; a
// decision racing the owner's withdraw and resubmission never lands on the new round.
func TestReviewRaces(t *testing.T) {
	w := startWorkbench(t, nil)
	o := submittedPC(t, w.m)
	var wg sync.WaitGroup
	status := map[string]int{}
	var mu sync.Mutex
	for _, n := range []string{"alice", "bob"} {
		wg.Go(func() {
			r := do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as(n)})
			mu.Lock()
			status[n] = r.Status
			mu.Unlock()
		})
	}
	wg.Wait()
	if (status["alice"] == 200) == (status["bob"] == 200) || status["alice"]+status["bob"] != 200+409 {
		t.Fatalf("both or neither hold: %v", status)
	}
	holder := "alice"
	if status["bob"] == 200 {
		holder = "bob"
	}
	// The owner withdraws and submits again while the holder decides.
	var dec, wd reply
	wg.Go(func() {
		dec = do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as(holder),
			body: map[string]any{"outcome": "reject", "reason": "内容不可备案"}})
	})
	wg.Go(func() { wd = do(t, req{method: "POST", url: o.url("/withdraw"), token: o.Token}) })
	wg.Wait()
	switch {
	case dec.Status == 200 && wd.Status == 200:
		// The decision came first: rejected, then withdrawn.
		if orderOf(wd)["state"] != "draft" || orderOf(dec)["state"] != "rejected" {
			t.Fatalf("decision %v, withdraw %v", orderOf(dec), orderOf(wd))
		}
	case wd.Status == 200:
		if dec.Status != 409 {
			t.Fatalf("decision after the withdraw: %d %s", dec.Status, dec.Raw)
		}
	default:
		t.Fatalf("withdraw %d %s", wd.Status, wd.Raw)
	}
	must(t, do(t, req{method: "PUT", url: o.url("/upload-method"), token: o.Token, body: map[string]any{"method": "pc"}}), http.StatusOK)
	sub := must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	if orderOf(sub)["round"] != 2.0 {
		t.Fatalf("round %v", orderOf(sub)["round"])
	}
	// The old round's hold ended with it: the holder must take the new round again.
	before := stored(t, o)
	wantError(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as(holder),
		body: map[string]any{"outcome": "approve"}}), http.StatusConflict, "not_held")
	if after := stored(t, o); after != before {
		t.Fatal("a refused decision changed the order")
	}
	if ids := w.queueIDs(t); !slices.Contains(ids, o.ID) {
		t.Errorf("round 2 is not in the queue: %v", ids)
	}
	// The gauges read the same index: one order waits in this server's queue.
	if n, oldest, err := w.m.Service.ReviewQueueStats(context.Background()); err != nil || n != 1 || oldest < 0 || oldest > time.Minute {
		t.Errorf("queue stats %d %v %v, want 1 waiting", n, oldest, err)
	}
	must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("bob")}), http.StatusOK)
	must(t, do(t, req{method: "DELETE", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("bob")}), http.StatusNoContent)
	must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("alice")}), http.StatusOK)
}

// TestReuploadPairing: while changes are requested, an app order takes a new QR whose
// claim lists only the flagged slots, and the phone may upload only those.
func TestReuploadPairing(t *testing.T) {
	w := startWorkbench(t, nil)
	o, _ := submittedApp(t, w.m)
	must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("alice")}), http.StatusOK)
	must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("alice"), body: map[string]any{
		"outcome": "changes", "issues": []any{map[string]any{"target": "material", "slot": "face_photo", "code": "face_background"}}}}), http.StatusOK)
	r := must(t, do(t, claimReq(w.m, pair(t, o), "device-2", appVersionOK, "")), http.StatusOK)
	var slots []string
	for _, m := range r.Body["materials"].([]any) {
		slots = append(slots, m.(map[string]any)["slot"].(string))
	}
	if fmt.Sprint(slots) != "[face_photo]" {
		t.Fatalf("the re-upload claim lists %v, want [face_photo]", slots)
	}
	phone := r.Body["phone_token"].(string)
	img := testJPEG(t, 400, 400)
	before := stored(t, o)
	wantError(t, do(t, phoneReq(w.m, "PUT", "/m/v1/materials/verification_form", phone, img)), http.StatusConflict, "slot_locked")
	if after := stored(t, o); after != before {
		t.Fatal("a locked slot's upload changed the order")
	}
	must(t, do(t, phoneReq(w.m, "PUT", "/m/v1/materials/face_photo", phone, img)), http.StatusCreated)
	sub := must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	if ord := orderOf(sub); ord["state"] != "submitted" || ord["round"] != 2.0 {
		t.Fatalf("after the re-upload: %v", ord)
	}
}

// TestReviewQueueInstances: two servers on one Redis, each answering the queue's first
// page from its own cache: a submission, a hold taken, a hold released and a decision
// through one are all on the other's very next page.
func TestReviewQueueInstances(t *testing.T) {
	a := startWorkbench(t, nil)
	b := &workbench{file: a.file, keys: a.keys}
	b.m = start(t, func(c *server.Config) {
		c.Reviewers, c.LimitScope, c.RedisURL = a.file, a.m.Config.LimitScope, sharedRedis(a.m)
	})
	// shown is each server's first page: ID and holder of each entry.
	shown := func(w *workbench) string {
		t.Helper()
		r := must(t, do(t, req{method: "GET", url: w.url("/queue"), token: w.as("bob")}), http.StatusOK)
		out := ""
		for _, e := range r.Body["orders"].([]any) {
			e := e.(map[string]any)
			out += fmt.Sprintf(" %v@%v", e["id"], e["held_by"])
		}
		return out
	}
	o1 := submittedPC(t, a.m)
	var o2 order
	steps := []struct {
		name string
		do   func()
		want func() string
	}{
		{"submitted", func() { o2 = submittedPC(t, a.m) }, func() string { return fmt.Sprintf(" %s@<nil> %s@<nil>", o1.ID, o2.ID) }},
		{"held", func() {
			must(t, do(t, req{method: "POST", url: a.url("/orders/" + o1.ID + "/hold"), token: a.as("alice")}), http.StatusOK)
		}, func() string { return fmt.Sprintf(" %s@alice %s@<nil>", o1.ID, o2.ID) }},
		{"released", func() {
			must(t, do(t, req{method: "DELETE", url: a.url("/orders/" + o1.ID + "/hold"), token: a.as("alice")}), http.StatusNoContent)
		}, func() string { return fmt.Sprintf(" %s@<nil> %s@<nil>", o1.ID, o2.ID) }},
		{"decided", func() {
			must(t, do(t, req{method: "POST", url: a.url("/orders/" + o2.ID + "/hold"), token: a.as("alice")}), http.StatusOK)
			must(t, do(t, req{method: "POST", url: a.url("/orders/" + o2.ID + "/decision"), token: a.as("alice"),
				body: map[string]any{"outcome": "approve"}}), http.StatusOK)
		}, func() string { return fmt.Sprintf(" %s@<nil>", o1.ID) }},
	}
	for _, st := range steps {
		// Both servers have the page as it stands cached (asked twice: the second answer
		// is the cache's).
		before := shown(b)
		if again := shown(b); again != before || shown(a) != before {
			t.Fatalf("%s: before it the pages differ", st.name)
		}
		st.do()
		if got, want := shown(b), st.want(); got != want {
			t.Errorf("%s: the other server's next page shows%s, want%s", st.name, got, want)
		}
	}
}
