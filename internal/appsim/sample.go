package appsim

import (
	"bytes"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"sync"
)

// SampleImage returns a sample JPEG for slot, the same bytes for the same slot and seed.
//
// The pictures are made to pass the server's honest checks (docs/rules.md "Image rules"), so a
// simulated phone gets no warnings unless a test wants them: colour (not grayscale), fine
// noise everywhere for texture (not blurry), mid-to-high brightness without clipped whites
// (not too dark, not overexposed), a near-white background for the face photo, every image
// well under 4 MiB with a short side of at least 600 px. They look like what they stand for
// — an ID card on a desk, a certificate, a filled-in form with a red seal, a person in front
// of a white wall — so a human watching the desktop sees something sensible.
//
// Drawing and encoding take tens of milliseconds, so recent results are kept (a load run
// asks for the same few images over and over); each call returns its own copy.
func SampleImage(slot string, seed int64) []byte {
	k := sampleKey{slot, seed}
	sampleCache.Lock()
	img, ok := sampleCache.m[k]
	sampleCache.Unlock()
	if !ok {
		img = sampleImage(slot, seed)
		sampleCache.Lock()
		if len(sampleCache.m) >= maxCachedSamples {
			clear(sampleCache.m) // Simplest bound; callers use a handful of keys.
		}
		sampleCache.m[k] = img
		sampleCache.Unlock()
	}
	return bytes.Clone(img)
}

type sampleKey struct {
	slot string
	seed int64
}

const maxCachedSamples = 64

var sampleCache = struct {
	sync.Mutex
	m map[sampleKey][]byte
}{m: map[sampleKey][]byte{}}

// sampleImage draws and encodes the sample; SampleImage caches it.
func sampleImage(slot string, seed int64) []byte {
	h := fnv.New64a()
	h.Write([]byte(slot))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))

	var c *canvas
	switch slot {
	case "subject_leader_id_front", "website_leader_id_front":
		c = idFront(rng)
	case "subject_leader_id_back", "website_leader_id_back":
		c = idBack(rng)
	case "organization_certificate", "domain_certificate":
		c = certificate(rng, slot == "domain_certificate")
	case "verification_form":
		c = verificationForm(rng)
	case "face_photo":
		c = facePhoto(rng)
	default:
		c = generic(rng)
	}
	c.noise(rng, 10)
	var buf bytes.Buffer
	// Encoding an in-memory RGBA cannot fail.
	_ = jpeg.Encode(&buf, c.img, &jpeg.Options{Quality: 88})
	return buf.Bytes()
}

// canvas is an RGBA image with the few drawing primitives the samples need.
type canvas struct {
	img  *image.RGBA
	w, h int
}

func newCanvas(w, h int, bg color.RGBA) *canvas {
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, w, h)), w: w, h: h}
	c.rect(0, 0, w, h, bg)
	return c
}

func (c *canvas) set(x, y int, col color.RGBA) {
	if x < 0 || y < 0 || x >= c.w || y >= c.h {
		return
	}
	i := c.img.PixOffset(x, y)
	c.img.Pix[i], c.img.Pix[i+1], c.img.Pix[i+2], c.img.Pix[i+3] = col.R, col.G, col.B, 255
}

func (c *canvas) rect(x0, y0, x1, y1 int, col color.RGBA) {
	x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, c.w), min(y1, c.h)
	if x0 >= x1 {
		return
	}
	px := [4]uint8{col.R, col.G, col.B, 255}
	for y := y0; y < y1; y++ {
		row := c.img.Pix[c.img.PixOffset(x0, y):c.img.PixOffset(x1, y)]
		for i := 0; i < len(row); i += 4 {
			copy(row[i:i+4], px[:])
		}
	}
}

// gradient fills a rectangle with a left-to-right blend of a and b.
func (c *canvas) gradient(x0, y0, x1, y1 int, a, b color.RGBA) {
	for x := max(x0, 0); x < min(x1, c.w); x++ {
		t := float64(x-x0) / float64(max(x1-x0, 1))
		col := mix(a, b, t)
		for y := max(y0, 0); y < min(y1, c.h); y++ {
			c.set(x, y, col)
		}
	}
}

// ellipse fills the ellipse centred at (cx, cy) with radii rx, ry.
func (c *canvas) ellipse(cx, cy, rx, ry int, col color.RGBA) {
	for y := cy - ry; y <= cy+ry; y++ {
		for x := cx - rx; x <= cx+rx; x++ {
			dx, dy := float64(x-cx)/float64(rx), float64(y-cy)/float64(ry)
			if dx*dx+dy*dy <= 1 {
				c.set(x, y, col)
			}
		}
	}
}

// ring draws a circle outline of the given thickness, like a seal's rim.
func (c *canvas) ring(cx, cy, r, thick int, col color.RGBA) {
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			d := math.Hypot(float64(x-cx), float64(y-cy))
			if d <= float64(r) && d >= float64(r-thick) {
				c.set(x, y, col)
			}
		}
	}
}

// star fills a five-pointed star, the centre of a seal.
func (c *canvas) star(cx, cy, r int, col color.RGBA) {
	var pts [10][2]float64
	for i := range pts {
		rad := float64(r)
		if i%2 == 1 {
			rad *= 0.4
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		pts[i] = [2]float64{float64(cx) + rad*math.Cos(a), float64(cy) + rad*math.Sin(a)}
	}
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			if inPolygon(float64(x), float64(y), pts[:]) {
				c.set(x, y, col)
			}
		}
	}
}

func inPolygon(x, y float64, pts [][2]float64) bool {
	in := false
	for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
		xi, yi, xj, yj := pts[i][0], pts[i][1], pts[j][0], pts[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// textLine draws a row of dark blocks of random widths: from a distance, a line of text.
func (c *canvas) textLine(rng *rand.Rand, x0, y, x1, height int, col color.RGBA) {
	for x := x0; x < x1; {
		w := height/2 + rng.IntN(height)
		if x+w > x1 {
			break
		}
		c.rect(x, y, x+w, y+height, col)
		x += w + 2 + rng.IntN(height/3+1)
	}
}

// wave draws a thin sine curve across the canvas, like the guilloche pattern of an ID card.
func (c *canvas) wave(y0, amp int, period, phase float64, col color.RGBA) {
	for x := 0; x < c.w; x++ {
		y := y0 + int(float64(amp)*math.Sin(float64(x)/period+phase))
		c.set(x, y, col)
		c.set(x, y+1, col)
	}
}

// scribble draws a signature-like pen stroke from (x, y) over width w.
func (c *canvas) scribble(rng *rand.Rand, x, y, w int, col color.RGBA) {
	f1, f2 := 0.05+rng.Float64()*0.05, 0.15+rng.Float64()*0.1
	for i := range w {
		yy := y + int(18*math.Sin(float64(i)*f1)+8*math.Sin(float64(i)*f2))
		for t := range 3 {
			c.set(x+i, yy+t, col)
		}
	}
}

// noise adds independent per-channel noise of about ±amp: sensor grain. It gives every
// sample real high-frequency detail (so a sharpness measure does not call it blurry), and
// clamps so that no channel clips to pure black or white. One 64-bit draw feeds eight
// channels: noise is most of the drawing cost and needs no better randomness than that.
func (c *canvas) noise(rng *rand.Rand, amp int) {
	p := c.img.Pix
	span := uint64(2*amp + 1)
	var bits uint64
	n := 0
	for i := 0; i < len(p); i += 4 {
		for k := range 3 {
			if n == 0 {
				bits, n = rng.Uint64(), 8
			}
			d := int(bits&0xff%span) - amp
			bits >>= 8
			n--
			p[i+k] = uint8(min(max(int(p[i+k])+d, 8), 247))
		}
	}
}

func mix(a, b color.RGBA, t float64) color.RGBA {
	l := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t) }
	return color.RGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 255}
}

func jitter(rng *rand.Rand, col color.RGBA, amp int) color.RGBA {
	j := func(v uint8) uint8 { return uint8(min(max(int(v)+rng.IntN(2*amp+1)-amp, 0), 255)) }
	return color.RGBA{j(col.R), j(col.G), j(col.B), 255}
}

var (
	ink       = color.RGBA{40, 40, 48, 255}
	sealRed   = color.RGBA{210, 40, 45, 255}
	paper     = color.RGBA{236, 234, 226, 255}
	wallWhite = color.RGBA{238, 238, 236, 255}
)

// idFront is the portrait side of an ID card lying on a wooden desk.
func idFront(rng *rand.Rand) *canvas {
	c := newCanvas(1200, 800, jitter(rng, color.RGBA{150, 110, 75, 255}, 15))
	for y := 0; y < c.h; y += 14 + rng.IntN(10) { // wood grain
		c.wave(y, 4, 60+rng.Float64()*40, rng.Float64()*6, color.RGBA{125, 90, 60, 255})
	}
	x0, y0, x1, y1 := 90, 90, 1110, 710
	c.gradient(x0, y0, x1, y1, jitter(rng, color.RGBA{200, 225, 235, 255}, 10), jitter(rng, color.RGBA{225, 235, 205, 255}, 10))
	for i := range 12 {
		c.wave(y0+40+i*50, 12, 45, float64(i), color.RGBA{170, 200, 215, 255})
	}
	// Portrait on the right.
	c.rect(780, 170, 1050, 560, color.RGBA{215, 225, 235, 255})
	c.ellipse(915, 470, 120, 110, jitter(rng, color.RGBA{60, 70, 110, 255}, 20))
	c.ellipse(915, 300, 70, 88, jitter(rng, color.RGBA{225, 185, 155, 255}, 10))
	c.ellipse(915, 235, 74, 40, color.RGBA{35, 30, 30, 255})
	// Name, sex, birth, address lines, then the ID number.
	for i, w := range []int{260, 380, 420, 560, 520} {
		c.textLine(rng, 150, 170+i*70, 150+w, 30, ink)
	}
	c.textLine(rng, 330, 620, 1020, 40, ink)
	return c
}

// idBack is the emblem side of an ID card on a desk.
func idBack(rng *rand.Rand) *canvas {
	c := newCanvas(1200, 800, jitter(rng, color.RGBA{120, 130, 140, 255}, 15))
	x0, y0, x1, y1 := 90, 90, 1110, 710
	c.gradient(x0, y0, x1, y1, jitter(rng, color.RGBA{215, 230, 220, 255}, 10), jitter(rng, color.RGBA{235, 220, 200, 255}, 10))
	for i := range 24 {
		c.wave(y0+20+i*25, 18, 30+float64(i), float64(i)/3, color.RGBA{190, 205, 200, 255})
	}
	c.ellipse(250, 250, 110, 110, jitter(rng, sealRed, 10))
	c.star(250, 250, 80, color.RGBA{245, 200, 40, 255})
	c.textLine(rng, 420, 200, 1000, 60, color.RGBA{50, 50, 60, 255})
	c.textLine(rng, 480, 300, 900, 44, color.RGBA{50, 50, 60, 255})
	c.textLine(rng, 260, 520, 900, 32, ink)
	c.textLine(rng, 260, 600, 1000, 32, ink)
	return c
}

// certificate is a business licence (or a domain certificate): bordered paper, a title,
// text, a red seal and a square code.
func certificate(rng *rand.Rand, domain bool) *canvas {
	frame := color.RGBA{190, 150, 60, 255}
	if domain {
		frame = color.RGBA{40, 110, 190, 255}
	}
	c := newCanvas(1200, 850, jitter(rng, paper, 6))
	c.rect(30, 30, 1170, 820, frame)
	c.rect(60, 60, 1140, 790, jitter(rng, color.RGBA{240, 232, 210, 255}, 6))
	c.textLine(rng, 420, 110, 780, 70, frame)
	for i := range 7 {
		c.textLine(rng, 140, 250+i*60, 140+400+rng.IntN(350), 28, ink)
	}
	for y := range 8 { // a square code block
		for x := range 8 {
			if rng.IntN(2) == 0 {
				c.rect(140+x*18, 640+y*12, 158+x*18, 652+y*12, ink)
			}
		}
	}
	c.ring(920, 640, 110, 10, sealRed)
	c.star(920, 640, 40, sealRed)
	c.textLine(rng, 850, 700, 990, 14, sealRed)
	return c
}

// verificationForm is a printed 真实性核验单 filled in with a black pen, signed and sealed.
func verificationForm(rng *rand.Rand) *canvas {
	// Printer paper photographed under warm light, with the form's printed blue header
	// cells and the red seal: a colour photo, as the rules ask, not a grayscale scan.
	c := newCanvas(1000, 1400, jitter(rng, color.RGBA{240, 234, 218, 255}, 4))
	c.rect(80, 180, 920, 240, color.RGBA{200, 218, 240, 255})
	c.rect(80, 180, 330, 1083, color.RGBA{222, 230, 240, 255})
	c.textLine(rng, 330, 80, 680, 44, ink) // title
	for i := range 16 {                    // table
		c.rect(80, 180+i*60, 920, 183+i*60, ink)
	}
	c.rect(80, 180, 83, 1083, ink)
	c.rect(330, 180, 333, 1083, ink)
	c.rect(917, 180, 920, 1083, ink)
	for i := range 15 {
		c.textLine(rng, 100, 198+i*60, 100+100+rng.IntN(100), 24, ink)
		c.textLine(rng, 350, 198+i*60, 350+150+rng.IntN(380), 24, color.RGBA{25, 25, 30, 255})
	}
	c.scribble(rng, 500, 1180, 280, ink)
	c.ring(700, 1200, 120, 12, sealRed)
	c.star(700, 1200, 45, sealRed)
	c.ellipse(850, 1230, 22, 30, color.RGBA{200, 60, 70, 255}) // a fingerprint's ink
	return c
}

// facePhoto is a person in front of a white wall, dressed neatly.
func facePhoto(rng *rand.Rand) *canvas {
	c := newCanvas(600, 800, jitter(rng, wallWhite, 3))
	shirt := jitter(rng, color.RGBA{40, 70, 140, 255}, 25)
	c.ellipse(300, 800, 250, 230, shirt)                                       // shoulders
	c.rect(270, 540, 330, 620, jitter(rng, color.RGBA{225, 185, 155, 255}, 8)) // neck
	c.ellipse(300, 380, 125, 165, jitter(rng, color.RGBA{228, 188, 158, 255}, 8))
	c.ellipse(300, 265, 132, 70, color.RGBA{40, 32, 30, 255}) // hair
	c.ellipse(255, 380, 14, 9, color.RGBA{50, 40, 40, 255})
	c.ellipse(345, 380, 14, 9, color.RGBA{50, 40, 40, 255})
	c.rect(265, 465, 335, 475, color.RGBA{170, 90, 90, 255})
	c.rect(292, 640, 308, 760, color.RGBA{180, 30, 40, 255}) // tie
	return c
}

// generic is a colourful picture for a slot without its own drawing.
func generic(rng *rand.Rand) *canvas {
	c := newCanvas(1200, 800, jitter(rng, color.RGBA{200, 215, 230, 255}, 20))
	c.gradient(0, 0, 1200, 400, jitter(rng, color.RGBA{230, 200, 160, 255}, 20), jitter(rng, color.RGBA{170, 210, 190, 255}, 20))
	for range 12 {
		c.ellipse(rng.IntN(1200), rng.IntN(800), 30+rng.IntN(90), 30+rng.IntN(90),
			color.RGBA{uint8(60 + rng.IntN(180)), uint8(60 + rng.IntN(180)), uint8(60 + rng.IntN(180)), 255})
	}
	for i := range 6 {
		c.textLine(rng, 100, 450+i*50, 1100, 26, ink)
	}
	return c
}
