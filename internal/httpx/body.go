// Upload bodies held in memory: admitted against the instance's body budget before a byte
// is read (internal/admission.Bodies), so that slow or large bodies arriving at once cannot
// take the process's memory.

package httpx

import (
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/admission"
)

// AdmitBody admits the request's body for an upload on orderID from the client's IP: a
// place under the per-order and per-IP caps (429) and the bytes of its Content-Length in the
// budget (503 at once when there is no room); a chunked body reserves as it is read. The
// body is also bounded by limit (413 past it). The returned Body is released by the handler
// once the bytes are no longer held; its Size sizes the buffer that reads it. A nil budget
// admits everything and only bounds the body.
func AdmitBody(c echo.Context, budget *admission.Bodies, orderID string, limit int64) (*admission.Body, error) {
	r := c.Request()
	body, err := budget.Admit(orderID, c.RealIP(), r.ContentLength, limit)
	if err != nil {
		return nil, err
	}
	bounded := http.MaxBytesReader(c.Response(), r.Body, limit)
	r.Body = readCloser{body.Reader(bounded), bounded}
	return body, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
