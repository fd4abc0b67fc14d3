// Package httpxtest holds what the handler packages' tests (mobileapi, webapi) share: their
// routes served with the service's real error renderer, and a request whose answer is read
// as the contract's status and error code.
package httpxtest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/httpx"
)

// Serve serves the routes that register adds, with the service's error handler, on a test
// server closed when the test ends.
func Serve(tb testing.TB, register func(*echo.Echo)) *httptest.Server {
	tb.Helper()
	e := echo.New()
	e.HTTPErrorHandler = httpx.ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	register(e)
	srv := httptest.NewServer(e)
	tb.Cleanup(srv.Close)
	return srv
}

// Send sends r and returns the answer's status and the contract's error code ("" when the
// body is not an error envelope).
func Send(tb testing.TB, r *http.Request) (status int, code string) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body.Error.Code
}
