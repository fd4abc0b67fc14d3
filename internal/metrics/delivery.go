package metrics

import (
	"bytes"
	"time"
)

var (
	eventPrefix = []byte(`{"type":"`)
	atKey       = []byte(`,"at":"`)
)

// FrameWritten is the hub's hook, called after a data frame went out on a websocket: for an
// event frame it observes the time since the event's "at" (set when it was published).
// It looks the field up in the bytes rather than decoding the frame, which it is called
// for on the event path. A clock behind the publisher's counts as zero.
func (m *Metrics) FrameWritten(frame []byte) {
	if m == nil || !bytes.HasPrefix(frame, eventPrefix) || bytes.HasPrefix(frame[len(eventPrefix):], []byte("snapshot")) {
		return
	}
	at, ok := eventAt(frame)
	if !ok {
		return
	}
	m.eventsWritten.Inc()
	m.eventDelivery.Observe(max(time.Since(at), 0).Seconds())
}

// eventAt finds the top-level "at" of an event frame, which comes before "data" (so a
// field of the data cannot be mistaken for it).
func eventAt(frame []byte) (time.Time, bool) {
	head := frame
	if i := bytes.Index(frame, []byte(`,"data":`)); i >= 0 {
		head = frame[:i]
	}
	i := bytes.Index(head, atKey)
	if i < 0 {
		return time.Time{}, false
	}
	rest := head[i+len(atKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}
