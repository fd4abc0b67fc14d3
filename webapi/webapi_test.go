package webapi

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx/httpxtest"
	"github.com/beianscan/beianscan/internal/orders"
)

// fakeService answers what a test sets and records what the handlers asked; methods no
// test sets fall to the embedded nil interface and panic, so a handler calling the
// service where it must not shows up as a failure.
type fakeService struct {
	Service
	authorize func(token, orderID string) error
	upload    func(u orders.Upload) (*filing.Material, error)
	review    func(orderID string, approved bool, reason string) (*orders.Snapshot, error)
	// readLimit is the upload limit of the catalogue the test's API is given.
	readLimit int64
}

// withLimits gives cfg the catalogue limits of svc's readLimit, with and without fit.
func withLimits(svc Service, cfg Config) Config {
	if f, ok := svc.(*fakeService); ok && f.readLimit > 0 {
		cfg.Catalog.Limits = filing.Limits{MaxBytes: f.readLimit, FitMaxBytes: f.readLimit}
	}
	return cfg
}

func (f *fakeService) AuthorizeDesktop(_ context.Context, token, orderID string) error {
	return f.authorize(token, orderID)
}
func (f *fakeService) Upload(_ context.Context, u orders.Upload) (*filing.Material, error) {
	return f.upload(u)
}
func (f *fakeService) Review(_ context.Context, id string, ok bool, reason string) (*orders.Snapshot, error) {
	return f.review(id, ok, reason)
}

const orderID = "aaaaaaaaaaaaaaaaaaaaaaaaaa"

// server serves the desktop API on svc with the service's real error handler.
func server(t *testing.T, svc Service, cfg Config) *httptest.Server {
	t.Helper()
	return httpxtest.Serve(t, New(svc, nil, nil, withLimits(svc, cfg)).Register)
}

// TestDesktopAuth: the desktop token comes from the Authorization header or the cookie,
// never from the URL, and a refused request never reaches the handler.
func TestDesktopAuth(t *testing.T) {
	tests := []struct {
		name       string
		prepare    func(r *http.Request)
		wantStatus int
		wantToken  string
	}{
		{"no token", func(*http.Request) {}, 401, ""},
		{"token in the URL is ignored", func(r *http.Request) {
			q := r.URL.Query()
			q.Set("token", "good")
			q.Set("access_token", "good")
			r.URL.RawQuery = q.Encode()
		}, 401, ""},
		{"bearer header", func(r *http.Request) { r.Header.Set("Authorization", "Bearer good") }, 201, "good"},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: CookieName, Value: "good"}) }, 201, "good"},
		{"bad token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer bad") }, 401, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked string
			uploaded := false
			svc := &fakeService{
				authorize: func(token, id string) error {
					asked = token
					if token != "good" || id != orderID {
						return filing.ErrUnauthorized
					}
					return nil
				},
				upload: func(orders.Upload) (*filing.Material, error) {
					uploaded = true
					return &filing.Material{}, nil
				},
				readLimit: 1 << 20,
			}
			srv := server(t, svc, Config{})
			r, _ := http.NewRequest(http.MethodPut, srv.URL+"/api/v1/orders/"+orderID+"/materials/verification_form", strings.NewReader("x"))
			tt.prepare(r)
			status, _ := httpxtest.Send(t, r)
			if status != tt.wantStatus || asked != tt.wantToken {
				t.Fatalf("status %d with token %q, want %d with %q", status, asked, tt.wantStatus, tt.wantToken)
			}
			if uploaded != (tt.wantStatus == 201) {
				t.Fatalf("handler reached: %v", uploaded)
			}
		})
	}
}

// TestImageBody: a raw body and a multipart "file" part reach the service as the image
// bytes; a multipart body without the part is refused without calling it.
func TestImageBody(t *testing.T) {
	img := []byte("\x89PNG fake image bytes")
	multipartBody := func(field string) (string, []byte) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		_ = w.WriteField("note", "ignored")
		p, _ := w.CreateFormFile(field, "a.png")
		p.Write(img)
		w.Close()
		return w.FormDataContentType(), b.Bytes()
	}
	mpCT, mpBody := multipartBody("file")
	noFileCT, noFileBody := multipartBody("other")
	tests := []struct {
		name        string
		contentType string
		body        []byte
		query       string
		limit       int64
		wantStatus  int
		wantCode    string
		wantFit     bool
	}{
		{"raw", "image/png", img, "", 1 << 20, 201, "", false},
		{"multipart file part", mpCT, mpBody, "", 1 << 20, 201, "", false},
		{"fit asked", "image/png", img, "?fit=1", 1 << 20, 201, "", true},
		{"multipart without a file part", noFileCT, noFileBody, "", 1 << 20, 422, "invalid_request", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var fit, called bool
			svc := &fakeService{
				authorize: func(string, string) error { return nil },
				upload: func(u orders.Upload) (*filing.Material, error) {
					called = true
					fit = u.Fit
					var err error
					if got, err = io.ReadAll(u.Body); err != nil {
						return nil, err
					}
					if u.Via != filing.ViaPC || u.OrderID != orderID || u.Slot != filing.SlotVerificationForm {
						t.Errorf("upload %+v", u)
					}
					return &filing.Material{Slot: u.Slot}, nil
				},
				readLimit: tt.limit,
			}
			srv := server(t, svc, Config{})
			r, _ := http.NewRequest(http.MethodPut, srv.URL+"/api/v1/orders/"+orderID+"/materials/verification_form"+tt.query, bytes.NewReader(tt.body))
			r.Header.Set("Authorization", "Bearer t")
			r.Header.Set("Content-Type", tt.contentType)
			status, code := httpxtest.Send(t, r)
			if status != tt.wantStatus || code != tt.wantCode {
				t.Fatalf("status %d %q, want %d %q", status, code, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus != 201 {
				if called {
					t.Fatal("the service was called for a refused body")
				}
				return
			}
			if !bytes.Equal(got, img) || fit != tt.wantFit {
				t.Fatalf("service got %q fit=%v", got, fit)
			}
		})
	}
}

// TestReviewResultKey: the operator endpoint needs the configured key; with none
// configured it does not exist, whatever the request sends.
func TestReviewResultKey(t *testing.T) {
	tests := []struct {
		name, configured, sent string
		wantStatus             int
	}{
		{"disabled, empty key sent", "", "", 401},
		{"disabled, some key sent", "", "anything", 401},
		{"wrong key", "op-key", "op-kez", 401},
		{"right key", "op-key", "op-key", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reviewed := false
			svc := &fakeService{review: func(id string, ok bool, reason string) (*orders.Snapshot, error) {
				reviewed = true
				if id != orderID || ok || reason != "模糊" {
					t.Errorf("review(%q, %v, %q)", id, ok, reason)
				}
				return &orders.Snapshot{Order: &filing.Order{ID: id}}, nil
			}}
			srv := server(t, svc, Config{OperatorKey: tt.configured})
			r, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/orders/"+orderID+"/review-result", strings.NewReader(`{"approved":false,"reason":"模糊"}`))
			r.Header.Set("X-Api-Key", tt.sent)
			status, _ := httpxtest.Send(t, r)
			if status != tt.wantStatus || reviewed != (tt.wantStatus == 200) {
				t.Fatalf("status %d reviewed %v, want %d", status, reviewed, tt.wantStatus)
			}
		})
	}
}

// TestWebsocketOrigin: a browser's Origin must be allowed before the upgrade; the refusal
// is the contract's JSON error.
func TestWebsocketOrigin(t *testing.T) {
	tests := []struct {
		name, origin string
		allowed      []string
		wantStatus   int
	}{
		{"other site", "http://evil.example", nil, 403},
		{"malformed", "::", nil, 403},
		{"not in the allowed list", "https://beian.example", []string{"https://other.example"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &fakeService{authorize: func(string, string) error { return nil }}
			srv := server(t, svc, Config{AllowedOrigins: tt.allowed})
			r, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/orders/"+orderID+"/events", nil)
			r.Header.Set("Authorization", "Bearer t")
			r.Header.Set("Origin", tt.origin)
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
			r.Header.Set("Sec-WebSocket-Version", "13")
			r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			status, code := httpxtest.Send(t, r)
			if status != tt.wantStatus || code != "origin_not_allowed" {
				t.Fatalf("status %d %q, want %d origin_not_allowed", status, code, tt.wantStatus)
			}
		})
	}
}
