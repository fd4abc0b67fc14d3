package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
)

// TestStatuses pins every code of api/openapi.json to the status the contract gives it.
func TestStatuses(t *testing.T) {
	contract := map[string]int{
		"invalid_request": 422, "invalid_province": 422, "invalid_id_type": 422, "invalid_id_number": 422,
		"id_expired": 422, "unauthorized": 401, "token_revoked": 401, "order_not_found": 404,
		"province_not_supported": 403, "invalid_state": 409, "upload_method_not_app": 409,
		"pairing_not_found": 404, "pairing_expired": 410, "pairing_already_claimed": 409,
		"material_not_found": 404, "materials_incomplete": 422, "origin_not_allowed": 403,
		"missing_app_version": 400, "app_version_too_old": 426, "rate_limited": 429, "too_large": 413,
		"unsupported_format": 415, "corrupt_image": 422, "image_too_small": 422,
		"image_too_large_dimensions": 422, "animated_gif": 422, "unknown_slot": 404,
		"slot_not_allowed_in_app": 403, "not_found": 404, "unavailable": 503, "request_timeout": 408,
		"changes_incomplete": 422, "slot_locked": 409, "field_locked": 409, "invalid_icp_number": 422,
		"held_by_other": 409, "not_held": 409,
		"internal": 500,
	}
	for code, want := range contract {
		if got := Status(code); got != want {
			t.Errorf("%s: status %d, want %d", code, got, want)
		}
	}
	if len(statuses)+1 != len(contract) {
		t.Errorf("the table has %d codes, the contract %d (plus internal)", len(statuses), len(contract)-1)
	}
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
		// wantRetry is the Retry-After header, empty where there must be none.
		wantRetry string
	}{
		{"coded error with details", filing.ErrMaterialsIncomplete.WithDetails(map[string]any{"missing": []string{"face_photo"}}),
			422, "materials_incomplete", filing.ErrMaterialsIncomplete.Message, ""},
		{"wrapped coded error", fmt.Errorf("store: %w", filing.ErrOrderNotFound), 404, "order_not_found", filing.ErrOrderNotFound.Message, ""},
		{"body over the limit", &http.MaxBytesError{Limit: 10}, 413, "too_large", filing.ErrTooLarge.Message, ""},
		{"unknown route", echo.ErrNotFound, 404, "not_found", filing.ErrNotFound.Message, ""},
		{"wrong method", echo.ErrMethodNotAllowed, 405, "not_found", "Method not allowed.", ""},
		{"anything else is internal and says nothing more", errors.New("dial tcp 10.0.0.3:6379: secret detail"), 500, "internal", "Internal error.", ""},
		{"unavailable says when to retry", fmt.Errorf("redis: %w", filing.ErrUnavailable), 503, "unavailable", filing.ErrUnavailable.Message, "1"},
		{"rate limited carries its wait", filing.ErrRateLimited.WithDetails(map[string]any{filing.DetailRetryAfter: 42}), 429, "rate_limited", filing.ErrRateLimited.Message, "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			rec := httptest.NewRecorder()
			c := e.NewContext(httptest.NewRequest(http.MethodGet, "/x", nil), rec)
			ErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))(tt.err, c)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			var b ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After %q, want %q", got, tt.wantRetry)
			}
			if b.Error.Code != tt.wantCode || b.Error.Message != tt.wantMsg || b.Error.MessageZh == "" || b.Error.Details == nil {
				t.Fatalf("envelope %+v", b.Error)
			}
		})
	}
}

// TestCodesKnown: every code of the status table is one the metrics know (filing.KnownCode),
// so that a new code is counted as itself, not as "other".
func TestCodesKnown(t *testing.T) {
	for code := range statuses {
		if !filing.KnownCode(code) {
			t.Errorf("%s is in the status table but not in filing's codes", code)
		}
	}
}
