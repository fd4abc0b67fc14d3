package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/webapi"
)

var resumeCodeRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{16}$`)

// createResumable creates an order and returns it with the resume code of its creation.
func createResumable(t *testing.T, m *server.Main) (order, string) {
	t.Helper()
	r := must(t, do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: gdIndividual()}), http.StatusCreated)
	o := r.Body["order"].(map[string]any)
	code, _ := r.Body["resume_code"].(string)
	if !resumeCodeRE.MatchString(code) {
		t.Fatalf("resume_code %q is not 16 characters of Crockford base32", code)
	}
	return order{ID: o["id"].(string), Token: r.Body["desktop_token"].(string), Base: m.URL}, code
}

func resumeReq(o order, code, ip string) req {
	return req{method: "POST", url: o.url("/resume"), body: map[string]any{"code": code},
		header: map[string]string{"X-Forwarded-For": ip}}
}

// desktopCookie is the desktop cookie a reply sets, as a Cookie header.
func desktopCookie(t *testing.T, r reply) string {
	t.Helper()
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == webapi.CookieName && ck.Value != "" && ck.HttpOnly {
			return ck.Name + "=" + ck.Value
		}
	}
	t.Fatalf("no %s cookie in %v", webapi.CookieName, r.Header.Values("Set-Cookie"))
	return ""
}

// typed is the code as a person may copy it: lower case, in groups of four with hyphens
// and a space, 1 read as l and 0 as O.
func typed(code string) string {
	var b strings.Builder
	for i, r := range strings.ToLower(code) {
		if i > 0 && i%4 == 0 {
			b.WriteString("- ")
		}
		switch r {
		case '1':
			r = 'l'
		case '0':
			r = 'O'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// auditTrail is the order's audit trail as the owner reads it.
func auditTrail(t *testing.T, o order) string {
	t.Helper()
	return string(must(t, do(t, req{method: "GET", url: o.url("/audit"), token: o.Token}), http.StatusOK).Raw)
}

// TestResumeCode: the resume code of an order's creation opens the order in a browser
// that holds nothing (a fresh cookie that works on its own), however it is typed; a wrong
// code, another order's code and a replaced code answer 401 and change nothing.
func TestResumeCode(t *testing.T) {
	m := start(t, nil)
	o, code := createResumable(t, m)
	other, otherCode := createResumable(t, m)
	ip := freshIP(t, m)

	r := must(t, do(t, resumeReq(o, typed(code), ip)), http.StatusOK)
	if id := r.Body["order"].(map[string]any)["id"]; id != o.ID {
		t.Fatalf("resumed order %v, want %s", id, o.ID)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	cookie := desktopCookie(t, r)
	must(t, do(t, req{method: "GET", url: o.url(""), header: map[string]string{"Cookie": cookie}}), http.StatusOK)
	// The cookie is the order's, not the other's.
	wantError(t, do(t, req{method: "GET", url: other.url(""), header: map[string]string{"Cookie": cookie}}), http.StatusNotFound, "order_not_found")
	if trail := auditTrail(t, o); !strings.Contains(trail, `"action":"resume"`) || !strings.Contains(trail, `"actor":"desktop"`) {
		t.Errorf("audit trail has no desktop resume entry: %s", trail)
	}

	refused := map[string]string{
		"wrong code":         strings.Repeat("Z", 16),
		"another order's":    otherCode,
		"too short":          code[:15],
		"not base32 (U)":     "U" + code[1:],
		"empty":              "",
		"code and something": code + "0",
	}
	for name, c := range refused {
		t.Run(name, func(t *testing.T) {
			before, trail := stored(t, o), auditTrail(t, o)
			r := do(t, resumeReq(o, c, freshIP(t, m)))
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
			if len(r.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("a refused resume set %v", r.Header.Values("Set-Cookie"))
			}
			if after := stored(t, o); after != before {
				t.Errorf("a refused resume changed the order:\n%s\n%s", before, after)
			}
			if after := auditTrail(t, o); after != trail {
				t.Errorf("a refused resume changed the audit trail:\n%s\n%s", trail, after)
			}
		})
	}
	t.Run("unknown order", func(t *testing.T) {
		gone := order{ID: strings.Repeat("a", 26), Base: m.URL}
		wantError(t, do(t, resumeReq(gone, code, freshIP(t, m))), http.StatusUnauthorized, "unauthorized")
	})

	t.Run("rotation", func(t *testing.T) {
		wantError(t, do(t, req{method: "POST", url: o.url("/resume-code")}), http.StatusUnauthorized, "unauthorized")
		wantError(t, do(t, req{method: "POST", url: o.url("/resume-code"), token: other.Token}), http.StatusNotFound, "order_not_found")
		r := must(t, do(t, req{method: "POST", url: o.url("/resume-code"), token: o.Token}), http.StatusOK)
		fresh, _ := r.Body["resume_code"].(string)
		if !resumeCodeRE.MatchString(fresh) || fresh == code {
			t.Fatalf("rotated code %q (old %q)", fresh, code)
		}
		wantError(t, do(t, resumeReq(o, code, freshIP(t, m))), http.StatusUnauthorized, "unauthorized")
		must(t, do(t, resumeReq(o, fresh, freshIP(t, m))), http.StatusOK)
		// The other order's code is its own still.
		must(t, do(t, resumeReq(other, otherCode, freshIP(t, m))), http.StatusOK)
		if trail := auditTrail(t, o); !strings.Contains(trail, `"action":"resume_rotate"`) {
			t.Errorf("audit trail has no rotation: %s", trail)
		}
	})
}

// TestResumeGuessLimit: past 10 wrong codes from one IP in the hour, or for one order from
// any IPs, a wrong code answers 429 with Retry-After; the right code still works from that
// IP and for that order, so a guesser cannot lock the owner out.
func TestResumeGuessLimit(t *testing.T) {
	m := start(t, nil)
	wrong := strings.Repeat("Z", 16)
	t.Run("per IP", func(t *testing.T) {
		ip := freshIP(t, m)
		o, code := createResumable(t, m)
		for i := 0; i < 10; i++ {
			// Spread over orders: the IP's count is across orders.
			x, _ := createResumable(t, m)
			wantError(t, do(t, resumeReq(x, wrong, ip)), http.StatusUnauthorized, "unauthorized")
		}
		before := stored(t, o)
		r := do(t, resumeReq(o, wrong, ip))
		wantError(t, r, http.StatusTooManyRequests, "rate_limited")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		if after := stored(t, o); after != before {
			t.Errorf("a refused guess changed the order:\n%s\n%s", before, after)
		}
		must(t, do(t, resumeReq(o, code, ip)), http.StatusOK)
	})
	t.Run("per order", func(t *testing.T) {
		o, code := createResumable(t, m)
		for i := 0; i < 10; i++ {
			wantError(t, do(t, resumeReq(o, wrong, freshIP(t, m))), http.StatusUnauthorized, "unauthorized")
		}
		wantError(t, do(t, resumeReq(o, wrong, freshIP(t, m))), http.StatusTooManyRequests, "rate_limited")
		must(t, do(t, resumeReq(o, code, freshIP(t, m))), http.StatusOK)
	})
}
