package images

import "encoding/binary"

// lanes are column sums of rows of bytes, kept eight columns to a pair of 64-bit words:
// even[k] holds columns 8k, 8k+2, 8k+4, 8k+6 and odd[k] columns 8k+1, …, 8k+7, in 16-bit
// lanes. A row is added eight bytes at a time, with two masks and two additions instead of
// eight loads and eight additions.
//
// A lane holds at most 255 × the rows added (times their weights), so at most maxLaneRows
// rows may be added between resets.
type lanes struct {
	even, odd []uint64
	n         int // columns
}

// maxLaneRows is the most rows (weights summed) lanes may hold: 255 × 257 = 65535.
const maxLaneRows = 257

const byteLanes = 0x00FF00FF00FF00FF

func newLanes(n int) *lanes {
	k := (n + 7) / 8
	return &lanes{even: make([]uint64, k), odd: make([]uint64, k), n: n}
}

func (l *lanes) reset() {
	clear(l.even)
	clear(l.odd)
}

// add adds the first l.n bytes of row to the column sums wt times.
func (l *lanes) add(row []uint8, wt int) {
	row = row[:l.n]
	full := l.n / 8
	ev, od := l.even[:full], l.odd[:full]
	if wt == 1 {
		for k := range ev {
			v := binary.LittleEndian.Uint64(row[8*k:])
			ev[k] += v & byteLanes
			od[k] += v >> 8 & byteLanes
		}
	} else {
		w := uint64(wt)
		for k := range ev {
			v := binary.LittleEndian.Uint64(row[8*k:])
			ev[k] += (v & byteLanes) * w
			od[k] += (v >> 8 & byteLanes) * w
		}
	}
	if rest := row[8*full:]; len(rest) > 0 {
		var t [8]byte
		copy(t[:], rest)
		v := binary.LittleEndian.Uint64(t[:])
		l.even[full] += (v & byteLanes) * uint64(wt)
		l.odd[full] += (v >> 8 & byteLanes) * uint64(wt)
	}
}

// unpack writes the column sums to col (at least 8 × len(l.even) long), one per column.
func (l *lanes) unpack(col []uint16) {
	od := l.odd[:len(l.even)]
	for k, e := range l.even {
		o := od[k]
		c := col[8*k : 8*k+8 : 8*k+8]
		c[0], c[1] = uint16(e), uint16(o)
		c[2], c[3] = uint16(e>>16), uint16(o>>16)
		c[4], c[5] = uint16(e>>32), uint16(o>>32)
		c[6], c[7] = uint16(e>>48), uint16(o>>48)
	}
}
