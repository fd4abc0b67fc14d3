// Package deadline bounds how long a request's body may take to arrive (DESIGN §5, Slow
// clients). Without it a client declaring 4 MB and sending a byte every few seconds holds a
// connection, a goroutine and a growing buffer for as long as it likes.
package deadline

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
)

// Body sets the connection's read deadline to d from now, so the whole body must have
// arrived by then; a read that hits the deadline fails with filing.ErrRequestTimeout (408
// request_timeout), which the handler returns like any other error, and the answer can
// still be written (only reading is cut). A request without a body gets no deadline.
//
// The server uses it for every request with a short d and the upload routes again with a
// long one (the later call wins). It is not http.Server.ReadTimeout, for two reasons:
// uploads need far longer than small JSON bodies, and net/http reads ahead on a connection
// once a body is consumed (to notice the client leaving) — a deadline that passes during
// that read cancels the request's context, even though the body arrived in time. So the
// deadline is cleared as soon as the body has been read to its end, and a request without
// a body (a long download) never has one. net/http sets each request's read deadline anew
// when it reads the next request's headers and clears it when a connection is hijacked, so
// the deadline never outlives its request nor reaches a websocket.
//
// d <= 0 sets none; so does a ResponseWriter that cannot set deadlines (httptest's recorder
// in handler tests).
func Body(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if d > 0 && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
				rc := http.NewResponseController(c.Response())
				if rc.SetReadDeadline(time.Now().Add(d)) == nil {
					if _, ok := r.Body.(*timedBody); !ok {
						r.Body = &timedBody{ReadCloser: r.Body, rc: rc}
					}
				}
			}
			return next(c)
		}
	}
}

// timedBody turns the connection's deadline error into the contract's, and lifts the
// deadline once the body is complete.
type timedBody struct {
	io.ReadCloser
	rc *http.ResponseController
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		err = filing.ErrRequestTimeout
	}
	return n, err
}
