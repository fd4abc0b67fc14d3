package webapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
)

// catalogAnswer is the catalogue encoded once: it changes only with the configuration, so
// every answer is the same bytes and its hash is a strong ETag.
type catalogAnswer struct {
	body []byte
	etag string
}

func newCatalogAnswer(c filing.Catalog) catalogAnswer {
	body, err := json.Marshal(c)
	if err != nil {
		// The catalogue is plain strings, numbers and slices: it always encodes.
		panic("webapi: encoding the catalogue: " + err.Error())
	}
	sum := sha256.Sum256(body)
	return catalogAnswer{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// serveCatalog answers GET /api/v1/catalog. A client that holds the current copy sends its
// ETag in If-None-Match and gets 304 without the body; no-cache makes it ask each time it
// uses the copy, so a changed configuration reaches it at once.
func (a *API) serveCatalog(c echo.Context) error {
	h := c.Response().Header()
	h.Set("ETag", a.catalog.etag)
	h.Set("Cache-Control", "public, no-cache")
	if etagMatches(c.Request().Header.Get("If-None-Match"), a.catalog.etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, a.catalog.body)
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 §13.1.2): a list of tags,
// or "*".
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
