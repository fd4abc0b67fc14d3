package webhook_test

import (
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/redisstore"
)

// TestTwoInstancesNoDoubleWork: two instances, each with its own store and deliverer on
// one outbox, write changes at once; every webhook arrives, and none twice (nothing failed,
// so at-least-once has no reason to repeat one).
func TestTwoInstancesNoDoubleWork(t *testing.T) {
	r := newRig(t)
	rec := newReceiver(t, r.secret)
	rec.start()
	stores := []*redisstore.Store{r.store, r.newStore()}
	for _, s := range stores {
		r.deliverer(s, rec.URL(), nil)
	}
	const perInstance = 25
	var wg sync.WaitGroup
	for _, s := range stores {
		wg.Go(func() {
			for range perInstance {
				id := r.create(s)
				r.setState(s, id, filing.StateSubmitted)
				r.setState(s, id, filing.StateDraft) // withdrawn
			}
		})
	}
	wg.Wait()
	want := 2 * perInstance * 3
	waitFor(t, 10*time.Second, "every webhook", func() bool { return len(rec.delivered()) == want })
	for id, n := range rec.delivered() {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	if n := len(rec.requests()); n != want {
		t.Errorf("%d requests for %d webhooks", n, want)
	}
}
