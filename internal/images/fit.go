package images

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"

	"golang.org/x/image/draw"

	"github.com/beianscan/beianscan/internal/filing"
)

// StitchMaxParts is the most images one stitch combines.
const StitchMaxParts = 8

const (
	// fitQuality is the JPEG quality of a fitted or stitched image; lower qualities
	// are used only when even the minimum long side does not fit at this one.
	fitQuality = 90
	// fitMinLongSide is the long side a fitted image keeps whenever the size limit
	// allows: enough to read an ID card or a form.
	fitMinLongSide = 2000
	// fitGoodEnough: a fitting encode of at least this share of the limit is taken
	// without searching for a slightly larger scale.
	fitGoodEnough = 0.85

	stitchMinParts = 2
	stitchMaxWidth = 2000 // common width of stitched parts, at most
	stitchMargin   = 24   // white margin between and around the parts
)

// fit re-encodes one image as a JPEG under opts.MaxBytes (Options.Fit).
func fit(data []byte, opts Options) (*Result, error) {
	if int64(len(data)) > opts.FitMaxBytes {
		return nil, tooLarge(opts.FitMaxBytes, int64(len(data)), false)
	}
	h, err := checkHeader(data, opts)
	if err != nil {
		return nil, err
	}
	img, err := decode(h.format, data)
	if err != nil {
		return nil, err
	}
	if err := checkShortSide(h.width, h.height, opts); err != nil {
		return nil, err
	}
	warnings := analyze(reduce(img), opts, h.orientation)
	src := flatten(img, h.width, h.height)
	out, w, ht, err := encodeUnder(src, h.orientation, opts.MaxBytes)
	if err != nil {
		return nil, err
	}
	return &Result{
		Data: out, Format: JPEG, Width: w, Height: ht,
		Warnings: warnings, Fitted: true, OriginalSize: int64(len(data)),
	}, nil
}

// flatten returns img as an opaque image of w×h with its top-left at 0,0, composited
// over white (a transparent PNG shows on a white page; a GIF frame smaller than its
// screen sits on white). JPEG's YCbCr and Gray images come back as they are.
func flatten(img image.Image, w, h int) image.Image {
	b := img.Bounds()
	full := b == image.Rect(0, 0, w, h)
	switch m := img.(type) {
	case *image.YCbCr, *image.Gray:
		if full {
			return m
		}
	case *image.RGBA:
		if full && m.Opaque() {
			return m
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(dst, b.Intersect(dst.Bounds()), img, b.Intersect(dst.Bounds()).Min, draw.Over)
	return dst
}

// encodeUnder encodes src, with EXIF orientation o applied, as a JPEG smaller than
// maxBytes, downscaling only as far as needed: first the largest scale that fits at
// fitQuality (but not below a long side of fitMinLongSide), then lower qualities at that
// long side, then smaller scales. The search predicts the next scale from the last
// encode's size (a JPEG's size grows roughly with its pixel count), so it usually takes
// two or three encodes. It returns the bytes and the displayed size.
func encodeUnder(src image.Image, o int, maxBytes int64) ([]byte, int, int, error) {
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	long := max(sw, sh)
	sMin := math.Min(1, float64(fitMinLongSide)/float64(long))
	target := float64(maxBytes)

	var buf bytes.Buffer
	r := &renderer{src: src, o: o}
	encode := func(s float64, q int) ([]byte, int, int, error) {
		img := r.render(s)
		buf.Reset()
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			return nil, 0, 0, err
		}
		b := img.Bounds()
		return buf.Bytes(), b.Dx(), b.Dy(), nil
	}
	type result struct {
		data []byte
		w, h int
	}
	var best *result
	keep := func(d []byte, w, h int) { best = &result{bytes.Clone(d), w, h} }

	// Phase 1: scale in [sMin, 1] at fitQuality.
	lo, hi := 0.0, math.Inf(1) // largest scale known to fit, smallest known not to
	s := 1.0
	if pred := predictSize(src, fitQuality); pred > 0.93*target {
		// Encoding a big photo at full size only to learn it is too large costs
		// seconds; a sample predicts that it will be.
		s = math.Max(sMin, math.Sqrt(0.93*target/pred))
	}
	var prevS, prevSize float64
	for range 6 {
		d, w, h, err := encode(s, fitQuality)
		if err != nil {
			return nil, 0, 0, err
		}
		size := float64(len(d))
		if size < target {
			keep(d, w, h)
			lo = s
			if s >= 1 || size >= fitGoodEnough*target || hi/s < 1.03 {
				break
			}
		} else {
			hi = s
			if s <= sMin {
				break
			}
		}
		// Size grows as a power of the scale: about 2 (the pixel count) at first
		// guess, then the exponent measured between the last two encodes.
		exp := 2.0
		if prevS > 0 && prevS != s && prevSize > 0 {
			exp = math.Log(size/prevSize) / math.Log(s/prevS)
			exp = math.Max(1.5, math.Min(4, exp))
		}
		prevS, prevSize = s, size
		next := s * math.Pow(0.93*target/size, 1/exp)
		if next >= hi || next <= lo {
			next = (math.Max(lo, sMin) + math.Min(hi, 1)) / 2
		}
		s = math.Max(math.Min(next, 1), sMin)
		if s <= lo || s >= hi {
			break
		}
	}
	if best != nil {
		return best.data, best.w, best.h, nil
	}
	// Phase 2: the minimum long side at lower qualities.
	for _, q := range []int{80, 70, 60, 50} {
		d, w, h, err := encode(sMin, q)
		if err != nil {
			return nil, 0, 0, err
		}
		if int64(len(d)) < maxBytes {
			return bytes.Clone(d), w, h, nil
		}
	}
	// Phase 3: smaller than the minimum long side, at quality 70.
	s = sMin
	for range 20 {
		d, w, h, err := encode(s, 70)
		if err != nil {
			return nil, 0, 0, err
		}
		if int64(len(d)) < maxBytes {
			return bytes.Clone(d), w, h, nil
		}
		if w <= 16 && h <= 16 {
			break
		}
		s *= math.Min(0.9, math.Sqrt(0.9*target/float64(len(d))))
	}
	return nil, 0, 0, errors.New("images: cannot encode under the size limit")
}

// predictSize estimates the size of src encoded whole at quality q from a sample of
// full-width strips spread over its height, or returns 0 when src is small enough to
// just encode. The strips' seams add a little, so the estimate errs on the large side.
func predictSize(src image.Image, q int) float64 {
	const strips, stripH = 8, 32
	b := src.Bounds()
	W, H := b.Dx(), b.Dy()
	if H < 4*strips*stripH || W*H < 4_000_000 {
		return 0
	}
	sample := image.NewRGBA(image.Rect(0, 0, W, strips*stripH))
	for k := range strips {
		y := b.Min.Y + (2*k+1)*H/(2*strips) - stripH/2
		draw.Draw(sample, image.Rect(0, k*stripH, W, (k+1)*stripH), src, image.Pt(b.Min.X, y), draw.Src)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, sample, &jpeg.Options{Quality: q}); err != nil {
		return 0
	}
	return float64(buf.Len()) * float64(H) / float64(strips*stripH)
}

// renderer produces src scaled by s with orientation o applied. A large reduction is
// done in two steps: an exact box average by an integer factor k (fast, and cached, as
// the search tries several scales near each other) and then Catmull-Rom for the rest,
// which then works with a small kernel. Scaling a 24 MP photo straight down with
// Catmull-Rom costs over a second per attempt.
type renderer struct {
	src     image.Image // from flatten: *image.YCbCr, *image.Gray or *image.RGBA
	o       int
	reduced map[int]image.Image
}

// render returns src scaled by s, oriented.
func (r *renderer) render(s float64) image.Image {
	b := r.src.Bounds()
	if s == 1 {
		return r.renderSize(b.Dx(), b.Dy())
	}
	return r.renderSize(max(1, int(math.Round(float64(b.Dx())*s))), max(1, int(math.Round(float64(b.Dy())*s))))
}

// renderSize returns src scaled to w×h (the coded size, before orientation), oriented.
func (r *renderer) renderSize(w, h int) image.Image {
	b := r.src.Bounds()
	var scaled image.Image = r.src
	if w != b.Dx() || h != b.Dy() {
		from := r.src
		// Reduce by an integer factor first; and x/image/draw converts YCbCr to
		// RGB at every kernel tap, so converting once first (k = 1) is faster.
		if k := min(b.Dx()/w, b.Dy()/h); k >= 2 || !isRGBA(r.src) {
			k = max(k, 1)
			if r.reduced[k] == nil {
				r.reduced = map[int]image.Image{k: boxReduce(r.src, k)} // keep only one
			}
			from = r.reduced[k]
		}
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		scaler(from).Scale(dst, dst.Bounds(), from, from.Bounds(), draw.Src, nil)
		scaled = dst
	}
	if r.o < 2 || r.o > 8 {
		return scaled
	}
	rgba, ok := scaled.(*image.RGBA)
	if !ok {
		sb := scaled.Bounds()
		rgba = image.NewRGBA(image.Rect(0, 0, sb.Dx(), sb.Dy()))
		draw.Draw(rgba, rgba.Bounds(), scaled, sb.Min, draw.Src)
	}
	return orient(rgba, r.o)
}

// scaler is Catmull-Rom, except from sources so large that it would take seconds: those
// are first box-reduced (see renderer), so what is left is a reduction by less than 2,
// which bilinear interpolation does without visible aliasing.
func scaler(from image.Image) draw.Scaler {
	if b := from.Bounds(); b.Dx()*b.Dy() > 8_000_000 {
		return draw.ApproxBiLinear
	}
	return draw.CatmullRom
}

func isRGBA(m image.Image) bool {
	_, ok := m.(*image.RGBA)
	return ok
}

// boxReduce averages k×k blocks of src (the last row and column of blocks take what is
// left) into an RGBA image.
func boxReduce(src image.Image, k int) *image.RGBA {
	b := src.Bounds()
	W, H := b.Dx(), b.Dy()
	dw, dh := max(1, W/k), max(1, H/k)
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	s0 := make([]uint64, dw)
	s1 := make([]uint64, dw)
	s2 := make([]uint64, dw)
	if k == 1 {
		dst := image.NewRGBA(image.Rect(0, 0, W, H))
		draw.Draw(dst, dst.Bounds(), src, b.Min, draw.Src)
		return dst
	}
	ycc, isYCC := src.(*image.YCbCr)
	rgba, isRGBA := src.(*image.RGBA)
	if !isYCC && !isRGBA {
		rgba = image.NewRGBA(image.Rect(0, 0, W, H))
		draw.Draw(rgba, rgba.Bounds(), src, b.Min, draw.Src)
		b = rgba.Rect
	}
	for j := 0; j < dh; j++ {
		y0, y1 := cellSpan(j, k, dh, H)
		clear(s0)
		clear(s1)
		clear(s2)
		for y := b.Min.Y + y0; y < b.Min.Y+y1; y++ {
			var yrow []uint8
			if isYCC {
				yrow = ycc.Y[ycc.YOffset(b.Min.X, y):]
			}
			for i := 0; i < dw; i++ {
				x0, x1 := cellSpan(i, k, dw, W)
				var a0, a1, a2 uint64
				if isYCC {
					for x := x0; x < x1; x++ {
						c := ycc.COffset(b.Min.X+x, y)
						a0 += uint64(yrow[x])
						a1 += uint64(ycc.Cb[c])
						a2 += uint64(ycc.Cr[c])
					}
				} else {
					px := rgba.Pix[rgba.PixOffset(b.Min.X+x0, y):]
					for x := 0; x < x1-x0; x++ {
						a0 += uint64(px[4*x])
						a1 += uint64(px[4*x+1])
						a2 += uint64(px[4*x+2])
					}
				}
				s0[i] += a0
				s1[i] += a1
				s2[i] += a2
			}
		}
		for i := 0; i < dw; i++ {
			x0, x1 := cellSpan(i, k, dw, W)
			n := uint64((x1 - x0) * (y1 - y0))
			v0, v1, v2 := uint8((s0[i]+n/2)/n), uint8((s1[i]+n/2)/n), uint8((s2[i]+n/2)/n)
			if isYCC {
				v0, v1, v2 = color.YCbCrToRGB(v0, v1, v2)
			}
			p := dst.PixOffset(i, j)
			dst.Pix[p], dst.Pix[p+1], dst.Pix[p+2], dst.Pix[p+3] = v0, v1, v2, 255
		}
	}
	return dst
}

// orient applies EXIF orientation o (2–8) to m, returning an upright copy.
func orient(m *image.RGBA, o int) *image.RGBA {
	W, H := m.Rect.Dx(), m.Rect.Dy()
	dw, dh := W, H
	if o >= 5 {
		dw, dh = H, W
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < H; y++ {
		row := m.Pix[y*m.Stride : y*m.Stride+4*W]
		for x := 0; x < W; x++ {
			dx, dy := orientXY(o, x, y, W, H)
			i := dy*dst.Stride + 4*dx
			copy(dst.Pix[i:i+4], row[4*x:4*x+4])
		}
	}
	return dst
}

// Stitch validates each part like Process (format, pixel limit, animation, decoding,
// short side; each part under MaxBytes, or up to FitMaxBytes with Fit), applies each
// part's orientation, and stacks them top to bottom in order at a common width (the
// widest part's, at most 2000 px) with 24 px white margins between and around them. The
// result is a JPEG under MaxBytes, shrunk as Fit shrinks. Its warnings are those of any
// part, in the usual order: the white margins would skew an analysis of the whole.
// Errors about one part carry details.part, its index from 0.
func Stitch(parts [][]byte, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	defer opts.timed("stitch")()
	p, err := planStitch(parts, opts)
	if err != nil {
		return nil, err
	}
	hdrs, width, heights := p.hdrs, p.width, p.heights
	canvas := image.NewRGBA(image.Rect(0, 0, width+2*stitchMargin, p.canvasH))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	var total int64
	for _, part := range parts {
		total += int64(len(part))
	}

	seen := map[string]bool{}
	y := stitchMargin
	for i, h := range hdrs {
		img, err := decode(h.format, parts[i])
		if err != nil {
			return nil, withPart(err, i)
		}
		for _, w := range analyze(reduce(img), opts, h.orientation) {
			seen[w] = true
		}
		src := flatten(img, h.width, h.height)
		// Scale the coded image to the size whose oriented form is width×heights[i].
		tw, th := width, heights[i]
		if h.orientation >= 5 && h.orientation <= 8 {
			tw, th = th, tw
		}
		part := (&renderer{src: src, o: h.orientation}).renderSize(tw, th)
		r := image.Rect(stitchMargin, y, stitchMargin+width, y+heights[i])
		draw.Draw(canvas, r, part, image.Point{}, draw.Src)
		y += heights[i] + stitchMargin
	}
	warnings := []string{}
	for _, w := range warningOrder {
		if seen[w] {
			warnings = append(warnings, w)
		}
	}
	out, w, ht, err := encodeUnder(canvas, 1, opts.MaxBytes)
	if err != nil {
		return nil, err
	}
	return &Result{Data: out, Format: JPEG, Width: w, Height: ht, Warnings: warnings, OriginalSize: total}, nil
}

// stitchPlan is a stitch laid out from the parts' headers, before any part is decoded.
type stitchPlan struct {
	hdrs    []header
	width   int   // common width of the parts
	heights []int // of each part at that width
	canvasH int
}

// planStitch checks every part's header and lays the canvas out.
func planStitch(parts [][]byte, opts Options) (*stitchPlan, error) {
	if len(parts) < stitchMinParts || len(parts) > StitchMaxParts {
		return nil, filing.ErrInvalidRequest.WithMessage(
			fmt.Sprintf("Stitching takes %d to %d images.", stitchMinParts, StitchMaxParts),
			fmt.Sprintf("拼接需要 %d 至 %d 张图片。", stitchMinParts, StitchMaxParts)).
			WithDetails(map[string]any{"min_parts": stitchMinParts, "max_parts": StitchMaxParts, "parts": len(parts)})
	}
	// Every header is checked before any part is decoded.
	hdrs := make([]header, len(parts))
	for i, p := range parts {
		if opts.Fit && int64(len(p)) > opts.FitMaxBytes {
			return nil, withPart(tooLarge(opts.FitMaxBytes, int64(len(p)), false), i)
		}
		if !opts.Fit && int64(len(p)) >= opts.MaxBytes {
			return nil, withPart(tooLarge(opts.MaxBytes, int64(len(p)), true), i)
		}
		h, err := checkHeader(p, opts)
		if err != nil {
			return nil, withPart(err, i)
		}
		if err := checkShortSide(h.width, h.height, opts); err != nil {
			return nil, withPart(err, i)
		}
		hdrs[i] = h
	}

	// Layout: displayed sizes, common width, and a canvas no larger than MaxPixels.
	width := 0
	for _, h := range hdrs {
		w, _ := displayed(h)
		width = max(width, w)
	}
	width = min(width, stitchMaxWidth)
	heights := make([]int, len(hdrs))
	layout := func(width int) int64 {
		sum := stitchMargin
		for i, h := range hdrs {
			w, ht := displayed(h)
			heights[i] = max(1, int(math.Round(float64(ht)*float64(width)/float64(w))))
			sum += heights[i] + stitchMargin
		}
		return int64(width+2*stitchMargin) * int64(sum)
	}
	for layout(width) > opts.MaxPixels && width > 16 {
		width = width * 9 / 10
	}
	canvasH := stitchMargin
	for _, ht := range heights {
		canvasH += ht + stitchMargin
	}
	return &stitchPlan{hdrs: hdrs, width: width, heights: heights, canvasH: canvasH}, nil

}

// displayed is a header's size with its orientation applied.
func displayed(h header) (int, int) {
	if h.orientation >= 5 && h.orientation <= 8 {
		return h.height, h.width
	}
	return h.width, h.height
}

// withPart adds details.part = i to a coded error about one part of a stitch.
func withPart(err error, i int) error {
	var fe *filing.Error
	if !errors.As(err, &fe) {
		return err
	}
	d := map[string]any{"part": i}
	for k, v := range fe.Details {
		d[k] = v
	}
	return fe.WithDetails(d)
}
