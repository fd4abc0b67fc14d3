package images

import "encoding/binary"

const tagOrientation = 0x0112

// exifOrientation reads the Orientation tag from IFD0 of a TIFF structure (an EXIF
// segment's payload after "Exif\0\0"). It returns 0 when there is none or the structure
// is broken; every offset is bounds-checked, as the bytes come from the client.
func exifOrientation(tiff []byte) int {
	if len(tiff) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(tiff[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := uint64(bo.Uint32(tiff[4:]))
	if ifd+2 > uint64(len(tiff)) {
		return 0
	}
	n := uint64(bo.Uint16(tiff[ifd:]))
	for i := uint64(0); i < n; i++ {
		e := ifd + 2 + 12*i
		if e+12 > uint64(len(tiff)) {
			return 0
		}
		if bo.Uint16(tiff[e:]) != tagOrientation {
			continue
		}
		typ, count := bo.Uint16(tiff[e+2:]), bo.Uint32(tiff[e+4:])
		if count != 1 {
			return 0
		}
		switch typ {
		case 3: // SHORT
			return int(bo.Uint16(tiff[e+8:]))
		case 4: // LONG, seen from a few writers
			if v := bo.Uint32(tiff[e+8:]); v <= 8 {
				return int(v)
			}
		}
		return 0
	}
	return 0
}

// minimalExifSegment is a complete APP1 segment holding an EXIF structure with one
// entry, Orientation = o, and nothing else (no GPS, no device, no thumbnail). It is the
// same bytes for the same o, so stripping is idempotent.
func minimalExifSegment(o int) []byte {
	seg := []byte{
		0xFF, mAPP1, 0x00, 34, // marker, length = 2 + 6 + 26
		'E', 'x', 'i', 'f', 0, 0,
		'M', 'M', 0x00, 0x2A, 0, 0, 0, 8, // big-endian TIFF header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(o), 0, 0, // Orientation, SHORT, 1, o
		0, 0, 0, 0, // no next IFD
	}
	return seg
}
