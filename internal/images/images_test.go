package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

var (
	white = color.RGBA{250, 250, 250, 255}
	red   = color.RGBA{220, 30, 30, 255}
	blue  = color.RGBA{30, 60, 220, 255}
	green = color.RGBA{30, 200, 60, 255}
)

// photoJPEG is a 900×700 colourful sharp photo, generated once.
var photoJPEG = onceJPEG(90, func() image.Image { return genPhoto(900, 700, 1, 3) })

func TestFormatContentType(t *testing.T) {
	for f, want := range map[Format]string{JPEG: "image/jpeg", PNG: "image/png", GIF: "image/gif"} {
		if got := f.ContentType(); got != want {
			t.Errorf("%s.ContentType() = %q, want %q", f, got, want)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		want     Format
		detected string // for unsupported: details.detected, "" for none
	}{
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0}, JPEG, ""},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), PNG, ""},
		{"gif87a", []byte("GIF87a\x01\x00"), GIF, ""},
		{"gif89a", []byte("GIF89a\x01\x00"), GIF, ""},
		{"bmp", append([]byte("BM"), make([]byte, 60)...), "", "bmp"},
		{"webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00"), "", "webp"},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), "", "heic"},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), "", "tiff"},
		{"pdf renamed .jpg", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), "", "pdf"},
		{"text", []byte("hello, this is not an image"), "", ""},
		{"empty", nil, "", ""},
		{"jpeg soi only", []byte{0xFF, 0xD8}, "", ""},
		{"png signature cut", []byte("\x89PNG\r\n"), "", ""},
		{"name says jpg, bytes say png", []byte("\x89PNG\r\n\x1a\n"), PNG, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sniff(tt.data)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("Sniff = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			assertCode(t, err, filing.CodeUnsupportedFormat)
			var fe *filing.Error
			errors.As(err, &fe)
			if d, _ := fe.Details["detected"].(string); d != tt.detected {
				t.Errorf("details.detected = %q, want %q", d, tt.detected)
			}
			// A PDF is named as one, with how to make an image of it.
			if tt.detected == "pdf" && !strings.Contains(fe.MessageZh, "PDF") {
				t.Errorf("message_zh %q does not say it is a PDF", fe.MessageZh)
			}
		})
	}
}

func assertCode(tb testing.TB, err error, code string) *filing.Error {
	tb.Helper()
	if err == nil {
		tb.Fatalf("err = nil, want %s", code)
	}
	var fe *filing.Error
	if !errors.As(err, &fe) || fe.Code != code {
		tb.Fatalf("err = %v, want code %s", err, code)
	}
	return fe
}

// countingReader serves n bytes of zeros (or forever if n < 0) and counts them.
type countingReader struct {
	n, served int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n >= 0 && r.served >= r.n {
		return 0, io.EOF
	}
	k := int64(len(p))
	if r.n >= 0 {
		k = min(k, r.n-r.served)
	}
	r.served += k
	return int(k), nil
}

func TestReadLimited(t *testing.T) {
	const limit = 100_000
	tests := []struct {
		name    string
		n       int64 // bytes available, -1 for endless
		wantErr bool
	}{
		{"empty", 0, false},
		{"small", 10, false},
		{"exactly the limit", limit, false},
		{"one byte over", limit + 1, true},
		{"endless", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &countingReader{n: tt.n}
			got, err := ReadLimited(r, limit)
			if r.served > limit+1 {
				t.Errorf("read %d bytes, never more than limit+1 = %d", r.served, limit+1)
			}
			if tt.wantErr {
				fe := assertCode(t, err, filing.CodeTooLarge)
				if fe.Details["max_bytes"] != int64(limit) {
					t.Errorf("details = %v", fe.Details)
				}
				return
			}
			if err != nil || int64(len(got)) != tt.n {
				t.Fatalf("got %d bytes, %v; want %d", len(got), err, tt.n)
			}
		})
	}
	t.Run("reader error is returned", func(t *testing.T) {
		want := errors.New("connection reset")
		if _, err := ReadLimited(io.MultiReader(strings.NewReader("abc"), errReader{want}), 10); err != want {
			t.Fatalf("err = %v, want %v", err, want)
		}
	})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// pngHeaderOnly is a PNG whose IHDR claims w×h, followed by a tiny IDAT and IEND.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	out := append([]byte{}, pngSignature...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

// jpegHeaderOnly is a JPEG whose frame header claims w×h.
func jpegHeaderOnly(w, h uint16) []byte {
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
	out := []byte{0xFF, 0xD8}
	out = append(out, segment(0xC0, sof)...)
	out = append(out, segment(0xDA, []byte{3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0})...)
	return append(out, 0xFF, 0xD9)
}

func gifHeaderOnly(w, h uint16) []byte {
	out := []byte("GIF89a")
	out = binary.LittleEndian.AppendUint16(out, w)
	out = binary.LittleEndian.AppendUint16(out, h)
	return append(out, 0, 0, 0, 0x3B)
}

func animatedGIF(t testing.TB) []byte {
	pal := color.Palette{color.White, color.Black, red}
	frame := func(c uint8) *image.Paletted {
		m := image.NewPaletted(image.Rect(0, 0, 320, 320), pal)
		for i := range m.Pix {
			m.Pix[i] = c
		}
		return m
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame(1), frame(2)}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestProcessErrors(t *testing.T) {
	photo := photoJPEG()
	photoPNG := encPNG(t, genPhoto(400, 320, 2, 3))
	padded := func(img []byte, n int) []byte { // img followed by zeros, n bytes in all
		out := make([]byte, n)
		copy(out, img)
		return out
	}
	badCRC := bytes.Clone(photoPNG)
	badCRC[len(badCRC)-20] ^= 0xFF // inside the last IDAT

	tests := []struct {
		name    string
		data    []byte
		opts    Options
		code    string
		details map[string]any // expected subset of details
	}{
		{"exactly 4 MiB", padded(photo, 4<<20), Options{}, filing.CodeTooLarge, map[string]any{"max_bytes": int64(4 << 20)}},
		{"over 4 MiB", padded(photo, 5<<20), Options{}, filing.CodeTooLarge, nil},
		{"over fit limit", padded(photo, 20<<20+1), Options{Fit: true}, filing.CodeTooLarge, map[string]any{"max_bytes": int64(20 << 20)}},
		{"bmp", append([]byte("BM"), make([]byte, 1000)...), Options{}, filing.CodeUnsupportedFormat, map[string]any{"detected": "bmp"}},
		{"webp header", []byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00"), Options{}, filing.CodeUnsupportedFormat, map[string]any{"detected": "webp"}},
		{"text", []byte("GIF? no, just text"), Options{}, filing.CodeUnsupportedFormat, nil},
		{"empty", nil, Options{}, filing.CodeUnsupportedFormat, nil},
		{"truncated jpeg", photo[:len(photo)/2], Options{}, filing.CodeCorruptImage, nil},
		{"jpeg without EOI", photo[:len(photo)-2], Options{}, filing.CodeCorruptImage, nil},
		{"jpeg header only", photo[:200], Options{}, filing.CodeCorruptImage, nil},
		{"truncated png", photoPNG[:len(photoPNG)/2], Options{}, filing.CodeCorruptImage, nil},
		{"png with bad crc", badCRC, Options{}, filing.CodeCorruptImage, nil},
		{"truncated gif", encGIF(t, genPhoto(320, 320, 3, 0))[:2000], Options{}, filing.CodeCorruptImage, nil},
		{"zero-size png", pngHeaderOnly(0, 0), Options{}, filing.CodeCorruptImage, nil},
		{"zero-size gif", gifHeaderOnly(0, 0), Options{}, filing.CodeCorruptImage, nil},
		{"short side 299 jpeg", encJPEG(t, genPhoto(299, 500, 4, 3), 90), Options{}, filing.CodeImageTooSmall,
			map[string]any{"min_short_side": 300, "width": 299, "height": 500}},
		{"short side 299 png", encPNG(t, genPhoto(800, 299, 4, 3)), Options{}, filing.CodeImageTooSmall, nil},
		{"short side 299 with fit", encJPEG(t, genPhoto(299, 500, 4, 3), 90), Options{Fit: true}, filing.CodeImageTooSmall, nil},
		{"png claiming 100000x100000", pngHeaderOnly(100000, 100000), Options{}, filing.CodeImageTooLargeDimensions,
			map[string]any{"width": 100000, "height": 100000, "max_pixels": int64(40_000_000)}},
		{"jpeg claiming 65500x65500", jpegHeaderOnly(65500, 65500), Options{}, filing.CodeImageTooLargeDimensions, nil},
		{"gif claiming 65535x65535", gifHeaderOnly(65535, 65535), Options{}, filing.CodeImageTooLargeDimensions, nil},
		{"png flood with fit", pngHeaderOnly(100000, 100000), Options{Fit: true}, filing.CodeImageTooLargeDimensions, nil},
		{"just over 40 MP", pngHeaderOnly(8000, 5001), Options{}, filing.CodeImageTooLargeDimensions, nil},
		{"animated gif", animatedGIF(t), Options{}, filing.CodeAnimatedGIF, nil},
		{"animated gif with fit", animatedGIF(t), Options{Fit: true}, filing.CodeAnimatedGIF, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Process(tt.data, tt.opts)
			if res != nil {
				t.Errorf("result = %+v, want nil", res)
			}
			fe := assertCode(t, err, tt.code)
			for k, v := range tt.details {
				if fe.Details[k] != v {
					t.Errorf("details[%q] = %v (%T), want %v (%T)", k, fe.Details[k], fe.Details[k], v, v)
				}
			}
			if fe.Message == "" || fe.MessageZh == "" {
				t.Errorf("empty message: %+v", fe)
			}
		})
	}
}

// TestPixelFloodRefusedBeforeDecoding: a header claiming 10 gigapixels is refused
// from the header, without allocating anything near the image's size.
func TestPixelFloodRefusedBeforeDecoding(t *testing.T) {
	data := pngHeaderOnly(100000, 100000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Process(data, Options{})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	assertCode(t, err, filing.CodeImageTooLargeDimensions)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d bytes refusing a pixel flood, want < 1 MiB", alloc)
	}
	if elapsed > time.Second {
		t.Errorf("took %v to refuse a pixel flood", elapsed)
	}
	if allocs := testing.AllocsPerRun(10, func() { _, _ = Process(data, Options{}) }); allocs > 50 {
		t.Errorf("%v allocations per refusal, want a handful", allocs)
	}
}

func TestProcessAcceptsUnderLimit(t *testing.T) {
	// A valid JPEG padded with trailing bytes to 4 MiB − 1 is accepted (the padding
	// is after EOI and is stripped).
	photo := photoJPEG()
	data := make([]byte, 4<<20-1)
	copy(data, photo)
	res, err := Process(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Data, photo) || res.OriginalSize != int64(len(data)) {
		t.Errorf("stored %d bytes (original %d), want the %d bytes of the image", len(res.Data), res.OriginalSize, len(photo))
	}
}

func TestWarnings(t *testing.T) {
	photo := genPhoto(900, 700, 1, 3)
	darken := func(r, g, b uint8) (uint8, uint8, uint8) { return r / 4, g / 4, b / 4 }
	washOut := func(r, g, b uint8) (uint8, uint8, uint8) {
		return 255 - (255-r)/4, 255 - (255-g)/4, 255 - (255-b)/4
	}
	tests := []struct {
		name string
		data []byte
		face bool
		want []string
	}{
		{"colour photo", encJPEG(t, photo, 90), false, []string{}},
		{"colour photo as png", encPNG(t, photo), false, []string{}},
		{"colour photo as gif", encGIF(t, genPhoto(400, 320, 1, 0)), false, []string{}},
		// The generated scenes and "faces" are no faces to the detector: on the face slot
		// they also get no_face (faces_test.go tests the face rules on real faces).
		{"colour photo, face slot", encJPEG(t, photo, 90), true, []string{WarnBackgroundNotWhite, WarnNoFace}},
		{"grayscale photo", encJPEG(t, mapPixels(photo, toGray), 90), false, []string{WarnGrayscale}},
		{"grayscale photo as png", encPNG(t, mapPixels(photo, toGray)), false, []string{WarnGrayscale}},
		{"blurred photo", encJPEG(t, blur(photo, 3), 90), false, []string{WarnBlurry}},
		{"dark photo", encJPEG(t, mapPixels(photo, darken), 90), false, []string{WarnTooDark}},
		{"overexposed photo", encJPEG(t, mapPixels(photo, washOut), 90), false, []string{WarnOverexposed}},
		{"document with red seal", encJPEG(t, genDocument(700, 990, true), 90), false, []string{}},
		{"black and white document", encJPEG(t, genDocument(700, 990, false), 90), false, []string{WarnGrayscale}},
		{"blurred document with seal", encJPEG(t, blur(genDocument(700, 990, true), 3), 90), false, []string{WarnBlurry}},
		{"face on white", encJPEG(t, genFace(600, 800, white), 90), true, []string{WarnNoFace}},
		{"face on white, not face slot", encJPEG(t, genFace(600, 800, white), 90), false, []string{}},
		{"face on blue", encJPEG(t, genFace(600, 800, color.RGBA{60, 140, 220, 255}), 90), true, []string{WarnBackgroundNotWhite, WarnNoFace}},
		{"face on blue, not face slot", encJPEG(t, genFace(600, 800, color.RGBA{60, 140, 220, 255}), 90), false, []string{}},
		{"face on white, overexposed", encJPEG(t, mapPixels(genFace(600, 800, white), washOut), 90), true, []string{WarnOverexposed, WarnNoFace}},
		{"gray, blurred and dark, on blue", encJPEG(t, mapPixels(blur(genFace(600, 800, color.RGBA{60, 140, 220, 255}), 3), func(r, g, b uint8) (uint8, uint8, uint8) {
			return toGray(darken(r, g, b))
		}), 90), true, []string{WarnGrayscale, WarnBlurry, WarnTooDark, WarnBackgroundNotWhite, WarnNoFace}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Process(tt.data, Options{Face: tt.face})
			if err != nil {
				t.Fatal(err)
			}
			if res.Warnings == nil || !reflect.DeepEqual(res.Warnings, tt.want) {
				img, _, _ := image.Decode(bytes.NewReader(tt.data))
				m, _ := measure(reduce(img), DefaultGray)
				t.Errorf("warnings = %#v, want %#v (metrics %+v)", res.Warnings, tt.want, m)
			}
		})
	}
}

func TestThresholdsOverride(t *testing.T) {
	data := encJPEG(t, genPhoto(900, 700, 1, 3), 90)
	res, err := Process(data, Options{Thresholds: Thresholds{Dark: 200, Blur: 1e9}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{WarnBlurry, WarnTooDark}; !reflect.DeepEqual(res.Warnings, want) {
		t.Errorf("warnings = %v, want %v", res.Warnings, want)
	}
}

// samePixels decodes both and compares every pixel.
func samePixels(t *testing.T, a, b []byte) {
	t.Helper()
	ia, _, err := image.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatalf("decoding original: %v", err)
	}
	ib, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding stripped: %v", err)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("bounds %v, want %v", ib.Bounds(), ia.Bounds())
	}
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if ia.At(x, y) != ib.At(x, y) {
				t.Fatalf("pixel %d,%d differs: %v vs %v", x, y, ia.At(x, y), ib.At(x, y))
			}
		}
	}
}

func TestStrip(t *testing.T) {
	photo := genPhoto(640, 480, 5, 3)
	plainJPEG := encJPEG(t, photo, 90)
	plainPNG := encPNG(t, photo)
	plainGIF := encGIF(t, genPhoto(400, 320, 5, 0))
	secrets := []string{secretMake, secretDatum, secretXMP, secretIPTC, secretCOM, secretTrail,
		secretText, secretITXt, secretZKey, secretGIFCom, "tIME", "eXIf", "XMP DataXMP"}

	tests := []struct {
		name        string
		data        []byte
		format      Format
		keep        []string // byte strings that must survive
		orientation int      // EXIF orientation kept (JPEG)
		w, h        int      // as displayed
	}{
		{"jpeg with exif orientation 6, gps, xmp, iptc, comment, trailer", jpegWithMetadata(plainJPEG, 6), JPEG,
			[]string{"ICC_PROFILE\x00"}, 6, 480, 640},
		{"jpeg with exif orientation 1", jpegWithMetadata(plainJPEG, 1), JPEG, []string{"ICC_PROFILE\x00"}, 1, 640, 480},
		{"jpeg with exif orientation 3", jpegWithMetadata(plainJPEG, 3), JPEG, nil, 3, 640, 480},
		{"png with text, exif, time, trailer", pngWithMetadata(plainPNG), PNG, []string{"gAMA", "IDAT", "IEND"}, 1, 640, 480},
		{"gif with comment, xmp, trailer", gifWithMetadata(plainGIF), GIF, nil, 1, 400, 320},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Process(tt.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tt.format || res.Width != tt.w || res.Height != tt.h || res.Fitted {
				t.Errorf("result %s %dx%d fitted=%v, want %s %dx%d", res.Format, res.Width, res.Height, res.Fitted, tt.format, tt.w, tt.h)
			}
			if res.OriginalSize != int64(len(tt.data)) || len(res.Data) >= len(tt.data) {
				t.Errorf("stored %d of %d bytes", len(res.Data), res.OriginalSize)
			}
			for _, s := range secrets {
				if bytes.Contains(res.Data, []byte(s)) {
					t.Errorf("stored image still contains %q", s)
				}
			}
			for _, s := range tt.keep {
				if !bytes.Contains(res.Data, []byte(s)) {
					t.Errorf("stored image lost %q", s)
				}
			}
			samePixels(t, tt.data, res.Data)
			if tt.format == JPEG {
				if got := jpegOrientation(res.Data); got != tt.orientation {
					t.Errorf("orientation = %d, want %d", got, tt.orientation)
				}
				hasMinimal := bytes.Contains(res.Data, minimalExifSegment(tt.orientation))
				if hasMinimal != (tt.orientation != 1) {
					t.Errorf("minimal EXIF present = %v, want %v", hasMinimal, tt.orientation != 1)
				}
			}
			// Stripping is idempotent: the stored image has nothing left to strip.
			again, err := Process(res.Data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Data, res.Data) {
				t.Errorf("stripping the stored image changed it again")
			}
		})
	}
}

func TestNoMetadataByteIdentical(t *testing.T) {
	photo := genPhoto(640, 480, 6, 3)
	tests := []struct {
		name string
		data []byte
	}{
		{"jpeg", encJPEG(t, photo, 85)},
		{"jpeg with jfif app0", func() []byte {
			p := encJPEG(t, photo, 85)
			jfif := segment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"))
			return append(append(append([]byte{}, p[:2]...), jfif...), p[2:]...)
		}()},
		{"jpeg with minimal exif orientation 8", func() []byte {
			p := encJPEG(t, photo, 85)
			return append(append(append([]byte{}, p[:2]...), minimalExifSegment(8)...), p[2:]...)
		}()},
		{"png", encPNG(t, photo)},
		{"gray png", encPNG(t, image.NewGray(image.Rect(0, 0, 300, 300)))},
		{"gif", encGIF(t, genPhoto(400, 320, 6, 0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Process(tt.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Data, tt.data) {
				t.Fatalf("stored %d bytes differ from the %d uploaded", len(res.Data), len(tt.data))
			}
		})
	}
}

func TestStripJFIFThumbnail(t *testing.T) {
	p := encJPEG(t, genPhoto(400, 320, 7, 3), 85)
	thumb := append([]byte("JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x02\x01"), bytes.Repeat([]byte("THUMB"), 6)[:6]...)
	data := append(append(append([]byte{}, p[:2]...), segment(0xE0, thumb)...), p[2:]...)
	res, err := Process(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(res.Data, []byte("THUMB")) {
		t.Error("JFIF thumbnail kept")
	}
	if !bytes.Contains(res.Data, []byte("JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00")) {
		t.Error("JFIF header lost")
	}
	samePixels(t, data, res.Data)
}

// oriented6 is a 1200×800 upright photo with a red block at its top-left, stored
// rotated so that EXIF orientation 6 shows it upright; with GPS and other metadata.
func oriented6(t testing.TB) (stored []byte) {
	upright := genPhoto(1200, 800, 8, 2)
	fillRect(upright, image.Rect(0, 0, 200, 150), red)
	fillRect(upright, image.Rect(1000, 650, 1200, 800), blue)
	return jpegWithMetadata(encJPEG(t, rotateCCW(upright), 92), 6)
}

// bigNoisy is a 6000×4000 (24 MP) photo with strong noise, about 20 MB as a JPEG:
// it compresses badly, so fitting it under 4 MiB needs real downscaling.
var bigNoisy = onceJPEG(92, func() image.Image { return genPhoto(6000, 4000, 9, 70) })

func TestFit(t *testing.T) {
	var big []byte
	if !raceEnabled { // the 24 MP input takes minutes under the race detector
		big = bigNoisy()
		t.Logf("big noisy input: %d bytes", len(big))
		if len(big) < 15<<20 || len(big) > 20<<20 {
			t.Fatalf("test input is %d bytes, want 15–20 MiB", len(big))
		}
	}
	transparent := image.NewNRGBA(image.Rect(0, 0, 600, 400))
	for y := 0; y < 400; y++ {
		for x := 0; x < 600; x++ {
			if x < 300 {
				transparent.SetNRGBA(x, y, color.NRGBA{30, 200, 60, 255})
			} // the right half stays fully transparent
		}
	}
	tests := []struct {
		name      string
		data      []byte
		w, h      int // expected size, 0 to check only the long-side rule
		regions   map[image.Rectangle][3]int
		minLong   int
		wantWarns []string
	}{
		{"24 MP noisy photo", big, 0, 0, nil, 2000, nil},
		{"orientation 6 is applied", oriented6(t), 1200, 800, map[image.Rectangle][3]int{
			image.Rect(20, 20, 180, 130):     {220, 30, 30},
			image.Rect(1020, 670, 1180, 780): {30, 60, 220},
		}, 0, []string{}},
		{"small png is re-encoded as jpeg", encPNG(t, genPhoto(500, 400, 10, 3)), 500, 400, nil, 0, []string{}},
		{"transparent png on white", encPNG(t, transparent), 600, 400, map[image.Rectangle][3]int{
			image.Rect(20, 20, 280, 380):  {30, 200, 60},
			image.Rect(320, 20, 580, 380): {255, 255, 255},
		}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.data == nil {
				t.Skip("skipped under the race detector")
			}
			res, err := Process(tt.data, Options{Fit: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != JPEG || !res.Fitted || res.OriginalSize != int64(len(tt.data)) {
				t.Errorf("format %s fitted %v original %d", res.Format, res.Fitted, res.OriginalSize)
			}
			if len(res.Data) >= 4<<20 {
				t.Errorf("fitted image is %d bytes, want < 4 MiB", len(res.Data))
			}
			if bytes.Contains(res.Data, []byte("Exif")) || bytes.Contains(res.Data, []byte(secretMake)) {
				t.Error("fitted image has metadata")
			}
			img := decodeJPEG(t, res.Data)
			if b := img.Bounds(); b.Dx() != res.Width || b.Dy() != res.Height {
				t.Errorf("decoded %v, result says %dx%d", b, res.Width, res.Height)
			}
			if tt.w != 0 && (res.Width != tt.w || res.Height != tt.h) {
				t.Errorf("size %dx%d, want %dx%d", res.Width, res.Height, tt.w, tt.h)
			}
			if long := max(res.Width, res.Height); long < tt.minLong {
				t.Errorf("long side %d, want >= %d", long, tt.minLong)
			}
			if tt.minLong > 0 && len(res.Data) < 3<<20 {
				// Downscaled only as far as needed: the result uses most of the budget.
				t.Errorf("fitted to %d bytes (%dx%d): shrunk more than needed", len(res.Data), res.Width, res.Height)
			}
			checkRegions(t, img, tt.regions, 20)
			if tt.wantWarns != nil && !reflect.DeepEqual(res.Warnings, tt.wantWarns) {
				t.Errorf("warnings %v, want %v", res.Warnings, tt.wantWarns)
			}
			t.Logf("%d -> %d bytes, %dx%d", len(tt.data), len(res.Data), res.Width, res.Height)
		})
	}
}

// TestOrientationWithoutFit: the stored JPEG keeps only a minimal EXIF with the
// orientation, and reports its displayed size.
func TestOrientationWithoutFit(t *testing.T) {
	data := oriented6(t)
	res, err := Process(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 1200 || res.Height != 800 {
		t.Errorf("displayed size %dx%d, want 1200x800", res.Width, res.Height)
	}
	if !bytes.Contains(res.Data, minimalExifSegment(6)) || bytes.Contains(res.Data, []byte(secretDatum)) {
		t.Error("want the minimal EXIF with orientation 6 and no GPS")
	}
	samePixels(t, data, res.Data)
}

func TestOrient(t *testing.T) {
	// A 3×2 image whose pixels are numbered; each orientation must move pixel
	// (x, y) of the stored image where EXIF says it is displayed.
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := 0; i < 6; i++ {
		src.Pix[4*i] = uint8(i + 1)
	}
	// Displayed images, row by row, as numbers (see the EXIF specification's figures).
	want := map[int][][]uint8{
		1: {{1, 2, 3}, {4, 5, 6}},
		2: {{3, 2, 1}, {6, 5, 4}},
		3: {{6, 5, 4}, {3, 2, 1}},
		4: {{4, 5, 6}, {1, 2, 3}},
		5: {{1, 4}, {2, 5}, {3, 6}},
		6: {{4, 1}, {5, 2}, {6, 3}},
		7: {{6, 3}, {5, 2}, {4, 1}},
		8: {{3, 6}, {2, 5}, {1, 4}},
	}
	for o := 1; o <= 8; o++ {
		got := orient(src, o)
		var rows [][]uint8
		for y := 0; y < got.Rect.Dy(); y++ {
			var row []uint8
			for x := 0; x < got.Rect.Dx(); x++ {
				row = append(row, got.Pix[got.PixOffset(x, y)])
			}
			rows = append(rows, row)
		}
		if !reflect.DeepEqual(rows, want[o]) {
			t.Errorf("orientation %d: %v, want %v", o, rows, want[o])
		}
	}
}

func TestStitch(t *testing.T) {
	redJPEG := encJPEG(t, solid(800, 600, red), 90)
	bluePNG := encPNG(t, solid(400, 300, blue))
	// An upright 600×400 image, top half green and bottom half red, stored rotated
	// with orientation 6.
	upright := solid(600, 400, green)
	fillRect(upright, image.Rect(0, 200, 600, 400), red)
	rotated := jpegWithMetadata(encJPEG(t, rotateCCW(upright), 90), 6)
	// stitched stitches parts, which must succeed, and decodes the stored JPEG.
	stitched := func(t *testing.T, parts ...[]byte) (*Result, image.Image) {
		t.Helper()
		res, err := Stitch(parts, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res, decodeJPEG(t, res.Data)
	}

	t.Run("two parts in order", func(t *testing.T) {
		res, img := stitched(t, redJPEG, bluePNG)
		// Width 800 + margins; heights 600 and 300 (blue scaled up to 800 wide).
		if res.Width != 800+2*24 || res.Height != 24+600+24+600+24 || res.Format != JPEG || res.Fitted {
			t.Fatalf("got %dx%d %s fitted=%v", res.Width, res.Height, res.Format, res.Fitted)
		}
		checkRegions(t, img, map[image.Rectangle][3]int{
			image.Rect(100, 100, 700, 500):   {220, 30, 30}, // first part
			image.Rect(100, 750, 700, 1150):  {30, 60, 220}, // second part, below
			image.Rect(0, 0, 848, 12):        {255, 255, 255},
			image.Rect(100, 630, 700, 642):   {255, 255, 255}, // margin between
			image.Rect(0, 100, 12, 1200):     {255, 255, 255},
			image.Rect(100, 1252, 700, 1272): {255, 255, 255},
		}, 16)
		if res.OriginalSize != int64(len(redJPEG)+len(bluePNG)) || len(res.Data) >= 4<<20 {
			t.Errorf("original %d, stored %d", res.OriginalSize, len(res.Data))
		}
		if res.Warnings == nil {
			t.Error("warnings nil")
		}
	})
	t.Run("orientation applied and width capped", func(t *testing.T) {
		wide := encJPEG(t, solid(3000, 400, blue), 90)
		res, img := stitched(t, rotated, wide)
		if res.Width != 2000+48 {
			t.Fatalf("width %d, want %d", res.Width, 2048)
		}
		// The first part is 2000×1333: green above red.
		checkRegions(t, img, map[image.Rectangle][3]int{
			image.Rect(100, 100, 1900, 600):   {30, 200, 60},
			image.Rect(100, 800, 1900, 1300):  {220, 30, 30},
			image.Rect(100, 1400, 1900, 1600): {30, 60, 220},
		}, 16)
	})
	errTests := []struct {
		name  string
		parts [][]byte
		code  string
		part  any
	}{
		{"one part", [][]byte{redJPEG}, filing.CodeInvalidRequest, nil},
		{"none", nil, filing.CodeInvalidRequest, nil},
		{"nine parts", func() [][]byte {
			p := make([][]byte, 9)
			for i := range p {
				p[i] = redJPEG
			}
			return p
		}(), filing.CodeInvalidRequest, nil},
		{"second part corrupt", [][]byte{redJPEG, redJPEG[:len(redJPEG)/2]}, filing.CodeCorruptImage, 1},
		{"first part unsupported", [][]byte{[]byte("BM not really"), redJPEG}, filing.CodeUnsupportedFormat, 0},
		{"second part too small", [][]byte{redJPEG, encPNG(t, solid(299, 400, blue))}, filing.CodeImageTooSmall, 1},
		{"second part animated", [][]byte{redJPEG, animatedGIF(t)}, filing.CodeAnimatedGIF, 1},
		{"first part pixel flood", [][]byte{pngHeaderOnly(100000, 100000), redJPEG}, filing.CodeImageTooLargeDimensions, 0},
		{"second part too large", [][]byte{redJPEG, make([]byte, 4<<20)}, filing.CodeTooLarge, 1},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Stitch(tt.parts, Options{})
			fe := assertCode(t, err, tt.code)
			if tt.part != nil && fe.Details["part"] != tt.part {
				t.Errorf("details.part = %v, want %v", fe.Details["part"], tt.part)
			}
		})
	}
}

// TestHostileInputs: broken structures must give a coded error, never a panic.
func TestHostileInputs(t *testing.T) {
	photo := photoJPEG()
	gifData := encGIF(t, genPhoto(320, 320, 12, 0))
	pngData := encPNG(t, genPhoto(320, 320, 12, 3))
	tests := []struct {
		name string
		data []byte
	}{
		{"jpeg segment length past end", append(bytes.Clone(photo[:2]), 0xFF, 0xE1, 0xFF, 0xFF, 'E')},
		{"jpeg segment length 0", append(bytes.Clone(photo[:2]), 0xFF, 0xE1, 0x00, 0x00)},
		{"jpeg exif with bad offsets", append(append(bytes.Clone(photo[:2]), segment(0xE1, []byte("Exif\x00\x00II*\x00\xff\xff\xff\xff"))...), photo[2:]...)},
		{"png chunk length huge", append(bytes.Clone(pngData[:33]), 0xFF, 0xFF, 0xFF, 0xF0, 't', 'E', 'X', 't')},
		{"png without IEND", pngData[:len(pngData)-12]},
		{"gif without trailer", gifData[:len(gifData)-1]},
		{"gif with garbage after image", append(bytes.Clone(gifData[:len(gifData)-1]), 0x99, 0x98)},
		{"gif extension cut", append(bytes.Clone(gifData[:13+gifColorTable(gifData[10])]), 0x21, 0xFE, 0x40, 'a')},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Process(tt.data, Options{})
			if err != nil {
				if filing.ErrorCode(err) == filing.CodeInternal {
					t.Fatalf("uncoded error %v", err)
				}
				return
			}
			// Accepted: the stored image must decode to the same size.
			if _, _, err := image.Decode(bytes.NewReader(res.Data)); err != nil {
				t.Fatalf("accepted, but the stored image does not decode: %v", err)
			}
			if bytes.HasSuffix(res.Data, []byte{0x99, 0x98}) {
				t.Error("garbage kept")
			}
		})
	}
}

var _ = png.Decode // image/png registers the decoder used by image.Decode in tests
