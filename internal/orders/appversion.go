// Whether a phone app's version may pair: the app must be the configured minimum or later,
// compared as semantic versions.

package orders

import (
	"strings"

	"golang.org/x/mod/semver"

	"github.com/beianscan/beianscan/internal/filing"
)

// maxLen bounds what is parsed; no real version string is longer.
const maxLen = 64

// CheckAppVersion returns nil when v is min or later. A missing or malformed v is
// missing_app_version; an older one (a pre-release of min included) is
// app_version_too_old with details.min_version.
func CheckAppVersion(v, min string) error {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxLen {
		return filing.ErrMissingAppVersion
	}
	sv := "v" + strings.TrimPrefix(v, "v")
	if !semver.IsValid(sv) || semver.Canonical(sv) != sv && semver.Canonical(sv)+semver.Build(sv) != sv {
		return filing.ErrMissingAppVersion
	}
	if semver.Compare(sv, "v"+min) < 0 {
		return filing.ErrAppVersionTooOld.WithMessage(
			"This app version is too old; update the app to "+min+" or later.",
			"app 版本过低，请升级到 "+min+" 及以上版本后重新扫描。").
			WithDetails(map[string]any{"min_version": min})
	}
	return nil
}
