// Package faces finds faces in a small grayscale image with pigo (github.com/esimov/pigo,
// pure Go, MIT), for the machine pre-review of the face photo and of ID sides
// (api/openapi.json, MATERIAL warnings). Its cascade file is data, embedded from cascade/ with pigo's licence.
//
// Detection runs on a reduced copy (the caller's: internal/images hands it the working image
// scaled to a long side of about 640 px), so its cost does not grow with the upload's size.
// Overlapping detections of one face are merged and count once. The cascade is evaluated by
// run (run.go), which gives exactly pigo's RunCascade detections at less cost a window;
// pigo's clustering merges them.
package faces

import (
	_ "embed"
	"math"
	"sort"
	"sync"

	pigo "github.com/esimov/pigo/core"
)

//go:embed cascade/facefinder
var cascade []byte

// Face is one detected face, in the pixels of the image searched: the centre of its square
// box and the box's side. The cascade's box spans about brow to chin.
type Face struct {
	X, Y, Size int
	// Score is the merged detections' summed confidence (pigo's Q of the cluster).
	Score float32
}

// Tuning of the search, fixed: they were chosen on the tests' real faces and face-free
// images (faces_test.go) and are not configuration.
const (
	// MinFace is the smallest face side searched, in pixels of the searched image: 28 px
	// at a long side of 640 is a face of 4 % of it, far under the face photo's threshold
	// (0.16 of the short side: 77 px at 640×480) and under an ID card's portrait in a
	// photo of the card (about a sixth of the card's width). Smaller costs more: the
	// windows of the smallest sizes are the most numerous (20 px took 4× the time).
	MinFace = 28
	// shift and scale are the window's step as a share of its size and the growth of the
	// size between passes (pigo's command uses 0.15 and 1.15; 0.1 and 1.1 found two more
	// faces of 55 in the real photos of the tests at three to five times the cost).
	shift = 0.15
	scale = 1.15
	// minScore is the least merged confidence that counts as a face; pigo's command uses
	// 5. No image without a face in the tests reaches it.
	minScore = 5
	// mergeIoU: detections overlapping by more than this (intersection over union) are one
	// face. Pigo's command uses 0.15–0.2.
	mergeIoU = 0.2
)

var (
	once       sync.Once
	classifier *trees
	unpackErr  error
)

func load() (*trees, error) {
	once.Do(func() { classifier, unpackErr = parseTrees(cascade) })
	return classifier, unpackErr
}

// Detect returns the faces of a grayscale image of w×h pixels (row-major, one byte a
// pixel), largest first. An image too small to hold MinFace finds none. It is safe for
// concurrent use; the cascade is unpacked on first use.
func Detect(gray []uint8, w, h int) []Face {
	if w < MinFace || h < MinFace || len(gray) < w*h {
		return nil
	}
	c, err := load()
	if err != nil {
		// The embedded cascade is checked by the tests; a failure here is a build bug.
		panic("faces: embedded cascade: " + err.Error())
	}
	dets := pigo.NewPigo().ClusterDetections(c.run(paramsFor(gray, w, h)), mergeIoU)
	var out []Face
	for _, d := range dets {
		if d.Q >= minScore {
			out = append(out, Face{X: d.Col, Y: d.Row, Size: d.Scale, Score: d.Q})
		}
	}
	out = dedupe(out)
	sort.Slice(out, func(i, j int) bool { return out[i].Size > out[j].Size })
	return out
}

func paramsFor(gray []uint8, w, h int) pigo.CascadeParams {
	return pigo.CascadeParams{
		MinSize: MinFace, MaxSize: min(w, h), ShiftFactor: shift, ScaleFactor: scale,
		ImageParams: pigo.ImageParams{Pixels: gray, Rows: h, Cols: w, Dim: w},
	}
}

// dedupe merges what pigo's clustering leaves as two faces but is one: a box mostly inside
// another (clustering by IoU keeps a small box within a large one apart). The stronger one
// stays.
func dedupe(fs []Face) []Face {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Score > fs[j].Score })
	var out []Face
	for _, f := range fs {
		dup := false
		for _, g := range out {
			if overlapOfSmaller(f, g) > 0.5 {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// overlapOfSmaller is the share of the smaller box that lies inside the other.
func overlapOfSmaller(a, b Face) float64 {
	ix := span(a.X, a.Size, b.X, b.Size)
	iy := span(a.Y, a.Size, b.Y, b.Size)
	s := float64(min(a.Size, b.Size))
	return ix * iy / (s * s)
}

func span(c1, s1, c2, s2 int) float64 {
	lo := math.Max(float64(c1)-float64(s1)/2, float64(c2)-float64(s2)/2)
	hi := math.Min(float64(c1)+float64(s1)/2, float64(c2)+float64(s2)/2)
	return math.Max(0, hi-lo)
}
