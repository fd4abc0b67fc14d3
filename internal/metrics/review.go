package metrics

import (
	"sync"
	"time"
)

// ReviewQueue registers the gauges of the review queue: orders waiting and the oldest
// one's wait in seconds. stats reads both from the queue's index (two commands on one key,
// however many wait); a scrape reads it once for both gauges, and a failed read shows the
// last values.
func (m *Metrics) ReviewQueue(stats func() (waiting int64, oldest time.Duration, err error)) {
	var mu sync.Mutex
	var last struct {
		at      time.Time
		waiting int64
		oldest  time.Duration
	}
	read := func() (int64, time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		// One read serves both gauges of a scrape.
		if time.Since(last.at) > time.Second {
			if n, o, err := stats(); err == nil {
				last.waiting, last.oldest = n, o
			}
			last.at = time.Now()
		}
		return last.waiting, last.oldest
	}
	m.GaugeFunc("review_queue_waiting", "Orders waiting for the provider's first review (from the review queue's index).",
		func() float64 { n, _ := read(); return float64(n) })
	m.GaugeFunc("review_queue_oldest_seconds", "How long the oldest order in the review queue has waited, in seconds.",
		func() float64 { _, o := read(); return o.Seconds() })
}
