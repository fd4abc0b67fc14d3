package jpegcells

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pixelSums is what Reduce should return, from image/jpeg's pixels: the sums of each
// cell's pixels' Y, Cb and Cr.
func pixelSums(t *testing.T, img image.Image, f int) *Sums {
	t.Helper()
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	s := &Sums{W: max(1, W/f), H: max(1, H/f)}
	s.Y = make([]float32, s.W*s.H)
	if _, ok := img.(*image.YCbCr); ok {
		s.Cb, s.Cr = make([]float32, s.W*s.H), make([]float32, s.W*s.H)
	}
	for y := range H {
		for x := range W {
			k := min(y/f, s.H-1)*s.W + min(x/f, s.W-1)
			switch m := img.(type) {
			case *image.YCbCr:
				c := m.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				s.Y[k] += float32(c.Y)
				s.Cb[k] += float32(c.Cb)
				s.Cr[k] += float32(c.Cr)
			case *image.Gray:
				s.Y[k] += float32(m.GrayAt(b.Min.X+x, b.Min.Y+y).Y)
			default:
				t.Fatalf("decoded as %T", img)
			}
		}
	}
	return s
}

// cellsDiff returns the largest and the mean absolute difference of the cells' means.
func cellsDiff(t *testing.T, got, want *Sums, f, W, H int) (maxDiff, meanDiff float64) {
	t.Helper()
	if got.W != want.W || got.H != want.H {
		t.Fatalf("cells %d×%d, want %d×%d", got.W, got.H, want.W, want.H)
	}
	if (got.Cb == nil) != (want.Cb == nil) {
		t.Fatalf("chroma: got %v, want %v", got.Cb != nil, want.Cb != nil)
	}
	n := 0
	for j := range got.H {
		ch := f
		if j == got.H-1 {
			ch = H - j*f
		}
		for i := range got.W {
			cw := f
			if i == got.W-1 {
				cw = W - i*f
			}
			px := float64(cw * ch)
			k := j*got.W + i
			planes := [][2][]float32{{got.Y, want.Y}}
			if got.Cb != nil {
				planes = append(planes, [2][]float32{got.Cb, want.Cb}, [2][]float32{got.Cr, want.Cr})
			}
			for _, p := range planes {
				d := math.Abs(float64(p[0][k]-p[1][k])) / px
				maxDiff = max(maxDiff, d)
				meanDiff += d
				n++
			}
		}
	}
	return maxDiff, meanDiff / float64(n)
}

func goTestdata(t testing.TB) []string {
	t.Helper()
	goroot, _ := exec.Command("go", "env", "GOROOT").Output()
	dir := filepath.Join(strings.TrimSpace(string(goroot)), "src", "image", "testdata")
	names, err := filepath.Glob(filepath.Join(dir, "*.jpeg"))
	if err != nil || len(names) == 0 {
		t.Skipf("no JPEGs in %s (Go's own test images; a Go installation has them)", dir)
	}
	return names
}

// TestReduceMatchesPixels compares Reduce with the pixels image/jpeg decodes, over Go's own
// test JPEGs (every subsampling, progressive, restart intervals, gray) and photos made here
// at sizes that are not multiples of a block, for cell sizes 1 to 6.
func TestReduceMatchesPixels(t *testing.T) {
	type sample struct {
		name string
		data []byte
	}
	var samples []sample
	for _, p := range goTestdata(t) {
		if strings.Contains(p, "truncated") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, sample{filepath.Base(p), data})
	}
	for _, sz := range [][2]int{{1001, 777}, {333, 250}, {17, 9}} {
		samples = append(samples, sample{"made", photo(t, sz[0], sz[1])})
	}
	for _, s := range samples {
		img, err := jpeg.Decode(bytes.NewReader(s.data))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		_, supported := img.(*image.YCbCr)
		if g, ok := img.(*image.Gray); ok && g != nil {
			supported = true
		}
		b := img.Bounds()
		for f := 1; f <= 6; f++ {
			got, err := Reduce(s.data, f)
			if !supported {
				if !errors.Is(err, ErrUnsupported) {
					t.Errorf("%s (%T): err %v, want ErrUnsupported", s.name, img, err)
				}
				break
			}
			if err != nil {
				t.Fatalf("%s f=%d: %v", s.name, f, err)
			}
			maxDiff, meanDiff := cellsDiff(t, got, pixelSums(t, img, f), f, b.Dx(), b.Dy())
			// Rounding moves a cell's mean by a tenth or two; clipping more, on the few
			// cells whose pixels reach 0 or 255 (diluted by the cell's size). A wrong weight
			// or level shift moves every mean by tens.
			if meanDiff > 0.35 || (f >= 3 && maxDiff > 10) {
				t.Errorf("%s %dx%d f=%d: cell means differ by %.2f at most, %.3f on average", s.name, b.Dx(), b.Dy(), f, maxDiff, meanDiff)
			}
		}
	}
}

// TestReduceRefusesWhatDecodeRefuses: truncated and damaged streams are refused as
// image/jpeg refuses them.
func TestReduceRefusesWhatDecodeRefuses(t *testing.T) {
	good := photo(t, 64, 48)
	cases := map[string][]byte{
		"empty":     nil,
		"not jpeg":  []byte("GIF89a"),
		"truncated": good[:len(good)/2],
		"header":    good[:200],
	}
	for _, p := range goTestdata(t) {
		if strings.Contains(p, "truncated") {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			cases[filepath.Base(p)] = data
		}
	}
	for name, data := range cases {
		_, decErr := jpeg.Decode(bytes.NewReader(data))
		_, err := Reduce(data, 4)
		if (decErr == nil) != (err == nil) {
			t.Errorf("%s: Reduce err %v, image/jpeg err %v", name, err, decErr)
		}
	}
	if _, err := Reduce(good, 0); err == nil {
		t.Error("cell size 0 accepted")
	}
}

// photo is a w×h JPEG of a gradient with noise and a few saturated squares (whose pixels
// clip), like a photo of a card.
func photo(tb testing.TB, w, h int) []byte { return photoSquares(tb, w, h, 7) }

// photoSquares is photo with one square in every squares saturated (none if 0).
func photoSquares(tb testing.TB, w, h, squares int) []byte {
	tb.Helper()
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewSource(int64(w*h + 1)))
	for y := range h {
		for x := range w {
			v := 40 + (x*90)/w + (y*90)/h + rng.Intn(41)
			if squares > 0 && (x/40+y/40)%squares == 0 {
				v = 255
			}
			m.Y[y*m.YStride+x] = uint8(v)
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			i := y*m.CStride + x
			m.Cb[i] = uint8(100 + (x*56)/w)
			m.Cr[i] = uint8(150 - (y*56)/h)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 85}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkReduce12MP is Reduce of a 4000×3000 photo beside image/jpeg's decode of it: the
// photo of the server's acknowledgment benchmark (noise everywhere, no flat square).
//
//	go test ./internal/jpegcells -run '^$' -bench Reduce12MP -count 3
func BenchmarkReduce12MP(b *testing.B) {
	data := photoSquares(b, 4000, 3000, 0)
	b.Run("decode", func(b *testing.B) {
		for range b.N {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, f := range []int{4, 5} {
		b.Run("cells="+string(rune('0'+f)), func(b *testing.B) {
			for range b.N {
				if _, err := Reduce(data, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzReduce: Reduce never panics, and refuses exactly what image/jpeg refuses (but for
// the colour models it leaves to a full decode).
//
//	go test ./internal/jpegcells -run '^$' -fuzz FuzzReduce -fuzztime 60s
func FuzzReduce(f *testing.F) {
	f.Add(photo(f, 40, 24))
	for _, p := range goTestdata(f) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width*cfg.Height > 1<<20 {
			return
		}
		_, decErr := jpeg.Decode(bytes.NewReader(data))
		_, err = Reduce(data, 3)
		if errors.Is(err, ErrUnsupported) {
			return
		}
		if (decErr == nil) != (err == nil) {
			t.Errorf("Reduce err %v, image/jpeg err %v", err, decErr)
		}
	})
}
