package faces

import (
	"encoding/binary"
	"errors"
	"math"

	pigo "github.com/esimov/pigo/core"
)

// trees is pigo's cascade as its RunCascade reads it (pigo's Unpack: trees of depth
// `depth`, each with 4 bytes of codes a node and a prediction a leaf, then its threshold).
//
// run is pigo's RunCascade without rotation, giving the very same detections
// (TestRunIsPigos), written to cost less per window: pigo computes every node's two pixel
// offsets from its codes and the window's size, with four multiplications, in every window.
// Since ((256·row + code·size) >> 8) = row + ((code·size) >> 8), the offsets do not depend on
// the window's place, only on its size: run computes them once per size and tree, when a
// window first reaches that tree (most windows are refused by the first few).
type trees struct {
	depth  int // levels of comparisons
	leaves int // 2^depth: the stride of a tree's nodes and leaves
	codes  []int8
	pred   []float32
	thresh []float32
}

func parseTrees(b []byte) (*trees, error) {
	if len(b) < 16 {
		return nil, errors.New("faces: cascade too short")
	}
	depth := int(binary.LittleEndian.Uint32(b[8:]))
	n := int(binary.LittleEndian.Uint32(b[12:]))
	if depth < 1 || depth > 16 || n < 1 || n > 1<<16 {
		return nil, errors.New("faces: cascade header")
	}
	leaves := 1 << depth
	per := 4*leaves - 4 + 4*leaves + 4
	if len(b)-16 < n*per {
		return nil, errors.New("faces: cascade truncated")
	}
	t := &trees{depth: depth, leaves: leaves, codes: make([]int8, 0, n*4*leaves),
		pred: make([]float32, 0, n*leaves), thresh: make([]float32, 0, n)}
	pos := 16
	for range n {
		t.codes = append(t.codes, 0, 0, 0, 0) // node 0 is unused: nodes count from 1
		for _, c := range b[pos : pos+4*leaves-4] {
			t.codes = append(t.codes, int8(c))
		}
		pos += 4*leaves - 4
		for range leaves {
			t.pred = append(t.pred, math.Float32frombits(binary.LittleEndian.Uint32(b[pos:])))
			pos += 4
		}
		t.thresh = append(t.thresh, math.Float32frombits(binary.LittleEndian.Uint32(b[pos:])))
		pos += 4
	}
	return t, nil
}

// run returns pigo's detections of cp (its RunCascade at angle 0), in pigo's order.
func (t *trees) run(cp pigo.CascadeParams) []pigo.Detection {
	var out []pigo.Detection
	pixels, dim := cp.Pixels, cp.Dim
	nTrees := len(t.thresh)
	// off[2·(tree·leaves + node)] and the one after: the node's two pixel offsets from the
	// window's centre, at the current size, for the trees below ready.
	off := make([]int32, 2*nTrees*t.leaves)
	for s := cp.MinSize; s <= cp.MaxSize; {
		step := int(math.Max(cp.ShiftFactor*float64(s), 1))
		half := s/2 + 1
		ready := 0
		for row := half; row <= cp.Rows-half; row += step {
			for col := half; col <= cp.Cols-half; col += step {
				base := row*dim + col
				var q float32
				passed := true
				for i := 0; i < nTrees; i++ {
					if i == ready {
						t.offsets(off, i, s, dim)
						ready++
					}
					o := off[2*i*t.leaves : 2*(i+1)*t.leaves]
					idx := 1
					for range t.depth {
						b := 0
						if pixels[base+int(o[2*idx])] <= pixels[base+int(o[2*idx+1])] {
							b = 1
						}
						idx = 2*idx + b
					}
					q += t.pred[t.leaves*i+idx-t.leaves]
					if q <= t.thresh[i] {
						passed = false
						break
					}
				}
				if passed && q-t.thresh[nTrees-1] > 0 {
					q -= t.thresh[nTrees-1]
					out = append(out, pigo.Detection{Row: row, Col: col, Scale: s, Q: q})
				}
			}
		}
		s = int(float64(s) + math.Max(2, float64(s)*cp.ScaleFactor-float64(s)))
	}
	return out
}

// offsets fills off with tree i's node offsets for windows of size s in rows of dim pixels.
func (t *trees) offsets(off []int32, i, s, dim int) {
	codes := t.codes[4*i*t.leaves : 4*(i+1)*t.leaves]
	o := off[2*i*t.leaves : 2*(i+1)*t.leaves]
	for n := 1; n < t.leaves; n++ {
		c := codes[4*n : 4*n+4]
		o[2*n] = int32(((int(c[0])*s)>>8)*dim + (int(c[1])*s)>>8)
		o[2*n+1] = int32(((int(c[2])*s)>>8)*dim + (int(c[3])*s)>>8)
	}
}
