package images

import "encoding/binary"

// lanes are column sums of rows of bytes, eight columns a 64-bit word: a row is added eight
// bytes at a time with a few masks and additions instead of eight loads and additions.
// With group g the sums are of groups of g neighbouring columns (columns g·j to g·j+g-1 in
// value j), so that a cell of f columns, f a multiple of g, reads f/g values:
//
//   - g = 1: a holds columns 8k, 8k+2, 8k+4, 8k+6 and b columns 8k+1, …, 8k+7, in 16-bit
//     lanes;
//   - g = 2: a holds the four pairs of word k in 16-bit lanes;
//   - g = 4: a holds the two quads of word k in 32-bit lanes.
//
// Columns past n (the row's end inside its last word) count as 0. A 16-bit lane holds at
// most 65535, so at most rowsFor(g) rows (weights summed) may be added between resets.
type lanes struct {
	g    int
	a, b []uint64
	n    int // columns
}

const (
	byteLanes = 0x00FF00FF00FF00FF
	wordLanes = 0x0000FFFF0000FFFF
)

// rowsFor is the most rows (weights summed) lanes of group g may hold.
func rowsFor(g int) int {
	switch g {
	case 1:
		return 257 // 255 × 257 = 65535
	case 2:
		return 128 // 510 × 128 < 65536
	}
	return 1 << 20 // 32-bit lanes
}

// groupOf is the largest group, 4, 2 or 1, that divides f.
func groupOf(f int) int {
	switch {
	case f%4 == 0:
		return 4
	case f%2 == 0:
		return 2
	}
	return 1
}

func newLanes(n, g int) *lanes {
	k := (n + 7) / 8
	l := &lanes{g: g, a: make([]uint64, k), n: n}
	if g == 1 {
		l.b = make([]uint64, k)
	}
	return l
}

func (l *lanes) reset() {
	clear(l.a)
	clear(l.b)
}

// add adds the first l.n bytes of row to the sums wt times.
func (l *lanes) add(row []uint8, wt int) {
	row = row[:l.n]
	full := l.n / 8
	w := uint64(wt)
	a := l.a[:full]
	switch l.g {
	case 1:
		b := l.b[:full]
		if wt == 1 {
			for k := range a {
				v := binary.LittleEndian.Uint64(row[8*k:])
				a[k] += v & byteLanes
				b[k] += v >> 8 & byteLanes
			}
		} else {
			for k := range a {
				v := binary.LittleEndian.Uint64(row[8*k:])
				a[k] += (v & byteLanes) * w
				b[k] += (v >> 8 & byteLanes) * w
			}
		}
	case 2:
		for k := range a {
			v := binary.LittleEndian.Uint64(row[8*k:])
			a[k] += ((v & byteLanes) + (v >> 8 & byteLanes)) * w
		}
	case 4:
		for k := range a {
			v := binary.LittleEndian.Uint64(row[8*k:])
			p := (v & byteLanes) + (v >> 8 & byteLanes)
			a[k] += ((p + p>>16) & wordLanes) * w
		}
	}
	if rest := row[8*full:]; len(rest) > 0 {
		var t [8]byte
		copy(t[:], rest)
		v := binary.LittleEndian.Uint64(t[:])
		e, o := v&byteLanes, v>>8&byteLanes
		switch l.g {
		case 1:
			l.a[full] += e * w
			l.b[full] += o * w
		case 2:
			l.a[full] += (e + o) * w
		case 4:
			p := e + o
			l.a[full] += ((p + p>>16) & wordLanes) * w
		}
	}
}

// unpack writes the sums to col, one value a group: 8/g values a word.
func (l *lanes) unpack(col []uint32) {
	switch l.g {
	case 1:
		b := l.b[:len(l.a)]
		for k, e := range l.a {
			o := b[k]
			c := col[8*k : 8*k+8 : 8*k+8]
			c[0], c[1] = uint32(e&0xFFFF), uint32(o&0xFFFF)
			c[2], c[3] = uint32(e>>16&0xFFFF), uint32(o>>16&0xFFFF)
			c[4], c[5] = uint32(e>>32&0xFFFF), uint32(o>>32&0xFFFF)
			c[6], c[7] = uint32(e>>48), uint32(o>>48)
		}
	case 2:
		for k, e := range l.a {
			c := col[4*k : 4*k+4 : 4*k+4]
			c[0], c[1], c[2], c[3] = uint32(e&0xFFFF), uint32(e>>16&0xFFFF), uint32(e>>32&0xFFFF), uint32(e>>48)
		}
	case 4:
		for k, e := range l.a {
			c := col[2*k : 2*k+2 : 2*k+2]
			c[0], c[1] = uint32(e), uint32(e>>32)
		}
	}
}

// values is the length unpack needs.
func (l *lanes) values() int { return 8 / l.g * len(l.a) }
