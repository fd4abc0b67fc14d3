package webapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
)

// TestQueuePageJSON holds the queue's hand-written encoding to encoding/json's, on strings
// that need every kind of escape.
func TestQueuePageJSON(t *testing.T) {
	name, until, cur := "alice<&>", time.Date(2026, 12, 3, 1, 2, 3, 456789000, time.FixedZone("x", 8*3600)), "123.a:1"
	odd := "张三 \"q\" \\ \n\r\t\b\f\x01\x1f <script>&amp; \u2028\u2029 \xff\xfe end"
	for _, tt := range []struct {
		name string
		page orders.QueuePage
	}{
		{"empty", orders.QueuePage{Orders: []orders.QueueEntry{}}},
		{"nil domains and holds", orders.QueuePage{Orders: []orders.QueueEntry{{ID: "o1", SubjectType: filing.Individual}}}},
		{"every escape", orders.QueuePage{NextCursor: &cur, Orders: []orders.QueueEntry{
			{ID: "o2", SubjectType: filing.SubjectType("enterprise"), Province: "CN-GD", SubjectName: odd, Domains: []string{"a.com", odd},
				DomainsASCII: []string{"a.com", "xn--fsqu00a.xn--fiqs8s", odd},
				Round:        3, SubmittedAt: until.UTC(), WaitingS: 99, HeldBy: &name, HeldUntil: &until},
			{ID: odd, Domains: []string{}, SubmittedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			check := func(how string) {
				t.Helper()
				var want bytes.Buffer
				if err := json.NewEncoder(&want).Encode(tt.page); err != nil {
					t.Fatal(err)
				}
				if got := appendQueuePage(nil, tt.page); !bytes.Equal(got, want.Bytes()) {
					t.Errorf("appendQueuePage, %s\n got %s\nwant %s", how, got, want.Bytes())
				}
			}
			check("no memo")
			// The same entries with memos, as the store answers a cached page: the first
			// encoding keeps the head, the next ones reuse it beside a wait and a hold that
			// changed.
			for i := range tt.page.Orders {
				tt.page.Orders[i].Memo = new(orders.QueueMemo)
			}
			check("memo kept")
			for i := range tt.page.Orders {
				e := &tt.page.Orders[i]
				e.WaitingS += 61
				if e.HeldBy == nil {
					e.HeldBy, e.HeldUntil = &name, &until
				} else {
					e.HeldBy, e.HeldUntil = nil, nil
				}
			}
			check("memo reused, later")
		})
	}
}
