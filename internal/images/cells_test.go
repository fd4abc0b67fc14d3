package images

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/faces/facestest"
	"github.com/beianscan/beianscan/internal/filing"
)

// TestJPEGCellsSameWarnings: a JPEG reduced from its coefficients gets the warnings that
// decoding it whole and reducing it gives, and nearly the same working image, over photos,
// documents, faces and ID cards at sizes whose cells are 3 and 5 pixels (a 5 MP and a
// 12 MP phone photo), under every check that reads the working image.
//
// It has no goroutines, and the race detector made it take two minutes: under -race it
// skips, and .ci/run runs it once more without the detector.
func TestJPEGCellsSameWarnings(t *testing.T) {
	if raceEnabled {
		t.Skip("no goroutines to check and minutes under -race: .ci/run runs it without the race detector")
	}
	face := facestest.Sample(t)
	type sample struct {
		name string
		img  image.Image
	}
	var samples []sample
	for _, sz := range [][2]int{{2592, 1944}, {4032, 3024}} {
		w, h := sz[0], sz[1]
		m := canvas(w, h, white)
		paste(m, scaled(face, float64(w)/900), w/2, h/2)
		photo := genPhoto(w, h, 7, 20)
		if w < 3000 { // blurring 12 MP here takes seconds
			samples = append(samples, sample{fmt.Sprintf("blurred photo %dx%d", w, h), blur(photo, 3)})
		}
		samples = append(samples,
			sample{fmt.Sprintf("photo %dx%d", w, h), photo},
			sample{fmt.Sprintf("dark photo %dx%d", w, h), mapPixels(photo, func(r, g, b uint8) (uint8, uint8, uint8) { return r / 5, g / 5, b / 5 })},
			sample{fmt.Sprintf("gray document %dx%d", w, h), mapPixels(genDocument(w*3/4, w, true), toGray)},
			sample{fmt.Sprintf("face photo %dx%d", w, h), m},
			sample{fmt.Sprintf("face on blue %dx%d", w, h), onBackground(m, color.RGBA{60, 110, 200, 255})},
			sample{fmt.Sprintf("ID front %dx%d", w, h), idCard(face, w, h, 0.8, true, false)},
			sample{fmt.Sprintf("ID back %dx%d", w, h), idCard(face, w, h, 0.8, false, true)},
		)
	}
	checks := []Options{{}, {Face: true}, {Faces: filing.FaceCheckPortraitSide}, {Faces: filing.FaceCheckEmblemSide}}
	for _, s := range samples {
		grays := []bool{false}
		if strings.HasPrefix(s.name, "photo") {
			grays = append(grays, true)
		}
		for _, gray := range grays {
			var data []byte
			if gray {
				g := image.NewGray(s.img.Bounds())
				for y := g.Rect.Min.Y; y < g.Rect.Max.Y; y++ {
					for x := g.Rect.Min.X; x < g.Rect.Max.X; x++ {
						g.Set(x, y, s.img.At(x, y))
					}
				}
				data = encJPEG(t, g, 90)
			} else {
				data = encJPEG(t, s.img, 90)
			}
			b := s.img.Bounds()
			f := cellSize(b.Dx(), b.Dy())
			if f < minJPEGCells {
				t.Fatalf("%s: cells of %d, below minJPEGCells", s.name, f)
			}
			got, err := jpegWorking(data, f, b.Dx(), b.Dy())
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			img, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			want := reduce(img)
			if got.w != want.w || got.h != want.h {
				t.Fatalf("%s: %dx%d cells, want %dx%d", s.name, got.w, got.h, want.w, want.h)
			}
			maxLuma, sum := 0.0, 0.0
			for i := range got.luma {
				d := math.Abs(float64(got.luma[i]) - float64(want.luma[i]))
				maxLuma = max(maxLuma, d)
				sum += d + math.Abs(float64(got.chroma[i])-float64(want.chroma[i]))
			}
			if mean := sum / float64(2*len(got.luma)); mean > 0.5 || maxLuma > 12 {
				t.Errorf("%s gray=%v: working image differs by %.0f luma at most, %.2f on average", s.name, gray, maxLuma, mean)
			}
			for _, opts := range checks {
				g, w := analyze(got, opts, 1), analyze(want, opts, 1)
				if !slices.Equal(g, w) {
					t.Errorf("%s gray=%v %+v: warnings %v from the coefficients, %v from the pixels", s.name, gray, opts, g, w)
				}
			}
		}
	}
}
