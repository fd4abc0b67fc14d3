package images

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"slices"
	"testing"

	"github.com/beianscan/beianscan/internal/faces/facestest"
	"github.com/beianscan/beianscan/internal/filing"
)

// The face rules on real faces: pigo's own sample photo (one man, frontal, on white),
// read from the module cache, and images built from it here. Without the module cache's
// copy of pigo these tests skip, saying so.

// scaled returns src scaled by k (bilinear enough for a test: nearest of a 2×2 average).
func scaled(src *image.RGBA, k float64) *image.RGBA {
	w, h := int(float64(src.Rect.Dx())*k), int(float64(src.Rect.Dy())*k)
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			out.Set(x, y, src.At(min(int(float64(x)/k), src.Rect.Dx()-1), min(int(float64(y)/k), src.Rect.Dy()-1)))
		}
	}
	return out
}

// canvas is a w×h image of colour bg.
func canvas(w, h int, bg color.RGBA) *image.RGBA { return solid(w, h, bg) }

// paste draws src on dst with its centre at (cx, cy).
func paste(dst, src *image.RGBA, cx, cy int) {
	r := src.Rect.Add(image.Pt(cx-src.Rect.Dx()/2, cy-src.Rect.Dy()/2))
	draw.Draw(dst, r, src, image.Point{}, draw.Src)
}

// onBackground replaces the sample's near-white backdrop (and white shirt) by bg.
func onBackground(src *image.RGBA, bg color.RGBA) *image.RGBA {
	return mapPixels(src, func(r, g, b uint8) (uint8, uint8, uint8) {
		if min(r, g, b) >= 200 && max(r, g, b)-min(r, g, b) <= 25 {
			return bg.R, bg.G, bg.B
		}
		return r, g, b
	})
}

// faceWarns is the subset of ws that the face rules give (and background_not_white).
func faceWarns(ws []string) []string {
	out := []string{}
	for _, w := range ws {
		switch w {
		case WarnBackgroundNotWhite, WarnNoFace, WarnMultipleFaces, WarnFaceTooSmall, WarnFaceNotCentered, WarnWrongSide:
			out = append(out, w)
		}
	}
	return out
}

func processWarnings(t *testing.T, data []byte, opts Options) []string {
	t.Helper()
	res, err := Process(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	return faceWarns(res.Warnings)
}

// TestFacePhotoRules: each face-photo warning on an image built from a real face.
func TestFacePhotoRules(t *testing.T) {
	face := facestest.Sample(t) // 320×400, the face box about 0.76 of its width
	blue := color.RGBA{70, 130, 200, 255}
	big := scaled(face, 1.8)
	tests := []struct {
		name string
		img  func() image.Image
		want []string
	}{
		{"the sample, upscaled", func() image.Image { return big }, []string{}},
		{"centred on white", func() image.Image {
			m := canvas(700, 900, white)
			paste(m, scaled(face, 1.5), 350, 430)
			return m
		}, []string{}},
		{"tiny face", func() image.Image {
			m := canvas(600, 800, white)
			paste(m, scaled(face, 0.3), 300, 380) // a face box of ~0.11 of the short side
			return m
		}, []string{WarnFaceTooSmall}},
		{"two faces", func() image.Image {
			m := canvas(1200, 800, white)
			paste(m, scaled(face, 1.2), 300, 400)
			paste(m, scaled(face, 1.1), 900, 400)
			return m
		}, []string{WarnMultipleFaces, WarnFaceNotCentered}},
		{"off centre, to the left", func() image.Image {
			m := canvas(1000, 800, white)
			paste(m, scaled(face, 1.0), 170, 400)
			return m
		}, []string{WarnFaceNotCentered}},
		{"low in the frame", func() image.Image {
			m := canvas(700, 1100, white)
			paste(m, scaled(face, 1.2), 350, 870)
			return m
		}, []string{WarnFaceNotCentered}},
		{"on blue", func() image.Image { return onBackground(big, blue) }, []string{WarnBackgroundNotWhite}},
		{"on white, dark clothes to the frame's edges", func() image.Image {
			m := canvas(800, 1000, white)
			fillEllipse(m, 400, 1080, 420, 260, color.RGBA{30, 40, 70, 255})
			paste(m, scaled(face, 1.3), 400, 450)
			return m
		}, []string{}},
		{"no face: a document", func() image.Image { return genDocument(700, 990, true) }, []string{WarnNoFace}},
		{"no face: white wall", func() image.Image { return canvas(600, 800, color.RGBA{245, 245, 245, 255}) }, []string{WarnNoFace}},
		{"no face: a blue wall", func() image.Image { return canvas(600, 800, blue) }, []string{WarnBackgroundNotWhite, WarnNoFace}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := processWarnings(t, encJPEG(t, tt.img(), 90), Options{Face: true})
			if !slices.Equal(got, tt.want) {
				t.Errorf("warnings %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFaceThresholdsConfigurable: the two thresholds move the warnings.
func TestFaceThresholdsConfigurable(t *testing.T) {
	face := facestest.Sample(t)
	m := canvas(600, 800, white)
	paste(m, scaled(face, 0.6), 200, 400) // face box ≈ 0.24 of 600, centre 1/6 off the midline
	data := encJPEG(t, m, 90)
	for _, tc := range []struct {
		th   Thresholds
		want []string
	}{
		{Thresholds{}, []string{}},
		{Thresholds{FaceMinShare: 0.3}, []string{WarnFaceTooSmall}},
		{Thresholds{FaceCenterTolerance: 0.1}, []string{WarnFaceNotCentered}},
	} {
		if got := processWarnings(t, data, Options{Face: true, Thresholds: tc.th}); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.th, got, tc.want)
		}
	}
}

// TestFaceUpright: a phone's portrait photo stored sideways with EXIF orientation 6 is
// judged as displayed (the detector finds no sideways face).
func TestFaceUpright(t *testing.T) {
	face := facestest.Sample(t)
	m := canvas(700, 900, white)
	paste(m, scaled(face, 1.5), 350, 450)
	sideways := encJPEG(t, rotateCCW(m), 90)
	if got := processWarnings(t, sideways, Options{Face: true}); !slices.Equal(got, []string{WarnNoFace}) {
		t.Fatalf("sideways without orientation: %v, want no_face (the test's premise)", got)
	}
	if got := processWarnings(t, jpegWithMetadata(sideways, 6), Options{Face: true}); len(got) != 0 {
		t.Errorf("with orientation 6: %v, want none", got)
	}
}

// idCard draws a card-like layout photographed on a desk: a pale card with lines of
// "text", and on the right a portrait of the sample when portrait, or on the left a red
// "emblem" when emblem. share is the card's width over the frame's.
func idCard(face *image.RGBA, w, h int, share float64, portrait, emblem bool) *image.RGBA {
	m := canvas(w, h, color.RGBA{120, 110, 100, 255})
	cw := int(float64(w) * share)
	ch := cw * 54 / 86
	x0, y0 := (w-cw)/2, (h-ch)/2
	card := canvas(cw, ch, color.RGBA{225, 232, 238, 255})
	ink := color.RGBA{40, 40, 50, 255}
	lh := max(3, ch/30)
	for y := ch / 6; y < ch*5/6; y += 3 * lh {
		fillRect(card, image.Rect(cw/4, y, cw*3/5, y+lh), ink)
	}
	if portrait {
		// An ID portrait shows head and shoulders: the face box about a sixth of the card's width.
		p := scaled(face, float64(cw)*0.17/243)
		fr := image.NewRGBA(image.Rect(0, 0, p.Rect.Dx()*5/4, p.Rect.Dy()*5/4))
		fillRect(fr, fr.Rect, color.RGBA{250, 250, 250, 255})
		paste(fr, p, fr.Rect.Dx()/2, fr.Rect.Dy()/2-p.Rect.Dy()/10)
		paste(card, fr, cw*4/5, ch/2)
	}
	if emblem {
		red := color.RGBA{200, 30, 30, 255}
		fillEllipse(card, float64(cw)/7, float64(ch)/4, float64(ch)/7, float64(ch)/7, red)
		fillEllipse(card, float64(cw)/7, float64(ch)/4, float64(ch)/14, float64(ch)/14, color.RGBA{240, 200, 40, 255})
	}
	paste(m, card, x0+cw/2, y0+ch/2)
	return m
}

// TestIDSides: no_face on a portrait side without a portrait, wrong_side on an emblem side
// with one; no other face warning on ID sides.
func TestIDSides(t *testing.T) {
	face := facestest.Sample(t)
	front := encJPEG(t, idCard(face, 1600, 1200, 0.8, true, false), 90)
	back := encJPEG(t, idCard(face, 1600, 1200, 0.8, false, true), 90)
	for _, tc := range []struct {
		name  string
		data  []byte
		check filing.FaceCheck
		want  []string
	}{
		{"front with its portrait", front, filing.FaceCheckPortraitSide, []string{}},
		{"the back uploaded as the front", back, filing.FaceCheckPortraitSide, []string{WarnNoFace}},
		{"the back", back, filing.FaceCheckEmblemSide, []string{}},
		{"the front uploaded as the back", front, filing.FaceCheckEmblemSide, []string{WarnWrongSide}},
		{"the front of a travel permit's back slot", front, filing.FaceCheckNone, []string{}},
	} {
		if got := processWarnings(t, tc.data, Options{Faces: tc.check}); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFaceDetectionRates reports (and bounds) how often the rules see the sample's face in
// the images built from it: a face photo at many sizes and places, and an ID card filling
// from half to nearly all of the frame; and how often images without a face get one.
func TestFaceDetectionRates(t *testing.T) {
	face := facestest.Sample(t)
	found, total := 0, 0
	var misses []string
	for _, k := range []float64{0.5, 0.7, 0.9, 1.2, 1.6, 2.2} {
		for _, dx := range []float64{0.3, 0.5, 0.7} {
			for _, q := range []int{60, 90} {
				m := canvas(900, 1200, white)
				paste(m, scaled(face, k), int(900*dx), 550)
				ws := processWarnings(t, encJPEG(t, m, q), Options{Face: true})
				total++
				if !slices.Contains(ws, WarnNoFace) {
					found++
				} else {
					misses = append(misses, fmt.Sprintf("scale %.1f x %.1f q%d", k, dx, q))
				}
			}
		}
	}
	t.Logf("face photos: face found in %d of %d (%.0f %%); missed: %v", found, total, 100*float64(found)/float64(total), misses)
	if found*10 < total*9 {
		t.Errorf("face found in %d of %d face photos, want at least 90 %%", found, total)
	}
	cards, cardsFound := 0, 0
	misses = nil
	for _, share := range []float64{0.5, 0.6, 0.7, 0.8, 0.9, 0.95} {
		for _, size := range [][2]int{{1600, 1200}, {4000, 3000}} {
			ws := processWarnings(t, encJPEG(t, idCard(face, size[0], size[1], share, true, false), 85), Options{Faces: filing.FaceCheckPortraitSide})
			cards++
			if len(ws) == 0 {
				cardsFound++
			} else {
				misses = append(misses, fmt.Sprintf("%.2f of %d", share, size[0]))
			}
		}
	}
	t.Logf("ID fronts: portrait found in %d of %d (%.0f %%); missed: %v", cardsFound, cards, 100*float64(cardsFound)/float64(cards), misses)
	if cardsFound*10 < cards*8 {
		t.Errorf("portrait found on %d of %d ID fronts, want at least 80 %%", cardsFound, cards)
	}
	backs, falseFace := 0, 0
	noFace := []image.Image{genDocument(700, 990, true), genDocument(990, 700, false), genPhoto(1200, 900, 3, 20), genFace(600, 800, white)}
	for _, share := range []float64{0.5, 0.8, 0.95} {
		noFace = append(noFace, idCard(face, 1600, 1200, share, false, true))
	}
	for _, m := range noFace {
		backs++
		if ws := processWarnings(t, encJPEG(t, m, 85), Options{Faces: filing.FaceCheckEmblemSide}); len(ws) != 0 {
			falseFace++
		}
	}
	t.Logf("images without a face: a face found in %d of %d", falseFace, backs)
	if falseFace > 0 {
		t.Errorf("a face found in %d of %d images without one", falseFace, backs)
	}
}

// TestWarningsHaveTexts: every warning Process can give is in the one table of
// internal/filing, with its Chinese text, in the same order (the pages show them from it).
func TestWarningsHaveTexts(t *testing.T) {
	var codes []string
	for _, w := range filing.Warnings() {
		if w.MessageZh == "" {
			t.Errorf("%s has no text", w.Code)
		}
		codes = append(codes, w.Code)
	}
	if !slices.Equal(codes, warningOrder) {
		t.Errorf("filing.Warnings() %v, images gives %v", codes, warningOrder)
	}
}
