package images

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// Stripping works on the file's structure, never on pixels: segments, chunks and blocks
// that carry metadata are left out and everything else is copied byte for byte, so the
// stored image decodes to exactly the pixels that were uploaded. When nothing is left
// out, the input slice itself is returned.

var errStructure = errors.New("images: malformed image structure")

// strip removes metadata from data of format f. For JPEG it also returns the EXIF
// orientation it kept (1 when none is kept).
func strip(f Format, data []byte) (out []byte, orientation int, err error) {
	switch f {
	case JPEG:
		return stripJPEG(data)
	case PNG:
		out, err = stripPNG(data)
	case GIF:
		out, err = stripGIF(data)
	default:
		err = errStructure
	}
	return out, 1, err
}

// builder collects the kept parts of an input; it copies only once something is left
// out, so an input with nothing to remove costs no allocation and comes back as is.
type builder struct {
	in      []byte
	out     []byte
	copied  int // in[:copied] is accounted for in out (when changed)
	changed bool
}

// skip leaves in[from:to] out; everything before from since the last call is kept.
func (b *builder) skip(from, to int) {
	if !b.changed {
		b.changed = true
		b.out = make([]byte, 0, len(b.in))
	}
	b.out = append(b.out, b.in[b.copied:from]...)
	b.copied = to
}

// insert adds extra bytes at position at (after keeping in[copied:at]).
func (b *builder) insert(at int, extra []byte) {
	b.skip(at, at)
	b.out = append(b.out, extra...)
}

// finish keeps in[copied:end] and drops anything after end.
func (b *builder) finish(end int) []byte {
	if end < len(b.in) {
		b.skip(end, len(b.in))
		return b.out
	}
	if !b.changed {
		return b.in
	}
	return append(b.out, b.in[b.copied:]...)
}

// JPEG markers.
const (
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mAPP0  = 0xE0
	mAPP1  = 0xE1
	mAPP2  = 0xE2
	mAPP14 = 0xEE
	mCOM   = 0xFE
)

// jpegSegment is one piece of a JPEG's byte stream, as a decoder meets it after SOI.
type jpegSegment struct {
	kind segmentKind
	// marker is the byte after 0xFF (kind segMarker).
	marker byte
	// data[start:end] is the whole piece: for a marker with a length, the marker, the
	// length and the payload.
	start, end int
	// payload is what follows a marker's length (nil for markers without one).
	payload []byte
}

type segmentKind int

const (
	// segMarker is a marker, with its length and payload when it has them.
	segMarker segmentKind = iota
	// segJunk is what a decoder ignores between segments: bytes before the next 0xFF, or
	// a stray 0xFF00. Such bytes could hide data.
	segJunk
	// segFill is a 0xFF fill byte before a marker.
	segFill
	// segEntropy is the entropy-coded data after an SOS header, up to the next marker that
	// is neither stuffing (0xFF00), a restart marker nor a fill byte.
	segEntropy
)

// jpegSegments walks a JPEG's segments from offset 2 (after SOI). Every offset is
// bounds-checked: the bytes come from the client.
type jpegSegments struct {
	data   []byte
	p      int
	inScan bool // the last segment was an SOS header: entropy-coded data comes next
}

// next returns the segment at the walk's position, or errStructure when the data ends
// before EOI or a length runs past the end.
func (w *jpegSegments) next() (jpegSegment, error) {
	data, p := w.data, w.p
	if w.inScan {
		w.inScan = false
		q, ok := entropyEnd(data, p)
		if !ok {
			return jpegSegment{}, errStructure
		}
		return w.advance(jpegSegment{kind: segEntropy, start: p, end: q}), nil
	}
	if p < len(data) && data[p] != 0xFF {
		q := p
		for q < len(data) && data[q] != 0xFF {
			q++
		}
		if q >= len(data) {
			return jpegSegment{}, errStructure // no EOI
		}
		return w.advance(jpegSegment{kind: segJunk, start: p, end: q}), nil
	}
	if p+1 >= len(data) {
		return jpegSegment{}, errStructure
	}
	marker := data[p+1]
	switch {
	case marker == 0x00:
		return w.advance(jpegSegment{kind: segJunk, start: p, end: p + 2}), nil
	case marker == 0xFF:
		return w.advance(jpegSegment{kind: segFill, start: p, end: p + 1}), nil
	case marker == mEOI, marker >= 0xD0 && marker <= 0xD7, marker == 0x01, marker == mSOI:
		// Markers without a length.
		return w.advance(jpegSegment{marker: marker, start: p, end: p + 2}), nil
	}
	if p+4 > len(data) {
		return jpegSegment{}, errStructure
	}
	n := int(binary.BigEndian.Uint16(data[p+2:]))
	if n < 2 || p+2+n > len(data) {
		return jpegSegment{}, errStructure
	}
	w.inScan = marker == mSOS
	return w.advance(jpegSegment{marker: marker, start: p, end: p + 2 + n, payload: data[p+4 : p+2+n]}), nil
}

func (w *jpegSegments) advance(s jpegSegment) jpegSegment {
	w.p = s.end
	return s
}

// entropyEnd finds where the entropy-coded data starting at p ends: at the next 0xFF that
// is neither stuffing (0xFF00), a restart marker nor a fill byte.
func entropyEnd(data []byte, p int) (int, bool) {
	for {
		i := bytes.IndexByte(data[p:], 0xFF)
		if i < 0 {
			return 0, false
		}
		p += i
		if p+1 >= len(data) {
			return 0, false
		}
		c := data[p+1]
		switch {
		case c == 0x00 || (c >= 0xD0 && c <= 0xD7):
			p += 2
		case c == 0xFF:
			p++
		default:
			return p, true
		}
	}
}

// stripJPEG keeps SOI, the frame, tables, scans and EOI, APP0 JFIF (without its
// thumbnail), APP2 ICC profiles and APP14 Adobe (both change how pixels decode), and
// drops every other APPn (EXIF, XMP, Photoshop/IPTC, MPF and its extra images, maker
// notes), COM, junk between segments and everything after EOI. If the first EXIF
// segment holds an orientation of 2–8, it is replaced by a minimal EXIF with only that
// tag, so the photo stays upright.
func stripJPEG(data []byte) ([]byte, int, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != mSOI {
		return nil, 1, errStructure
	}
	b := builder{in: data}
	k := jpegKeep{orientation: 1}
	w := jpegSegments{data: data, p: 2}
	for {
		seg, err := w.next()
		if err != nil {
			return nil, 1, err
		}
		if seg.kind == segMarker && seg.marker == mEOI {
			return b.finish(seg.end), k.orientation, nil
		}
		keep, replacement := k.judge(data, seg)
		switch {
		case replacement != nil:
			b.skip(seg.start, seg.end)
			b.insert(seg.end, replacement)
		case !keep:
			b.skip(seg.start, seg.end)
		}
	}
}

// jpegKeep decides, segment by segment, what stripJPEG keeps. It remembers whether the
// first EXIF segment has been seen and the orientation it kept.
type jpegKeep struct {
	seenExif    bool
	orientation int
}

// judge says whether seg is kept as it is; a non-nil replacement takes its place instead.
func (k *jpegKeep) judge(data []byte, seg jpegSegment) (keep bool, replacement []byte) {
	if seg.kind == segJunk {
		return false, nil
	}
	if seg.kind != segMarker {
		return true, nil
	}
	payload := seg.payload
	switch m := seg.marker; {
	case m == mAPP0:
		switch {
		case !bytes.HasPrefix(payload, []byte("JFIF\x00")):
			return false, nil
		case len(payload) > 14 || (len(payload) == 14 && (payload[12] != 0 || payload[13] != 0)):
			// Keep JFIF (it decides the colour transform) but not its thumbnail, which
			// may show what the upload cropped away.
			j := make([]byte, 0, 18)
			j = append(j, 0xFF, mAPP0, 0, 16)
			j = append(j, payload[:12]...)
			return false, append(j, 0, 0)
		}
		return true, nil
	case m == mAPP1:
		if k.seenExif || !bytes.HasPrefix(payload, []byte("Exif\x00\x00")) {
			return false, nil
		}
		k.seenExif = true
		o := exifOrientation(payload[6:])
		if o < 2 || o > 8 {
			return false, nil
		}
		k.orientation = o
		minimal := minimalExifSegment(o)
		if bytes.Equal(data[seg.start:seg.end], minimal) {
			return true, nil
		}
		return false, minimal
	case m == mAPP2:
		return bytes.HasPrefix(payload, []byte("ICC_PROFILE\x00")), nil
	case m == mAPP14:
		return bytes.HasPrefix(payload, []byte("Adobe")), nil
	case m >= mAPP0 && m <= 0xEF, m == mCOM:
		return false, nil
	}
	return true, nil
}

// jpegOrientation returns the EXIF orientation (1–8) of a JPEG's first EXIF segment,
// 1 when it has none or it is not valid. It reads only the segments before the first
// scan, with stripJPEG's walk.
func jpegOrientation(data []byte) int {
	w := jpegSegments{data: data, p: 2}
	for {
		seg, err := w.next()
		if err != nil || seg.marker == mSOS || seg.marker == mEOI {
			return 1
		}
		if seg.kind == segMarker && seg.marker == mAPP1 && bytes.HasPrefix(seg.payload, []byte("Exif\x00\x00")) {
			if o := exifOrientation(seg.payload[6:]); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
}

// PNG chunks kept: the critical ones and those that change how pixels look. Everything
// else (tEXt, zTXt, iTXt, eXIf, tIME, APNG frames, private chunks such as C2PA) is
// dropped: an allow-list, so a new metadata chunk cannot slip through.
var pngKeep = map[string]bool{
	"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true,
	"tRNS": true, "gAMA": true, "cHRM": true, "sRGB": true, "iCCP": true, "sBIT": true,
	"cICP": true, "mDCv": true, "cLLi": true, "pHYs": true, "bKGD": true,
}

// stripPNG keeps whole chunks (so their CRCs stay valid) on the allow-list and drops the
// rest and anything after IEND.
func stripPNG(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, pngSignature) {
		return nil, errStructure
	}
	b := builder{in: data}
	p := len(pngSignature)
	for {
		if p+12 > len(data) {
			return nil, errStructure
		}
		n := binary.BigEndian.Uint32(data[p:])
		if n > 0x7FFFFFFF || uint64(len(data)-p-12) < uint64(n) {
			return nil, errStructure
		}
		end := p + 12 + int(n)
		typ := string(data[p+4 : p+8])
		if !pngKeep[typ] {
			b.skip(p, end)
		}
		p = end
		if typ == "IEND" {
			return b.finish(p), nil
		}
	}
}

func gifSubBlocks(data []byte, p int) (int, bool) {
	for {
		if p >= len(data) {
			return p, false
		}
		n := int(data[p])
		p++
		if n == 0 {
			return p, true
		}
		p += n
	}
}

func gifColorTable(packed byte) int {
	if packed&0x80 == 0 {
		return 0
	}
	return 3 << ((packed & 7) + 1)
}

// walkGIF visits the blocks of a GIF. visit is called for every extension with its
// label and extent; it returns the offset just past the last block that belongs to the
// image, whether the stream ended with a trailer, and the number of image descriptors
// seen (counted even when the stream is broken later, so an animation is recognized).
func walkGIF(data []byte, visit func(label byte, from, to int)) (end int, trailer bool, frames int, err error) {
	if len(data) < 13 {
		return 0, false, 0, errStructure
	}
	p := 13 + gifColorTable(data[10])
	if p > len(data) {
		return 0, false, 0, errStructure
	}
	for {
		if p >= len(data) {
			if frames == 0 {
				return 0, false, frames, errStructure
			}
			return p, false, frames, nil // no trailer: the image ends here
		}
		switch data[p] {
		case 0x21:
			if p+2 > len(data) {
				return 0, false, frames, errStructure
			}
			q, ok := gifSubBlocks(data, p+2)
			if !ok || q > len(data) {
				return 0, false, frames, errStructure
			}
			if visit != nil {
				visit(data[p+1], p, q)
			}
			p = q
		case 0x2C:
			frames++
			if p+10 > len(data) {
				return 0, false, frames, errStructure
			}
			q := p + 10 + gifColorTable(data[p+9]) + 1 // LZW minimum code size
			q, ok := gifSubBlocks(data, q)
			if !ok || q > len(data) {
				return 0, false, frames, errStructure
			}
			p = q
		case 0x3B:
			return p + 1, true, frames, nil
		default:
			if frames == 0 {
				return 0, false, frames, errStructure
			}
			// Garbage after a complete image: the image ends here.
			return p, false, frames, nil
		}
	}
}

// gifFrames counts the image descriptors of a GIF without decoding any of them.
func gifFrames(data []byte) (int, error) {
	_, _, frames, err := walkGIF(data, nil)
	return frames, err
}

// stripGIF keeps the header, colour tables, graphic control extensions (transparency)
// and image data, and drops comment, application (XMP, ICC, looping), plain-text and
// unknown extensions and anything after the trailer. A GIF that stops with junk instead
// of a trailer gets one.
func stripGIF(data []byte) ([]byte, error) {
	b := builder{in: data}
	end, trailer, _, err := walkGIF(data, func(label byte, from, to int) {
		if label != 0xF9 {
			b.skip(from, to)
		}
	})
	if err != nil {
		return nil, err
	}
	if !trailer && end < len(data) {
		return append(b.finish(end), 0x3B), nil
	}
	return b.finish(end), nil
}
