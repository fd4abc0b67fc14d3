package faces

import (
	"math/rand"
	"reflect"
	"testing"

	pigo "github.com/esimov/pigo/core"

	"github.com/beianscan/beianscan/internal/faces/facestest"
)

// TestRunIsPigos: run gives exactly pigo's RunCascade detections (place, size, score, order)
// on every real photo (at the size Detect is handed, and smaller and larger), on the
// noise, at the search's parameters and, on some, at pigo's finer ones.
func TestRunIsPigos(t *testing.T) {
	ours, err := load()
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := pigo.NewPigo().Unpack(cascade)
	if err != nil {
		t.Fatal(err)
	}
	type img struct {
		name string
		g    []uint8
		w, h int
	}
	var imgs []img
	for _, p := range facestest.All(t) {
		b := p.Image.Bounds()
		for _, long := range []float64{320, 640} {
			g, w, h := gray(p.Image, long/float64(max(b.Dx(), b.Dy())))
			imgs = append(imgs, img{p.Name, g, w, h})
		}
	}
	rng := rand.New(rand.NewSource(2))
	for _, sz := range [][2]int{{640, 480}, {333, 517}, {29, 29}} {
		g := make([]uint8, sz[0]*sz[1])
		for i := range g {
			g[i] = uint8(rng.Intn(256))
		}
		imgs = append(imgs, img{"noise", g, sz[0], sz[1]})
	}
	detections := 0
	for k, im := range imgs {
		for _, steps := range [][2]float64{{shift, scale}, {0.1, 1.1}} {
			if steps[0] != shift && k%8 != 0 {
				continue // pigo's finer steps cost several times more: on some only
			}
			cp := paramsFor(im.g, im.w, im.h)
			cp.ShiftFactor, cp.ScaleFactor = steps[0], steps[1]
			want := theirs.RunCascade(cp, 0)
			got := ours.run(cp)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %d×%d steps %v: %d detections, pigo %d; first differing of\n%v\n%v",
					im.name, im.w, im.h, steps, len(got), len(want), got, want)
			}
			detections += len(want)
		}
	}
	if detections == 0 {
		t.Fatal("no detection at all: nothing compared")
	}
	t.Logf("%d images, %d detections, the same", len(imgs), detections)
}

func TestParseTreesRefuses(t *testing.T) {
	for _, n := range []int{0, 15, 16, 1000, len(cascade) - 1} {
		if _, err := parseTrees(cascade[:n]); err == nil {
			t.Errorf("%d bytes of the cascade: no error", n)
		}
	}
}
