package images

import (
	"errors"
	"image"
	"syscall"
	"testing"
	"time"
)

// bench12MP is one 4000×3000 (12 MP) JPEG with photo-like content and sensor noise,
// about 3.5 MB like a phone's photo, generated once for all benchmarks.
var bench12MP = onceJPEG(90, func() image.Image { return genPhoto(4000, 3000, 2, 15) })

// benchLoop times op, which works on data: it reports throughput in data's bytes,
// allocations and the process's CPU time per op (cpu-ms/op: on a shared machine the wall
// time also counts the waits for a core, the CPU time far less), and fails on op's first
// error. What op needs prepared is done before the call, outside the timing.
func benchLoop(b *testing.B, data []byte, op func() error) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// processCPU is the CPU time this process has used so far, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
				if w := analyze(reduce(img), tc.opts, 1); w == nil {
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

// BenchmarkReduce is the reduction of the decoded photo to the working resolution alone,
// the part of the analysis that reads every decoded sample.
func BenchmarkReduce(b *testing.B) {
	data := bench12MP()
	img, err := decode(JPEG, data)
	if err != nil {
		b.Fatal(err)
	}
	benchLoop(b, data, func() error {
		if wk := reduce(img); wk.w == 0 {
			return errors.New("empty working image")
		}
		return nil
	})
}
