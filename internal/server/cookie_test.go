package server_test

import (
	"net/http"
	"testing"

	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/webapi"
)

// TestDesktopCookieSecure: the desktop cookie is Secure exactly when the public URL is
// https (behind nginx's TLS the instance itself speaks plain HTTP, so the public URL is
// what tells), however the scheme is written.
func TestDesktopCookieSecure(t *testing.T) {
	for _, tt := range []struct {
		publicURL string
		secure    bool
	}{
		{"https://beian.example.com", true},
		{"HTTPS://Beian.Example.com", true},
		{"http://localhost:8080", false},
		{"", false}, // the default, http://localhost:8080 or the bound address
	} {
		t.Run(tt.publicURL, func(t *testing.T) {
			m := start(t, func(c *server.Config) { c.PublicURL = tt.publicURL })
			r := must(t, do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: gdIndividual()}), http.StatusCreated)
			var found bool
			for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
				if ck.Name != webapi.CookieName {
					continue
				}
				found = true
				if ck.Secure != tt.secure || !ck.HttpOnly {
					t.Errorf("cookie Secure=%v HttpOnly=%v, want Secure=%v HttpOnly", ck.Secure, ck.HttpOnly, tt.secure)
				}
			}
			if !found {
				t.Fatalf("no %s cookie in %v", webapi.CookieName, r.Header.Values("Set-Cookie"))
			}
		})
	}
}
