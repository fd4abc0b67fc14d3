package webapi

import (
	"sync"

	qrcode "github.com/skip2/go-qrcode"
)

// qrCache renders each pairing's QR code once: the page polls qr.png, and rendering a PNG
// costs ten times the rest of the request. It is keyed by the scan URL, which is unique to
// a pairing (it carries the pairing's code), so a renewed QR is a new entry and a revoked
// one is never served: the service is asked for the current scan URL on every request.
// Each instance renders its own copy. Bounded: the oldest entry goes first.
type qrCache struct {
	mu    sync.Mutex
	png   map[string][]byte
	order []string // insertion order, for eviction
	max   int
	// render draws a scan URL's PNG; the tests count its calls.
	render func(scanURL string) ([]byte, error)
}

func newQRCache(max int) *qrCache {
	return &qrCache{png: map[string][]byte{}, max: max, render: func(u string) ([]byte, error) {
		// Whole pixels per module (a negative size), not a fixed 320 px: a code scaled to a
		// size its modules do not divide is harder to read, and gozxing then missed about
		// one code in 200 (internal/appsim's TestDecodeServerQR).
		return qrcode.Encode(u, qrcode.Medium, -8)
	}}
}

func (q *qrCache) get(scanURL string) ([]byte, error) {
	q.mu.Lock()
	png, ok := q.png[scanURL]
	q.mu.Unlock()
	if ok {
		return png, nil
	}
	// Rendered outside the lock: two requests for a new pairing may both render it, which
	// is cheaper than making every other pairing wait.
	png, err := q.render(scanURL)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.png[scanURL]; !ok {
		if len(q.order) >= q.max {
			delete(q.png, q.order[0])
			q.order = q.order[1:]
		}
		q.png[scanURL] = png
		q.order = append(q.order, scanURL)
	}
	return png, nil
}

// len is how many PNGs the cache holds (for tests).
func (q *qrCache) len() int { q.mu.Lock(); defer q.mu.Unlock(); return len(q.png) }
