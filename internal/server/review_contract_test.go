package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/internal/testclock"
)

// The review contract (初审 and after) from outside, row by row. Where an earlier test
// already covers a row, the row is named here with that test instead of being tested
// twice:
//
// Reviewers
//   - session login → 204 and the cookie (HttpOnly, SameSite=Strict, 12 h, path /api/v1),
//     a wrong name or key → 401, the guess limit → 429, logout, a removed line ending the
//     reviewer's sessions and Bearer credentials: TestReviewSessions.
//   - the audit naming the reviewer to the operator only: TestReviewRounds.
//   - every reviewer route refuses no credentials, a wrong Bearer key, a Bearer without
//     NAME:, the owner's token and the operator key: TestReviewContract/reviewers.
//
// Queue and holds: TestReviewContract/queue, TestReviewQueuePages (50 a page, the cursor),
// TestReviewHoldLapse (a lapsed hold is taken over; view and hold renew), TestReviewHoldRace.
//
// Decisions: the 422s for a missing issue, a reject without a reason, an unknown code, a
// code on a target it does not allow, a slot the order does not require and an over-long
// or missing note, each with nothing changed: TestReviewRounds; the others (approve with
// issues, an unknown outcome, an unknown field, a PC order's face photo, not_held,
// invalid_state in every state): TestReviewContract/decision.
//
// The owner's fix: slot_locked with details.flagged (PC upload, removal), field_locked,
// changes_incomplete with details.pending: TestReviewRounds; the phone's upload of a locked
// slot and the re-upload claim listing only the flagged slots: TestReuploadPairing; the stitch
// upload, more locked fields, PATCH in every state, pairings in every state:
// TestReviewContract/fix. A decision racing a resubmit: TestReviewDecisionRace.
//
// The authority's stages: every status in every state, 401, an unknown status, the SMS
// deadline: TestReviewContract/authority; the ICP number of every province:
// TestReviewICPNumbers.

// states are the order's states in the order an order passes them.
var states = []string{"draft", "uploaded", "submitted", "changes_requested", "rejected", "approved",
	"authority_review", "filed", "authority_rejected"}

// frozen is what a refused call must leave as it was: the order as its owner reads it (the
// JSON holds the version), its materials, how many entries its audit has, and its line in
// the review queue but for the time it has waited.
func (w *workbench) frozen(t testing.TB, o order) string {
	t.Helper()
	a := must(t, do(t, req{method: "GET", url: o.url("/audit"), header: map[string]string{"X-Api-Key": testOperatorKey}}), http.StatusOK)
	q := must(t, do(t, req{method: "GET", url: w.url("/queue"), token: w.as("alice")}), http.StatusOK)
	line := "not queued"
	for _, e := range q.Body["orders"].([]any) {
		if e := e.(map[string]any); e["id"] == o.ID {
			delete(e, "waiting_s")
			line = fmt.Sprint(e)
		}
	}
	return fmt.Sprintf("%s\naudit entries: %d\nqueue: %s", stored(t, o), len(a.Body["entries"].([]any)), line)
}

// refused sends r, wants the error and checks that the order is as it was.
func (w *workbench) refused(t testing.TB, o order, r req, status int, code string) reply {
	t.Helper()
	before := w.frozen(t, o)
	got := do(t, r)
	wantError(t, got, status, code)
	if after := w.frozen(t, o); after != before {
		t.Errorf("%s %s refused with %s changed the order:\nbefore %s\nafter  %s", r.method, r.url, code, before, after)
	}
	return got
}

// decide is alice's decision on o, which she must hold.
func (w *workbench) decide(t testing.TB, o order, body map[string]any) reply {
	t.Helper()
	must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("alice")}), http.StatusOK)
	return must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("alice"), body: body}), http.StatusOK)
}

// changesBody flags the verification form and the subject's name.
func changesBody() map[string]any {
	return map[string]any{"outcome": "changes", "issues": []any{
		map[string]any{"target": "material", "slot": "verification_form", "code": "form_unsigned"},
		map[string]any{"target": "field", "field": "subject_name", "code": "field_invalid", "note": "与证件不一致"},
	}}
}

func authorityReq(o order, body map[string]any) req {
	return req{method: "POST", url: o.url("/authority"), header: map[string]string{"X-Api-Key": testOperatorKey}, body: body}
}

// orderIn makes a PC order of in (nil: the Guangdong individual) and walks it to state st
// through the API: changes_requested flags the verification form and subject_name.
func (w *workbench) orderIn(t testing.TB, st string, in map[string]any) order {
	t.Helper()
	if in == nil {
		in = gdIndividual()
	}
	o := createWith(t, w.m, in, "pc")
	at := slices.Index(states, st)
	if at < 0 {
		t.Fatalf("no state %s", st)
	}
	if at >= 1 {
		putStd(t, o, testJPEG(t, 400, 400))
	}
	if at >= 2 {
		must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	}
	switch st {
	case "changes_requested":
		w.decide(t, o, changesBody())
	case "rejected":
		w.decide(t, o, map[string]any{"outcome": "reject", "reason": "网站内容不可备案"})
	case "approved", "authority_review", "filed", "authority_rejected":
		w.decide(t, o, map[string]any{"outcome": "approve"})
	}
	abbr := icpAbbr[in["province"].(string)]
	steps := map[string][]map[string]any{
		"authority_review":   {{"status": "submitted"}},
		"filed":              {{"status": "submitted"}, {"status": "filed", "icp_number": abbr + "ICP备2026012345号"}},
		"authority_rejected": {{"status": "submitted"}, {"status": "rejected", "reason": "网站名称不符合要求"}},
	}
	for _, b := range steps[st] {
		must(t, do(t, authorityReq(o, b)), http.StatusOK)
	}
	if got := orderOf(must(t, do(t, req{method: "GET", url: o.url(""), token: o.Token}), http.StatusOK))["state"]; got != st {
		t.Fatalf("set-up reached %v, want %s", got, st)
	}
	return o
}

// icpAbbr is each province's abbreviation in ICP numbers (简称), as the contract lists them.
var icpAbbr = map[string]string{
	"CN-BJ": "京", "CN-TJ": "津", "CN-HE": "冀", "CN-SX": "晋", "CN-NM": "蒙", "CN-LN": "辽", "CN-JL": "吉",
	"CN-HL": "黑", "CN-SH": "沪", "CN-JS": "苏", "CN-ZJ": "浙", "CN-AH": "皖", "CN-FJ": "闽", "CN-JX": "赣",
	"CN-SD": "鲁", "CN-HA": "豫", "CN-HB": "鄂", "CN-HN": "湘", "CN-GD": "粤", "CN-GX": "桂", "CN-HI": "琼",
	"CN-CQ": "渝", "CN-SC": "川", "CN-GZ": "贵", "CN-YN": "云", "CN-XZ": "藏", "CN-SN": "陕", "CN-GS": "甘",
	"CN-QH": "青", "CN-NX": "宁", "CN-XJ": "新",
}

func errDetails(r reply) map[string]any {
	d, _ := r.Body["error"].(map[string]any)["details"].(map[string]any)
	return d
}

func TestReviewContract(t *testing.T) {
	w := startWorkbench(t, nil)
	// One order in each state; the refused calls below leave them as they are, so they
	// are shared by every row that refuses.
	in := map[string]order{}
	for _, st := range states {
		in[st] = w.orderIn(t, st, nil)
	}

	t.Run("reviewers", func(t *testing.T) {
		o := in["submitted"]
		routes := []req{
			{method: "GET", url: w.url("/queue")},
			{method: "GET", url: w.url("/reasons")},
			{method: "POST", url: w.url("/orders/" + o.ID + "/hold")},
			{method: "DELETE", url: w.url("/orders/" + o.ID + "/hold")},
			{method: "GET", url: w.url("/orders/" + o.ID)},
			{method: "GET", url: w.url("/orders/" + o.ID + "/materials/verification_form")},
			{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), body: map[string]any{"outcome": "approve"}},
		}
		creds := []struct {
			name   string
			token  string
			header map[string]string
		}{
			{"no credentials", "", nil},
			{"Bearer with a wrong key", "alice:" + w.keys["bob"], nil},
			{"Bearer of a reviewer not in the file", "mallory:" + w.keys["alice"], nil},
			{"Bearer without NAME:", w.keys["alice"], nil},
			{"the owner's desktop token", o.Token, nil},
			{"the operator key", "", map[string]string{"X-Api-Key": testOperatorKey}},
		}
		for _, r := range routes {
			for _, c := range creds {
				t.Run(r.method+" "+strings.TrimPrefix(r.url, w.url(""))+"/"+c.name, func(t *testing.T) {
					r := r
					r.token, r.header = c.token, c.header
					w.refused(t, o, r, http.StatusUnauthorized, "unauthorized")
				})
			}
		}
	})

	t.Run("queue", func(t *testing.T) {
		// Two orders submitted one after the other: the older comes first; the line has
		// every field of the contract; nobody holds them yet.
		a, b := w.orderIn(t, "submitted", nil), w.orderIn(t, "submitted", nil)
		q := must(t, do(t, req{method: "GET", url: w.url("/queue"), token: w.as("bob")}), http.StatusOK)
		lines := map[string]map[string]any{}
		var ids []string
		for _, e := range q.Body["orders"].([]any) {
			e := e.(map[string]any)
			lines[e["id"].(string)] = e
			ids = append(ids, e["id"].(string))
		}
		if ia, ib := slices.Index(ids, a.ID), slices.Index(ids, b.ID); ia < 0 || ib < 0 || ia > ib {
			t.Fatalf("queue %v: want %s before %s", ids, a.ID, b.ID)
		}
		for _, st := range states {
			if queued := slices.Contains(ids, in[st].ID); queued != (st == "submitted") {
				t.Errorf("an order %s is queued: %v", st, queued)
			}
		}
		want := []string{"id", "subject_type", "province", "subject_name", "domains", "round", "submitted_at", "waiting_s", "held_by", "held_until"}
		for _, f := range want {
			if _, ok := lines[a.ID][f]; !ok {
				t.Errorf("queue line %v lacks %s", lines[a.ID], f)
			}
		}
		if l := lines[a.ID]; l["held_by"] != nil || l["held_until"] != nil || l["round"] != 1.0 || l["subject_name"] != "张三" || l["province"] != "CN-GD" {
			t.Errorf("queue line %v", l)
		}
		if _, ok := q.Body["next_cursor"]; !ok {
			t.Error("queue page without next_cursor")
		}

		// hold → REVIEW_VIEW, audited as read_pii; the queue shows who holds it.
		auditLen := func() int {
			r := must(t, do(t, req{method: "GET", url: a.url("/audit"), header: map[string]string{"X-Api-Key": testOperatorKey}}), http.StatusOK)
			return len(r.Body["entries"].([]any))
		}
		n := auditLen()
		v := must(t, do(t, req{method: "POST", url: w.url("/orders/" + a.ID + "/hold"), token: w.as("alice")}), http.StatusOK)
		if got := slices.Sorted(maps.Keys(v.Body)); !slices.Contains(got, "order") || !slices.Contains(got, "materials") ||
			!slices.Contains(got, "rounds") || !slices.Contains(got, "changed_since_last_round") {
			t.Errorf("REVIEW_VIEW keys %v", got)
		}
		sl := orderOf(v)["subject_leader"].(map[string]any)
		if sl["id_number"] != "11010519491231002X" || sl["id_number_masked"] == nil || sl["id_number_masked"] == sl["id_number"] {
			t.Errorf("REVIEW_VIEW subject_leader %v", sl)
		}
		if ms := v.Body["materials"].([]any); len(ms) != 3 || ms[0].(map[string]any)["warnings"] == nil {
			t.Errorf("REVIEW_VIEW materials %v", ms)
		}
		if auditLen() != n+1 {
			t.Errorf("hold: audit grew from %d to %d, want one read_pii", n, auditLen())
		}
		q = must(t, do(t, req{method: "GET", url: w.url("/queue"), token: w.as("bob")}), http.StatusOK)
		for _, e := range q.Body["orders"].([]any) {
			if e := e.(map[string]any); e["id"] == a.ID && (e["held_by"] != "alice" || e["held_until"] == nil) {
				t.Errorf("held line %v", e)
			}
		}

		// Refused holds change nothing: another reviewer's active hold, every state but
		// submitted, an order that does not exist.
		r := w.refused(t, a, req{method: "POST", url: w.url("/orders/" + a.ID + "/hold"), token: w.as("bob")}, http.StatusConflict, "held_by_other")
		if d := errDetails(r); d["reviewer"] != "alice" || d["until"] == nil {
			t.Errorf("held_by_other details %v", d)
		}
		for _, st := range states {
			if st == "submitted" {
				continue
			}
			t.Run("hold/"+st, func(t *testing.T) {
				r := w.refused(t, in[st], req{method: "POST", url: w.url("/orders/" + in[st].ID + "/hold"), token: w.as("alice")}, http.StatusConflict, "invalid_state")
				if d := errDetails(r); d["state"] != st {
					t.Errorf("invalid_state details %v", d)
				}
			})
		}
		missing := "0" + strings.Repeat("1", len(a.ID)-1)
		wantError(t, do(t, req{method: "POST", url: w.url("/orders/" + missing + "/hold"), token: w.as("alice")}), http.StatusNotFound, "order_not_found")
		wantError(t, do(t, req{method: "GET", url: w.url("/orders/" + missing), token: w.as("alice")}), http.StatusNotFound, "order_not_found")

		// bob's release of alice's hold does nothing; hers ends it.
		before := w.frozen(t, a)
		must(t, do(t, req{method: "DELETE", url: w.url("/orders/" + a.ID + "/hold"), token: w.as("bob")}), http.StatusNoContent)
		if after := w.frozen(t, a); after != before {
			t.Errorf("bob's release changed alice's hold:\n%s\n%s", before, after)
		}
		must(t, do(t, req{method: "DELETE", url: w.url("/orders/" + a.ID + "/hold"), token: w.as("alice")}), http.StatusNoContent)
		v = must(t, do(t, req{method: "GET", url: w.url("/orders/" + a.ID), token: w.as("bob")}), http.StatusOK)
		if v.Body["held_by"] != nil {
			t.Errorf("after the release the view says held by %v", v.Body["held_by"])
		}
		must(t, do(t, req{method: "POST", url: w.url("/orders/" + a.ID + "/hold"), token: w.as("bob")}), http.StatusOK)

		// The catalogue: every code of the contract, each with its texts.
		rs := must(t, do(t, req{method: "GET", url: w.url("/reasons"), token: w.as("alice")}), http.StatusOK)
		var codes []string
		for _, e := range rs.Body["reasons"].([]any) {
			e := e.(map[string]any)
			codes = append(codes, e["code"].(string))
			if len(e["targets"].([]any)) == 0 || e["message"] == "" || !hasCJK(e["message_zh"].(string)) || e["suggest_zh"] == nil {
				t.Errorf("reason %v", e)
			}
		}
		wantCodes := []string{"image_unclear", "edges_incomplete", "not_color_original", "document_expired", "info_mismatch",
			"wrong_document", "form_unsigned", "form_fingerprint_missing", "form_seal_missing", "form_commitment_missing",
			"form_wrong_template", "form_info_mismatch", "face_background", "face_attire", "face_unclear", "field_invalid", "other"}
		if !slices.Equal(slices.Sorted(slices.Values(codes)), slices.Sorted(slices.Values(wantCodes))) {
			t.Errorf("reason codes %v, want %v", codes, wantCodes)
		}
	})

	t.Run("decision", func(t *testing.T) {
		o := w.orderIn(t, "submitted", nil)
		dec := func(who string, body map[string]any) req {
			return req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as(who), body: body}
		}
		// Nobody holds it: not_held; then bob holds it, and alice is not_held still.
		w.refused(t, o, dec("alice", map[string]any{"outcome": "approve"}), http.StatusConflict, "not_held")
		must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("bob")}), http.StatusOK)
		w.refused(t, o, dec("alice", map[string]any{"outcome": "approve"}), http.StatusConflict, "not_held")
		for _, tt := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"approve with issues", map[string]any{"outcome": "approve", "issues": []any{map[string]any{"target": "field", "field": "domains", "code": "field_invalid"}}}, "issues"},
			{"unknown outcome", map[string]any{"outcome": "maybe"}, "outcome"},
			{"unknown field", map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "field", "field": "province", "code": "field_invalid"}}}, "issues[0].field"},
			{"unknown target", map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "order", "code": "other", "note": "x"}}}, "issues[0].target"},
			{"a PC order's face photo", map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "material", "slot": "face_photo", "code": "face_background"}}}, "issues[0].slot"},
			{"an unknown slot", map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "material", "slot": "selfie", "code": "image_unclear"}}}, "issues[0].slot"},
			{"a field code on a material", map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "material", "slot": "verification_form", "code": "field_invalid"}}}, "issues[0].code"},
			{"a material code on a field", map[string]any{"outcome": "changes", "issues": []any{map[string]any{"target": "field", "field": "subject_name", "code": "image_unclear"}}}, "issues[0].code"},
			{"the second issue wrong", map[string]any{"outcome": "changes", "issues": []any{
				map[string]any{"target": "field", "field": "subject_name", "code": "field_invalid", "note": "与证件不一致"},
				map[string]any{"target": "material", "slot": "subject_leader_id_back", "code": "form_unsigned"}}}, "issues[1].code"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := w.refused(t, o, dec("bob", tt.body), http.StatusUnprocessableEntity, "invalid_request")
				if f := errDetails(r)["field"]; f != tt.field {
					t.Errorf("details.field %v, want %s", f, tt.field)
				}
			})
		}
		// In every state but submitted: invalid_state, before the hold is looked at.
		for _, st := range states {
			if st == "submitted" {
				continue
			}
			t.Run("decision/"+st, func(t *testing.T) {
				r := w.refused(t, in[st], req{method: "POST", url: w.url("/orders/" + in[st].ID + "/decision"), token: w.as("alice"),
					body: map[string]any{"outcome": "approve"}}, http.StatusConflict, "invalid_state")
				if d := errDetails(r); d["state"] != st {
					t.Errorf("invalid_state details %v", d)
				}
			})
		}
		// Accepted: the hold ends with it, and the REVIEW names no reviewer.
		r := must(t, do(t, dec("bob", map[string]any{"outcome": "reject", "reason": "网站内容不可备案"})), http.StatusOK)
		rev := orderOf(r)["review"].(map[string]any)
		if orderOf(r)["state"] != "rejected" || rev["reason"] != "网站内容不可备案" || rev["round"] != 1.0 || rev["outcome"] != "reject" {
			t.Errorf("rejected: %v", orderOf(r))
		}
		if strings.Contains(string(r.Raw), "bob") {
			t.Errorf("the owner's order names the reviewer: %s", r.Raw)
		}
		if v := must(t, do(t, req{method: "GET", url: w.url("/orders/" + o.ID), token: w.as("bob")}), http.StatusOK); v.Body["held_by"] != nil {
			t.Errorf("held by %v after the decision", v.Body["held_by"])
		}
		// The rejection's reasons stay readable after the owner withdraws, and so do the
		// authority's.
		wd := must(t, do(t, req{method: "POST", url: o.url("/withdraw"), token: o.Token}), http.StatusOK)
		if rev, _ := orderOf(wd)["review"].(map[string]any); orderOf(wd)["state"] != "draft" || rev == nil || rev["reason"] != "网站内容不可备案" || rev["outcome"] != "reject" {
			t.Errorf("withdrawn after a rejection: %v", orderOf(wd))
		}
		ar := w.orderIn(t, "authority_rejected", nil)
		wd = must(t, do(t, req{method: "POST", url: ar.url("/withdraw"), token: ar.Token}), http.StatusOK)
		if a, _ := orderOf(wd)["authority"].(map[string]any); a == nil || a["reason"] != "网站名称不符合要求" || a["status"] != "rejected" {
			t.Errorf("withdrawn after the authority's rejection: %v", orderOf(wd))
		}
	})

	t.Run("fix", func(t *testing.T) {
		cr := w.orderIn(t, "changes_requested", nil)
		img := testJPEG(t, 420, 420)
		// Locked slots, by every way in.
		parts, body := multipartFiles(t, "file", img)
		r := w.refused(t, cr, req{method: "POST", url: cr.url("/materials/subject_leader_id_front/stitch"), token: cr.Token, body: body,
			header: map[string]string{"Content-Type": parts}}, http.StatusConflict, "slot_locked")
		if f := fmt.Sprint(errDetails(r)["flagged"]); f != "[verification_form]" {
			t.Errorf("stitch: details.flagged %v", f)
		}
		r = w.refused(t, cr, req{method: "PUT", url: cr.url("/materials/domain_certificate"), token: cr.Token, body: img,
			header: map[string]string{"Content-Type": "image/jpeg"}}, http.StatusConflict, "slot_locked")
		if f := fmt.Sprint(errDetails(r)["flagged"]); f != "[verification_form]" {
			t.Errorf("an optional slot: details.flagged %v", f)
		}
		// Locked fields: every field the reviewer did not flag.
		for _, b := range []map[string]any{
			{"domains": []string{"example.org"}},
			{"subject_leader": map[string]any{"name": "李四"}},
			{"website_leader_same_as_subject_leader": true},
			{"domain_registered_here": true},
			{"subject_name": "张三丰", "domains": []string{"example.org"}},
		} {
			t.Run(fmt.Sprint("field_locked/", slices.Collect(maps.Keys(b))), func(t *testing.T) {
				w.refused(t, cr, req{method: "PATCH", url: cr.url(""), token: cr.Token, body: b}, http.StatusConflict, "field_locked")
			})
		}
		w.refused(t, cr, req{method: "PATCH", url: cr.url(""), token: cr.Token, body: map[string]any{"subject_name": ""}}, http.StatusUnprocessableEntity, "invalid_request")
		r = w.refused(t, cr, req{method: "POST", url: cr.url("/submit"), token: cr.Token}, http.StatusUnprocessableEntity, "changes_incomplete")
		if p := fmt.Sprint(errDetails(r)["pending"]); p != "[material:verification_form field:subject_name]" {
			t.Errorf("details.pending %v", p)
		}
		// The flagged field confirmed as it is: fixed without a change of value.
		ed := must(t, do(t, req{method: "PATCH", url: cr.url(""), token: cr.Token, body: map[string]any{"subject_name": "张三"}}), http.StatusOK)
		if p := fmt.Sprint(orderOf(ed)["review"].(map[string]any)["pending"]); p != "[material:verification_form]" {
			t.Errorf("after confirming subject_name, pending %v", p)
		}
		r = w.refused(t, cr, req{method: "POST", url: cr.url("/submit"), token: cr.Token}, http.StatusUnprocessableEntity, "changes_incomplete")
		if p := fmt.Sprint(errDetails(r)["pending"]); p != "[material:verification_form]" {
			t.Errorf("details.pending %v", p)
		}
		// A PC order takes no pairing while changes are requested.
		w.refused(t, cr, req{method: "POST", url: cr.url("/pairing"), token: cr.Token}, http.StatusConflict, "upload_method_not_app")
		putPC(t, cr, "verification_form", img)
		sub := must(t, do(t, req{method: "POST", url: cr.url("/submit"), token: cr.Token}), http.StatusOK)
		if o := orderOf(sub); o["state"] != "submitted" || o["round"] != 2.0 {
			t.Errorf("resubmitted %v", o)
		}

		// PATCH in every state: the open states and changes_requested (its flagged fields)
		// take it; every other state answers invalid_state.
		for _, st := range states {
			t.Run("PATCH/"+st, func(t *testing.T) {
				o := in[st]
				b := map[string]any{"subject_name": "张三"}
				switch st {
				case "draft", "uploaded":
					o = w.orderIn(t, st, nil)
					b = map[string]any{"domains": []string{"zhangsan.cn"}}
				case "changes_requested":
					o = w.orderIn(t, st, nil)
				default:
					r := w.refused(t, o, req{method: "PATCH", url: o.url(""), token: o.Token, body: b}, http.StatusConflict, "invalid_state")
					if d := errDetails(r); d["state"] != st {
						t.Errorf("details %v", d)
					}
					return
				}
				// Province and subject type are never edited; a bad value is refused as at
				// creation.
				w.refused(t, o, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"province": "CN-BJ"}}, http.StatusUnprocessableEntity, "invalid_request")
				w.refused(t, o, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"subject_type": "organization"}}, http.StatusUnprocessableEntity, "invalid_request")
				w.refused(t, o, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"subject_name": "张三", "nickname": "x"}}, http.StatusUnprocessableEntity, "invalid_request")
				if st != "changes_requested" {
					w.refused(t, o, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"domains": []string{"http://www.example.com/"}}}, http.StatusUnprocessableEntity, "invalid_request")
					w.refused(t, o, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"subject_leader": map[string]any{"id_number": "110105194912310021"}}}, http.StatusUnprocessableEntity, "invalid_id_number")
				}
				r := must(t, do(t, req{method: "PATCH", url: o.url(""), token: o.Token, body: b}), http.StatusOK)
				if got := orderOf(r)["state"]; got != st {
					t.Errorf("PATCH moved %s to %v", st, got)
				}
				if st != "uploaded" {
					return
				}
				// A PATCH re-settles the order: a website leader of their own needs their ID,
				// so the uploaded order is a draft again; the edit is audited.
				a := must(t, do(t, req{method: "GET", url: o.url("/audit"), token: o.Token}), http.StatusOK)
				n := len(a.Body["entries"].([]any))
				r = must(t, do(t, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{
					"website_leader_same_as_subject_leader": false,
					"website_leader":                        map[string]any{"name": "李四", "id_type": "passport", "id_number": "E12345678", "id_valid_until": "2099-01-01"}}}), http.StatusOK)
				var slots []string
				for _, m := range orderOf(r)["required_materials"].([]any) {
					slots = append(slots, m.(map[string]any)["slot"].(string))
				}
				if orderOf(r)["state"] != "draft" || !slices.Contains(slots, "website_leader_id_front") {
					t.Errorf("after the website leader's PATCH: state %v, slots %v", orderOf(r)["state"], slots)
				}
				a = must(t, do(t, req{method: "GET", url: o.url("/audit"), token: o.Token}), http.StatusOK)
				es := a.Body["entries"].([]any)
				if len(es) != n+1 || es[len(es)-1].(map[string]any)["action"] != "edit" {
					t.Errorf("the PATCH's audit: %d entries after %d, last %v", len(es), n, es[len(es)-1])
				}
			})
		}

		// A pairing in every state, for a PC order: the open states and changes_requested
		// refuse the method; the rest refuse the state. (An app order's re-upload pairing:
		// TestReuploadPairing.)
		for _, st := range states {
			t.Run("pairing/"+st, func(t *testing.T) {
				code, status := "invalid_state", http.StatusConflict
				if st == "draft" || st == "uploaded" || st == "changes_requested" {
					code = "upload_method_not_app"
				}
				w.refused(t, in[st], req{method: "POST", url: in[st].url("/pairing"), token: in[st].Token}, status, code)
			})
		}
	})

	t.Run("authority", func(t *testing.T) {
		o := in["approved"]
		w.refused(t, o, req{method: "POST", url: o.url("/authority"), body: map[string]any{"status": "submitted"}}, http.StatusUnauthorized, "unauthorized")
		w.refused(t, o, req{method: "POST", url: o.url("/authority"), token: o.Token, body: map[string]any{"status": "submitted"}}, http.StatusUnauthorized, "unauthorized")
		w.refused(t, o, req{method: "POST", url: o.url("/authority"), token: w.as("alice"), body: map[string]any{"status": "submitted"}}, http.StatusUnauthorized, "unauthorized")
		w.refused(t, o, authorityReq(o, map[string]any{"status": "approved"}), http.StatusUnprocessableEntity, "invalid_request")
		w.refused(t, o, authorityReq(o, map[string]any{"status": "submitted", "extra": 1}), http.StatusUnprocessableEntity, "invalid_request")

		// Every status in every state: one cell each. to is the state after, "" a refusal
		// (invalid_state, nothing changed).
		reports := map[string]map[string]any{
			"submitted": {"status": "submitted"},
			"sms_sent":  {"status": "sms_sent"},
			"filed":     {"status": "filed", "icp_number": "粤ICP备2026012345号-2"},
			"rejected":  {"status": "rejected", "reason": "网站名称不符合要求"},
		}
		allowed := map[string]map[string]string{
			"approved":         {"submitted": "authority_review"},
			"authority_review": {"sms_sent": "authority_review", "filed": "filed", "rejected": "authority_rejected"},
		}
		for _, st := range states {
			for _, status := range []string{"submitted", "sms_sent", "filed", "rejected"} {
				t.Run(st+"/"+status, func(t *testing.T) {
					to := allowed[st][status]
					if to == "" {
						r := w.refused(t, in[st], authorityReq(in[st], reports[status]), http.StatusConflict, "invalid_state")
						if d := errDetails(r); d["state"] != st {
							t.Errorf("invalid_state details %v", d)
						}
						return
					}
					o := w.orderIn(t, st, nil)
					conn, _ := dial(t, o.Base, o)
					t0 := time.Now()
					r := must(t, do(t, authorityReq(o, reports[status])), http.StatusOK)
					t1 := time.Now()
					ord := orderOf(r)
					a := ord["authority"].(map[string]any)
					if ord["state"] != to || a["status"] != status {
						t.Fatalf("state %v authority %v, want %s / %s", ord["state"], a, to, status)
					}
					if got := slices.Sorted(maps.Keys(a)); !slices.Equal(got, []string{"icp_number", "reason", "sms_deadline", "status", "updated_at"}) {
						t.Errorf("AUTHORITY fields %v", got)
					}
					ev := nextOf(t, conn, "authority_updated")
					if ev["data"].(map[string]any)["status"] != status {
						t.Errorf("authority_updated %v", ev)
					}
					switch status {
					case "sms_sent":
						dl, err := time.Parse(time.RFC3339Nano, a["sms_deadline"].(string))
						if err != nil || dl.Before(t0.Add(24*time.Hour).Add(-time.Second)) || dl.After(t1.Add(24*time.Hour).Add(time.Second)) {
							t.Errorf("sms_deadline %v (%v), want 24 h from now", a["sms_deadline"], err)
						}
					case "filed":
						if a["icp_number"] != "粤ICP备2026012345号-2" {
							t.Errorf("icp_number %v", a["icp_number"])
						}
					case "rejected":
						if a["reason"] != "网站名称不符合要求" {
							t.Errorf("reason %v", a["reason"])
						}
						// A rejection needs its reason: refused on a fresh order in the same state.
						o2 := w.orderIn(t, st, nil)
						w.refused(t, o2, authorityReq(o2, map[string]any{"status": "rejected"}), http.StatusUnprocessableEntity, "invalid_request")
					case "submitted":
						if a["sms_deadline"] != nil {
							t.Errorf("sms_deadline %v before any text message", a["sms_deadline"])
						}
					}
				})
			}
		}
	})
}

// TestReviewICPNumbers: filed needs an ICP number whose abbreviation is the order's
// province's, for each of the 31 provinces; a refused number changes nothing.
func TestReviewICPNumbers(t *testing.T) {
	w := startWorkbench(t, nil)
	codes := slices.Sorted(maps.Keys(icpAbbr))
	for i, p := range codes {
		t.Run(p, func(t *testing.T) {
			in := gdIndividual()
			in["province"] = p
			o := w.orderIn(t, "authority_review", in)
			other := icpAbbr[codes[(i+1)%len(codes)]]
			abbr := icpAbbr[p]
			for _, bad := range []string{
				other + "ICP备2026012345号",  // another province's
				abbr + "ICP备202601234号",    // nine digits
				abbr + "ICP备2026012345",    // no 号
				abbr + "ICP备2026012345号-0", // site 0
				"ICP备2026012345号",          // no abbreviation
				abbr + "icp备2026012345号",   // lower case
				"",
			} {
				r := w.refused(t, o, authorityReq(o, map[string]any{"status": "filed", "icp_number": bad}), http.StatusUnprocessableEntity, "invalid_icp_number")
				if d := errDetails(r); d["province_abbr"] != abbr {
					t.Errorf("%q: details %v, want province_abbr %s", bad, d, abbr)
				}
			}
			r := must(t, do(t, authorityReq(o, map[string]any{"status": "filed", "icp_number": abbr + "ICP备12345678号"})), http.StatusOK)
			if a := orderOf(r)["authority"].(map[string]any); orderOf(r)["state"] != "filed" || a["icp_number"] != abbr+"ICP备12345678号" {
				t.Errorf("filed: %v", orderOf(r))
			}
		})
	}
}

// TestReviewQueuePages: 50 orders a page, oldest submission first, and next_cursor to the
// rest, each order once.
func TestReviewQueuePages(t *testing.T) {
	w := startWorkbench(t, nil)
	var want []string
	for range 53 {
		want = append(want, w.orderIn(t, "submitted", nil).ID)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		u := w.url("/queue")
		if cursor != "" {
			u += "?cursor=" + cursor
		}
		r := must(t, do(t, req{method: "GET", url: u, token: w.as("alice")}), http.StatusOK)
		// A page goes out in one write with its length, not chunked (docs/benchmarks.md:
		// the framing cost a page a third of its server time).
		if cl := r.Header.Get("Content-Length"); cl != strconv.Itoa(len(r.Raw)) {
			t.Errorf("page %d: Content-Length %q for a body of %d bytes", pages, cl, len(r.Raw))
		}
		es := r.Body["orders"].([]any)
		if pages == 0 && len(es) != 50 {
			t.Fatalf("first page has %d orders, want 50", len(es))
		}
		for _, e := range es {
			got = append(got, e.(map[string]any)["id"].(string))
		}
		next, _ := r.Body["next_cursor"].(string)
		if next == "" || pages > 5 {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("queue over its pages:\n%v\nwant, oldest first:\n%v", got, want)
	}
}

// TestReviewHoldLapse: a hold lasts BEIANSCAN_REVIEW_HOLD without activity, each view or
// hold of the holder renews it, and once it has lapsed another reviewer takes it over; the
// reviewer whose hold lapsed can no longer decide.
func TestReviewHoldLapse(t *testing.T) {
	clk := testclock.New(time.Now())
	w := startWorkbench(t, func(c *server.Config) { c.Now, c.ReviewHold = clk.Now, 10*time.Minute })
	o := w.orderIn(t, "submitted", nil)
	hold := func(who string) reply {
		return do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as(who)})
	}
	until := func(r reply) string { return fmt.Sprint(errDetails(r)["until"]) }
	must(t, hold("alice"), http.StatusOK)
	first := until(w.refused(t, o, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("bob")}, http.StatusConflict, "held_by_other"))
	// Nine minutes on, alice's view renews her hold for ten more.
	clk.Add(9 * time.Minute)
	must(t, do(t, req{method: "GET", url: w.url("/orders/" + o.ID), token: w.as("alice")}), http.StatusOK)
	clk.Add(9 * time.Minute)
	renewed := until(w.refused(t, o, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("bob")}, http.StatusConflict, "held_by_other"))
	if renewed == first {
		t.Errorf("the view did not renew the hold: until %s both times", first)
	}
	// bob's view renews nothing and does not take the hold.
	v := must(t, do(t, req{method: "GET", url: w.url("/orders/" + o.ID), token: w.as("bob")}), http.StatusOK)
	if v.Body["held_by"] != "alice" {
		t.Errorf("view says held by %v", v.Body["held_by"])
	}
	// Past it, the hold has lapsed: bob takes it over, alice may not decide.
	clk.Add(2 * time.Minute)
	if r := must(t, do(t, req{method: "GET", url: w.url("/orders/" + o.ID), token: w.as("bob")}), http.StatusOK); r.Body["held_by"] != nil {
		t.Errorf("a lapsed hold is shown as held by %v", r.Body["held_by"])
	}
	must(t, hold("bob"), http.StatusOK)
	w.refused(t, o, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("alice"), body: map[string]any{"outcome": "approve"}}, http.StatusConflict, "not_held")
	r := w.refused(t, o, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("alice")}, http.StatusConflict, "held_by_other")
	if errDetails(r)["reviewer"] != "bob" {
		t.Errorf("held_by_other %v", errDetails(r))
	}
	must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("bob"), body: map[string]any{"outcome": "approve"}}), http.StatusOK)
}

// TestReviewHoldRace: two reviewers take one order at the same moment, many times over:
// each time exactly one gets the hold and the other is told who has it.
func TestReviewHoldRace(t *testing.T) {
	w := startWorkbench(t, nil)
	const tries = 40
	wins := map[string]int{}
	for i := range tries {
		o := w.orderIn(t, "submitted", nil)
		var got [2]reply
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j, n := range []string{"alice", "bob"} {
			wg.Go(func() {
				<-start
				got[j] = do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as(n)})
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for j, n := range []string{"alice", "bob"} {
			switch got[j].Status {
			case http.StatusOK:
				ok++
				wins[n]++
			case http.StatusConflict:
				if got[j].errCode() != "held_by_other" || errDetails(got[j])["reviewer"] == n {
					t.Errorf("try %d: %s refused %s", i, n, got[j].Raw)
				}
			default:
				t.Errorf("try %d: %s answered %d %s", i, n, got[j].Status, got[j].Raw)
			}
		}
		if ok != 1 {
			t.Fatalf("try %d: %d reviewers hold the order", i, ok)
		}
	}
	t.Logf("holds won in %d tries: %v", tries, wins)
}

// TestReviewDecisionRace: the holder's decision on round 1 races the owner's withdraw and
// resubmission, many times over. Whatever wins, the decision is recorded on round 1 or not
// at all: round 2 is never decided by a hold of round 1, and a refused decision changes
// nothing.
func TestReviewDecisionRace(t *testing.T) {
	w := startWorkbench(t, nil)
	const tries = 25
	seen := map[string]int{}
	for i := range tries {
		o := w.orderIn(t, "submitted", nil)
		must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("alice")}), http.StatusOK)
		var dec, wd, sub reply
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			dec = do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("alice"), body: changesBody()})
		})
		wg.Go(func() {
			<-start
			wd = do(t, req{method: "POST", url: o.url("/withdraw"), token: o.Token})
			if wd.Status != http.StatusOK {
				return
			}
			must(t, do(t, methodReq(o, "pc")), http.StatusOK)
			sub = do(t, req{method: "POST", url: o.url("/submit"), token: o.Token})
		})
		close(start)
		wg.Wait()
		final := orderOf(must(t, do(t, req{method: "GET", url: o.url(""), token: o.Token}), http.StatusOK))
		rev, _ := final["review"].(map[string]any)
		outcome := fmt.Sprintf("decision %d, withdraw %d, resubmit %d", dec.Status, wd.Status, sub.Status)
		seen[outcome]++
		switch {
		case dec.Status == http.StatusOK:
			// The decision came first: round 1 was decided, then withdrawn and submitted
			// again as round 2, which waits undecided.
			if orderOf(dec)["round"] != 1.0 || rev == nil || rev["round"] != 1.0 {
				t.Fatalf("try %d (%s): decided %v, final review %v", i, outcome, orderOf(dec), rev)
			}
		case dec.Status == http.StatusConflict && (dec.errCode() == "not_held" || dec.errCode() == "invalid_state"):
			if rev != nil {
				t.Fatalf("try %d (%s): a refused decision left a review %v", i, outcome, rev)
			}
		default:
			t.Fatalf("try %d: decision %d %s", i, dec.Status, dec.Raw)
		}
		if wd.Status != http.StatusOK || sub.Status != http.StatusOK {
			t.Fatalf("try %d (%s): withdraw %s, resubmit %s", i, outcome, wd.Raw, sub.Raw)
		}
		if final["state"] != "submitted" || final["round"] != 2.0 {
			t.Fatalf("try %d (%s): final %v round %v, want round 2 submitted", i, outcome, final["state"], final["round"])
		}
		// Round 2 is nobody's: alice's old hold does not reach it.
		w.refused(t, o, req{method: "POST", url: w.url("/orders/" + o.ID + "/decision"), token: w.as("alice"),
			body: map[string]any{"outcome": "approve"}}, http.StatusConflict, "not_held")
	}
	t.Logf("outcomes over %d tries: %v", tries, seen)
}

// TestOwnerUploadAnswers: what the owner's page is told when a file is refused says what
// the file is: too_large carries the upload's size and the limit, a PDF renamed .jpg is
// named a PDF with how to make an image of it, and a web address typed as a domain is told
// which domain to write; each refusal changes nothing.
func TestOwnerUploadAnswers(t *testing.T) {
	w := startWorkbench(t, nil)
	o := w.orderIn(t, "draft", nil)
	over := append(append([]byte{}, testJPEG(t, 400, 400)[:2000]...), make([]byte, 4<<20+1-2000)...)
	exactly := paddedPNG(t, 4<<20)
	pdf := append([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), make([]byte, 3000)...)
	for _, tt := range []struct {
		name, url, ctype string
		body             []byte
	}{
		{"desktop, 4 MiB + 1", o.url("/materials/verification_form"), "image/jpeg", over},
		{"desktop, exactly 4 MiB", o.url("/materials/verification_form"), "image/png", exactly},
		{"desktop, fit over 20 MiB", o.url("/materials/verification_form?fit=1"), "image/jpeg", append(over, make([]byte, 16<<20)...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := w.refused(t, o, req{method: "PUT", url: tt.url, token: o.Token, body: tt.body,
				header: map[string]string{"Content-Type": tt.ctype}}, http.StatusRequestEntityTooLarge, "too_large")
			d := errDetails(r)
			if d["size"] != float64(len(tt.body)) || d["max_bytes"] == nil || d["max_bytes"].(float64) > float64(len(tt.body)) {
				t.Errorf("too_large details %v, want size %d and the limit", d, len(tt.body))
			}
		})
	}
	// A body of unknown size (chunked) is not read past the limit to count it: the limit
	// is said, the size is not known.
	t.Run("desktop, chunked, over 4 MiB", func(t *testing.T) {
		before := w.frozen(t, o)
		hr, err := http.NewRequest("PUT", o.url("/materials/verification_form"), io.MultiReader(bytes.NewReader(over)))
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Authorization", "Bearer "+o.Token)
		hr.Header.Set("Content-Type", "image/jpeg")
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		e, _ := body["error"].(map[string]any)
		d, _ := e["details"].(map[string]any)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || e["code"] != "too_large" || d["max_bytes"] != float64(4<<20) {
			t.Errorf("chunked: %d %v", resp.StatusCode, body)
		}
		if after := w.frozen(t, o); after != before {
			t.Errorf("a refused chunked upload changed the order")
		}
	})
	r := w.refused(t, o, req{method: "PUT", url: o.url("/materials/verification_form"), token: o.Token, body: pdf,
		header: map[string]string{"Content-Type": "image/jpeg"}}, http.StatusUnsupportedMediaType, "unsupported_format")
	if e := r.Body["error"].(map[string]any); errDetails(r)["detected"] != "pdf" || !strings.Contains(e["message_zh"].(string), "PDF") ||
		!strings.Contains(e["message_zh"].(string), "拍摄") {
		t.Errorf("a PDF named .jpg: %s", r.Raw)
	}
	r = w.refused(t, o, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"domains": []string{"http://www.example.com/"}}},
		http.StatusUnprocessableEntity, "invalid_request")
	if e := r.Body["error"].(map[string]any); errDetails(r)["suggest"] != "www.example.com" || !strings.Contains(e["message_zh"].(string)+fmt.Sprint(errDetails(r)), "http://") {
		t.Errorf("a web address as a domain: %s", r.Raw)
	}
}

// TestReuploadQRAfterChanges is the browser's whole review as the server sees it, many
// times over: the phone that uploaded round 1 scans the re-upload QR of round 2, read off
// the QR image as the page shows it, while the desktop's websocket watches.
func TestReuploadQRAfterChanges(t *testing.T) {
	w := startWorkbench(t, nil)
	img := testJPEG(t, 400, 400)
	for i := range 15 {
		o := createWith(t, w.m, gdIndividual(), "app")
		conn, _ := dial(t, o.Base, o)
		go func() {
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					return
				}
			}
		}()
		scanned := func() string {
			_, code, err := appsim.ParseScanURL(scanQR(t, o))
			if err != nil {
				t.Fatal(err)
			}
			return code
		}
		createPairing(t, o)
		r := must(t, do(t, claimReq(w.m, scanned(), "same-phone", appVersionOK, "")), http.StatusOK)
		phone := r.Body["phone_token"].(string)
		for _, s := range append(slices.Clone(stdSlots), "face_photo") {
			must(t, do(t, phoneReq(w.m, "PUT", "/m/v1/materials/"+s, phone, img)), http.StatusCreated)
		}
		must(t, do(t, phoneReq(w.m, "POST", "/m/v1/complete", phone, nil)), http.StatusOK)
		must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
		w.decide(t, o, map[string]any{"outcome": "changes", "issues": []any{
			map[string]any{"target": "material", "slot": "verification_form", "code": "form_unsigned", "note": "签字处空白"},
			map[string]any{"target": "field", "field": "domains", "code": "field_invalid", "note": "域名有误"},
		}})
		must(t, do(t, req{method: "PATCH", url: o.url(""), token: o.Token, body: map[string]any{"domains": []string{"example.cn"}}}), http.StatusOK)
		createPairing(t, o)
		r = do(t, claimReq(w.m, scanned(), "same-phone", appVersionOK, ""))
		if r.Status != http.StatusOK {
			t.Fatalf("try %d: the re-upload QR's claim answered %d %s", i, r.Status, r.Raw)
		}
		if ms := r.Body["materials"].([]any); len(ms) != 1 || ms[0].(map[string]any)["slot"] != "verification_form" {
			t.Fatalf("try %d: the re-upload claim lists %v", i, ms)
		}
	}
}
