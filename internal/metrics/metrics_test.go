package metrics

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestNamesFollowConventions(t *testing.T) {
	m := New()
	m.Websockets(func() int { return 0 })
	m.DecodeBudget(func() int64 { return 0 }, 1)
	names := m.Names()
	if len(names) < 15 {
		t.Fatalf("only %d metrics: %v", len(names), names)
	}
	ok := regexp.MustCompile(`^beianscan_[a-z_]+$`)
	for _, n := range names {
		if !ok.MatchString(n) {
			t.Errorf("%s: not beianscan_snake_case", n)
		}
	}
	for _, want := range []string{"beianscan_http_requests_total", "beianscan_uploads_total", "beianscan_claims_total",
		"beianscan_event_delivery_seconds", "beianscan_websockets_open", "beianscan_decode_bytes_in_flight", "beianscan_decode_bytes_budget"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s missing from %v", want, names)
		}
	}
}

func TestEventAt(t *testing.T) {
	at := time.Date(2026, 11, 29, 1, 2, 3, 456789000, time.UTC)
	tests := []struct {
		name  string
		frame string
		ok    bool
	}{
		{"event", `{"type":"material_uploaded","version":3,"order_id":"o","at":"2026-11-29T01:02:03.456789Z","data":{"uploaded_at":"2000-01-01T00:00:00Z"}}`, true},
		{"data's at is not taken", `{"type":"x","version":3,"order_id":"o","data":{"at":"2026-11-29T01:02:03.456789Z"}}`, false},
		{"garbage", `{"type":"x","at":"yesterday","data":{}}`, false},
	}
	for _, tt := range tests {
		got, ok := eventAt([]byte(tt.frame))
		if ok != tt.ok || ok && !got.Equal(at) {
			t.Errorf("%s: %v %v", tt.name, got, ok)
		}
	}
}

func TestFrameWrittenSkipsSnapshots(t *testing.T) {
	m := New()
	m.FrameWritten([]byte(`{"type":"snapshot","version":1,"order":{"created_at":"2026-11-29T01:02:03Z"}}`))
	m.FrameWritten([]byte(`{"type":"state_changed","version":2,"order_id":"o","at":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","data":{}}`))
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "beianscan_event_delivery_seconds" {
			if n := mf.GetMetric()[0].GetHistogram().GetSampleCount(); n != 1 {
				t.Fatalf("%d deliveries observed, want 1 (the event, not the snapshot)", n)
			}
			return
		}
	}
	t.Fatal("no event_delivery_seconds")
}

// BenchmarkRequest is what the HTTP middleware adds to every request (two labelled series
// looked up and updated); compare with BenchmarkServerHealthz-style numbers of a whole
// request (tens of microseconds on loopback).
func BenchmarkRequest(b *testing.B) {
	m := New()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("/api/v1/orders/:id", "GET", 200, "", time.Millisecond)
		}
	})
}

func TestReviewQueueGauges(t *testing.T) {
	m := New()
	calls := 0
	m.ReviewQueue(func() (int64, time.Duration, error) { calls++; return 3, 90 * time.Second, nil })
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if len(f.GetMetric()) == 1 && f.GetMetric()[0].GetGauge() != nil {
			got[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if got["beianscan_review_queue_waiting"] != 3 || got["beianscan_review_queue_oldest_seconds"] != 90 {
		t.Errorf("gauges %v", got)
	}
	if calls != 1 {
		t.Errorf("one scrape read the index %d times, want once", calls)
	}
}
