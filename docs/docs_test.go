// Package docs holds the repository's documentation; its test keeps the repository
// standing alone: nothing points outside it, and the documents' links resolve.
package docs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tracked lists the repository's files (git ls-files from the root), or, without git, every
// file below the root but the hidden folders and testoutput.
func tracked(t *testing.T) []string {
	t.Helper()
	if out, err := exec.Command("git", "-C", "..", "ls-files", "-z").Output(); err == nil {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
		return files
	}
	var files []string
	err := filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", p)
		if d.IsDir() && rel != "." && (strings.HasPrefix(d.Name(), ".") || rel == "testoutput") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestSelfContained: no file of the repository (CI's own scripts aside) sends a reader to
// the design document or the folder beside the repository, which a clone has neither of.
// The repository's own documents are docs/ and api/openapi.json.
func TestSelfContained(t *testing.T) {
	outside := [][]byte{[]byte(".." + "/shared"), []byte("DESIGN" + " §")}
	for _, f := range tracked(t) {
		if strings.HasPrefix(f, ".ci/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			continue // listed by git but gone from the work tree
		}
		for _, s := range outside {
			if i := bytes.Index(b, s); i >= 0 {
				line := bytes.Count(b[:i], []byte("\n")) + 1
				t.Errorf("%s:%d mentions %q: cite docs/… or api/openapi.json instead", f, line, s)
			}
		}
	}
}

// TestLinksResolve: every relative link of the README and of docs/ names a file of the
// repository.
func TestLinksResolve(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	docs, _ := filepath.Glob("*.md")
	for _, doc := range append(docs, "../README.md") {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllSubmatch(b, -1) {
			target := string(m[1])
			if strings.Contains(target, "://") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(doc), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", doc, target)
			}
		}
	}
}
