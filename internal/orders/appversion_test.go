package orders

import (
	"errors"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, v string
		want    *filing.Error
	}{
		{"minimum", "3.16.0", nil},
		{"patch above", "3.16.1", nil},
		{"major above", "4.0.0", nil},
		{"minor above with two digits", "3.20.0", nil},
		{"leading v", "v3.16.0", nil},
		{"build metadata", "3.16.0+build.7", nil},
		{"surrounding space", " 3.16.0 ", nil},
		{"old major", "2.99.99", filing.ErrAppVersionTooOld},
		{"minor compared as a number, not text", "3.9.0", filing.ErrAppVersionTooOld},
		{"one patch below", "3.15.9", filing.ErrAppVersionTooOld},
		{"pre-release of the minimum", "3.16.0-beta.1", filing.ErrAppVersionTooOld},
		{"missing", "", filing.ErrMissingAppVersion},
		{"garbage", "latest", filing.ErrMissingAppVersion},
		{"two parts", "3.16", filing.ErrMissingAppVersion},
		{"four parts", "3.16.0.1", filing.ErrMissingAppVersion},
		{"leading zero", "3.016.0", filing.ErrMissingAppVersion},
		{"absurdly long", "3.16.0-" + strings.Repeat("a", 10000), filing.ErrMissingAppVersion},
		{"negative", "-3.16.0", filing.ErrMissingAppVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAppVersion(tt.v, "3.16.0")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckAppVersion(%q) = %v, want nil", tt.v, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckAppVersion(%q) = %v, want %s", tt.v, err, tt.want.Code)
			}
			if tt.want == filing.ErrAppVersionTooOld {
				var fe *filing.Error
				errors.As(err, &fe)
				if fe.Details["min_version"] != "3.16.0" {
					t.Fatalf("details %v, want min_version 3.16.0", fe.Details)
				}
			}
		})
	}
}
