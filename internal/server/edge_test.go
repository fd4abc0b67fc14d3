package server_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/server"
)

// docs/operations.md: slow clients, cross-site requests, and the client's address behind proxies.

const slowTimeout = time.Second

// slowRequest sends a request whose body trickles in: head (request line and headers,
// which declare the full length), then the start of the body at once, then one byte every
// 100 ms. It returns the answer and how long after the head it came; it fails if no answer
// comes within 10 s.
func slowRequest(t *testing.T, base, head string, start []byte) (*http.Response, []byte, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sent := time.Now()
	if _, err := conn.Write(append([]byte(head), start...)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go every(100*time.Millisecond, stop, func() bool {
		// A space: valid inside a JSON body as in an image's bytes.
		_, err := conn.Write([]byte{' '})
		return err == nil
	})
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a body trickling in for %v (the body must be cut after %v): %v",
			time.Since(sent).Round(time.Millisecond), slowTimeout, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	return resp, body.Bytes(), time.Since(sent)
}

// files lists the blob store's files (temporary ones included).
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestSlowUploadIsCut: an upload declaring 4 MB whose body arrives a byte at a time is
// cut at BEIANSCAN_UPLOAD_TIMEOUT with 408 request_timeout, on every upload route, and
// nothing is stored.
func TestSlowUploadIsCut(t *testing.T) {
	m := start(t, func(c *server.Config) { c.UploadTimeout = slowTimeout })
	const declared = 4_000_000
	jpegStart := testJPEG(t, 400, 400)[:600]
	// multipartStart is a multipart body's envelope and the start of its file part.
	multipartStart := func() ([]byte, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		fw, _ := w.CreateFormFile("file", "scan.jpg")
		fw.Write(jpegStart)
		return b.Bytes(), w.FormDataContentType()
	}
	mp, mpType := multipartStart()
	host := strings.TrimPrefix(m.URL, "http://")
	head := func(method, path, ctype, auth string, extra ...string) string {
		h := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n",
			method, path, host, auth, ctype, declared)
		for _, e := range extra {
			h += e + "\r\n"
		}
		return h + "\r\n"
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) (order, string, []byte)
	}{
		{"desktop PUT, raw body", func(t *testing.T) (order, string, []byte) {
			o := orderWith(t, m, "pc")
			return o, head("PUT", "/api/v1/orders/"+o.ID+"/materials/verification_form", "image/jpeg", o.Token), jpegStart
		}},
		{"desktop PUT, multipart", func(t *testing.T) (order, string, []byte) {
			o := orderWith(t, m, "pc")
			return o, head("PUT", "/api/v1/orders/"+o.ID+"/materials/verification_form", mpType, o.Token), mp
		}},
		{"desktop stitch", func(t *testing.T) (order, string, []byte) {
			o := orderWith(t, m, "pc")
			return o, head("POST", "/api/v1/orders/"+o.ID+"/materials/verification_form/stitch", mpType, o.Token), mp
		}},
		{"app PUT", func(t *testing.T) (order, string, []byte) {
			o, phone := claimedApp(t, m)
			return o, head("PUT", "/m/v1/materials/subject_leader_id_front", "image/jpeg", phone,
				"X-App-Version: "+appVersionOK), jpegStart
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, h, body := tt.setup(t)
			before, blobs := stored(t, o), files(t, m.Config.DataDir)
			resp, raw, took := slowRequest(t, m.URL, h, body)
			if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(raw), `"request_timeout"`) {
				t.Fatalf("got %d %s, want 408 request_timeout", resp.StatusCode, raw)
			}
			if !strings.Contains(string(raw), "上传超时") {
				t.Errorf("no Chinese message: %s", raw)
			}
			if took < slowTimeout-100*time.Millisecond || took > slowTimeout+3*time.Second {
				t.Errorf("cut after %v, want about %v", took, slowTimeout)
			}
			if after := stored(t, o); after != before {
				t.Errorf("the order changed:\nbefore %s\nafter  %s", before, after)
			}
			if after := files(t, m.Config.DataDir); !slices.Equal(after, blobs) {
				t.Errorf("the blob store changed: %q, was %q", after, blobs)
			}
		})
	}
}

// TestSlowSmallBodyIsCut: a JSON call's body is bounded too (by the shorter of 30 s and
// the upload timeout), so a trickle of bytes cannot hold a connection forever.
func TestSlowSmallBodyIsCut(t *testing.T) {
	m := start(t, func(c *server.Config) { c.UploadTimeout = slowTimeout })
	o := orderWith(t, m, "pc")
	h := fmt.Sprintf("PUT /api/v1/orders/%s/upload-method HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n", o.ID, o.Token)
	wantSlowJSONCut(t, m, o, h, `{"method": "app"`)
}

// TestSlowClaimIsCut: the app's claim body has the same deadline, answered 408 (not 422
// invalid_request), and the pairing stays unclaimed.
func TestSlowClaimIsCut(t *testing.T) {
	m := start(t, func(c *server.Config) { c.UploadTimeout = slowTimeout })
	o := orderWith(t, m, "app")
	code := pair(t, o)
	h := "POST /m/v1/pairings/claim HTTP/1.1\r\nHost: x\r\nX-App-Version: " + appVersionOK +
		"\r\nX-Device-Id: d1\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n"
	wantSlowJSONCut(t, m, o, h, `{"code": "`+code+`"`)
}

// wantSlowJSONCut sends head and the start of a JSON body, then trickles the rest (see
// slowRequest), and checks that the call is answered 408 within the timeout's bounds and
// that the order o is as it was.
func wantSlowJSONCut(t *testing.T, m *server.Main, o order, head, start string) {
	t.Helper()
	before := stored(t, o)
	resp, raw, took := slowRequest(t, m.URL, head, []byte(start))
	if resp.StatusCode != http.StatusRequestTimeout || took > slowTimeout+3*time.Second {
		t.Fatalf("got %d %s after %v, want 408 request_timeout after about %v", resp.StatusCode, raw, took, slowTimeout)
	}
	if after := stored(t, o); after != before {
		t.Errorf("the order changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestUploadInTimeStillWorks: the deadline cuts slow bodies only; an upload that arrives in
// time is stored, and the connection serves the next request after it.
func TestUploadInTimeStillWorks(t *testing.T) {
	m := start(t, func(c *server.Config) { c.UploadTimeout = slowTimeout })
	o := orderWith(t, m, "pc")
	putPC(t, o, "verification_form", testJPEG(t, 400, 400))
	must(t, do(t, req{method: "GET", url: o.url("/materials/verification_form"), token: o.Token}), http.StatusOK)
}

// TestWebsocketOutlivesBodyDeadline: websockets are exempt from the body deadline (they
// have pings): a desktop's websocket stays open well past the upload timeout.
func TestWebsocketOutlivesBodyDeadline(t *testing.T) {
	m := start(t, func(c *server.Config) { c.UploadTimeout = slowTimeout })
	o := orderWith(t, m, "pc")
	conn, snap := dial(t, m.URL, o)
	// Reading with a deadline of three timeouts: the server must neither close nor send a
	// frame until then, so the read ends by our own deadline.
	conn.SetReadDeadline(time.Now().Add(3 * slowTimeout))
	_, msg, err := conn.ReadMessage()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("websocket read ended with %v (%s), want our own timeout after %v", err, msg, 3*slowTimeout)
	}
	// The server's side is alive too: a fresh websocket on the same order gets the upload's
	// event (the first one is unusable after its read timed out).
	conn2, _ := dial(t, m.URL, o)
	putPC(t, o, "verification_form", testJPEG(t, 400, 400))
	if f := nextOf(t, conn2, "material_uploaded"); version(f) <= version(snap) {
		t.Errorf("event version %d, snapshot was %d", version(f), version(snap))
	}
}

// TestCookieRequestsNeedAllowedOrigin: a change authenticated by the desktop cookie must
// come from an allowed Origin (docs/operations.md): a page on another site cannot make the browser
// act for the desktop. Bearer-token requests and reads are not affected.
func TestCookieRequestsNeedAllowedOrigin(t *testing.T) {
	m := start(t, nil)
	listed := start(t, func(c *server.Config) { c.AllowedOrigins = []string{"https://beian.example.com"} })
	const evil = "http://evil.example"
	type call struct {
		method, path string
		body         any
		status       int
	}
	changes := []call{
		{"PUT", "/materials/verification_form", "jpeg", http.StatusCreated},
		{"POST", "/materials/verification_form/stitch", "stitch", http.StatusCreated},
		{"DELETE", "/materials/subject_leader_id_front", nil, http.StatusNoContent},
		{"PUT", "/upload-method", map[string]string{"method": "app"}, http.StatusOK},
	}
	tests := []struct {
		name   string
		srv    *server.Main
		cookie bool
		header map[string]string
		allow  bool
	}{
		{"cookie, foreign Origin", m, true, map[string]string{"Origin": evil}, false},
		{"cookie, Origin null", m, true, map[string]string{"Origin": "null"}, false},
		{"cookie, same host on another port", m, true, map[string]string{"Origin": "http://127.0.0.1:1"}, false},
		{"cookie, no Origin, Sec-Fetch-Site cross-site", m, true, map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"cookie, no Origin, Sec-Fetch-Site same-site", m, true, map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"cookie, own Origin", m, true, map[string]string{"Origin": "own"}, true},
		{"cookie, no Origin, Sec-Fetch-Site same-origin", m, true, map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"cookie, no Origin nor Sec-Fetch-Site (not a browser)", m, true, nil, true},
		{"bearer, foreign Origin", m, false, map[string]string{"Origin": evil, "Sec-Fetch-Site": "cross-site"}, true},
		{"listed origins: cookie, listed Origin", listed, true, map[string]string{"Origin": "https://beian.example.com"}, true},
		{"listed origins: cookie, own host not listed", listed, true, map[string]string{"Origin": "own"}, false},
	}
	jpeg := testJPEG(t, 400, 400)
	stitchType, stitchBody := multipartFiles(t, "file", testJPEG(t, 400, 300), testJPEG(t, 400, 300))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := orderWith(t, tt.srv, "pc")
			putPC(t, o, "subject_leader_id_front", jpeg)
			// Reads stay open to the cookie whatever the Origin (the page's <img> tags).
			read := req{method: "GET", url: o.url("/materials/subject_leader_id_front"),
				header: map[string]string{"Cookie": "beianscan_desktop=" + o.Token, "Origin": evil, "Sec-Fetch-Site": "cross-site"}}
			must(t, do(t, read), http.StatusOK)
			for _, c := range changes {
				r := req{method: c.method, url: o.url(c.path), body: c.body, header: map[string]string{}}
				switch c.body {
				case "jpeg":
					r.body, r.header["Content-Type"] = jpeg, "image/jpeg"
				case "stitch":
					r.body, r.header["Content-Type"] = stitchBody, stitchType
				}
				for k, v := range tt.header {
					if v == "own" {
						v = tt.srv.URL
					}
					r.header[k] = v
				}
				if tt.cookie {
					r.header["Cookie"] = "beianscan_desktop=" + o.Token
				} else {
					r.token = o.Token
				}
				before := stored(t, o)
				got := do(t, r)
				if tt.allow {
					if got.Status != c.status {
						t.Errorf("%s %s: %d %s, want %d", c.method, c.path, got.Status, got.Raw, c.status)
					}
					continue
				}
				wantError(t, got, http.StatusForbidden, "origin_not_allowed")
				if after := stored(t, o); after != before {
					t.Errorf("%s %s changed the order:\nbefore %s\nafter  %s", c.method, c.path, before, after)
				}
			}
		})
	}
}

// TestClientAddressBehindProxies: X-Forwarded-For is believed only from a trusted proxy
// (BEIANSCAN_TRUSTED_PROXIES); the address a pairing records for the desktop shows which
// address the server took for the client.
func TestClientAddressBehindProxies(t *testing.T) {
	untrusting := start(t, func(c *server.Config) { c.TrustedProxies = nil })
	trusting := start(t, func(c *server.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}
	})
	tests := []struct {
		name string
		srv  *server.Main
		xff  string
		want string
	}{
		{"untrusted peer: public address ignored", untrusting, "203.0.113.7", "127.0.0.1"},
		{"untrusted peer: private address ignored", untrusting, "10.0.0.5", "127.0.0.1"},
		{"untrusted peer: no header", untrusting, "", "127.0.0.1"},
		{"trusted proxy: the address it saw", trusting, "203.0.113.7", "203.0.113.7"},
		{"trusted proxy: what the client wrote left of it is ignored", trusting, "6.6.6.6, 203.0.113.7", "203.0.113.7"},
		{"trusted hops are skipped from the right", trusting, "6.6.6.6, 203.0.113.7, 10.1.1.1", "203.0.113.7"},
		{"an untrusted private address is a client", trusting, "6.6.6.6, 192.168.1.20", "192.168.1.20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := orderWith(t, tt.srv, "app")
			r := req{method: "POST", url: o.url("/pairing"), token: o.Token, header: map[string]string{}}
			if tt.xff != "" {
				r.header["X-Forwarded-For"] = tt.xff
			}
			p := must(t, do(t, r), http.StatusCreated).Body["pairing"].(map[string]any)
			code := codeOf(t, p)
			claim := must(t, do(t, claimReq(tt.srv, code, "device-1", appVersionOK, "")), http.StatusOK)
			d, _ := claim.Body["desktop"].(map[string]any)
			if d["ip"] != tt.want {
				t.Errorf("desktop ip %v, want %s", d["ip"], tt.want)
			}
		})
	}
}

// TestHTMLPagesHaveCSP: every HTML page carries a Content-Security-Policy that forbids
// framing and inline script, allows its own inline <style> elements by hash, and the page
// has no inline script, event-handler attribute or style attribute the policy would block.
func TestHTMLPagesHaveCSP(t *testing.T) {
	m := start(t, func(c *server.Config) { c.PublicURL = "https://beian.example.com" })
	o := createOrder(t, m, gdIndividual())
	pages := []req{
		{method: "GET", url: m.URL + "/"},
		{method: "GET", url: m.URL + "/?order=" + o.ID},
		{method: "GET", url: m.URL + "/m/scan?code=abc"},
		{method: "GET", url: o.url("/verification-form"), token: o.Token},
	}
	styleEl := regexp.MustCompile(`(?is)<style(?:\s[^>]*)?>(.*?)</style\s*>`)
	inlineScript := regexp.MustCompile(`(?is)<script(\s[^>]*)?>\s*[^<\s]`)
	scriptTag := regexp.MustCompile(`(?is)<script(\s[^>]*)?>`)
	handlerAttr := regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)
	styleAttr := regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=`)
	for _, p := range pages {
		t.Run(strings.TrimPrefix(p.url, m.URL), func(t *testing.T) {
			r := must(t, do(t, p), http.StatusOK)
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
			}
			policies := r.Header.Values(httpx.CSPHeader)
			if len(policies) != 1 {
				t.Fatalf("%d Content-Security-Policy headers, want 1: %q", len(policies), policies)
			}
			d := httpx.CSPDirectives(policies[0])
			for name, want := range map[string]string{
				"frame-ancestors": "'none'", "default-src": "'self'", "script-src": "'self'",
				"object-src": "'none'", "base-uri": "'none'",
			} {
				if !slices.Equal(d[name], []string{want}) {
					t.Errorf("%s = %q, want %s", name, d[name], want)
				}
			}
			for _, dir := range []string{"script-src", "style-src", "default-src"} {
				for _, s := range d[dir] {
					if s == "'unsafe-inline'" || s == "'unsafe-eval'" || s == "*" || strings.HasSuffix(s, ":") && s != "data:" && s != "blob:" {
						t.Errorf("%s allows %s", dir, s)
					}
				}
			}
			html := string(r.Raw)
			for _, el := range styleEl.FindAllStringSubmatch(html, -1) {
				sum := httpx.CSP(el[0])
				want := httpx.CSPDirectives(sum)["style-src"][1]
				if !slices.Contains(d["style-src"], want) {
					t.Errorf("inline <style> (%.40q…) not allowed by style-src %q", el[1], d["style-src"])
				}
			}
			if loc := inlineScript.FindStringIndex(html); loc != nil {
				t.Errorf("inline script: %.80q", html[loc[0]:])
			}
			for _, tag := range scriptTag.FindAllString(html, -1) {
				if !strings.Contains(tag, "src=") {
					t.Errorf("script without src: %s", tag)
				}
			}
			if loc := handlerAttr.FindStringIndex(html); loc != nil {
				t.Errorf("event-handler attribute: %.80q", html[loc[0]:])
			}
			if loc := styleAttr.FindStringIndex(html); loc != nil {
				t.Errorf("style attribute: %.80q", html[loc[0]:])
			}
		})
	}
	// The desktop page's websocket is allowed to the public URL's host.
	r := must(t, do(t, req{method: "GET", url: m.URL + "/"}), http.StatusOK)
	if c := httpx.CSPDirectives(r.Header.Get(httpx.CSPHeader))["connect-src"]; !slices.Equal(c, []string{"'self'", "wss://beian.example.com"}) {
		t.Errorf("connect-src %q, want 'self' wss://beian.example.com", c)
	}
	// The verification form's print button lives in a script file.
	js := must(t, do(t, req{method: "GET", url: m.URL + "/assets/print.js"}), http.StatusOK)
	if !strings.Contains(string(js.Raw), "window.print()") {
		t.Errorf("/assets/print.js: %s", js.Raw)
	}
}

// codeOf is the code a pairing's QR carries.
func codeOf(t testing.TB, p map[string]any) string {
	t.Helper()
	scan, _ := p["scan_url"].(string)
	u, err := url.Parse(scan)
	if err != nil || u.Query().Get("code") == "" {
		t.Fatalf("pairing has no usable scan_url: %v", p)
	}
	return u.Query().Get("code")
}
