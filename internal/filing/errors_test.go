package filing_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"unicode"

	"github.com/beianscan/beianscan/internal/filing"
)

// sentinels lists every coded error with the code it must carry.
var sentinels = []struct {
	err  *filing.Error
	code string
}{
	{filing.ErrInvalidRequest, filing.CodeInvalidRequest},
	{filing.ErrInvalidProvince, filing.CodeInvalidProvince},
	{filing.ErrInvalidIDType, filing.CodeInvalidIDType},
	{filing.ErrInvalidIDNumber, filing.CodeInvalidIDNumber},
	{filing.ErrIDExpired, filing.CodeIDExpired},
	{filing.ErrUnauthorized, filing.CodeUnauthorized},
	{filing.ErrTokenRevoked, filing.CodeTokenRevoked},
	{filing.ErrOrderNotFound, filing.CodeOrderNotFound},
	{filing.ErrProvinceNotSupported, filing.CodeProvinceNotSupported},
	{filing.ErrInvalidState, filing.CodeInvalidState},
	{filing.ErrUploadMethodNotApp, filing.CodeUploadMethodNotApp},
	{filing.ErrPairingNotFound, filing.CodePairingNotFound},
	{filing.ErrPairingExpired, filing.CodePairingExpired},
	{filing.ErrPairingAlreadyClaimed, filing.CodePairingAlreadyClaimed},
	{filing.ErrMaterialNotFound, filing.CodeMaterialNotFound},
	{filing.ErrMaterialsIncomplete, filing.CodeMaterialsIncomplete},
	{filing.ErrOriginNotAllowed, filing.CodeOriginNotAllowed},
	{filing.ErrMissingAppVersion, filing.CodeMissingAppVersion},
	{filing.ErrAppVersionTooOld, filing.CodeAppVersionTooOld},
	{filing.ErrRateLimited, filing.CodeRateLimited},
	{filing.ErrTooLarge, filing.CodeTooLarge},
	{filing.ErrUnsupportedFormat, filing.CodeUnsupportedFormat},
	{filing.ErrCorruptImage, filing.CodeCorruptImage},
	{filing.ErrImageTooSmall, filing.CodeImageTooSmall},
	{filing.ErrImageTooLargeDimensions, filing.CodeImageTooLargeDimensions},
	{filing.ErrAnimatedGIF, filing.CodeAnimatedGIF},
	{filing.ErrUnknownSlot, filing.CodeUnknownSlot},
	{filing.ErrSlotNotAllowedInApp, filing.CodeSlotNotAllowedInApp},
	{filing.ErrNotFound, filing.CodeNotFound},
	{filing.ErrUnavailable, filing.CodeUnavailable},
	{filing.ErrRequestTimeout, filing.CodeRequestTimeout},
	{filing.ErrChangesIncomplete, filing.CodeChangesIncomplete},
	{filing.ErrSlotLocked, filing.CodeSlotLocked},
	{filing.ErrFieldLocked, filing.CodeFieldLocked},
	{filing.ErrInvalidICPNumber, filing.CodeInvalidICPNumber},
	{filing.ErrHeldByOther, filing.CodeHeldByOther},
	{filing.ErrNotHeld, filing.CodeNotHeld},
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func TestSentinels(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range sentinels {
		t.Run(s.code, func(t *testing.T) {
			if s.err.Code != s.code {
				t.Errorf("Code = %q, want %q", s.err.Code, s.code)
			}
			if seen[s.err.Code] {
				t.Errorf("code %q used by two sentinels", s.err.Code)
			}
			seen[s.err.Code] = true
			if s.err.Message == "" {
				t.Error("empty Message")
			}
			if !hasHan(s.err.MessageZh) {
				t.Errorf("MessageZh %q has no Chinese character", s.err.MessageZh)
			}
			if s.err.Details != nil {
				t.Errorf("sentinel has details %v", s.err.Details)
			}
			if got, want := s.err.Error(), s.code+": "+s.err.Message; got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
			if got := filing.ErrorCode(s.err); got != s.code {
				t.Errorf("ErrorCode = %q, want %q", got, s.code)
			}
		})
	}
}

// TestErrorMatching: a coded error is recognised through copies, wrapping and joining,
// both by errors.Is against a sentinel (which compares codes) and by ErrorCode; anything
// else is not a coded error and its code is internal.
func TestErrorMatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		target error
		is     bool   // errors.Is(err, target)
		code   string // ErrorCode(err)
	}{
		{"sentinel itself", filing.ErrInvalidState, filing.ErrInvalidState, true, filing.CodeInvalidState},
		{"another sentinel", filing.ErrAnimatedGIF, filing.ErrAnimatedGIF, true, filing.CodeAnimatedGIF},
		{"with details", filing.ErrInvalidState.WithDetails(map[string]any{"state": "submitted"}), filing.ErrInvalidState, true, filing.CodeInvalidState},
		{"with a list in its details", filing.ErrMaterialsIncomplete.WithDetails(map[string]any{"missing": []filing.Slot{form}}), filing.ErrMaterialsIncomplete, true, filing.CodeMaterialsIncomplete},
		{"with message", filing.ErrUnknownSlot.WithMessage("en", "中文"), filing.ErrUnknownSlot, true, filing.CodeUnknownSlot},
		{"wrapped", fmt.Errorf("store: %w", filing.ErrOrderNotFound.WithDetails(nil)), filing.ErrOrderNotFound, true, filing.CodeOrderNotFound},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", filing.ErrTokenRevoked)), filing.ErrTokenRevoked, true, filing.CodeTokenRevoked},
		{"joined", errors.Join(io.EOF, filing.ErrTooLarge), filing.ErrTooLarge, true, filing.CodeTooLarge},
		{"same code, new value", &filing.Error{Code: filing.CodeTooLarge}, filing.ErrTooLarge, true, filing.CodeTooLarge},
		{"other code", filing.ErrInvalidState.WithDetails(map[string]any{"state": "draft"}), filing.ErrInvalidRequest, false, filing.CodeInvalidState},
		{"other code, wrapped", fmt.Errorf("x: %w", filing.ErrPairingExpired), filing.ErrPairingNotFound, false, filing.CodePairingExpired},
		{"not a coded error", io.EOF, filing.ErrInvalidRequest, false, filing.CodeInternal},
		{"plain error", errors.New("redis: connection refused"), filing.ErrUnavailable, false, filing.CodeInternal},
		{"coded error against a plain one", filing.ErrNotFound, io.EOF, false, filing.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.is {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.is)
			}
			if got := filing.ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.code)
			}
		})
	}
}

// TestErrorCopiesLeaveSentinelsAlone: WithDetails and WithMessage return copies; a
// sentinel shared by every request must never change.
func TestErrorCopiesLeaveSentinelsAlone(t *testing.T) {
	t.Parallel()
	s := filing.ErrInvalidRequest
	orig := *s

	d := s.WithDetails(map[string]any{"field": "domains"})
	if d == s || d.Details["field"] != "domains" || d.Message != orig.Message || d.MessageZh != orig.MessageZh {
		t.Errorf("WithDetails = %+v", *d)
	}
	m := d.WithMessage("en", "中文")
	if m.Message != "en" || m.MessageZh != "中文" || m.Details["field"] != "domains" || m.Code != orig.Code {
		t.Errorf("WithMessage = %+v", *m)
	}
	if s.Message != orig.Message || s.MessageZh != orig.MessageZh || s.Code != orig.Code || s.Details != nil {
		t.Errorf("sentinel changed: %+v", *s)
	}
	if d.Message != orig.Message {
		t.Errorf("WithMessage changed its receiver: %+v", *d)
	}
}
