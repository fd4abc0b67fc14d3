package httpx

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
)

// DecodeJSON reads a request body of at most limit bytes as exactly one JSON value into v,
// strictly: field names match exactly (encoding/json would let "SUBJECT_NAME" override
// "subject_name"), a name given twice, a name v does not have, invalid UTF-8 or anything
// after the value is refused with invalid_request, details.field naming where (dotted, as
// "subject_leader.name"). The body deadline's request_timeout passes through as it is.
//
// It is built on github.com/go-json-experiment/json (the proposed encoding/json/v2), whose
// defaults are these rules; encoding/json has no switch for exact names.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	err := json.UnmarshalRead(http.MaxBytesReader(w, r.Body, limit), v, json.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	var fe *filing.Error
	if errors.As(err, &fe) {
		return fe
	}
	e := filing.ErrInvalidRequest.WithMessage(
		"The body must be one JSON object of the documented fields, each named exactly once.",
		"请求内容应为一个符合接口说明的 JSON 对象，字段名须完全一致且不重复。")
	if field := pointerField(err); field != "" {
		return e.WithDetails(map[string]any{"field": field})
	}
	return e
}

// pointerField is where a decode error points, as a dotted field name.
func pointerField(err error) string {
	var p jsontext.Pointer
	var se *json.SemanticError
	var ye *jsontext.SyntacticError
	switch {
	case errors.As(err, &se):
		p = se.JSONPointer
	case errors.As(err, &ye):
		p = ye.JSONPointer
	}
	var parts []string
	for tok := range p.Tokens() {
		parts = append(parts, tok)
	}
	return strings.Join(parts, ".")
}

// answerBufs are the hand-written answers' buffers (WriteAppended); a buffer that grew
// past 64 KB is dropped rather than kept.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// WriteAppended answers status with the JSON that appendTo appends to a pooled buffer, with
// its Content-Length, in one Write: no chunked framing, no encoder's buffer of its own and
// no buffer per answer for the collector. For the answers written by hand on the hot paths
// (a claim, a queue page).
func WriteAppended(c echo.Context, status int, appendTo func([]byte) ([]byte, error)) error {
	buf := answerBufs.Get().(*[]byte)
	b, err := appendTo((*buf)[:0])
	if err != nil {
		answerBufs.Put(buf)
		return err
	}
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	err = c.Blob(status, echo.MIMEApplicationJSON, b)
	if cap(b) <= 64<<10 {
		*buf = b
		answerBufs.Put(buf)
	}
	return err
}
