// Package static is the pages (Chinese UI): the desktop page at / and the reviewers'
// workbench at /review, embedded in the binary so the service needs no build step or files
// beside it. Both are ES modules under web/, sharing the modules that talk to the API.
package static

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed web
var files embed.FS

// Register serves the desktop page at /, the workbench at /review and their assets under
// /assets/.
func Register(e *echo.Echo) {
	web, _ := fs.Sub(files, "web")
	assets := http.FileServer(http.FS(web))
	page := func(name string) echo.HandlerFunc {
		b, _ := fs.ReadFile(web, name)
		return func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "no-cache")
			return c.HTMLBlob(http.StatusOK, b)
		}
	}
	e.GET("/", page("index.html"))
	e.GET("/review", page("review.html"))
	// The assets are embedded without modification times, so browsers get no validators:
	// no-cache makes them ask again rather than keep a page from an older build.
	e.GET("/assets/*", echo.WrapHandler(http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		assets.ServeHTTP(w, r)
	}))))
}

// Index is the pages' HTML (the desktop page's and the workbench's), for the one
// Content-Security-Policy they share: inline <style> elements are allowed by their hashes
// (see internal/httpx/csp.go), so the policy is computed from both sources.
func Index() string {
	a, _ := files.ReadFile("web/index.html")
	b, _ := files.ReadFile("web/review.html")
	return string(a) + "\n" + string(b)
}
