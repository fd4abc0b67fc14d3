package server_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/server"
)

// BenchmarkReplicaWait measures what BEIANSCAN_REDIS_MIN_REPLICAS=1 costs: the same claim,
// upload acknowledgment and order creation with and without WAIT 1, in one run, on a private
// master (AOF, appendfsync always) with one replica on the same machine. Each pair runs
// back to back, three rounds interleaved (rather than -count, which repeats one before the
// other), so that the machine's load is shared between them.
//
//	go test ./internal/server -run '^$' -bench ReplicaWait -benchtime 300x
func BenchmarkReplicaWait(b *testing.B) {
	master := durableRedis(b)
	master.StartReplica(b)
	for _, op := range []string{"claim", "upload", "create"} {
		for round := 1; round <= 3; round++ {
			for _, n := range []int{0, 1} {
				benchReplicaWait(b, master, op, n, round)
			}
		}
	}
}

func benchReplicaWait(b *testing.B, master *redistest.Server, op string, n, round int) {
	b.Run(op+"/replicas="+strconv.Itoa(n)+"/round="+strconv.Itoa(round), func(b *testing.B) {
		m := start(b, func(c *server.Config) {
			c.RedisURL = "redis://" + master.Addr + "/0"
			c.RedisMinReplicas = n
			c.DataDir = benchDir(b)
		})
		ctx := context.Background()
		switch op {
		case "claim":
			codes := make([]string, b.N)
			for i := range codes {
				p := pairApp(b, createOrder(b, m, gdIndividual()))
				_, codes[i], _ = appsim.ParseScanURL(p["scan_url"].(string))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Service.Claim(ctx, orders.ClaimInput{Code: codes[i], DeviceID: "bench-device", AppVersion: "3.16.0"}); err != nil {
					b.Fatal(err)
				}
			}
		case "upload":
			// A small image, so that the decode does not hide the metadata write.
			_, s := pairedOrder(b, m)
			img := appsim.SampleImage("subject_leader_id_front", 1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Upload(ctx, "subject_leader_id_front", img, "image/jpeg", ""); err != nil {
					b.Fatal(err)
				}
			}
		case "create":
			for i := 0; i < b.N; i++ {
				must(b, do(b, req{method: "POST", url: m.URL + "/api/v1/orders", body: gdIndividual()}), http.StatusCreated)
			}
		}
	})
}
