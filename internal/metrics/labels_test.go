package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLabelsClosed sends 200 hostile values through every label's source and checks that
// each metric family ends with the few series its closed sets allow, none of them carrying
// a hostile value: a series is never freed, so one per request value is a memory leak and
// a scrape that no longer finishes.
func TestLabelsClosed(t *testing.T) {
	m := New()
	m.SetRoutes([]string{"/api/v1/orders/:id"})
	const n = 200
	for i := range n {
		h := fmt.Sprintf("HOSTILE%d%s", i, strings.Repeat("x", 100))
		m.Request(h, h, 1000+i, h, time.Millisecond)
		m.Request("/api/v1/orders/:id", h, 200, "", time.Millisecond)
		m.Upload(h, h, h)
		m.Claim(h)
		m.ImageStep(h, time.Millisecond)
		m.Event(h, h)
		m.Event("pairing_expired", h)
		m.RedisError(h)
		m.BlobError(h)
		m.RetentionDeleted(h, 1)
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), ns+"_") {
			continue
		}
		if len(f.Metric) > 2 {
			t.Errorf("%s: %d series after %d hostile values, want at most 2", f.GetName(), len(f.Metric), n)
		}
		for _, s := range f.Metric {
			for _, l := range s.Label {
				if strings.Contains(l.GetValue(), "HOSTILE") {
					t.Errorf("%s: label %s=%.20q… from the input", f.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// TestLabelsKept: the values of the closed sets pass through as they are.
func TestLabelsKept(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{methodLabel("PATCH"), "PATCH"}, {methodLabel("patch"), other}, {statusLabel(503), "503"},
		{codeLabel("unavailable"), "unavailable"}, {codeLabel(""), ""}, {outcomeLabel("ok"), "ok"},
		{slotLabel("face_photo"), "face_photo"}, {closed("decode", steps), "decode"},
		{closed("evalsha", redisCommands), "evalsha"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
