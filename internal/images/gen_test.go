package images

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"sync"
	"testing"
)

// Test images are generated in code with known properties, so every expectation below
// follows from how the image was made.

// xorshift is a tiny deterministic generator: test images are the same on every run.
type xorshift uint64

func (r *xorshift) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = xorshift(x)
	return x
}

func (r *xorshift) intn(n int) int { return int(r.next() % uint64(n)) }

func fillRect(m *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(m.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, 255
		}
	}
}

func fillEllipse(m *image.RGBA, cx, cy, rx, ry float64, c color.RGBA) {
	r := image.Rect(int(cx-rx), int(cy-ry), int(cx+rx)+1, int(cy+ry)+1).Intersect(m.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			if dx*dx+dy*dy <= 1 {
				i := m.PixOffset(x, y)
				m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, 255
			}
		}
	}
}

// addNoise adds uniform noise of ±amp to every channel.
func addNoise(m *image.RGBA, amp int, seed uint64) {
	if amp <= 0 {
		return
	}
	r := xorshift(seed | 1)
	for i := 0; i < len(m.Pix); i += 4 {
		v := r.next()
		for c := 0; c < 3; c++ {
			d := int(v>>(16*c)&0xFFFF)%(2*amp+1) - amp
			m.Pix[i+c] = uint8(max(0, min(255, int(m.Pix[i+c])+d)))
		}
	}
}

// genPhoto is a colourful, sharp "photo": a gradient with coloured rectangles and
// discs, and sensor-like noise of ±noise.
func genPhoto(w, h int, seed uint64, noise int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := m.PixOffset(x, y)
			m.Pix[i] = uint8(60 + 120*x/w)
			m.Pix[i+1] = uint8(90 + 100*y/h)
			m.Pix[i+2] = uint8(170 - 80*x/w)
			m.Pix[i+3] = 255
		}
	}
	r := xorshift(seed*2654435761 + 7)
	for k := 0; k < 40; k++ {
		c := color.RGBA{uint8(r.intn(256)), uint8(r.intn(256)), uint8(r.intn(256)), 255}
		cx, cy := r.intn(w), r.intn(h)
		sw, sh := w/30+r.intn(w/6), h/30+r.intn(h/6)
		if k%2 == 0 {
			fillRect(m, image.Rect(cx, cy, cx+sw, cy+sh), c)
		} else {
			fillEllipse(m, float64(cx), float64(cy), float64(sw)/2, float64(sh)/2, c)
		}
	}
	addNoise(m, noise, seed+11)
	return m
}

// genDocument is a scanned form: white paper, black text lines and table rules, and
// (if seal) a red seal.
func genDocument(w, h int, seal bool) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(m, m.Rect, color.RGBA{250, 250, 248, 255})
	ink := color.RGBA{25, 25, 30, 255}
	r := xorshift(99)
	lineH := max(6, h/70)
	for y := h / 10; y < h*9/10; y += lineH * 2 {
		x := w / 10
		for x < w*9/10 {
			ww := lineH + r.intn(lineH*4)
			fillRect(m, image.Rect(x, y, min(x+ww, w*9/10), y+lineH), ink)
			x += ww + lineH
		}
	}
	for _, y := range []int{h / 12, h / 2, h * 11 / 12} {
		fillRect(m, image.Rect(w/12, y, w*11/12, y+2), ink)
	}
	if seal {
		cx, cy, rad := float64(w)*0.7, float64(h)*0.75, float64(w)*0.1
		red := color.RGBA{215, 35, 40, 255}
		fillEllipse(m, cx, cy, rad, rad, red)
		fillEllipse(m, cx, cy, rad*0.85, rad*0.85, color.RGBA{250, 250, 248, 255})
		fillEllipse(m, cx, cy, rad*0.25, rad*0.25, red)
	}
	addNoise(m, 2, 5)
	return m
}

// genFace is a head-and-shoulders portrait on a background of colour bg.
func genFace(w, h int, bg color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(m, m.Rect, bg)
	fw, fh := float64(w), float64(h)
	fillEllipse(m, fw/2, fh*1.02, fw*0.45, fh*0.3, color.RGBA{30, 40, 70, 255}) // jacket
	fillRect(m, image.Rect(int(fw*0.43), int(fh*0.6), int(fw*0.57), int(fh*0.75)), color.RGBA{215, 165, 135, 255})
	fillEllipse(m, fw/2, fh*0.38, fw*0.25, fh*0.25, color.RGBA{35, 28, 24, 255}) // hair
	fillEllipse(m, fw/2, fh*0.44, fw*0.21, fh*0.23, color.RGBA{225, 175, 142, 255})
	for _, ex := range []float64{0.42, 0.58} {
		fillEllipse(m, fw*ex, fh*0.41, fw*0.03, fh*0.015, color.RGBA{40, 30, 30, 255})
	}
	fillEllipse(m, fw/2, fh*0.54, fw*0.06, fh*0.012, color.RGBA{170, 70, 70, 255})
	addNoise(m, 4, 3)
	return m
}

// blur is a separable Gaussian blur of standard deviation sigma.
func blur(src *image.RGBA, sigma float64) *image.RGBA {
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	var sum float64
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	b := src.Rect
	pass := func(in *image.RGBA, dx, dy int) *image.RGBA {
		out := image.NewRGBA(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				var acc [3]float64
				for i, kv := range k {
					sx := min(max(x+(i-rad)*dx, b.Min.X), b.Max.X-1)
					sy := min(max(y+(i-rad)*dy, b.Min.Y), b.Max.Y-1)
					p := in.PixOffset(sx, sy)
					acc[0] += kv * float64(in.Pix[p])
					acc[1] += kv * float64(in.Pix[p+1])
					acc[2] += kv * float64(in.Pix[p+2])
				}
				o := out.PixOffset(x, y)
				out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = uint8(acc[0]+0.5), uint8(acc[1]+0.5), uint8(acc[2]+0.5), 255
			}
		}
		return out
	}
	return pass(pass(src, 1, 0), 0, 1)
}

// mapPixels returns a copy of m with f applied to each pixel's R, G, B.
func mapPixels(m *image.RGBA, f func(r, g, b uint8) (uint8, uint8, uint8)) *image.RGBA {
	out := image.NewRGBA(m.Rect)
	copy(out.Pix, m.Pix)
	for i := 0; i < len(out.Pix); i += 4 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = f(out.Pix[i], out.Pix[i+1], out.Pix[i+2])
	}
	return out
}

func toGray(r, g, b uint8) (uint8, uint8, uint8) {
	y := uint8((299*int(r) + 587*int(g) + 114*int(b) + 500) / 1000)
	return y, y, y
}

func encJPEG(tb testing.TB, m image.Image, q int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// onceJPEG returns a func that encodes the photo draw makes as a JPEG of quality q on its
// first call and returns the same bytes on every later one: the large photos are drawn
// and encoded once per test binary, whichever test or benchmark asks first.
func onceJPEG(q int, draw func() image.Image) func() []byte {
	return sync.OnceValue(func() []byte {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, draw(), &jpeg.Options{Quality: q}); err != nil {
			panic(err)
		}
		return buf.Bytes()
	})
}

func encPNG(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, m); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encGIF(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := gif.Encode(&buf, m, nil); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// solid is a w×h image of one colour.
func solid(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(m, m.Rect, c)
	return m
}

// rotateCCW returns m turned 90° counter-clockwise: the stored form of an upright
// image that EXIF orientation 6 (rotate 90° clockwise to display) puts back upright.
func rotateCCW(m *image.RGBA) *image.RGBA {
	W, H := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, H, W))
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			// upright (x, y) is stored at (y, W-1-x)
			copy(out.Pix[out.PixOffset(y, W-1-x):][:4], m.Pix[m.PixOffset(x, y):][:4])
		}
	}
	return out
}

// Metadata markers: strings that must not survive stripping.
const (
	secretMake   = "SecretPhoneModel"
	secretDatum  = "GPSDATUMSECRET"
	secretXMP    = "XMPSECRET"
	secretIPTC   = "IPTCSECRET"
	secretCOM    = "COMMENTSECRET"
	secretTrail  = "TRAILERSECRET"
	secretText   = "PNGTEXTSECRET"
	secretITXt   = "ITXTSECRET"
	secretZKey   = "ZtxtKeySecret"
	secretGIFCom = "GIFCOMMENTSECRET"
)

// exifTIFF builds a little-endian TIFF structure with Make, Orientation and a GPS IFD
// (latitude and a map datum): what a phone writes.
func exifTIFF(orientation int) []byte {
	le := binary.LittleEndian
	buf := make([]byte, 150)
	copy(buf, "II*\x00")
	le.PutUint32(buf[4:], 8)
	entry := func(at int, tag, typ uint16, count, value uint32) {
		le.PutUint16(buf[at:], tag)
		le.PutUint16(buf[at+2:], typ)
		le.PutUint32(buf[at+4:], count)
		le.PutUint32(buf[at+8:], value)
	}
	le.PutUint16(buf[8:], 3)
	entry(10, 0x010F, 2, uint32(len(secretMake)+1), 50)
	entry(22, 0x0112, 3, 1, uint32(orientation))
	entry(34, 0x8825, 4, 1, 68)
	copy(buf[50:], secretMake+"\x00")
	le.PutUint16(buf[68:], 3)
	entry(70, 0x0001, 2, 2, uint32('N'))
	entry(82, 0x0002, 5, 3, 110)
	entry(94, 0x0012, 2, uint32(len(secretDatum)+1), 134)
	for i, v := range []uint32{22, 1, 32, 1, 1234, 100} {
		le.PutUint32(buf[110+4*i:], v)
	}
	copy(buf[134:], secretDatum+"\x00")
	return buf
}

func segment(marker byte, payload []byte) []byte {
	s := []byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	return append(s, payload...)
}

// jpegWithMetadata inserts after SOI: EXIF (orientation, GPS), XMP, Photoshop/IPTC,
// an ICC profile (kept), a comment; and appends bytes after EOI.
func jpegWithMetadata(plain []byte, orientation int) []byte {
	var out []byte
	out = append(out, plain[:2]...)
	out = append(out, segment(0xE1, append([]byte("Exif\x00\x00"), exifTIFF(orientation)...))...)
	out = append(out, segment(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>"+secretXMP+"</x:xmpmeta>"))...)
	out = append(out, segment(0xED, []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0a"+secretIPTC))...)
	out = append(out, segment(0xE2, []byte("ICC_PROFILE\x00\x01\x01fake-profile-bytes"))...)
	out = append(out, segment(0xFE, []byte(secretCOM))...)
	out = append(out, plain[2:]...)
	return append(out, secretTrail...)
}

func pngChunk(typ string, data []byte) []byte {
	c := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(c, uint32(len(data)))
	copy(c[4:], typ)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// pngWithMetadata inserts text, EXIF and time chunks and a gAMA chunk (kept) after
// IHDR, and appends bytes after IEND.
func pngWithMetadata(plain []byte) []byte {
	const afterIHDR = 8 + 25
	var out []byte
	out = append(out, plain[:afterIHDR]...)
	out = append(out, pngChunk("gAMA", []byte{0, 0, 0xB1, 0x8F})...)
	out = append(out, pngChunk("tEXt", []byte("Comment\x00"+secretText))...)
	out = append(out, pngChunk("zTXt", []byte(secretZKey+"\x00\x00\x78\x9c\x03\x00\x00\x00\x00\x01"))...)
	out = append(out, pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>"+secretITXt+"</x:xmpmeta>"))...)
	out = append(out, pngChunk("eXIf", exifTIFF(6))...)
	out = append(out, pngChunk("tIME", []byte{0x07, 0xE9, 1, 2, 3, 4, 5})...)
	out = append(out, plain[afterIHDR:]...)
	return append(out, secretTrail...)
}

// gifWithMetadata inserts a comment and an XMP application extension before the image
// and appends bytes after the trailer.
func gifWithMetadata(plain []byte) []byte {
	at := 13 + gifColorTable(plain[10])
	var out []byte
	out = append(out, plain[:at]...)
	out = append(out, 0x21, 0xFE, byte(len(secretGIFCom)))
	out = append(out, secretGIFCom...)
	out = append(out, 0)
	out = append(out, 0x21, 0xFF, 11)
	out = append(out, "XMP DataXMP"...)
	xmp := "<x:xmpmeta>" + secretXMP + "</x:xmpmeta>"
	out = append(out, byte(len(xmp)))
	out = append(out, xmp...)
	out = append(out, 0)
	out = append(out, plain[at:]...)
	return append(out, secretTrail...)
}

// rgbaAt returns the 8-bit colour of img at x, y.
func rgbaAt(img image.Image, x, y int) [3]int {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}

// meanColour is the mean colour of img over r.
func meanColour(img image.Image, r image.Rectangle) [3]int {
	var s [3]int
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := rgbaAt(img, x, y)
			s[0], s[1], s[2] = s[0]+c[0], s[1]+c[1], s[2]+c[2]
			n++
		}
	}
	return [3]int{s[0] / n, s[1] / n, s[2] / n}
}

// checkRegions asserts that the mean colour of img over each region is within tol of the
// colour the region maps to.
func checkRegions(tb testing.TB, img image.Image, regions map[image.Rectangle][3]int, tol int) {
	tb.Helper()
	for r, want := range regions {
		if got := meanColour(img, r); !near(got, want, tol) {
			tb.Errorf("region %v is %v, want %v", r, got, want)
		}
	}
}

// decodeJPEG decodes a stored JPEG, failing the test if it does not decode.
func decodeJPEG(tb testing.TB, data []byte) image.Image {
	tb.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// near reports whether two colours differ by at most tol in every channel.
func near(a, b [3]int, tol int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}
