package images

import (
	"errors"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/jpegcells"
)

// minJPEGCells is the smallest cell size at which a JPEG is reduced from its coefficients
// (internal/jpegcells) rather than decoded and reduced. At 2 (a long side of 1,001–2,000 px,
// a decode of tens of milliseconds) the working image's small rounding differences flipped
// a face detection at the threshold's edge in TestJPEGCellsSameWarnings; from 3 on the
// warnings are the same (docs/benchmarks.md, "The working image from the coefficients").
const minJPEGCells = 3

// decodeWorking decodes the image whose header is h to the working resolution: a JPEG of
// cells of minJPEGCells or more from its coefficients, without its pixels; any other image
// decoded whole and reduced. What the decoder refuses is corrupt_image.
func decodeWorking(h header, data []byte) (working, error) {
	if h.format == JPEG {
		if f := cellSize(h.width, h.height); f >= minJPEGCells {
			wk, err := jpegWorking(data, f, h.width, h.height)
			if !errors.Is(err, jpegcells.ErrUnsupported) {
				return wk, err
			}
		}
	}
	img, err := decode(h.format, data)
	if err != nil {
		return working{}, err
	}
	return reduce(img), nil
}

// jpegWorking is the working image of a W×H JPEG from its sums over cells of f pixels: the
// same cells as reduce, converted as reduceYCbCr converts its sums. A panic in the decoder
// (a bug there) is corrupt_image, as in decode.
func jpegWorking(data []byte, f, W, H int) (wk working, err error) {
	defer func() {
		if recover() != nil {
			wk, err = working{}, filing.ErrCorruptImage
		}
	}()
	s, err := jpegcells.Reduce(data, f)
	if errors.Is(err, jpegcells.ErrUnsupported) {
		return working{}, err
	}
	if err != nil || s.W != cells(W, f) || s.H != cells(H, f) {
		return working{}, filing.ErrCorruptImage
	}
	wk = working{w: s.W, h: s.H, luma: make([]uint8, s.W*s.H), chroma: make([]uint8, s.W*s.H)}
	last := s.W - 1
	for j := range s.H {
		y0, y1 := cellSpan(j, f, s.H, H)
		rows := y1 - y0
		row := j * s.W
		luma, chroma := wk.luma[row:][:s.W], wk.chroma[row:][:s.W]
		sy := s.Y[row:][:s.W]
		if s.Cb == nil { // gray, as reduceRows converts it
			for i, v := range sy {
				x0, x1 := cellSpan(i, f, s.W, W)
				m := float64(v) / float64((x1-x0)*rows)
				luma[i], chroma[i] = cellOf(m, m, m)
			}
			continue
		}
		sb, sr := s.Cb[row:][:s.W], s.Cr[row:][:s.W]
		convertYCC(luma[:last], chroma[:last], sy[:last], sb[:last], sr[:last], 1/float64(f*rows))
		convertYCC(luma[last:], chroma[last:], sy[last:], sb[last:], sr[last:], 1/float64((W-last*f)*rows))
	}
	return wk, nil
}
