package faces

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/color"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/beianscan/beianscan/internal/faces/facestest"
)

// TestCascadeIsPigos checks that the embedded cascade is pigo v1.4.6's, byte for byte.
func TestCascadeIsPigos(t *testing.T) {
	if len(cascade) != 239632 {
		t.Fatalf("embedded cascade is %d bytes, want 239632", len(cascade))
	}
	want, err := os.ReadFile(filepath.Join(facestest.PigoDir(t), "cascade", "facefinder"))
	if err != nil {
		t.Skipf("pigo's cascade: %v", err)
	}
	if !bytes.Equal(cascade, want) {
		t.Fatalf("embedded cascade %x differs from pigo's %x", sha256.Sum256(cascade), sha256.Sum256(want))
	}
	if _, err := load(); err != nil {
		t.Fatal(err)
	}
}

// gray converts img to one luma byte a pixel, scaled by k (nearest pixel), as Detect takes it.
func gray(img image.Image, k float64) ([]uint8, int, int) {
	b := img.Bounds()
	w, h := int(float64(b.Dx())*k), int(float64(b.Dy())*k)
	out := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.GrayModel.Convert(img.At(b.Min.X+int(float64(x)/k), b.Min.Y+int(float64(y)/k))).(color.Gray)
			out[y*w+x] = c.Y
		}
	}
	return out, w, h
}

// TestDetectRealPhotos runs the detector on every real photograph found on this machine
// (facestest.All), each scaled so that its long side is about 640 px as internal/images
// hands it over, and reports how many of its faces were found, and how many photos of a
// person would get a false no_face.
func TestDetectRealPhotos(t *testing.T) {
	photos := facestest.All(t)
	var want, found, withFace, missed, falseFaces int
	for _, p := range photos {
		b := p.Image.Bounds()
		k := 640 / float64(max(b.Dx(), b.Dy()))
		g, w, h := gray(p.Image, k)
		got := Detect(g, w, h)
		t.Logf("%-58s %3d×%-3d ×%.2f: %d of %d faces %v", p.Name, b.Dx(), b.Dy(), k, len(got), p.Faces, got)
		want += p.Faces
		found += min(len(got), p.Faces)
		falseFaces += max(0, len(got)-p.Faces)
		if p.Faces > 0 {
			withFace++
			if len(got) == 0 {
				missed++
			}
		}
		if p.Name == "pigo/testdata/sample.jpg" && len(got) != 1 {
			t.Errorf("pigo's own sample: %d faces, want 1", len(got))
		}
	}
	t.Logf("faces found %d of %d (%.0f %%); false no_face on %d of %d photos of people; %d detections beyond the faces there",
		found, want, 100*float64(found)/float64(max(want, 1)), missed, withFace, falseFaces)
	if falseFaces > 0 {
		t.Errorf("%d detections where no face is", falseFaces)
	}
}

// TestDetectNoFace: images without any face find none.
func TestDetectNoFace(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const w, h = 640, 480
	for _, tc := range []struct {
		name string
		px   func(x, y int) uint8
	}{
		{"white", func(x, y int) uint8 { return 250 }},
		{"gradient", func(x, y int) uint8 { return uint8((x + y) * 255 / (w + h)) }},
		{"noise", func(x, y int) uint8 { return uint8(rng.Intn(256)) }},
		{"checkerboard", func(x, y int) uint8 { return uint8(255 * ((x/16 + y/16) % 2)) }},
		{"text lines", func(x, y int) uint8 {
			if y%24 < 10 && x%12 < 8 && (x/60+y/24)%5 != 0 {
				return 30
			}
			return 240
		}},
	} {
		g := make([]uint8, w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g[y*w+x] = tc.px(x, y)
			}
		}
		if got := Detect(g, w, h); len(got) != 0 {
			t.Errorf("%s: %v, want no face", tc.name, got)
		}
	}
	if got := Detect(make([]uint8, 10*10), 10, 10); got != nil {
		t.Errorf("10×10: %v", got)
	}
}
