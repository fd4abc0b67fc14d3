package webapi

import (
	"bytes"
	"image/png"
	"testing"
)

func TestQRCacheRendersOncePerPairing(t *testing.T) {
	q := newQRCache(2)
	renders := 0
	draw := q.render
	q.render = func(u string) ([]byte, error) { renders++; return draw(u) }

	a1, err := q.get("http://x/m/scan?code=A.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(a1)); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	a2, _ := q.get("http://x/m/scan?code=A.1")
	if renders != 1 || !bytes.Equal(a1, a2) {
		t.Fatalf("second get of one pairing: %d renders", renders)
	}
	b, _ := q.get("http://x/m/scan?code=B.2") // a renewed QR
	if renders != 2 || bytes.Equal(a1, b) {
		t.Fatalf("a new pairing was not rendered anew (%d renders)", renders)
	}
	q.get("http://x/m/scan?code=C.3") // evicts A
	if q.len() != 2 {
		t.Fatalf("cache holds %d, bound 2", q.len())
	}
	q.get("http://x/m/scan?code=A.1")
	if renders != 4 {
		t.Fatalf("evicted entry not rendered again: %d renders", renders)
	}
}
