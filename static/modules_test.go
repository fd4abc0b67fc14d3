package static_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/static"
)

// The page's scripts are ES modules loaded as they are (no build step). These tests need no
// browser: every import names a file that is served, as JavaScript, and no script writes
// again a table the catalogue (GET /api/v1/catalog) serves.

var importFrom = regexp.MustCompile(`(?m)^import .* from '([^']+)';$`)

func scripts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(os.DirFS("web"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := os.ReadFile(path.Join("web", p))
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestModulesResolveAndServeAsJavaScript(t *testing.T) {
	e := echo.New()
	static.Register(e)
	files := scripts(t)
	if len(files) < 10 {
		t.Fatalf("only %d scripts: %v", len(files), files)
	}
	for p, src := range files {
		for _, m := range importFrom.FindAllStringSubmatch(src, -1) {
			if !strings.HasPrefix(m[1], "./") && !strings.HasPrefix(m[1], "../") {
				t.Errorf("%s imports %q: only relative paths load without a build step", p, m[1])
				continue
			}
			if _, ok := files[path.Join(path.Dir(p), m[1])]; !ok {
				t.Errorf("%s imports %q, which is not in static/web", p, m[1])
			}
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/assets/"+p, nil))
		// A module script is refused by the browser unless served as JavaScript.
		if ct := rec.Header().Get("Content-Type"); rec.Code != http.StatusOK || !strings.HasPrefix(ct, "text/javascript") {
			t.Errorf("GET /assets/%s: %d %q, want 200 text/javascript", p, rec.Code, ct)
		}
	}
}

func TestScriptsWriteNoCatalogueTable(t *testing.T) {
	var tables []string
	for _, p := range filing.Provinces {
		tables = append(tables, "'"+p.Code+"'")
	}
	for _, it := range filing.IDTypes() {
		tables = append(tables, it.LabelZh())
	}
	for _, w := range filing.Warnings() {
		tables = append(tables, w.MessageZh)
	}
	for _, s := range filing.AllSlots() {
		tables = append(tables, s.GuidanceZh())
	}
	// The certificate and state names as table entries; the same words may still stand in a
	// sentence (初审通过 is also a decision's name).
	for _, ct := range filing.OrgCertificateTypes() {
		if ct != filing.OtherCertificate {
			tables = append(tables, "'"+ct.LabelZh()+"'")
		}
	}
	for _, st := range filing.States() {
		tables = append(tables, string(st)+": '"+st.LabelZh()+"'")
	}
	tables = append(tables, "1024 * 1024;", "<< 20", "_PAGES = ")
	for p, src := range scripts(t) {
		for _, x := range tables {
			if strings.Contains(src, x) {
				t.Errorf("%s writes %q again: read it from the catalogue (lib/catalog.js)", p, x)
			}
		}
	}
}

// TestOwnerPagePromisesNothingUnconfigured: the owner's page says only what the provider's
// FAQ and its configuration say. No phone call by a reviewer (the FAQ promises none), and no
// fixed duration — working days, hours, days — other than the authority's 24 hours for the
// text message, which the contract fixes: a token's life or a review's length is
// configuration, and the page would be wrong wherever it is configured otherwise.
func TestOwnerPagePromisesNothingUnconfigured(t *testing.T) {
	duration := regexp.MustCompile(`[0-9０-９一二三四五六七八九十两]+\s*(?:个)?(?:工作日|小时|天|周)`)
	files := map[string]string{}
	for p, src := range scripts(t) {
		if p == "app.js" || strings.HasPrefix(p, "desktop/") || strings.HasPrefix(p, "lib/") {
			files[p] = src
		}
	}
	html, err := os.ReadFile("web/index.html")
	if err != nil {
		t.Fatal(err)
	}
	files["index.html"] = string(html)
	for p, src := range files {
		for _, bad := range []string{"电话", "工作日"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s says %q", p, bad)
			}
		}
		for _, m := range duration.FindAllString(src, -1) {
			if m != "24 小时" {
				t.Errorf("%s promises a fixed duration: %q", p, m)
			}
		}
	}
}
