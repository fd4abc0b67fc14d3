package images

import (
	"image"
	"image/color"
	"math"

	"github.com/beianscan/beianscan/internal/filing"
)

// workingLongSide is the long side of the working resolution at which quality is
// measured: enough for text and faces, and it keeps analysis of a 12 MP photo in the
// tens of milliseconds. It also makes the thresholds independent of the upload's size.
const workingLongSide = 1000

// Fixed parts of the quality rules (the tunable parts are in Thresholds).
const (
	grayMaxColouredShare = 0.002 // fewer coloured pixels than this share: grayscale
	clippedLuma          = 250   // a pixel at or above is clipped
	clippedShare         = 0.5   // this share clipped counts as overexposed (with no dark detail)
	darkDetailLuma       = 128   // a pixel below is dark detail
	darkDetailShare      = 0.005 // an image with this share of dark detail is not overexposed
	whiteLuma            = 180   // near-white for the face background: luma at least
	whiteChroma          = 40    // and chroma at most
	blurEdgeRatio        = 0.2   // Laplacian energy under this share of gradient energy: blurry
)

// working is an image reduced to the working resolution: luma and chroma (max−min of
// R, G, B) per cell, 0–255, transparent pixels composited over white as a browser
// shows them.
type working struct {
	w, h   int
	luma   []uint8
	chroma []uint8
}

// metrics are the measurements the warnings are decided on.
type metrics struct {
	meanLuma      float64 // 0–255
	sharpness     float64 // variance of the Laplacian of contrast-stretched luma; 0 if too small to tell
	colouredShare float64 // share of pixels whose chroma is above the Gray threshold
	darkShare     float64 // share of pixels with luma below darkDetailLuma
	clippedShare  float64 // share of pixels with luma at or above clippedLuma
	edgeRatio     float64 // Laplacian energy over gradient energy (see laplacian)
}

// analyze returns the quality warnings of an image at the working resolution and, when
// opts ask for it, its face warnings, in the order of Result.Warnings; never nil.
// orientation is the image's EXIF orientation (1 if none): the face rules judge the image
// as displayed.
func analyze(wk working, opts Options, orientation int) []string {
	t := opts.Thresholds.withDefaults()
	warnings := []string{}
	m, ok := measure(wk, t.Gray)
	if !ok {
		return warnings
	}
	if m.colouredShare < grayMaxColouredShare {
		warnings = append(warnings, WarnGrayscale)
	}
	if m.sharpness >= 0 && (m.sharpness < t.Blur || m.edgeRatio < blurEdgeRatio) {
		warnings = append(warnings, WarnBlurry)
	}
	if m.meanLuma < t.Dark {
		warnings = append(warnings, WarnTooDark)
	}
	if (m.meanLuma > t.Bright || m.clippedShare >= clippedShare) && m.darkShare < darkDetailShare {
		warnings = append(warnings, WarnOverexposed)
	}
	if check := opts.faceCheck(); check != filing.FaceCheckNone {
		warnings = append(warnings, faceWarnings(wk.oriented(orientation), check, t)...)
	}
	return warnings
}

// measure measures wk, img at the working resolution; gray is the chroma above which a
// pixel counts as coloured. It reports false for an empty image.
func measure(wk working, gray float64) (metrics, bool) {
	n := len(wk.luma)
	if n == 0 {
		return metrics{}, false
	}
	var hist [256]int
	coloured := 0
	for i, y := range wk.luma {
		hist[y]++
		if float64(wk.chroma[i]) > gray {
			coloured++
		}
	}
	sum, dark, clipped := 0, 0, 0
	for v, c := range hist {
		sum += v * c
		if v < darkDetailLuma {
			dark += c
		}
		if v >= clippedLuma {
			clipped += c
		}
	}
	fn := float64(n)
	m := metrics{
		meanLuma:      float64(sum) / fn,
		colouredShare: float64(coloured) / fn,
		darkShare:     float64(dark) / fn,
		clippedShare:  float64(clipped) / fn,
		sharpness:     -1,
	}
	if wk.w >= 3 && wk.h >= 3 {
		// Stretch contrast (as a gain on the Laplacian) so that a dark or washed-out
		// photo is judged on its detail, not its exposure.
		p1, p99 := percentile(&hist, n, 0.01), percentile(&hist, n, 0.99)
		gain := 4.0
		if p99 > p1 {
			gain = math.Max(1, math.Min(4, 255/float64(p99-p1)))
		}
		variance, ratio := laplacian(wk)
		m.sharpness = variance * gain * gain
		m.edgeRatio = ratio
	}
	return m, true
}

// percentile returns the luma below which share q of the n pixels lie.
func percentile(hist *[256]int, n int, q float64) int {
	need := int(q * float64(n))
	acc := 0
	for v, c := range hist {
		acc += c
		if acc > need {
			return v
		}
	}
	return 255
}

// laplacian measures the 4-neighbour Laplacian of luma over the interior of the working
// image in one pass: its variance (edges make it large, blur makes it small) and its
// energy over the energy of the gradient. A step edge blurred by a Gaussian of sigma s has
// gradient energy ∝ 1/s and Laplacian energy ∝ 1/s³, so that ratio falls as 1/s² whatever
// the contrast or the amount of edges.
func laplacian(wk working) (variance, edgeRatio float64) {
	var s, s2, grad float64
	cnt := 0
	w := wk.w
	for y := 1; y < wk.h-1; y++ {
		// The pixel, its neighbours and the rows above and below as slices of one length:
		// the compiler then drops the bounds checks.
		row := wk.luma[y*w : y*w+w]
		mid := row[1 : w-1]
		left, right := row[:len(mid)], row[2:][:len(mid)]
		up := wk.luma[(y-1)*w+1:][:len(mid)]
		down := wk.luma[(y+1)*w+1:][:len(mid)]
		var rs, rs2, g2 int64
		for x, v := range mid {
			c, r, d := int64(v), int64(right[x]), int64(down[x])
			l := int64(left[x]) + r + int64(up[x]) + d - 4*c
			gx, gy := r-c, d-c
			rs += l
			rs2 += l * l
			g2 += gx*gx + gy*gy
		}
		s += float64(rs)
		s2 += float64(rs2)
		grad += float64(g2)
		cnt += wk.w - 2
	}
	if cnt > 0 {
		m := s / float64(cnt)
		variance = s2/float64(cnt) - m*m
	}
	if grad > 0 {
		edgeRatio = s2 / grad
	}
	return variance, edgeRatio
}

// cellSize is the side in pixels of the cells that reduce a W×H image to the working
// resolution.
func cellSize(W, H int) int { return max(1, (max(W, H)+workingLongSide-1)/workingLongSide) }

// cells divides n source pixels into cells of f, the last one taking the rest.
func cells(n, f int) int { return max(1, n/f) }

func cellSpan(i, f, cellsN, n int) (int, int) {
	lo := i * f
	hi := lo + f
	if i == cellsN-1 {
		hi = n
	}
	return lo, hi
}

// reduce box-averages img to the working resolution. The common decoded types (JPEG's
// YCbCr and Gray, PNG's RGBA/NRGBA/Gray, GIF's Paletted) are read from their pixel
// buffers; any other type is sampled at cell centres through At, which is slower but
// rare (CMYK JPEGs, 16-bit PNGs).
func reduce(img image.Image) working {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	if W <= 0 || H <= 0 {
		return working{}
	}
	f := cellSize(W, H)
	ww, hh := cells(W, f), cells(H, f)
	wk := working{w: ww, h: hh, luma: make([]uint8, ww*hh), chroma: make([]uint8, ww*hh)}

	switch m := img.(type) {
	case *image.YCbCr:
		reduceYCbCr(m, f, wk)
	case *image.Gray:
		reduceRows(wk, f, b, func(y int) []uint8 { return m.Pix[m.PixOffset(b.Min.X, y):][:W] }, 1, nil)
	case *image.RGBA:
		reduceRows(wk, f, b, func(y int) []uint8 { return m.Pix[m.PixOffset(b.Min.X, y):][:4*W] }, 4, nil)
	case *image.NRGBA:
		reduceRows(wk, f, b, func(y int) []uint8 { return m.Pix[m.PixOffset(b.Min.X, y):][:4*W] }, -4, nil)
	case *image.Paletted:
		var pal [256][3]uint8
		for i := range pal {
			c := color.Color(color.Black)
			if i < len(m.Palette) {
				c = m.Palette[i]
			}
			pal[i] = overWhite(c)
		}
		reduceRows(wk, f, b, func(y int) []uint8 { return m.Pix[m.PixOffset(b.Min.X, y):][:W] }, 1, &pal)
	default:
		for j := 0; j < hh; j++ {
			y0, y1 := cellSpan(j, f, hh, H)
			for i := 0; i < ww; i++ {
				x0, x1 := cellSpan(i, f, ww, W)
				rgb := overWhite(img.At(b.Min.X+(x0+x1)/2, b.Min.Y+(y0+y1)/2))
				wk.set(j*ww+i, float64(rgb[0]), float64(rgb[1]), float64(rgb[2]))
			}
		}
	}
	return wk
}

// overWhite composites c over white and returns its 8-bit R, G, B.
func overWhite(c color.Color) [3]uint8 {
	r, g, bl, a := c.RGBA()
	w := 0xFFFF - a
	return [3]uint8{uint8((r + w) >> 8), uint8((g + w) >> 8), uint8((bl + w) >> 8)}
}

func clamp255(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return v
}

func (wk working) set(i int, r, g, b float64) {
	wk.luma[i], wk.chroma[i] = cellOf(r, g, b)
}

// cellOf is a cell's luma and chroma from its R, G, B, clamped to 0–255.
func cellOf(r, g, b float64) (luma, chroma uint8) {
	r, g, b = clamp255(r), clamp255(g), clamp255(b)
	// Comparisons rather than the max and min builtins, whose care for NaN and the sign
	// of zero (neither can occur here) took most of the conversion's time.
	hi, lo := r, r
	if g > hi {
		hi = g
	} else if g < lo {
		lo = g
	}
	if b > hi {
		hi = b
	} else if b < lo {
		lo = b
	}
	return uint8(0.299*r + 0.587*g + 0.114*b + 0.5), uint8(hi - lo + 0.5)
}

// convertYCC sets cells luma[i], chroma[i] from the sums sy[i], sb[i], sr[i] of their
// pixels' Y, Cb and Cr, inv being 1 / the number of pixels of each cell. It runs over a
// row of cells at once: one loop without calls or divisions per cell.
func convertYCC[T int32 | float32](luma, chroma []uint8, sy, sb, sr []T, inv float64) {
	luma, chroma = luma[:len(sy)], chroma[:len(sy)]
	sb, sr = sb[:len(sy)], sr[:len(sy)]
	for i, v := range sy {
		yy, cb, cr := float64(v)*inv, float64(sb[i])*inv-128, float64(sr[i])*inv-128
		luma[i], chroma[i] = cellOf(yy+1.402*cr, yy-0.344136*cb-0.714136*cr, yy+1.772*cb)
	}
}

// reduceRows reduces an image whose rows are byte slices: bpp 1 is gray (or palette
// indices when pal is set), 4 is premultiplied RGBA, -4 is non-premultiplied RGBA.
func reduceRows(wk working, f int, b image.Rectangle, row func(y int) []uint8, bpp int, pal *[256][3]uint8) {
	W, H := b.Dx(), b.Dy()
	sr := make([]uint64, wk.w)
	sg := make([]uint64, wk.w)
	sb := make([]uint64, wk.w)
	for j := 0; j < wk.h; j++ {
		y0, y1 := cellSpan(j, f, wk.h, H)
		clear(sr)
		clear(sg)
		clear(sb)
		for y := y0; y < y1; y++ {
			px := row(b.Min.Y + y)
			for i := 0; i < wk.w; i++ {
				x0, x1 := cellSpan(i, f, wk.w, W)
				var r, g, bl uint64
				switch {
				case pal != nil:
					for _, v := range px[x0:x1] {
						c := &pal[v]
						r += uint64(c[0])
						g += uint64(c[1])
						bl += uint64(c[2])
					}
				case bpp == 1:
					for _, v := range px[x0:x1] {
						r += uint64(v)
					}
					g, bl = r, r
				case bpp == 4: // premultiplied: over white adds 255-a
					for x := x0; x < x1; x++ {
						p := px[4*x : 4*x+4 : 4*x+4]
						w := 255 - uint64(p[3])
						r += uint64(p[0]) + w
						g += uint64(p[1]) + w
						bl += uint64(p[2]) + w
					}
				default: // non-premultiplied
					for x := x0; x < x1; x++ {
						p := px[4*x : 4*x+4 : 4*x+4]
						a := uint64(p[3])
						w := 255 * (255 - a)
						r += (uint64(p[0])*a + w) / 255
						g += (uint64(p[1])*a + w) / 255
						bl += (uint64(p[2])*a + w) / 255
					}
				}
				sr[i] += r
				sg[i] += g
				sb[i] += bl
			}
		}
		for i := 0; i < wk.w; i++ {
			x0, x1 := cellSpan(i, f, wk.w, W)
			n := float64((x1 - x0) * (y1 - y0))
			wk.set(j*wk.w+i, float64(sr[i])/n, float64(sg[i])/n, float64(sb[i])/n)
		}
	}
}

// reduceYCbCr averages luma and the two chroma planes per cell and converts the
// averages (the conversion is linear, so averaging first is the same up to clipping).
func reduceYCbCr(m *image.YCbCr, f int, wk working) {
	b := m.Rect
	W, H := b.Dx(), b.Dy()
	var sxs, sys uint
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		sxs = 1
	case image.YCbCrSubsampleRatio420:
		sxs, sys = 1, 1
	case image.YCbCrSubsampleRatio440:
		sys = 1
	case image.YCbCrSubsampleRatio411:
		sxs = 2
	case image.YCbCrSubsampleRatio410:
		sxs, sys = 2, 1
	}
	if b.Min.X < 0 || b.Min.Y < 0 {
		// Shifts below assume non-negative coordinates; decoders never produce
		// others, but a caller might.
		for j := 0; j < wk.h; j++ {
			y0, y1 := cellSpan(j, f, wk.h, H)
			for i := 0; i < wk.w; i++ {
				x0, x1 := cellSpan(i, f, wk.w, W)
				rgb := overWhite(m.At(b.Min.X+(x0+x1)/2, b.Min.Y+(y0+y1)/2))
				wk.set(j*wk.w+i, float64(rgb[0]), float64(rgb[1]), float64(rgb[2]))
			}
		}
		return
	}
	// Luma in groups of gy columns; chroma, when every cell but the last covers whole
	// chroma samples (aligned), in groups of gc samples, else sample by sample.
	full := 1 << sxs // luma columns per chroma sample
	fc := f >> sxs   // chroma samples per cell, when aligned
	aligned := b.Min.X%full == 0 && f%full == 0
	gy, gc := groupOf(f), 1
	if aligned {
		gc = groupOf(fc)
	}
	if 2*f-1 > min(rowsFor(gy), rowsFor(gc)) {
		reduceYCbCrColumns(m, f, wk, sxs, sys)
		return
	}
	// Sums over a row of cells in lanes, eight samples at a time, then summed per cell.
	// Every luma sample is read once and every chroma sample once, its row weighted by the
	// number of luma rows of the cell row that use it. The last cell of a row, wider than
	// the others, is summed pixel by pixel. The result is exactly the per-pixel sums
	// (TestReduceYCbCrExact); this was most of the analysis of a 12 MP photo.
	cx0, cy0 := b.Min.X>>sxs, b.Min.Y>>sys
	cw := ((b.Min.X + W - 1) >> sxs) - cx0 + 1
	ly, lb, lr := newLanes(W, gy), newLanes(cw, gc), newLanes(cw, gc)
	colY, colB, colR := make([]uint32, ly.values()), make([]uint32, lb.values()), make([]uint32, lr.values())
	// Without alignment a cell's chroma is samples ca to cz, the first and the last weighted
	// by the luma columns of the cell they cover (wa, wz), the others by all of theirs.
	type span struct{ ca, cz, wa, wz int }
	last := wk.w - 1
	var spans []span
	if !aligned {
		spans = make([]span, last)
		for i := range spans {
			X0, X1 := b.Min.X+i*f, b.Min.X+i*f+f
			s := span{ca: X0>>sxs - cx0, cz: (X1-1)>>sxs - cx0}
			if s.ca == s.cz {
				s.wa = X1 - X0
			} else {
				s.wa = ((s.ca + cx0 + 1) << sxs) - X0
				s.wz = X1 - ((s.cz + cx0) << sxs)
			}
			spans[i] = s
		}
	}
	rowY, rowB, rowR := make([]int32, wk.w), make([]int32, wk.w), make([]int32, wk.w)
	ny, nc := f/gy, fc/gc // values a cell
	for j := 0; j < wk.h; j++ {
		y0, y1 := cellSpan(j, f, wk.h, H)
		ly.reset()
		lb.reset()
		lr.reset()
		for y := y0; y < y1; y++ {
			ly.add(m.Y[y*m.YStride:], 1)
		}
		Y0, Y1 := b.Min.Y+y0, b.Min.Y+y1
		for c := Y0 >> sys; c <= (Y1-1)>>sys; c++ {
			wt := min(Y1, (c+1)<<sys) - max(Y0, c<<sys)
			base := (c - cy0) * m.CStride
			lb.add(m.Cb[base:], wt)
			lr.add(m.Cr[base:], wt)
		}
		ly.unpack(colY)
		lb.unpack(colB)
		lr.unpack(colR)
		for i := 0; i < last; i++ {
			var sy uint32
			for _, v := range colY[i*ny : i*ny+ny] {
				sy += v
			}
			rowY[i] = int32(sy)
		}
		if aligned {
			for i := 0; i < last; i++ {
				var sb, sr uint32
				for k := i * nc; k < i*nc+nc; k++ {
					sb += colB[k]
					sr += colR[k]
				}
				rowB[i], rowR[i] = int32(sb)*int32(full), int32(sr)*int32(full)
			}
		} else {
			for i, s := range spans {
				sb := s.wa*int(colB[s.ca]) + s.wz*int(colB[s.cz])
				sr := s.wa*int(colR[s.ca]) + s.wz*int(colR[s.cz])
				for c := s.ca + 1; c < s.cz; c++ {
					sb += full * int(colB[c])
					sr += full * int(colR[c])
				}
				rowB[i], rowR[i] = int32(sb), int32(sr)
			}
		}
		rowY[last], rowB[last], rowR[last] = sumYCbCr(m, last*f, W, y0, y1)
		rows := y1 - y0
		luma, chroma := wk.luma[j*wk.w:][:wk.w], wk.chroma[j*wk.w:][:wk.w]
		convertYCC(luma[:last], chroma[:last], rowY[:last], rowB[:last], rowR[:last], 1/float64(f*rows))
		convertYCC(luma[last:], chroma[last:], rowY[last:], rowB[last:], rowR[last:], 1/float64((W-last*f)*rows))
	}
}

// sumYCbCr sums Y, Cb and Cr over the pixels [x0, x1) × [y0, y1) of m, counted from its
// corner (non-negative coordinates), pixel by pixel.
func sumYCbCr(m *image.YCbCr, x0, x1, y0, y1 int) (sy, sb, sr int32) {
	b := m.Rect
	for y := b.Min.Y + y0; y < b.Min.Y+y1; y++ {
		for _, v := range m.Y[(y-b.Min.Y)*m.YStride:][x0:x1] {
			sy += int32(v)
		}
		for x := b.Min.X + x0; x < b.Min.X+x1; x++ {
			c := m.COffset(x, y)
			sb += int32(m.Cb[c])
			sr += int32(m.Cr[c])
		}
	}
	return sy, sb, sr
}

// reduceYCbCrColumns is reduceYCbCr with 32-bit column sums, for cells too tall for lanes.
func reduceYCbCrColumns(m *image.YCbCr, f int, wk working, sxs, sys uint) {
	b := m.Rect
	W, H := b.Dx(), b.Dy()
	cx0 := b.Min.X >> sxs
	cw := ((b.Min.X + W - 1) >> sxs) - cx0 + 1
	colY := make([]uint32, W)
	colCb := make([]uint32, cw)
	colCr := make([]uint32, cw)
	for j := 0; j < wk.h; j++ {
		y0, y1 := cellSpan(j, f, wk.h, H)
		clear(colY)
		clear(colCb)
		clear(colCr)
		for y := b.Min.Y + y0; y < b.Min.Y+y1; y++ {
			yrow := m.Y[(y-b.Min.Y)*m.YStride:][:W]
			for x, v := range yrow {
				colY[x] += uint32(v)
			}
			cbase := ((y >> sys) - (b.Min.Y >> sys)) * m.CStride
			cb := m.Cb[cbase:][:cw]
			cr := m.Cr[cbase:][:cw]
			for c, v := range cb {
				colCb[c] += uint32(v)
			}
			for c, v := range cr {
				colCr[c] += uint32(v)
			}
		}
		for i := 0; i < wk.w; i++ {
			x0, x1 := cellSpan(i, f, wk.w, W)
			var sy, sb, sr uint64
			for _, v := range colY[x0:x1] {
				sy += uint64(v)
			}
			for x := b.Min.X + x0; x < b.Min.X+x1; x++ {
				c := (x >> sxs) - cx0
				sb += uint64(colCb[c])
				sr += uint64(colCr[c])
			}
			k := j*wk.w + i
			convertYCC(wk.luma[k:k+1], wk.chroma[k:k+1], []int32{int32(sy)}, []int32{int32(sb)}, []int32{int32(sr)}, 1/float64((x1-x0)*(y1-y0)))
		}
	}
}
