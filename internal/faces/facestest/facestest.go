// Package facestest finds the real photographs of people that the face tests use: none is
// kept in this repository (they are other projects' files), so they are read where Go put
// them on this machine, and a test without them skips, saying so.
package facestest

import (
	"image"
	"image/draw"
	_ "image/gif" // the standard library's test frames
	_ "image/jpeg"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Photo is one real photograph and how many people's faces it shows, as a person counts
// them (looked at when this list was made).
type Photo struct {
	Name  string
	Faces int
	Image image.Image
}

// pigoDir is the module cache's copy of pigo, or "".
func pigoDir() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/esimov/pigo").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// PigoDir is the module cache's copy of pigo; the test skips without it.
func PigoDir(tb testing.TB) string {
	tb.Helper()
	d := pigoDir()
	if d == "" {
		tb.Skip("pigo is not in the module cache (go mod download github.com/esimov/pigo): no real face photo to test with")
	}
	return d
}

// Sample is pigo's testdata/sample.jpg: one man's face, frontal, on a near-white
// background, 320×400, as an RGBA image.
func Sample(tb testing.TB) *image.RGBA {
	tb.Helper()
	img, err := load(filepath.Join(PigoDir(tb), "testdata", "sample.jpg"))
	if err != nil {
		tb.Skipf("pigo's sample photo: %v", err)
	}
	return img
}

// All returns every real photograph of people found on this machine, with its face count,
// and the photos without a person's face found beside them (Faces 0): pigo's sample; the
// standard library's image test frames (video-001: two men on a stage, 150×103, in every
// encoding the decoders are tested with; video-005: a toy gopher held by hands). It skips
// when none is there.
func All(tb testing.TB) []Photo {
	tb.Helper()
	var out []Photo
	if d := pigoDir(); d != "" {
		if img, err := load(filepath.Join(d, "testdata", "sample.jpg")); err == nil {
			out = append(out, Photo{"pigo/testdata/sample.jpg", 1, img})
		}
	}
	goroot, _ := exec.Command("go", "env", "GOROOT").Output()
	dir := filepath.Join(strings.TrimSpace(string(goroot)), "src", "image", "testdata")
	names, _ := filepath.Glob(filepath.Join(dir, "video-00[15]*"))
	for _, n := range names {
		base := filepath.Base(n)
		if strings.Contains(base, "truncated") {
			continue // a broken file by design
		}
		img, err := load(n)
		if err != nil {
			continue // an encoding the standard decoders refuse on purpose
		}
		faces := 2
		if strings.HasPrefix(base, "video-005") {
			faces = 0
		}
		out = append(out, Photo{"GOROOT/src/image/testdata/" + base, faces, img})
	}
	if len(out) == 0 {
		tb.Skip("no real photo of a person on this machine (pigo's testdata, GOROOT/src/image/testdata)")
	}
	return out
}

func load(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, err
	}
	rgba := image.NewRGBA(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
	return rgba, nil
}
