package redisstore

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redistest"
)

// BenchmarkStoreWait is the store-level cost of WAIT 1: an acknowledged Update (the write
// behind every upload's metadata) and a Claim, with and without confirmation, in interleaved
// rounds, on a private master (appendfsync always) with one local replica. Without HTTP and
// image work in the way, the difference is the WAIT round trip alone.
//
//	go test ./internal/redisstore -run '^$' -bench StoreWait -benchtime 2000x
//
// With STORE_WAIT_NO_FSYNC=1 the master keeps no AOF, so that its fsync (1–3 ms on a shared
// VM) does not hide the WAIT.
func BenchmarkStoreWait(b *testing.B) {
	args := []string{"--appendonly", "yes", "--appendfsync", "always"}
	if os.Getenv("STORE_WAIT_NO_FSYNC") != "" {
		args = nil
	}
	master := redistest.Start(b, args...)
	master.StartReplica(b)
	rdb := master.Client(b)
	for _, op := range []string{"update", "claim"} {
		for round := 1; round <= 3; round++ {
			for _, n := range []int{0, 1} {
				b.Run(op+"/replicas="+strconv.Itoa(n)+"/round="+strconv.Itoa(round), func(b *testing.B) {
					s := New(rdb, 0)
					s.SetReplication(Replication{MinReplicas: n})
					ctx := context.Background()
					switch op {
					case "update":
						id := appOrder(b, s)
						b.ResetTimer()
						for i := 0; i < b.N; i++ {
							if _, err := s.Update(ctx, id, func(*orders.Snapshot) ([]orders.Event, error) {
								return []orders.Event{{Type: events.UploadComplete, OrderID: id}}, nil
							}); err != nil {
								b.Fatal(err)
							}
						}
					case "claim":
						ids := make([]string, b.N)
						for i := range ids {
							ids[i] = appOrder(b, s)
						}
						b.ResetTimer()
						for i := 0; i < b.N; i++ {
							if err := claim(s, ids[i], "d1"); err != nil {
								b.Fatal(err)
							}
						}
					}
				})
			}
		}
	}
}
