package images

import (
	"bytes"
	"image/jpeg"
	"sync"
	"testing"
)

// bench12MP is one 4000×3000 (12 MP) JPEG with photo-like content and sensor noise,
// about 3.5 MB like a phone's photo, generated once for all benchmarks.
var bench12MP = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, genPhoto(4000, 3000, 2, 15), &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// BenchmarkHeaderChecks is what is done before any pixel is decoded: sniffing, the
// header's dimensions against the pixel limit, the EXIF orientation.
func BenchmarkHeaderChecks(b *testing.B) {
	data := bench12MP()
	opts := Options{}.withDefaults()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := checkHeader(data, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFullDecode(b *testing.B) {
	data := bench12MP()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(JPEG, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQuality is the warnings analysis of an already decoded image.
func BenchmarkQuality(b *testing.B) {
	data := bench12MP()
	img, err := decode(JPEG, data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if w := analyze(img, true, Thresholds{}); w == nil {
			b.Fatal("nil warnings")
		}
	}
}

// BenchmarkProcess is the whole of an upload: checks, decode, strip, warnings.
func BenchmarkProcess(b *testing.B) {
	data := bench12MP()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Process(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFit is Process with ?fit=1 on the same photo (decode, re-encode under 4 MiB).
func BenchmarkFit(b *testing.B) {
	data := bench12MP()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Process(data, Options{Fit: true}); err != nil {
			b.Fatal(err)
		}
	}
}
