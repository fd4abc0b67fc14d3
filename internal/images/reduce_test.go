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
			k := j*wk.w + i
			convertYCC(wk.luma[k:k+1], wk.chroma[k:k+1], []int32{int32(s)}, []int32{int32(sb)}, []int32{int32(sr)}, 1/float64((x1-x0)*(y1-y0)))
		}
	}
}

func TestReduceYCbCrExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		for _, tc := range []struct {
			r      image.Rectangle
			bright bool // every sample 255: the most the sums hold
		}{
			{r: image.Rect(0, 0, 2311, 1733)}, {r: image.Rect(0, 0, 999, 7)}, {r: image.Rect(3, 5, 1504, 1101)},
			{r: image.Rect(1, 1, 4003, 3001)}, {r: image.Rect(0, 0, 4000, 3000)}, {r: image.Rect(2, 0, 4003, 2999)},
			{r: image.Rect(0, 0, 7001, 900)}, {r: image.Rect(0, 0, 6001, 50)}, {r: image.Rect(0, 3, 5999, 40)},
			{r: image.Rect(4, 0, 1999, 1501)}, {r: image.Rect(0, 0, 1000, 999)},
			// f = 24 with a last row of cells of 47 rows, all 255.
			{r: image.Rect(0, 0, 24000, 47), bright: true},
			// f = 131, cells taller than lanes hold: the column sums instead.
			{r: image.Rect(0, 1, 130001, 262), bright: true}, {r: image.Rect(1, 0, 130001, 9)},
		} {
			r := tc.r
			full := image.NewYCbCr(image.Rect(0, 0, r.Max.X, r.Max.Y), ratio)
			for i := range full.Y {
				full.Y[i] = 255
				if !tc.bright {
					full.Y[i] = uint8(rng.IntN(256))
				}
			}
			for i := range full.Cb {
				full.Cb[i], full.Cr[i] = 255, 255
				if !tc.bright {
					full.Cb[i], full.Cr[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
				}
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

// TestAddRows checks lanes against plain column sums: rows of every length around a word,
// added with weights up to the most the lanes of each group hold, all 255 or random.
func TestAddRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range []int{1, 2, 4} {
		for n := 1; n <= 35; n++ {
			for _, bright := range []bool{false, true} {
				l := newLanes(n, g)
				col := make([]uint32, l.values())
				for round := 0; round < 2; round++ { // the second round checks reset
					l.reset()
					want := make([]int, len(col))
					for rows := 0; rows < min(rowsFor(g), 300); {
						wt := min(1+rng.IntN(3), rowsFor(g)-rows)
						rows += wt
						row := make([]uint8, n+9)
						for x := range row {
							row[x] = 255 // past n: must not be added
							if x < n && !bright {
								row[x] = uint8(rng.IntN(256))
							}
						}
						for x := range n {
							want[x/g] += wt * int(row[x])
						}
						l.add(row, wt)
					}
					l.unpack(col)
					for j, w := range want {
						if int(col[j]) != w {
							t.Fatalf("g=%d n=%d bright=%v round %d: value %d = %d, want %d", g, n, bright, round, j, col[j], w)
						}
					}
				}
			}
		}
	}
}

// shrinkLumaNaive is shrinkLuma as it was, one output pixel at a time: the reference of
// TestShrinkLuma. It box-averages wk's luma to a long side of about long (left as it is when it is
// at most long × 9/8) and returns it with its size and the factor from its pixels to wk's.
func shrinkLumaNaive(wk working, long int) ([]uint8, int, int, float64) {
	L := max(wk.w, wk.h)
	if L*8 <= long*9 {
		return wk.luma, wk.w, wk.h, 1
	}
	f := float64(L) / float64(long)
	w, h := max(1, int(float64(wk.w)/f)), max(1, int(float64(wk.h)/f))
	fx, fy := float64(wk.w)/float64(w), float64(wk.h)/float64(h)
	out := make([]uint8, w*h)
	for j := 0; j < h; j++ {
		y0, y1 := int(float64(j)*fy), max(int(float64(j)*fy)+1, int(float64(j+1)*fy))
		for i := 0; i < w; i++ {
			x0, x1 := int(float64(i)*fx), max(int(float64(i)*fx)+1, int(float64(i+1)*fx))
			sum := 0
			for y := y0; y < min(y1, wk.h); y++ {
				for _, v := range wk.luma[y*wk.w+x0 : y*wk.w+min(x1, wk.w)] {
					sum += int(v)
				}
			}
			n := (min(y1, wk.h) - y0) * (min(x1, wk.w) - x0)
			out[j*w+i] = uint8((sum + n/2) / max(n, 1))
		}
	}
	return out, w, h, fx
}

// TestShrinkLuma: the face copy is the same, pixel for pixel, as the reference gives, for
// working images of the sizes uploads make and odd ones.
func TestShrinkLuma(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][2]int{{1000, 750}, {750, 1000}, {1000, 563}, {999, 7}, {731, 1000}, {721, 500}, {720, 500}, {1000, 1000}} {
		wk := working{w: sz[0], h: sz[1], luma: make([]uint8, sz[0]*sz[1])}
		for i := range wk.luma {
			wk.luma[i] = uint8(rng.IntN(256))
		}
		got, w, h, f := shrinkLuma(wk, faceLongSide)
		want, ww, wh, wf := shrinkLumaNaive(wk, faceLongSide)
		if w != ww || h != wh || f != wf || !bytes.Equal(got, want) {
			t.Fatalf("%v: %d×%d ×%v, want %d×%d ×%v, or pixels differ", sz, w, h, f, ww, wh, wf)
		}
	}
}
