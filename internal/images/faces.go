package images

import (
	"math"

	"github.com/beianscan/beianscan/internal/faces"
	"github.com/beianscan/beianscan/internal/filing"
)

// Face warnings (api/openapi.json, MATERIAL warnings; the README, "Faces"), in the order Result.Warnings lists
// them, after the quality warnings.
const (
	WarnNoFace          = filing.WarningNoFace
	WarnMultipleFaces   = filing.WarningMultipleFaces
	WarnFaceTooSmall    = filing.WarningFaceTooSmall
	WarnFaceNotCentered = filing.WarningFaceNotCentered
	WarnWrongSide       = filing.WarningWrongSide
)

// Defaults of the face thresholds (BEIANSCAN_FACE_MIN_SHARE, BEIANSCAN_FACE_CENTER_TOLERANCE).
const (
	DefaultFaceMinShare        = 0.16
	DefaultFaceCenterTolerance = 0.25
)

// Fixed parts of the face rules.
const (
	// faceLongSide is the long side of the copy the detector searches: its cost grows with
	// the pixels searched, and a face that matters is tens of pixels there. The working
	// image is used as it is up to faceLongSide × 9/8.
	faceLongSide = 640
	// borderShare is the width of the frame's border on which a face photo's background
	// is judged: this share of the width on the left and right, of the height at the top
	// and bottom.
	borderShare = 0.1
	// personSide and personTop grow the face box by these shares of its size, on each side
	// and upwards, before the person (the box and the column below it) is cut out of the
	// border: the cascade's box runs brow to chin across the ears; hair adds about a third
	// above it (pigo's sample: 0.29).
	personSide = 0.05
	personTop  = 0.35
)

// orientXY maps pixel (x, y) of a W×H coded image to its place once EXIF orientation o is
// applied (the image is then H×W for o = 5–8).
func orientXY(o, x, y, W, H int) (int, int) {
	switch o {
	case 2:
		return W - 1 - x, y
	case 3:
		return W - 1 - x, H - 1 - y
	case 4:
		return x, H - 1 - y
	case 5:
		return y, x
	case 6:
		return H - 1 - y, x
	case 7:
		return H - 1 - y, W - 1 - x
	case 8:
		return y, W - 1 - x
	}
	return x, y
}

// oriented returns wk as displayed under EXIF orientation o: the face rules speak of the
// image as people see it (a phone's portrait photo is often stored sideways with o = 6).
func (wk working) oriented(o int) working {
	if o < 2 || o > 8 {
		return wk
	}
	dw, dh := wk.w, wk.h
	if o >= 5 {
		dw, dh = wk.h, wk.w
	}
	out := working{w: dw, h: dh, luma: make([]uint8, len(wk.luma)), chroma: make([]uint8, len(wk.chroma))}
	for y := 0; y < wk.h; y++ {
		for x := 0; x < wk.w; x++ {
			dx, dy := orientXY(o, x, y, wk.w, wk.h)
			out.luma[dy*dw+dx] = wk.luma[y*wk.w+x]
			out.chroma[dy*dw+dx] = wk.chroma[y*wk.w+x]
		}
	}
	return out
}

// box is a face in working-image pixels: its square's bounds.
type box struct{ x0, y0, x1, y1 float64 }

func (b box) size() float64 { return b.x1 - b.x0 }

// findFaces runs the detector on wk's luma, reduced to a long side of about faceLongSide,
// and returns the faces in wk's pixels, largest first.
func findFaces(wk working) []box {
	gray, w, h, f := shrinkLuma(wk, faceLongSide)
	var out []box
	for _, d := range faces.Detect(gray, w, h) {
		half := float64(d.Size) / 2 * f
		cx, cy := float64(d.X)*f, float64(d.Y)*f
		out = append(out, box{cx - half, cy - half, cx + half, cy + half})
	}
	return out
}

// shrinkLuma box-averages wk's luma to a long side of about long (left as it is when it is
// at most long × 9/8) and returns it with its size and the factor from its pixels to wk's.
// Each output pixel averages the source pixels [x0, x1) × [y0, y1) of its spans (shrinkSpans),
// rounded; the source rows of an output row are summed per column first.
func shrinkLuma(wk working, long int) ([]uint8, int, int, float64) {
	L := max(wk.w, wk.h)
	if L*8 <= long*9 {
		return wk.luma, wk.w, wk.h, 1
	}
	f := float64(L) / float64(long)
	w, h := max(1, int(float64(wk.w)/f)), max(1, int(float64(wk.h)/f))
	fx, fy := float64(wk.w)/float64(w), float64(wk.h)/float64(h)
	xs, ys := shrinkSpans(w, fx, wk.w), shrinkSpans(h, fy, wk.h)
	out := make([]uint8, w*h)
	col := make([]int32, wk.w)
	for j := 0; j < h; j++ {
		y0, y1 := ys[2*j], ys[2*j+1]
		clear(col)
		for y := y0; y < y1; y++ {
			for x, v := range wk.luma[y*wk.w : (y+1)*wk.w] {
				col[x] += int32(v)
			}
		}
		row := out[j*w : (j+1)*w]
		for i := range row {
			x0, x1 := xs[2*i], xs[2*i+1]
			var sum int32
			for _, v := range col[x0:x1] {
				sum += v
			}
			n := max((y1-y0)*(x1-x0), 1)
			row[i] = uint8((int(sum) + n/2) / n)
		}
	}
	return out, w, h, fx
}

// shrinkSpans are the source spans [x0, x1) of n output pixels each about f source pixels
// wide over a source of size src, as pairs.
func shrinkSpans(n int, f float64, src int) []int {
	s := make([]int, 2*n)
	for i := range n {
		x0 := int(float64(i) * f)
		x1 := max(x0+1, int(float64(i+1)*f))
		s[2*i], s[2*i+1] = min(x0, src), min(x1, src)
	}
	return s
}

// faceWarnings returns the face warnings of check on wk (oriented as displayed) and the
// face photo's background warning, in Result.Warnings order.
func faceWarnings(wk working, check filing.FaceCheck, t Thresholds) []string {
	fs := findFaces(wk)
	var ws []string
	switch check {
	case filing.FaceCheckPhoto:
		if whiteBorder(wk, fs) < t.WhiteBackground {
			ws = append(ws, WarnBackgroundNotWhite)
		}
		if len(fs) == 0 {
			return append(ws, WarnNoFace)
		}
		if len(fs) > 1 {
			ws = append(ws, WarnMultipleFaces)
		}
		f := fs[0] // the largest: the person the photo is of
		W, H := float64(wk.w), float64(wk.h)
		if f.size() < t.FaceMinShare*math.Min(W, H) {
			ws = append(ws, WarnFaceTooSmall)
		}
		cx, cy := (f.x0+f.x1)/2, (f.y0+f.y1)/2
		if math.Abs(cx-W/2) > t.FaceCenterTolerance*W || math.Abs(cy-H/2) > t.FaceCenterTolerance*H {
			ws = append(ws, WarnFaceNotCentered)
		}
	case filing.FaceCheckPortraitSide:
		if len(fs) == 0 {
			ws = append(ws, WarnNoFace)
		}
	case filing.FaceCheckEmblemSide:
		if len(fs) > 0 {
			ws = append(ws, WarnWrongSide)
		}
	}
	return ws
}

// whiteBorder is the share of near-white pixels on the frame's border (borderShare of each
// side) that the person does not cover: every face's box, grown for hair, and the
// column below it down to the bottom edge (neck, shoulders, clothes). With no face the
// whole border counts. A border the person covers entirely counts as white: there is no
// background to judge.
func whiteBorder(wk working, fs []box) float64 {
	bx := max(1, int(float64(wk.w)*borderShare))
	by := max(1, int(float64(wk.h)*borderShare))
	type span struct{ x0, x1, y0 int }
	var person []span
	for _, f := range fs {
		g := f.size() * personSide
		person = append(person, span{int(f.x0 - g), int(math.Ceil(f.x1 + g)), int(f.y0 - f.size()*personTop)})
	}
	white, total := 0, 0
	for y := 0; y < wk.h; y++ {
		inBand := y < by || y >= wk.h-by
		for x := 0; x < wk.w; x++ {
			if !inBand && x >= bx && x < wk.w-bx {
				x = wk.w - bx - 1 // skip the interior
				continue
			}
			covered := false
			for _, p := range person {
				if x >= p.x0 && x < p.x1 && y >= p.y0 {
					covered = true
					break
				}
			}
			if covered {
				continue
			}
			i := y*wk.w + x
			total++
			if wk.luma[i] >= whiteLuma && wk.chroma[i] <= whiteChroma {
				white++
			}
		}
	}
	if total == 0 {
		return 1
	}
	return float64(white) / float64(total)
}

// warningOrder is every warning, in the order Result.Warnings lists them.
var warningOrder = []string{WarnGrayscale, WarnBlurry, WarnTooDark, WarnOverexposed, WarnBackgroundNotWhite,
	WarnNoFace, WarnMultipleFaces, WarnFaceTooSmall, WarnFaceNotCentered, WarnWrongSide}
