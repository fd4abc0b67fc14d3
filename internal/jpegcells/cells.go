// Package jpegcells reduces a JPEG to the sums of its Y, Cb and Cr over cells of f×f pixels
// without decoding its pixels: each 8×8 block's coefficients are added to the cells it
// covers through precomputed weights, in place of the inverse DCT, the level shift and the
// store of 64 pixels. For cells of a few pixels or more this is most of a decode's time
// saved (docs/benchmarks.md, "12 MP acknowledgment"), and no image is allocated.
//
// The entropy decoding (reader.go, huffman.go, scan.go) is Go's image/jpeg from Go 1.26.8,
// under Go's licence (LICENSE here). What changed: the decoder builds cells instead of an
// image, tells the last coefficient of a baseline block, and refuses with ErrUnsupported
// what it does not reduce (CMYK, YCbCrK and RGB JPEGs), so that a caller falls back to a
// full decode. It accepts and refuses the same streams as image/jpeg otherwise.
//
// The sums are exact up to clipping and rounding: a decoder clips each pixel to 0–255 and
// rounds it, the sums here are of the unclipped values.
package jpegcells

import (
	"bytes"
	"errors"
	"math"
	mathbits "math/bits"
)

const blockSize = 64

// block is an 8×8 block's coefficients, in natural order once decoded.
type block [blockSize]int32

// ErrUnsupported is the error for a JPEG that decodes but whose colour model is not reduced
// here (CMYK, YCbCrK, RGB).
var ErrUnsupported = errors.New("jpegcells: colour model not reduced")

// Sums are a JPEG's cells: W×H cells of f×f pixels, row by row, the last column and row
// of cells reaching the image's edge (max(1, n/f) cells over n pixels). Y, Cb and Cr are
// the sums over each cell's pixels of their values, 0–255 each, a subsampled chroma sample
// counting once for every pixel it covers. Cb and Cr are nil for a grayscale JPEG.
type Sums struct {
	W, H      int
	Y, Cb, Cr []float32
}

// Reduce reads the JPEG in data and returns its sums over cells of f×f pixels, f ≥ 1.
// A stream image/jpeg refuses is refused (with its FormatError or UnsupportedError);
// ErrUnsupported says only that the colour model is not reduced here.
func Reduce(data []byte, f int) (*Sums, error) {
	if f < 1 {
		return nil, errors.New("jpegcells: cell size below 1")
	}
	d := decoder{f: f}
	if err := d.decode(bytes.NewReader(data)); err != nil {
		return nil, err
	}
	c := d.cells
	s := &Sums{W: c.w, H: c.h, Y: c.sums[0]}
	if d.nComp == 3 {
		s.Cb, s.Cr = c.sums[1], c.sums[2]
	}
	return s, nil
}

// cells are the sums being built and, per component, the weights of its block columns
// and rows.
type cells struct {
	w, h int
	sums [3][]float32
	comp [3]struct{ cols, rows []share }
}

// share is a block column's (or row's) part in the cells: the cells first to first+n-1,
// and for each the weights of the eight horizontal (or vertical) frequencies, one cell's
// eight after another. The weight of frequency u in a cell is the sum over the cell's
// pixels in the block of the inverse DCT's basis function, C(u)/2·cos((2s+1)uπ/16), s the
// sample a pixel shows; a block's sum in a cell is then Σ F(u,v)·wx(u)·wy(v).
type share struct {
	first, n int
	w        []float32
	freqs    uint8 // the frequencies whose weight is not zero in some cell
}

// makeCells allocates the cells and their weights at the first scan, once the frame is
// known.
func (d *decoder) makeCells() error {
	if d.nComp == 3 && d.isRGB() {
		return ErrUnsupported
	}
	f := d.f
	c := &cells{w: max(1, d.width/f), h: max(1, d.height/f)}
	h0, v0 := d.comp[0].h, d.comp[0].v
	mxx := (d.width + 8*h0 - 1) / (8 * h0)
	myy := (d.height + 8*v0 - 1) / (8 * v0)
	for i := range d.nComp {
		c.sums[i] = make([]float32, c.w*c.h)
		hi, vi := d.comp[i].h, d.comp[i].v
		c.comp[i].cols = shares(mxx*hi, h0/hi, d.width, f, c.w)
		c.comp[i].rows = shares(myy*vi, v0/vi, d.height, f, c.h)
	}
	d.cells = c
	return nil
}

// basis[s][u] is C(u)/2·cos((2s+1)uπ/16), C(0) = 1/√2 and C(u) = 1 otherwise: the inverse
// DCT's basis along one axis, whose product along both is the inverse DCT's
// 1/4·C(u)C(v)·cos·cos.
var basis = func() (b [8][8]float64) {
	for s := range 8 {
		for u := range 8 {
			c := 1.0
			if u == 0 {
				c = 1 / math.Sqrt2
			}
			b[s][u] = c / 2 * math.Cos(float64(2*s+1)*float64(u)*math.Pi/16)
		}
	}
	return b
}()

// shares returns the shares of n blocks along an axis of size pixels, each block sample
// covering scale pixels, over cells of f pixels, count of them.
func shares(n, scale, size, f, count int) []share {
	out := make([]share, n)
	for k := range out {
		x0 := 8 * scale * k
		x1 := min(x0+8*scale, size)
		if x0 >= size {
			continue // padding: no pixel of the image
		}
		cell := func(x int) int { return min(x/f, count-1) }
		first, last := cell(x0), cell(x1-1)
		w := make([]float64, 8*(last-first+1))
		for x := x0; x < x1; x++ {
			s := (x - x0) / scale
			row := w[8*(cell(x)-first):][:8]
			for u := range row {
				row[u] += basis[s][u]
			}
		}
		sh := share{first: first, n: last - first + 1, w: make([]float32, len(w))}
		for i, v := range w {
			// An even frequency sums to zero over a cell that covers half a block or all
			// of it, but not exactly in floating point: such a frequency is skipped.
			if math.Abs(v) > 1e-9 {
				sh.w[i] = float32(v)
				sh.freqs |= 1 << (i % 8)
			}
		}
		out[k] = sh
	}
	return out
}

// coeffs are a block's dequantized coefficients in natural order, the last one set (in
// zig-zag order: those after it are zero), and the quantization table of its component.
type coeffs struct {
	c    [blockSize]float32
	last int32
	qt   *block
}

// set sets coefficient zig (zig-zag order, increasing from one call to the next) from its
// quantized value.
func (b *coeffs) set(zig int32, v int32) {
	b.c[unzig[zig]] = float32(v * b.qt[zig])
	b.last = zig
}

// rowsTo and colsTo are the rows (v) and the columns (u) of the coefficients up to each in
// zig-zag order, as bit masks.
var rowsTo, colsTo = func() (rows, cols [blockSize]uint8) {
	var r, c uint8
	for zig, k := range unzig {
		r |= 1 << (k >> 3)
		c |= 1 << (k & 7)
		rows[zig], cols[zig] = r, c
	}
	return rows, cols
}()

// reconstructBlock adds a progressive JPEG's block b, quantized, to the cells.
func (d *decoder) reconstructBlock(b *block, bx, by, ci int) error {
	if ci >= d.nComp || ci > 2 {
		return UnsupportedError("too many components")
	}
	fb := coeffs{qt: &d.quant[d.comp[ci].tq]}
	for zig := range int32(blockSize) {
		if v := b[unzig[zig]]; v != 0 {
			fb.set(zig, v)
		}
	}
	return d.addBlock(&fb, bx, by, ci)
}

// addBlock adds block b of component ci at block column bx and row by to the cells and
// clears it for the next block.
func (d *decoder) addBlock(b *coeffs, bx, by, ci int) error {
	if ci >= d.nComp || ci > 2 {
		return UnsupportedError("too many components")
	}
	c := d.cells
	comp := &c.comp[ci]
	if bx >= len(comp.cols) || by >= len(comp.rows) {
		return FormatError("block outside the frame")
	}
	col, row := &comp.cols[bx], &comp.rows[by]
	// The level shift, +128 on every pixel, is 1024 on the DC coefficient (basis 1/8).
	b.c[0] += 1024
	rows := rowsTo[b.last] & row.freqs
	nu := mathbits.Len8(colsTo[b.last] & col.freqs)
	sums := c.sums[ci]
	for r := range row.n {
		wy := row.w[8*r:][:8]
		// t[u] = Σ_v wy[v]·F(u, v): the block's rows folded into cell row r.
		var t [8]float32
		for m := rows; m != 0; m &= m - 1 {
			v := mathbits.TrailingZeros8(m)
			wv := wy[v]
			fv := b.c[8*v:][:8]
			for u := range nu {
				t[u] += wv * fv[u]
			}
		}
		out := sums[(row.first+r)*c.w+col.first:][:col.n]
		for k := range out {
			wx := col.w[8*k:][:8]
			var s float32
			for u := range nu {
				s += t[u] * wx[u]
			}
			out[k] += s
		}
	}
	*b = coeffs{qt: b.qt}
	return nil
}
