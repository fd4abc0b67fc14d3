package server_test

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/appsim"
)

// TestRemoveRacesUpload: images are stored under their content hash, so a slot holding
// image X and an upload of X into another slot share one blob. Removing the first slot
// while the upload is in flight must never take the acknowledged upload's bytes with it:
// 200 interleavings against the real store (the file store, and Redis when configured),
// and every upload answered 201 must then read back 200. Deleting the blob as soon as the
// removed slot let it go did lose some (23 of 400 by hand).
//
// Under the race detector an upload's decode is ten times slower: 30 rounds there look for
// data races, and .ci/run runs the 200 once more without it.
func TestRemoveRacesUpload(t *testing.T) {
	rounds := 200
	if raceEnabled {
		rounds = 30
	}
	m := start(t, nil)
	in := gdIndividual()
	in["province"] = "CN-BJ"
	o := createOrder(t, m, in)
	const a, b = "subject_leader_id_front", "subject_leader_id_back"
	img := appsim.SampleImage("race", 1)
	// How long an upload takes here: the removal starts at a random point of it, so that
	// the rounds cover every order of the upload's write, its record and the removal.
	begin := time.Now()
	must(t, do(t, req{method: "PUT", url: o.url("/materials/" + a), token: o.Token, body: img}), http.StatusCreated)
	span := time.Since(begin)
	rng := rand.New(rand.NewPCG(1, 2))
	lost := 0
	for i := range rounds {
		if i > 0 {
			must(t, do(t, req{method: "PUT", url: o.url("/materials/" + a), token: o.Token, body: img}), http.StatusCreated)
		}
		var wg sync.WaitGroup
		var put reply
		wg.Add(2)
		go func() {
			defer wg.Done()
			put = do(t, req{method: "PUT", url: o.url("/materials/" + b), token: o.Token, body: img})
		}()
		delay := time.Duration(rng.Int64N(int64(span) + 1))
		go func() {
			defer wg.Done()
			time.Sleep(delay) // not a synchronisation: where in the upload the removal falls
			do(t, req{method: "DELETE", url: o.url("/materials/" + a), token: o.Token})
		}()
		wg.Wait()
		if put.Status != http.StatusCreated {
			t.Fatalf("round %d: upload answered %d %s", i, put.Status, put.Raw)
		}
		if got := do(t, req{method: "GET", url: o.url("/materials/" + b), token: o.Token}); got.Status != http.StatusOK {
			lost++
			if lost == 1 {
				t.Errorf("round %d: the acknowledged upload reads %d %s", i, got.Status, got.Raw)
			}
		}
		// Nothing holds the image now: the next round writes it afresh.
		must(t, do(t, req{method: "DELETE", url: o.url("/materials/" + b), token: o.Token}), http.StatusNoContent)
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged uploads lost their bytes to a concurrent remove", lost, rounds)
	}
}
