package webapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/orders"
)

// countingReader counts what the handler took of a body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// serveDirect runs one request through the desktop API in process, so that what the
// handler read of the body is exactly what it took (no socket buffers in between).
func serveDirect(t *testing.T, svc Service, cfg Config, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	New(svc, nil, nil, cfg).Register(e)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

// TestStitchPartCheckedAsRead: a stitch part is refused as soon as it reaches the plain
// upload limit (stitches are never fitted), not after 20 MB of it were read into memory.
func TestStitchPartCheckedAsRead(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "a.jpg")
	fw.Write(make([]byte, 12<<20))
	fw, _ = mw.CreateFormFile("file", "b.jpg")
	fw.Write(make([]byte, 1000))
	mw.Close()
	body := &countingReader{r: &buf}
	r := httptest.NewRequest("POST", "/api/v1/orders/"+orderID+"/materials/verification_form/stitch", body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Authorization", "Bearer good")
	svc := &fakeService{authorize: func(string, string) error { return nil }, readLimit: 4 << 20}
	w := serveDirect(t, svc, Config{}, r)
	var got struct {
		Error struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &got)
	if w.Code != http.StatusRequestEntityTooLarge || got.Error.Code != filing.CodeTooLarge || got.Error.Details["part"] != 0.0 {
		t.Fatalf("answer %d %s", w.Code, w.Body.Bytes())
	}
	if n := body.n.Load(); n > 5<<20 {
		t.Errorf("the handler read %d bytes of a 12 MB part before refusing it, want about 4 MB", n)
	}
}

// TestUploadBodyBudget: an upload that finds no room in the body budget is answered 503
// with Retry-After before its body is read or the service called; one past the per-order
// cap answers 429.
func TestUploadBodyBudget(t *testing.T) {
	bodies := admission.NewBodies(admission.BodyConfig{Memory: 16 << 20, PerOrder: 1})
	hold, err := bodies.Admit("other", "192.0.2.1", 15<<20, 20<<20)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	svc := &fakeService{authorize: func(string, string) error { return nil }, readLimit: 4 << 20,
		upload: func(orders.Upload) (*filing.Material, error) { called = true; return &filing.Material{}, nil }}
	put := func() (*httptest.ResponseRecorder, *countingReader) {
		body := &countingReader{r: bytes.NewReader(make([]byte, 3<<20))}
		r := httptest.NewRequest("PUT", "/api/v1/orders/"+orderID+"/materials/verification_form", body)
		r.Header.Set("Authorization", "Bearer good")
		r.ContentLength = 3 << 20
		return serveDirect(t, svc, Config{Bodies: bodies}, r), body
	}
	w, body := put()
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || called || body.n.Load() != 0 {
		t.Fatalf("no room: %d Retry-After %q, service called %v, %d bytes read", w.Code, w.Header().Get("Retry-After"), called, body.n.Load())
	}
	hold.Release()
	inFlight, _ := bodies.Admit(orderID, "192.0.2.2", 0, 1)
	if w, _ := put(); w.Code != http.StatusTooManyRequests {
		t.Fatalf("past the per-order cap: %d %s", w.Code, w.Body.Bytes())
	}
	inFlight.Release()
	if w, _ := put(); w.Code != http.StatusCreated || !called {
		t.Fatalf("with room: %d %s", w.Code, w.Body.Bytes())
	}
	if got := bodies.Stats().BytesReserved; got != 0 {
		t.Errorf("%d bytes still reserved after the upload answered", got)
	}
}
