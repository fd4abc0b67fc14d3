package images

import (
	"errors"
	"image"
	"testing"
)

// bench12MP is one 4000×3000 (12 MP) JPEG with photo-like content and sensor noise,
// about 3.5 MB like a phone's photo, generated once for all benchmarks.
var bench12MP = onceJPEG(90, func() image.Image { return genPhoto(4000, 3000, 2, 15) })

// benchLoop times op, which works on data: it reports throughput in data's bytes and
// allocations, and fails on op's first error. What op needs prepared is done before the
// call, outside the timing.
func benchLoop(b *testing.B, data []byte, op func() error) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeaderChecks is what is done before any pixel is decoded: sniffing, the
// header's dimensions against the pixel limit, the EXIF orientation.
func BenchmarkHeaderChecks(b *testing.B) {
	data := bench12MP()
	opts := Options{}.withDefaults()
	benchLoop(b, data, func() error {
		_, err := checkHeader(data, opts)
		return err
	})
}

func BenchmarkFullDecode(b *testing.B) {
	data := bench12MP()
	benchLoop(b, data, func() error {
		_, err := decode(JPEG, data)
		return err
	})
}

// BenchmarkQuality is the warnings analysis of an already decoded image: the quality
// warnings alone (a certificate, the form), and with the face photo's face detection and
// background rule.
func BenchmarkQuality(b *testing.B) {
	data := bench12MP()
	img, err := decode(JPEG, data)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts Options
	}{{"faces=none", Options{}}, {"faces=photo", Options{Face: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			benchLoop(b, data, func() error {
				if w := analyze(img, tc.opts, 1); w == nil {
					return errors.New("nil warnings")
				}
				return nil
			})
		})
	}
}

// BenchmarkProcess is the whole of an upload: checks, decode, strip, warnings.
func BenchmarkProcess(b *testing.B) {
	data := bench12MP()
	benchLoop(b, data, func() error {
		_, err := Process(data, Options{})
		return err
	})
}

// BenchmarkFit is Process with ?fit=1 on the same photo (decode, re-encode under 4 MiB).
func BenchmarkFit(b *testing.B) {
	data := bench12MP()
	benchLoop(b, data, func() error {
		_, err := Process(data, Options{Fit: true})
		return err
	})
}
