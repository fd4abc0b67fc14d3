package images

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"runtime"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

// zeroPNG is a w×h PNG of colour type ct and bit depth depth whose pixels are all zero,
// built row by row so that the test never holds the decoded image: the issue's bomb is
// a 311 KB file that decodes to 320 MB. extra chunks go before IDAT.
func zeroPNG(t testing.TB, w, h int, depth, ct byte, interlace bool, extra ...[]byte) []byte {
	t.Helper()
	return pngOf(w, h, depth, ct, interlace, true, extra...)
}

// pngHead is a PNG header of that kind with an empty IDAT: enough for the header checks,
// which never read pixel data.
func pngHead(w, h int, depth, ct byte, interlace bool, extra ...[]byte) []byte {
	return pngOf(w, h, depth, ct, interlace, false, extra...)
}

func pngOf(w, h int, depth, ct byte, interlace, rows bool, extra ...[]byte) []byte {

	channels := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ct]
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, ct
	if interlace {
		ihdr[12] = 1
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	row := make([]byte, 1+(w*channels*int(depth)+7)/8)
	switch {
	case !rows:
	case interlace:
		// Adam7: each pass's rows, at the pass's width.
		for _, p := range []struct{ x0, y0, dx, dy int }{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
			pw, ph := (w-p.x0+p.dx-1)/p.dx, (h-p.y0+p.dy-1)/p.dy
			if pw <= 0 || ph <= 0 {
				continue
			}
			r := make([]byte, 1+(pw*channels*int(depth)+7)/8)
			for range ph {
				zw.Write(r)
			}
		}
	default:
		for range h {
			zw.Write(row)
		}
	}
	zw.Close()
	out := append([]byte{}, pngSignature...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	if ct == 3 {
		out = append(out, pngChunk("PLTE", make([]byte, 3*256))...)
	}
	for _, c := range extra {
		out = append(out, c...)
	}
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// jpegFrame is a JPEG header (no scan data) with the given frame marker (0xC0 baseline,
// 0xC2 progressive) and components as id, sampling (h<<4|v) pairs; pre are segments
// placed before the frame.
func jpegFrame(w, h int, sof byte, comps [][2]byte, pre ...[]byte) []byte {
	f := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(comps))}
	for _, c := range comps {
		f = append(f, c[0], c[1], 0)
	}
	out := []byte{0xFF, 0xD8}
	for _, s := range pre {
		out = append(out, s...)
	}
	out = append(out, segment(sof, f)...)
	out = append(out, segment(0xDA, []byte{1, comps[0][0], 0, 0, 63, 0})...)
	return append(out, 0xFF, 0xD9)
}

var (
	ycc420 = [][2]byte{{1, 0x22}, {2, 0x11}, {3, 0x11}}
	ycc444 = [][2]byte{{1, 0x11}, {2, 0x11}, {3, 0x11}}
	cmyk   = [][2]byte{{1, 0x11}, {2, 0x11}, {3, 0x11}, {4, 0x11}}
	rgbIDs = [][2]byte{{'R', 0x11}, {'G', 0x11}, {'B', 0x11}}
	gray   = [][2]byte{{1, 0x11}}
	jfif   = segment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
	adobe0 = segment(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00"))
	adobe2 = segment(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x02"))
)

// TestHeaderRefusesDecodeMemory: the header decides, before any pixel is decoded, by what
// Go's decoder would allocate, not by the pixel count alone (issue 11, item 1).
func TestHeaderRefusesDecodeMemory(t *testing.T) {
	const mp40 = 6324 // 6324² = 39,992,976 pixels: under the 40 MP limit
	trnsGray := pngChunk("tRNS", []byte{0, 0})
	tests := []struct {
		name   string
		data   []byte
		refuse bool
	}{
		// The issue's repro: 311 KB, 16-bit RGBA, 8 B/px = 320 MB.
		{"png 16-bit RGBA 40 MP", zeroPNG(t, mp40, mp40, 16, 6, false), true},
		{"png 16-bit RGB 40 MP", pngHead(mp40, mp40, 16, 2, false), true},
		{"png 16-bit gray+alpha 40 MP", pngHead(mp40, mp40, 16, 4, false), true},
		{"png 16-bit RGBA 25 MP (200 MB)", pngHead(5000, 5000, 16, 6, false), false},
		{"png 16-bit RGBA 26 MP (208 MB)", pngHead(5100, 5100, 16, 6, false), true},
		{"png 8-bit RGBA 40 MP (160 MB)", pngHead(mp40, mp40, 8, 6, false), false},
		{"png 16-bit gray 40 MP (80 MB)", pngHead(mp40, mp40, 16, 0, false), false},
		{"png 16-bit gray with tRNS 40 MP (NRGBA64)", pngHead(mp40, mp40, 16, 0, false, pngChunk("tRNS", []byte{0, 0})), true},
		{"png 8-bit gray with tRNS 40 MP (NRGBA, 160 MB)", pngHead(mp40, mp40, 8, 0, false, trnsGray), false},
		{"png 8-bit RGBA interlaced 40 MP (320 MB)", pngHead(mp40, mp40, 8, 6, true), true},
		{"png paletted 40 MP", pngHead(mp40, mp40, 8, 3, false), false},
		{"jpeg 4:2:0 baseline 40 MP (60 MB)", jpegFrame(mp40, mp40, 0xC0, ycc420, jfif), false},
		{"jpeg 4:4:4 baseline 40 MP (120 MB)", jpegFrame(mp40, mp40, 0xC0, ycc444, jfif), false},
		{"jpeg 4:4:4 progressive 40 MP (600 MB)", jpegFrame(mp40, mp40, 0xC2, ycc444, jfif), true},
		{"jpeg 4:2:0 progressive 25 MP (188 MB)", jpegFrame(5000, 5000, 0xC2, ycc420, jfif), false},
		{"jpeg 4:2:0 progressive 36 MP (270 MB)", jpegFrame(6000, 6000, 0xC2, ycc420, jfif), true},
		{"jpeg CMYK baseline 40 MP (320 MB)", jpegFrame(mp40, mp40, 0xC0, cmyk, adobe2), true},
		{"jpeg CMYK baseline 24 MP (192 MB)", jpegFrame(4900, 4900, 0xC0, cmyk, adobe2), false},
		{"jpeg Adobe RGB 40 MP (280 MB)", jpegFrame(mp40, mp40, 0xC0, ycc444, adobe0), true},
		{"jpeg R,G,B ids 40 MP", jpegFrame(mp40, mp40, 0xC0, rgbIDs), true},
		{"jpeg R,G,B ids but JFIF 40 MP (YCbCr)", jpegFrame(mp40, mp40, 0xC0, rgbIDs, jfif), false},
		{"jpeg gray progressive 40 MP (200 MB)", jpegFrame(mp40, mp40, 0xC2, gray, jfif), false},
		{"gif 40 MP paletted", gifHeaderOnly(mp40, mp40), false},
	}
	opts := Options{}.withDefaults()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := checkHeader(tt.data, opts)
			if !tt.refuse {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if h.decodeBytes > MaxDecodeBytes {
					t.Fatalf("decodeBytes %d over the limit yet accepted", h.decodeBytes)
				}
				return
			}
			var fe *filing.Error
			if !errors.As(err, &fe) || fe.Code != filing.CodeImageTooLargeDimensions {
				t.Fatalf("got %v, want image_too_large_dimensions", err)
			}
			if fe.Message == "" || !bytes.ContainsRune([]byte(fe.MessageZh), '图') {
				t.Fatalf("messages %q / %q", fe.Message, fe.MessageZh)
			}
			if d, _ := fe.Details["decoded_bytes"].(int64); d <= MaxDecodeBytes {
				t.Fatalf("details %v", fe.Details)
			}
			// Process and Cost refuse it too, from the same header.
			if _, err := Process(tt.data, Options{}); !errors.Is(err, filing.ErrImageTooLargeDimensions) {
				t.Fatalf("Process: %v", err)
			}
			if _, err := Cost(tt.data, Options{}); !errors.Is(err, filing.ErrImageTooLargeDimensions) {
				t.Fatalf("Cost: %v", err)
			}
		})
	}
}

// TestDecodeBytesCoversDecoder decodes real images of each decoded type and checks that
// the header's estimate covers what the decoder allocated (TotalAlloc, which counts every
// byte however short-lived) without overstating it more than twice.
func TestDecodeBytesCoversDecoder(t *testing.T) {
	const w, h = 1201, 803 // not multiples of 8 or 16: MCU padding counts
	photo := genPhoto(w, h, 3, 10)
	toGray := func(bits16 bool) image.Image {
		if bits16 {
			g := image.NewGray16(photo.Rect)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					g.Set(x, y, photo.At(x, y))
				}
			}
			return g
		}
		g := image.NewGray(photo.Rect)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.Set(x, y, photo.At(x, y))
			}
		}
		return g
	}
	rgba64 := image.NewRGBA64(photo.Rect)
	nrgba64 := image.NewNRGBA64(photo.Rect)
	nrgba := image.NewNRGBA(photo.Rect)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := photo.RGBAAt(x, y)
			rgba64.Set(x, y, c)
			nrgba64.Set(x, y, color.NRGBA64{uint16(c.R) << 8, uint16(c.G) << 8, uint16(c.B) << 8, 0x8000})
			nrgba.Set(x, y, color.NRGBA{c.R, c.G, c.B, 200})
		}
	}
	grayPNG := encPNG(t, toGray(false))
	tests := []struct {
		name string
		data []byte
	}{
		{"jpeg 4:2:0", encJPEG(t, photo, 90)},
		{"jpeg gray", encJPEG(t, toGray(false), 90)},
		{"png RGBA", encPNG(t, photo)},
		{"png NRGBA", encPNG(t, nrgba)},
		{"png RGBA64", encPNG(t, rgba64)},
		{"png NRGBA64", encPNG(t, nrgba64)},
		{"png gray", grayPNG},
		{"png gray16", encPNG(t, toGray(true))},
		{"png gray with tRNS", withChunkBeforeIDAT(grayPNG, pngChunk("tRNS", []byte{0, 7}))},
		{"png paletted", encPaletted(t, photo)},
		{"png interlaced RGBA64", zeroPNG(t, w, h, 16, 6, true)},
		{"gif", encGIF(t, photo)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hd, err := checkHeader(tt.data, Options{}.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			img, err := decode(hd.format, tt.data)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			got := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("%T: allocated %d, estimated %d (%.2f)", img, got, hd.decodeBytes, float64(hd.decodeBytes)/float64(got))
			if got > hd.decodeBytes {
				t.Fatalf("decode allocated %d bytes, the header estimated %d", got, hd.decodeBytes)
			}
			if hd.decodeBytes > 2*got {
				t.Fatalf("estimate %d is more than twice the %d allocated", hd.decodeBytes, got)
			}
		})
	}
}

// TestJPEGLayout reads what decides image/jpeg's allocations from crafted headers.
func TestJPEGLayout(t *testing.T) {
	tests := []struct {
		name        string
		data        []byte
		progressive bool
		converted   bool
		bytes       float64 // for 16×16
	}{
		{"4:2:0", jpegFrame(16, 16, 0xC0, ycc420, jfif), false, false, 256 + 64 + 64},
		{"4:4:4 progressive", jpegFrame(16, 16, 0xC2, ycc444, jfif), true, false, 5 * 3 * 256},
		{"cmyk", jpegFrame(16, 16, 0xC0, cmyk, adobe2), false, true, 4*256 + 4*256},
		{"adobe transform 0", jpegFrame(16, 16, 0xC0, ycc444), false, false, 3 * 256},
		{"adobe transform 0 is RGB", jpegFrame(16, 16, 0xC0, ycc444, adobe0), false, true, 3*256 + 4*256},
		{"gray 1×1 sampling ignored", jpegFrame(16, 16, 0xC0, [][2]byte{{1, 0x22}}), false, false, 256},
		{"junk before a marker", append([]byte{0xFF, 0xD8, 0x00, 0x00}, jpegFrame(16, 16, 0xC0, ycc420)[2:]...), false, false, 256 + 64 + 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, ok := jpegLayoutOf(tt.data)
			if !ok {
				t.Fatal("not read")
			}
			if l.progressive != tt.progressive || l.converted != tt.converted || l.bytes(16, 16) != tt.bytes {
				t.Fatalf("got %+v bytes %v", l, l.bytes(16, 16))
			}
		})
	}
}

func withChunkBeforeIDAT(p, chunk []byte) []byte {
	i := bytes.Index(p, []byte("IDAT")) - 4
	out := append([]byte{}, p[:i]...)
	out = append(out, chunk...)
	return append(out, p[i:]...)
}

func encPaletted(t testing.TB, m image.Image) []byte {
	t.Helper()
	b := m.Bounds()
	p := image.NewPaletted(b, gifPalette())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p.Set(x, y, m.At(x, y))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestProcessRefusesIssueBomb is issue 11's repro: a 311 KB PNG, 6324×6324, 16-bit
// RGBA, all zero. Under the 40 MP limit, it used to be decoded (320 MB per request); it
// must be refused from its header, allocating next to nothing.
func TestProcessRefusesIssueBomb(t *testing.T) {
	bomb := zeroPNG(t, 6324, 6324, 16, 6, false)
	if len(bomb) > 400<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Process(bomb, Options{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, filing.ErrImageTooLargeDimensions) {
		t.Fatalf("Process: %v, want image_too_large_dimensions", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("refusing it allocated %d bytes", got)
	}
}

// FuzzDecodeBytes: for any bytes whose header passes, the header's estimate covers what
// the decoder then allocates (TotalAlloc, every byte however short-lived), and the
// decode-memory rule refuses exactly what the estimate puts over the limit.
func FuzzDecodeBytes(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add(jpegFrame(300, 200, 0xC2, ycc444, jfif))
	f.Add(jpegFrame(300, 200, 0xC0, cmyk, adobe2))
	f.Add(pngHead(300, 200, 16, 0, true, pngChunk("tRNS", []byte{0, 0})))
	f.Add(zeroPNG(f, 64, 48, 16, 6, true))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A small pixel limit keeps each decode quick; the memory rule is the same.
		h, err := checkHeader(data, Options{MaxPixels: 1 << 20}.withDefaults())
		if err != nil {
			var fe *filing.Error
			if errors.As(err, &fe) && fe.Details["decoded_bytes"] != nil {
				if d, _ := fe.Details["decoded_bytes"].(int64); d <= MaxDecodeBytes {
					t.Fatalf("refused with decoded_bytes %d under the limit", d)
				}
			}
			return
		}
		if h.decodeBytes <= 0 || h.decodeBytes > MaxDecodeBytes {
			t.Fatalf("accepted with decodeBytes %d", h.decodeBytes)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _ = decode(h.format, data)
		runtime.ReadMemStats(&after)
		if got := int64(after.TotalAlloc - before.TotalAlloc); got > h.decodeBytes {
			t.Fatalf("%s %dx%d: decode allocated %d, header estimated %d", h.format, h.width, h.height, got, h.decodeBytes)
		}
	})
}

// TestCostCoversProcess: what Cost reserves covers everything Process allocates (counted
// as TotalAlloc, garbage included) for plain uploads, and what Fit and Stitch hold live at
// their peak (HeapAlloc polled is unreliable in a test; their estimate must at least cover
// the decode and the RGBA copies they are known to make).
func TestCostCoversProcess(t *testing.T) {
	photo := genPhoto(1600, 1200, 5, 8)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"jpeg", encJPEG(t, photo, 90)},
		{"jpeg with exif", jpegWithMetadata(encJPEG(t, photo, 90), 6)},
		{"png", encPNG(t, photo)},
		{"gif", encGIF(t, photo)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cost, err := Cost(tc.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := Process(tc.data, Options{}); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			if got := int64(after.TotalAlloc - before.TotalAlloc); got > cost {
				t.Fatalf("Process allocated %d, Cost reserved %d", got, cost)
			}
			fitCost, err := Cost(tc.data, Options{Fit: true})
			if err != nil {
				t.Fatal(err)
			}
			if min := cost + 3*4*1600*1200; fitCost < min {
				t.Fatalf("fit cost %d under decode + three RGBA copies %d", fitCost, min)
			}
		})
	}
	j := encJPEG(t, photo, 90)
	sc, err := StitchCost([][]byte{j, j, j}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if canvas := int64(4 * (1600 + 48) * (24 + 3*(1200+24))); sc < 2*canvas {
		t.Fatalf("stitch cost %d under its canvas %d", sc, canvas)
	}
	if _, err := StitchCost([][]byte{j}, Options{}); !errors.Is(err, filing.ErrInvalidRequest) {
		t.Fatalf("one part: %v", err)
	}
	bomb := pngHead(6324, 6324, 16, 6, false)
	if _, err := StitchCost([][]byte{j, bomb}, Options{}); !errors.Is(err, filing.ErrImageTooLargeDimensions) {
		t.Fatalf("bomb part: %v", err)
	}
}
