package server_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestReviewerReadWithOwnerCookie: one browser holds the owner's desktop cookie and a
// reviewer's session cookie (the workbench opened beside the owner's page). The
// workbench's image read, on the reviewer's path, is audited as that reviewer; the owner's
// page's read, on the order's path, stays the owner's.
func TestReviewerReadWithOwnerCookie(t *testing.T) {
	w := startWorkbench(t, nil)
	o := submittedPC(t, w.m)
	r := must(t, do(t, req{method: "POST", url: w.url("/session"), body: map[string]any{"name": "alice", "key": w.keys["alice"]}}), http.StatusNoContent)
	ck := (&http.Response{Header: r.Header}).Cookies()
	if len(ck) != 1 {
		t.Fatalf("session cookies %v", ck)
	}
	both := map[string]string{"Cookie": "beianscan_desktop=" + o.Token + "; " + ck[0].Name + "=" + ck[0].Value,
		"Sec-Fetch-Site": "same-origin"}
	lastRead := func() string {
		t.Helper()
		a := must(t, do(t, req{method: "GET", url: o.url("/audit"), header: map[string]string{"X-Api-Key": testOperatorKey}}), http.StatusOK)
		es := a.Body["entries"].([]any)
		for i := len(es) - 1; i >= 0; i-- {
			if e := es[i].(map[string]any); e["action"] == "read" {
				return fmt.Sprint(e["actor"], "/", e["reviewer"])
			}
		}
		return ""
	}
	for _, tt := range []struct {
		name, url, want string
	}{
		{"the workbench's read", w.url("/orders/" + o.ID + "/materials/verification_form"), "reviewer/alice"},
		{"the owner's page's read", o.url("/materials/verification_form"), "desktop/<nil>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, req{method: "GET", url: tt.url, header: both})
			if got.Status != http.StatusOK {
				t.Fatalf("status %d: %s", got.Status, got.Raw)
			}
			if a := lastRead(); a != tt.want {
				t.Errorf("audited as %s, want %s", a, tt.want)
			}
		})
	}
	// The reviewer's path takes the reviewer's credentials only: the owner's cookie alone
	// is refused there.
	wantError(t, do(t, req{method: "GET", url: w.url("/orders/" + o.ID + "/materials/verification_form"),
		header: map[string]string{"Cookie": "beianscan_desktop=" + o.Token}}), http.StatusUnauthorized, "unauthorized")
}
