package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/webhook"
)

// TestDeliveredSigned: a change's webhooks reach the receiver, signed (the receiver
// verifies with the Standard Webhooks library), with the contract's body and nothing else.
func TestDeliveredSigned(t *testing.T) {
	r := newRig(t)
	rec := newReceiver(t, r.secret)
	rec.start()
	r.deliverer(r.store, rec.URL(), nil)
	id := r.create(r.store)
	r.setState(r.store, id, filing.StateUploaded) // no webhook: the open states move by themselves
	r.setState(r.store, id, filing.StateSubmitted)
	waitFor(t, 5*time.Second, "order.created and order.submitted", func() bool { return len(rec.delivered()) == 2 })
	got := rec.requests()
	types := []string{got[0].Body.Type, got[1].Body.Type}
	slices.Sort(types)
	if !slices.Equal(types, []string{webhook.OrderCreated, webhook.OrderSubmitted}) {
		t.Fatalf("types %v", types)
	}
	for _, g := range got {
		if g.Body.Data.OrderID != id {
			t.Errorf("%s: order_id %q", g.Body.Type, g.Body.Data.OrderID)
		}
		if g.Body.Type == webhook.OrderSubmitted && (g.Body.Data.State != "submitted" || g.Body.Data.Version != 3) {
			t.Errorf("order.submitted data %+v, want state submitted, version 3", g.Body.Data)
		}
		if g.Body.Timestamp.IsZero() {
			t.Errorf("%s: no timestamp", g.Body.Type)
		}
	}
	// Nothing is left to do once delivered.
	waitFor(t, 5*time.Second, "no pending or failed delivery", func() bool {
		for _, st := range []string{webhook.StatusPending, webhook.StatusFailed} {
			if ds, err := r.store.Deliveries(context.Background(), st, 100); err != nil || len(ds) != 0 {
				return false
			}
		}
		return true
	})
}

// TestReceiverDownThenBack: while the receiver refuses connections nothing is lost; once
// it is back, every webhook arrives.
func TestReceiverDownThenBack(t *testing.T) {
	r := newRig(t)
	rec := newReceiver(t, r.secret) // not listening yet: connection refused
	r.deliverer(r.store, rec.URL(), nil)
	var ids []string
	for range 5 {
		id := r.create(r.store)
		r.setState(r.store, id, filing.StateSubmitted)
		ids = append(ids, id)
	}
	ctx := context.Background()
	waitFor(t, 5*time.Second, "10 failed deliveries", func() bool {
		ds, err := r.store.Deliveries(ctx, webhook.StatusFailed, 100)
		return err == nil && len(ds) == 10
	})
	rec.start()
	r.clock.Add(6 * time.Second) // past the first retry (5 s ± 20 %)
	waitFor(t, 5*time.Second, "all 10 webhooks", func() bool { return len(rec.delivered()) == 10 })
	for _, id := range ids {
		for _, typ := range []string{"created", "submitted"} {
			want := "wh_" + id + "_" + map[string]string{"created": "1", "submitted": "2"}[typ] + "_" + typ
			if rec.delivered()[want] != 1 {
				t.Errorf("%s delivered %d times", want, rec.delivered()[want])
			}
		}
	}
}

// TestRetriedWithSameID: a receiver that answers 500 three times gets the same webhook-id
// (and body) each time, at the backoff's times, then 2xx ends it.
func TestRetriedWithSameID(t *testing.T) {
	r := newRig(t)
	rec := newReceiver(t, r.secret)
	rec.answer = func(n int, _ string) int {
		if n < 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	rec.start()
	r.deliverer(r.store, rec.URL(), nil)
	r.create(r.store)
	for n, wait := range []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute} {
		// The outcome recorded, not just the request: the clock moves only after the next
		// attempt was scheduled.
		waitFor(t, 5*time.Second, "attempt", func() bool { return r.attempts() == n+1 })
		// Not before its time: a moment short of the wait, nothing comes.
		r.clock.Add(wait - 100*time.Millisecond)
		time.Sleep(50 * time.Millisecond) // give a wrong early retry the chance to show
		if len(rec.requests()) != n+1 {
			t.Fatalf("attempt %d came before its backoff of %v", n+2, wait)
		}
		r.clock.Add(100 * time.Millisecond)
	}
	waitFor(t, 5*time.Second, "the fourth attempt", func() bool { return len(rec.requests()) == 4 })
	got := rec.requests()
	for _, g := range got {
		if g.ID != got[0].ID || g.Body != got[0].Body {
			t.Fatalf("attempts differ: %+v vs %+v", g, got[0])
		}
	}
	if got[3].Status != http.StatusOK {
		t.Fatalf("last answer %d", got[3].Status)
	}
	waitFor(t, 5*time.Second, "no failed delivery left", func() bool { return r.attempts() == 0 })
}

// TestDeadAfterThreeDays: a receiver that never answers 2xx makes the delivery dead after
// 3 days of retries; the operator's retry makes it pending again and it is then delivered.
func TestDeadAfterThreeDays(t *testing.T) {
	r := newRig(t)
	rec := newReceiver(t, r.secret)
	rec.strict = false // the clock runs 3 days ahead of the library's
	fail := true
	rec.answer = func(int, string) int {
		if fail {
			return http.StatusBadGateway
		}
		return http.StatusOK
	}
	rec.start()
	r.deliverer(r.store, rec.URL(), nil)
	id := r.create(r.store)
	ctx := context.Background()
	dead := func() []webhook.Delivery {
		ds, err := r.store.Deliveries(ctx, webhook.StatusDead, 100)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	attempts := r.attempts
	// Each step waits for the attempt's outcome to be recorded (not just for the request),
	// so that the clock never moves between an attempt and the scheduling of the next.
	for n := 1; ; n++ {
		waitFor(t, 5*time.Second, fmt.Sprintf("attempt %d", n), func() bool { return attempts() >= n || len(dead()) > 0 })
		if len(dead()) > 0 {
			break
		}
		if n > 200 {
			t.Fatal("not dead after 200 attempts")
		}
		r.clock.Add(time.Hour + 15*time.Minute)
	}
	d := dead()[0]
	if d.ID != "wh_"+id+"_1_created" || d.LastError != "status 502" || d.Attempts < 50 {
		t.Fatalf("dead delivery %+v", d)
	}
	if len(rec.delivered()) != 0 {
		t.Fatal("delivered?")
	}
	fail = false
	if err := r.store.RetryDelivery(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the retried delivery", func() bool { return rec.delivered()[d.ID] == 1 })
	if len(dead()) != 0 {
		t.Fatal("still listed dead")
	}
}
