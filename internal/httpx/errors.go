// The error envelope {"error":{"code","message","message_zh","details"}} with the status
// of its code. This is the one place that turns codes into statuses; anything without a code
// is logged and shown as "Internal error." so no driver's or decoder's message reaches a client.

package httpx

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
)

var statuses = map[string]int{
	filing.CodeInvalidRequest:          http.StatusUnprocessableEntity,
	filing.CodeInvalidProvince:         http.StatusUnprocessableEntity,
	filing.CodeInvalidIDType:           http.StatusUnprocessableEntity,
	filing.CodeInvalidIDNumber:         http.StatusUnprocessableEntity,
	filing.CodeIDExpired:               http.StatusUnprocessableEntity,
	filing.CodeUnauthorized:            http.StatusUnauthorized,
	filing.CodeTokenRevoked:            http.StatusUnauthorized,
	filing.CodeOrderNotFound:           http.StatusNotFound,
	filing.CodeProvinceNotSupported:    http.StatusForbidden,
	filing.CodeInvalidState:            http.StatusConflict,
	filing.CodeUploadMethodNotApp:      http.StatusConflict,
	filing.CodePairingNotFound:         http.StatusNotFound,
	filing.CodePairingExpired:          http.StatusGone,
	filing.CodePairingAlreadyClaimed:   http.StatusConflict,
	filing.CodeMaterialNotFound:        http.StatusNotFound,
	filing.CodeMaterialsIncomplete:     http.StatusUnprocessableEntity,
	filing.CodeOriginNotAllowed:        http.StatusForbidden,
	filing.CodeMissingAppVersion:       http.StatusBadRequest,
	filing.CodeAppVersionTooOld:        http.StatusUpgradeRequired,
	filing.CodeRateLimited:             http.StatusTooManyRequests,
	filing.CodeTooLarge:                http.StatusRequestEntityTooLarge,
	filing.CodeUnsupportedFormat:       http.StatusUnsupportedMediaType,
	filing.CodeCorruptImage:            http.StatusUnprocessableEntity,
	filing.CodeImageTooSmall:           http.StatusUnprocessableEntity,
	filing.CodeImageTooLargeDimensions: http.StatusUnprocessableEntity,
	filing.CodeAnimatedGIF:             http.StatusUnprocessableEntity,
	filing.CodeUnknownSlot:             http.StatusNotFound,
	filing.CodeSlotNotAllowedInApp:     http.StatusForbidden,
	filing.CodeNotFound:                http.StatusNotFound,
	filing.CodeUnavailable:             http.StatusServiceUnavailable,
	filing.CodeRequestTimeout:          http.StatusRequestTimeout,
	filing.CodeChangesIncomplete:       http.StatusUnprocessableEntity,
	filing.CodeSlotLocked:              http.StatusConflict,
	filing.CodeFieldLocked:             http.StatusConflict,
	filing.CodeInvalidICPNumber:        http.StatusUnprocessableEntity,
	filing.CodeHeldByOther:             http.StatusConflict,
	filing.CodeNotHeld:                 http.StatusConflict,
}

// Status returns the HTTP status of a code.
func Status(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the error envelope.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of the envelope.
type ErrorDetail struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	MessageZh string         `json:"message_zh"`
	Details   map[string]any `json:"details"`
}

var internal = &filing.Error{Code: filing.CodeInternal, Message: "Internal error.", MessageZh: "服务器内部错误，请稍后重试。"}

// Coded turns any error into a coded one: echo's own errors (unknown route, wrong method,
// body too large) get their contract codes, anything else is internal.
func Coded(err error) (*filing.Error, bool) {
	var fe *filing.Error
	if errors.As(err, &fe) {
		return fe, true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return filing.ErrTooLarge, true
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return filing.ErrNotFound, true
		case http.StatusMethodNotAllowed:
			return filing.ErrNotFound.WithMessage("Method not allowed.", "不支持该请求方法。"), true
		case http.StatusRequestEntityTooLarge:
			return filing.ErrTooLarge, true
		case http.StatusUnauthorized:
			return filing.ErrUnauthorized, true
		case http.StatusBadRequest, http.StatusUnsupportedMediaType:
			return filing.ErrInvalidRequest, true
		}
	}
	return internal, false
}

// ErrorHandler is echo's HTTPErrorHandler for the whole service.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		fe, known := Coded(err)
		status := Status(fe.Code)
		var he *echo.HTTPError
		if fe.Code == filing.CodeNotFound && errors.As(err, &he) && he.Code == http.StatusMethodNotAllowed {
			status = http.StatusMethodNotAllowed
		}
		if !known {
			log.ErrorContext(c.Request().Context(), "internal error",
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"method", c.Request().Method, "route", c.Path(), "err", err)
		}
		// A dependency's failure carries its cause (the Redis error, the blob that failed
		// authentication); a refusal of the service's own (the body or decode budget full)
		// is the bare coded error and is not logged: under load it would flood the log.
		if known && fe.Code == filing.CodeUnavailable && error(fe) != err {
			log.WarnContext(c.Request().Context(), "unavailable",
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"method", c.Request().Method, "route", c.Path(), "cause", err)
		}
		details := fe.Details
		if details == nil {
			details = map[string]any{}
		}
		if ra, ok := retryAfter(fe); ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(ra))
		}
		body := ErrorBody{Error: ErrorDetail{Code: fe.Code, Message: fe.Message, MessageZh: fe.MessageZh, Details: details}}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, body)
	}
}

// retryAfter is the Retry-After header of an error: its details' wait, else one second for
// errors the client should simply retry.
func retryAfter(fe *filing.Error) (int, bool) {
	switch v := fe.Details[filing.DetailRetryAfter].(type) {
	case int:
		return max(v, 1), true
	case int64:
		return max(int(v), 1), true
	case float64:
		return max(int(v+0.999), 1), true
	}
	if fe.Code == filing.CodeUnavailable || fe.Code == filing.CodeRateLimited {
		return 1, true
	}
	return 0, false
}
