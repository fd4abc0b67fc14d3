// Package static is the desktop page (Chinese UI), embedded in the binary so the service
// needs no build step or files beside it.
package static

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed web
var files embed.FS

// Register serves the page at / and its assets under /assets/.
func Register(e *echo.Echo) {
	web, _ := fs.Sub(files, "web")
	assets := http.FileServer(http.FS(web))
	index, _ := fs.ReadFile(web, "index.html")
	e.GET("/", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.HTMLBlob(http.StatusOK, index)
	})
	// The assets are embedded without modification times, so browsers get no validators:
	// no-cache makes them ask again rather than keep a page from an older build.
	e.GET("/assets/*", echo.WrapHandler(http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		assets.ServeHTTP(w, r)
	}))))
}

// Index is the desktop page's HTML, for its Content-Security-Policy (inline <style>
// elements are allowed by their hashes; see internal/httpx/csp.go).
func Index() string {
	b, _ := files.ReadFile("web/index.html")
	return string(b)
}
