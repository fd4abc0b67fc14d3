package images

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

// fuzzSeeds are small valid and broken images of each format, with and without
// metadata.
func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	photo := genPhoto(40, 30, 1, 3)
	j := encJPEG(f, photo, 80)
	p := encPNG(f, photo)
	g := encGIF(f, photo)
	seeds := [][]byte{
		j, jpegWithMetadata(j, 6), jpegWithMetadata(j, 1), j[:len(j)/2], j[:len(j)-2],
		append(bytes.Clone(j[:2]), minimalExifSegment(8)...),
		p, pngWithMetadata(p), p[:len(p)/2], pngHeaderOnly(100000, 100000), pngHeaderOnly(0, 0),
		g, gifWithMetadata(g), g[:len(g)/2], g[:len(g)-1], gifHeaderOnly(65535, 65535),
		jpegHeaderOnly(65500, 65500), jpegHeaderOnly(0, 0),
		[]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), []byte("BM\x00\x00"), nil,
	}
	seeds = append(seeds,
		encJPEG(f, image.NewGray(image.Rect(0, 0, 17, 9)), jpeg.DefaultQuality),
		encPNG(f, image.NewNRGBA(image.Rect(0, 0, 5, 3))))
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{
		image.NewPaletted(image.Rect(0, 0, 4, 4), gifPalette()),
		image.NewPaletted(image.Rect(0, 0, 4, 4), gifPalette()),
	}, Delay: []int{1, 1}}); err == nil {
		seeds = append(seeds, buf.Bytes())
	}
	return seeds
}

func FuzzSniff(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Sniff(data)
		if err != nil {
			if !errors.Is(err, filing.ErrUnsupportedFormat) || got != "" {
				t.Fatalf("Sniff = %q, %v", got, err)
			}
			return
		}
		if got != JPEG && got != PNG && got != GIF {
			t.Fatalf("Sniff = %q", got)
		}
		if got.ContentType() == "application/octet-stream" {
			t.Fatalf("no content type for %q", got)
		}
	})
}

// fuzzDecodable decodes data if its header is small enough to decode quickly.
func fuzzDecodable(f Format, data []byte) (image.Image, bool) {
	if _, err := checkHeader(data, Options{MaxPixels: 1 << 20}.withDefaults()); err != nil {
		return nil, false
	}
	img, err := decode(f, data)
	return img, err == nil
}

func FuzzStrip(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Each parser must survive any bytes, whatever the format.
		for _, format := range []Format{JPEG, PNG, GIF} {
			_, _, _ = strip(format, data)
		}
		format, err := Sniff(data)
		if err != nil {
			return
		}
		in, ok := fuzzDecodable(format, data)
		if !ok {
			return
		}
		out, _, err := strip(format, data)
		if err != nil {
			t.Fatalf("input decodes but strip failed: %v", err)
		}
		got, err := decode(format, out)
		if err != nil {
			t.Fatalf("input decodes, stripped output does not: %v", err)
		}
		if got.Bounds() != in.Bounds() {
			t.Fatalf("bounds %v, want %v", got.Bounds(), in.Bounds())
		}
		again, _, err := strip(format, out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("stripping is not idempotent (err %v)", err)
		}
	})
}

func FuzzProcess(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, fit bool) {
		opts := Options{MinShortSide: 1, MaxPixels: 1 << 20, Fit: fit, Face: true}
		res, err := Process(data, opts)
		if err != nil {
			if filing.ErrorCode(err) == filing.CodeInternal {
				t.Fatalf("uncoded error: %v", err)
			}
			return
		}
		if res.Warnings == nil {
			t.Fatal("nil warnings")
		}
		f2, err := Sniff(res.Data)
		if err != nil || f2 != res.Format {
			t.Fatalf("stored data sniffs as %q (%v), result says %q", f2, err, res.Format)
		}
		img, err := decode(res.Format, res.Data)
		if err != nil {
			t.Fatalf("stored image does not decode: %v", err)
		}
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		if res.Format == GIF {
			// A GIF's size is its logical screen; its first frame may be smaller.
			if cfg, err := gif.DecodeConfig(bytes.NewReader(res.Data)); err == nil {
				w, h = cfg.Width, cfg.Height
			}
		}
		if o := jpegOrientation(res.Data); res.Format == JPEG && o >= 5 {
			w, h = h, w
		}
		if w != res.Width || h != res.Height {
			t.Fatalf("stored image is %dx%d, result says %dx%d", w, h, res.Width, res.Height)
		}
		if fit && (res.Format != JPEG || !res.Fitted) {
			t.Fatalf("fit gave %s fitted=%v", res.Format, res.Fitted)
		}
	})
}

func gifPalette() []color.Color { return []color.Color{color.Black, color.White} }
