package images

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/beianscan/beianscan/internal/filing"
)

// MaxDecodeBytes is the most memory one image's decode may need (docs/operations.md "Image
// memory"): anything more is refused from its header with image_too_large_dimensions.
const MaxDecodeBytes int64 = 192 << 20

// decodeBytes is what Go's decoder for the header's format allocates to decode the image,
// at its peak, read from the header alone. It follows image/jpeg, image/png and image/gif
// as they are (Go 1.26), not the nominal size of the pixels:
//
//   - JPEG: one plane per component at its sampling factors, padded to whole MCUs
//     (YCbCr 4:2:0 ≈ 1.5 B/px, 4:4:4 3 B/px, gray 1 B/px); a progressive JPEG also keeps
//     every coefficient until the last scan, an int32 per sample (4 B per plane byte); a
//     4-component (CMYK/YCCK) or RGB-coded JPEG is then converted into a new 4 B/px image
//     while the planes are still alive.
//   - PNG: the image type the decoder picks for its colour type, bit depth and tRNS chunk
//     (16-bit RGBA 8 B/px, 8-bit RGB 4 B/px as RGBA, gray with tRNS 4 or 8 B/px as NRGBA,
//     …); an interlaced PNG also allocates an image per pass (together as large again),
//     which are garbage only once the whole image is assembled.
//   - GIF: one paletted byte per pixel of the logical screen (a frame cannot be larger).
//
// Decoder buffers (bufio, zlib, Huffman tables, PNG rows) are small and added as a fixed
// allowance. A header this walk cannot follow (which DecodeConfig accepted) is costed at
// the format's worst case.
func decodeBytes(f Format, data []byte, w, h int) int64 {
	const allowance = 512 << 10
	px := float64(w) * float64(h)
	var b float64
	switch f {
	case JPEG:
		l, ok := jpegLayoutOf(data)
		if !ok {
			l = jpegLayout{comps: []jpegComp{{h: 1, v: 1}, {h: 1, v: 1}, {h: 1, v: 1}, {h: 1, v: 1}},
				progressive: true, converted: true}
		}
		b = l.bytes(w, h)
	case PNG:
		l, ok := pngLayoutOf(data)
		if !ok {
			l = pngLayout{bytesPerPixel: 8, bitsPerPixel: 64, interlaced: true}
		}
		b = px * l.bytesPerPixel
		if l.interlaced {
			b *= 2 // the seven pass images, together the size of the image
		}
		b += 2 * (1 + math.Ceil(float64(w)*l.bitsPerPixel/8)) // current and previous row
	default: // GIF
		b = px
	}
	b += allowance
	if b >= math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return int64(b)
}

// tooMuchMemory is image_too_large_dimensions for an image whose decode needs n bytes.
func tooMuchMemory(n int64, w, h int) error {
	mib := func(v int64) int64 { return (v + 1<<20 - 1) >> 20 }
	return filing.ErrImageTooLargeDimensions.WithMessage(
		fmt.Sprintf("The image needs too much memory to decode (%d MiB, at most %d MiB): save it as an ordinary 8-bit JPEG or make it smaller.", mib(n), MaxDecodeBytes>>20),
		fmt.Sprintf("图片解码所需内存过大（%d MiB，最多 %d MiB），请另存为普通 8 位 JPEG 或缩小尺寸后上传。", mib(n), MaxDecodeBytes>>20),
	).WithDetails(map[string]any{
		"max_decoded_bytes": MaxDecodeBytes, "decoded_bytes": n, "width": w, "height": h})
}

// jpegLayout is what of a JPEG's header decides its decoder's allocations.
type jpegLayout struct {
	comps       []jpegComp
	progressive bool
	converted   bool // 4 components, or 3 coded as RGB: a further 4 B/px image
}

type jpegComp struct {
	id   byte
	h, v int
}

// bytes mirrors image/jpeg's makeImg and progressive coefficient buffers.
func (l jpegLayout) bytes(w, h int) float64 {
	h0, v0 := l.comps[0].h, l.comps[0].v
	if len(l.comps) == 1 {
		h0, v0 = 1, 1 // a single component is not interleaved: 8×8 blocks
	}
	mxx := math.Ceil(float64(w) / float64(8*h0))
	myy := math.Ceil(float64(h) / float64(8*v0))
	var planes float64
	for _, c := range l.comps {
		ch, cv := c.h, c.v
		if len(l.comps) == 1 {
			ch, cv = 1, 1
		}
		planes += 64 * mxx * myy * float64(ch*cv)
	}
	b := planes
	if l.progressive {
		b += 4 * planes // a [64]int32 block per 8×8 block of every component
	}
	if l.converted {
		b += 4 * float64(w) * float64(h)
	}
	return b
}

// jpegLayoutOf walks a JPEG's segments up to its first scan as image/jpeg does, noting the
// frame header (SOF0/1/2), JFIF (APP0) and Adobe (APP14) segments. Anything it cannot read
// answers false, and the caller assumes the costliest layout.
func jpegLayoutOf(data []byte) (jpegLayout, bool) {
	var l jpegLayout
	jfif, adobe, adobeTransform, sof := false, false, byte(0), false
	w := jpegSegments{data: data, p: 2}
	for {
		s, err := w.next()
		if err != nil {
			return l, false
		}
		if s.kind != segMarker {
			continue // junk and fill bytes: image/jpeg skips them, as libjpeg does
		}
		seg := s.payload
		switch m := s.marker; {
		case m == 0xC0 || m == 0xC1 || m == 0xC2:
			comps, ok := frameComponents(seg)
			if sof || !ok {
				return l, false
			}
			sof, l.progressive, l.comps = true, m == 0xC2, comps
		case m == 0xE0 && len(seg) >= 5 && string(seg[:5]) == "JFIF\x00":
			jfif = true
		case m == 0xEE && len(seg) >= 12 && string(seg[:5]) == "Adobe":
			adobe, adobeTransform = true, seg[11]
		case m == mSOS || m == mEOI: // by SOS the decoder has allocated
			if !sof {
				return l, false
			}
			switch len(l.comps) {
			case 4:
				l.converted = true
			case 3:
				// image/jpeg's isRGB.
				l.converted = !jfif && (adobe && adobeTransform == 0 ||
					l.comps[0].id == 'R' && l.comps[1].id == 'G' && l.comps[2].id == 'B')
			}
			return l, true
		}
	}
}

// frameComponents reads the components of a frame header's payload, or false when they are
// not what image/jpeg decodes (1, 3 or 4 components, sampling factors 1–4).
func frameComponents(seg []byte) ([]jpegComp, bool) {
	if len(seg) < 6 {
		return nil, false
	}
	nc := int(seg[5])
	if nc != 1 && nc != 3 && nc != 4 || len(seg) < 6+3*nc {
		return nil, false
	}
	comps := make([]jpegComp, 0, nc)
	for i := 0; i < nc; i++ {
		c := seg[6+3*i:]
		hv := jpegComp{id: c[0], h: int(c[1] >> 4), v: int(c[1] & 0x0F)}
		if hv.h < 1 || hv.h > 4 || hv.v < 1 || hv.v > 4 {
			return nil, false
		}
		comps = append(comps, hv)
	}
	return comps, true
}

// pngLayout is what of a PNG's header decides the image type image/png allocates.
type pngLayout struct {
	bytesPerPixel float64
	bitsPerPixel  float64 // of the filtered rows
	interlaced    bool
}

// pngLayoutOf reads IHDR and looks for a tRNS chunk before the first IDAT (where the
// decoder decides the image type).
func pngLayoutOf(data []byte) (pngLayout, bool) {
	var l pngLayout
	p := len(pngSignature)
	if p+8+13 > len(data) || string(data[p+4:p+8]) != "IHDR" {
		return l, false
	}
	ihdr := data[p+8:]
	depth, ct := int(ihdr[8]), ihdr[9]
	l.interlaced = ihdr[12] == 1
	trns := false
	for q := p; q+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[q:]))
		typ := string(data[q+4 : q+8])
		if typ == "IDAT" {
			break
		}
		if typ == "tRNS" {
			trns = true
		}
		next := int64(q) + 12 + n
		if next > int64(len(data)) {
			break
		}
		q = int(next)
	}
	wide := depth == 16
	switch ct {
	case 0: // gray
		l.bitsPerPixel = float64(depth)
		switch {
		case trns && wide:
			l.bytesPerPixel = 8 // NRGBA64
		case trns:
			l.bytesPerPixel = 4 // NRGBA
		case wide:
			l.bytesPerPixel = 2 // Gray16
		default:
			l.bytesPerPixel = 1 // Gray
		}
	case 2: // truecolour: RGBA or NRGBA, 64-bit when 16-bit
		l.bitsPerPixel = 3 * float64(depth)
		l.bytesPerPixel = 4
	case 3: // paletted
		l.bitsPerPixel = float64(depth)
		l.bytesPerPixel = 1
	case 4: // gray + alpha: NRGBA(64)
		l.bitsPerPixel = 2 * float64(depth)
		l.bytesPerPixel = 4
	case 6: // truecolour + alpha: NRGBA(64)
		l.bitsPerPixel = 4 * float64(depth)
		l.bytesPerPixel = 4
	default:
		return l, false
	}
	if wide && ct != 0 {
		l.bytesPerPixel = 8
	}
	return l, true
}

// Allowances of Cost beside the decode: the working image of the quality analysis (two
// planes of at most workingLongSide² bytes) and what a call allocates in small pieces.
const fixedCost = 4 << 20

// Cost checks data's header as Process does, refusing from it what Process refuses before
// decoding (too_large, unsupported_format, corrupt_image, image_too_large_dimensions,
// animated_gif), and returns how many bytes Process(data, opts) holds at its peak: the
// decode, the body and its stripped copy, and with Fit the flattened, reduced, scaled and
// oriented copies and the encoder's buffers. It costs microseconds, so a caller can reserve
// memory before the decode starts (internal/admission).
func Cost(data []byte, opts Options) (int64, error) {
	opts = opts.withDefaults()
	if opts.Fit {
		if int64(len(data)) > opts.FitMaxBytes {
			return 0, tooLarge(opts.FitMaxBytes, int64(len(data)), false)
		}
	} else if int64(len(data)) >= opts.MaxBytes {
		return 0, tooLarge(opts.MaxBytes, int64(len(data)), true)
	}
	h, err := checkHeader(data, opts)
	if err != nil {
		return 0, err
	}
	if !opts.Fit {
		return h.decodeBytes + 2*int64(len(data)) + fixedCost, nil
	}
	px := int64(h.width) * int64(h.height)
	return h.decodeBytes + int64(len(data)) + flattenBytes(h) + 12*px + 2*opts.MaxBytes + fixedCost, nil
}

// flattenBytes is the RGBA copy flatten makes of anything but JPEG's YCbCr and gray
// images (an opaque RGBA PNG is kept too, but a header cannot promise opacity).
func flattenBytes(h header) int64 {
	if h.format == JPEG {
		return 0
	}
	return 4 * int64(h.width) * int64(h.height)
}

// StitchCost checks every part's header as Stitch does and returns how many bytes
// Stitch(parts, opts) holds at its peak: every part's bytes, the canvas and its encoding,
// and the costliest part's decode with its copies (parts are decoded one at a time).
func StitchCost(parts [][]byte, opts Options) (int64, error) {
	opts = opts.withDefaults()
	p, err := planStitch(parts, opts)
	if err != nil {
		return 0, err
	}
	canvas := 4 * int64(p.width+2*stitchMargin) * int64(p.canvasH)
	var bodies, worst int64
	for i, h := range p.hdrs {
		bodies += int64(len(parts[i]))
		px := int64(h.width) * int64(h.height)
		part := 4 * int64(p.width) * int64(p.heights[i])
		// decode, flatten, box-reduced RGBA (at most the source), the scaled part and
		// its oriented copy.
		worst = max(worst, h.decodeBytes+flattenBytes(h)+4*px+2*part)
	}
	// encodeUnder scales the canvas (at most its size) and keeps two encodings.
	return bodies + 2*canvas + worst + 2*opts.MaxBytes + fixedCost, nil
}
