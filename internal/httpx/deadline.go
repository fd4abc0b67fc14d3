// Request-body deadlines: without them a client declaring 4 MB and sending a byte every few
// seconds holds a connection, a goroutine and a growing buffer for as long as it likes.

package httpx

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
)

// DefaultUploadTimeout is how long an upload's whole body may take to arrive, unless configured
// (BEIANSCAN_UPLOAD_TIMEOUT); the server and both APIs default to it.
const DefaultUploadTimeout = 2 * time.Minute

// Body sets the connection's read deadline to d from now, so the whole body must have
// arrived by then; a read that hits the deadline fails with filing.ErrRequestTimeout (408
// request_timeout), which the handler returns like any other error, and the answer can
// still be written (only reading is cut).
//
// The server uses it for every request with a short d and the upload routes again with a
// long one (the later call wins). A request without a body gets none: nothing to wait for.
// net/http lifts the deadline itself once the body has been read and it starts reading
// ahead on the connection (so a handler still working when the deadline passes keeps its
// context), sets each request's deadline anew when it reads the next request's headers,
// and clears it when a connection is hijacked: the deadline never outlives its body nor
// reaches a websocket.
//
// d <= 0 sets none; so does a ResponseWriter that cannot set deadlines (httptest's recorder
// in handler tests).
func BodyDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if d > 0 && r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
				if http.NewResponseController(c.Response()).SetReadDeadline(time.Now().Add(d)) == nil {
					if _, ok := r.Body.(timedBody); !ok {
						r.Body = timedBody{r.Body}
					}
				}
			}
			return next(c)
		}
	}
}

// timedBody turns the connection's deadline error into the contract's.
type timedBody struct{ io.ReadCloser }

func (b timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = filing.ErrRequestTimeout
	}
	return n, err
}
