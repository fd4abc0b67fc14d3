package images

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"
)

// reduceYCbCrNaive is an independent reference for reduceYCbCr: it reads every pixel's
// samples through the standard library's YOffset and COffset, so it shares neither the
// subsampling shifts nor the column sums of the fast one, and sums them per cell. The
// fast one must give the very same working image.
func reduceYCbCrNaive(m *image.YCbCr, f int, wk working) {
	b := m.Rect
	W, H := b.Dx(), b.Dy()
	for j := 0; j < wk.h; j++ {
		y0, y1 := cellSpan(j, f, wk.h, H)
		for i := 0; i < wk.w; i++ {
			x0, x1 := cellSpan(i, f, wk.w, W)
			var s, sb, sr uint64
			for y := b.Min.Y + y0; y < b.Min.Y+y1; y++ {
				for x := b.Min.X + x0; x < b.Min.X+x1; x++ {
					c := m.COffset(x, y)
					s += uint64(m.Y[m.YOffset(x, y)])
					sb += uint64(m.Cb[c])
					sr += uint64(m.Cr[c])
				}
			}
			n := float64((x1 - x0) * (y1 - y0))
			yy, cb, cr := float64(s)/n, float64(sb)/n-128, float64(sr)/n-128
			wk.set(j*wk.w+i, yy+1.402*cr, yy-0.344136*cb-0.714136*cr, yy+1.772*cb)
		}
	}
}

func TestReduceYCbCrExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		for _, r := range []image.Rectangle{image.Rect(0, 0, 2311, 1733), image.Rect(0, 0, 999, 7), image.Rect(3, 5, 1504, 1101)} {
			full := image.NewYCbCr(image.Rect(0, 0, r.Max.X, r.Max.Y), ratio)
			for i := range full.Y {
				full.Y[i] = uint8(rng.IntN(256))
			}
			for i := range full.Cb {
				full.Cb[i], full.Cr[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
			}
			m := full.SubImage(r).(*image.YCbCr)
			W, H := r.Dx(), r.Dy()
			f := max(1, (max(W, H)+workingLongSide-1)/workingLongSide)
			ww, hh := cells(W, f), cells(H, f)
			got := working{w: ww, h: hh, luma: make([]uint8, ww*hh), chroma: make([]uint8, ww*hh)}
			want := working{w: ww, h: hh, luma: make([]uint8, ww*hh), chroma: make([]uint8, ww*hh)}
			reduceYCbCr(m, f, got)
			reduceYCbCrNaive(m, f, want)
			if !bytes.Equal(got.luma, want.luma) || !bytes.Equal(got.chroma, want.chroma) {
				t.Fatalf("%v %v: working images differ", ratio, r)
			}
		}
	}
}
