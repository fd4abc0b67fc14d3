package webhook_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// startCluster starts three redis-server masters with cluster mode on free ports, joins
// them into one cluster (redis-cli --cluster create) and returns a client on it.
func startCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not found: install redis-server (Debian: apt-get install redis-server) to run the Cluster test")
	}
	var addrs []string
	for range 3 {
		s := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		addrs = append(addrs, s.Addr)
	}
	out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { cc.Close() })
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	// Every node must agree the cluster is up (one says so before the others do).
	ok := func() bool {
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			info, err := c.ClusterInfo(ctx).Result()
			c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	}
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("the cluster's nodes do not all say cluster_state:ok after 20 s")
		}
		time.Sleep(100 * time.Millisecond) // polling the cluster's state with a deadline
	}
	cc.ReloadState(ctx)
	return cc
}

// TestClusterEveryShard: on a three-master Cluster, orders whose slots are on every master
// have their webhooks delivered: the outbox entries live in each order's slot, the due
// index in its own, and the intent before each MULTI keeps them together.
func TestClusterEveryShard(t *testing.T) {
	cc := startCluster(t)
	ctx := context.Background()
	r := newRig(t)
	r.rdb = cc
	r.store = r.newStore()
	rec := newReceiver(t, r.secret)
	rec.start()
	r.deliverer(r.store, rec.URL(), nil)
	// Orders until each master holds at least three.
	perMaster := map[string]int{}
	var ids []string
	for len(perMaster) < 3 || minCount(perMaster) < 3 {
		id := r.create(r.store)
		r.setState(r.store, id, filing.StateSubmitted)
		node, err := cc.MasterForKey(ctx, rediskeys.Webhooks(id))
		if err != nil {
			t.Fatal(err)
		}
		perMaster[node.Options().Addr]++
		ids = append(ids, id)
		if len(ids) > 200 {
			t.Fatalf("orders spread %v", perMaster)
		}
	}
	waitFor(t, 10*time.Second, "every webhook", func() bool { return len(rec.delivered()) == 2*len(ids) })
	for _, id := range ids {
		if rec.delivered()["wh_"+id+"_2_submitted"] != 1 {
			t.Errorf("order %s: submitted delivered %d times", id, rec.delivered()["wh_"+id+"_2_submitted"])
		}
	}
	t.Logf("%d orders on the masters %v", len(ids), perMaster)
}

func minCount(m map[string]int) int {
	n := -1
	for _, v := range m {
		if n < 0 || v < n {
			n = v
		}
	}
	return n
}
