package redisstore

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redistest"
)

// startCluster starts three redis-server masters in cluster mode and joins them.
func startCluster(t *testing.T) *redis.ClusterClient {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not found: install redis-server to run the Cluster test")
	}
	var addrs []string
	for range 3 {
		s := redistest.Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		addrs = append(addrs, s.Addr)
	}
	if out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { cc.Close() })
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			info, err := c.ClusterInfo(ctx).Result()
			c.Close()
			ok = ok && err == nil && strings.Contains(info, "cluster_state:ok")
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cluster is not ok after 20 s")
		}
		time.Sleep(100 * time.Millisecond) // polling the cluster's state with a deadline
	}
	cc.ReloadState(ctx)
	return cc
}

// TestOwnerIndexCluster: on a three-master Cluster, an owner's orders spread over every
// master are created, changed (submitted: the index outlives them) and listed, newest first;
// every command touches one slot (a CROSSSLOT would fail the test), and the owner's index
// is on the owner's slot, not an order's.
func TestOwnerIndexCluster(t *testing.T) {
	cc := startCluster(t)
	ctx := context.Background()
	s := New(cc, 30*time.Minute, WithRetention(time.Hour))
	owner := "owner-" + orderID()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ids []string
	masters := map[string]bool{}
	for i := 0; len(masters) < 3 || i < 6; i++ {
		if i > 60 {
			t.Fatal("orders never reached every master")
		}
		id := orderID()
		at := now.Add(time.Duration(i) * time.Second)
		o := &filing.Order{ID: id, State: filing.StateDraft, Province: "CN-GD", SubjectName: "主体", Version: 1,
			OwnerID: owner, CreatedAt: at, UpdatedAt: at}
		s.now = func() time.Time { return at }
		if err := s.CreateOrder(ctx, o, orders.AuditEntry{At: at, Actor: orders.ActorDesktop, Action: orders.AuditCreate}); err != nil {
			t.Fatal(err)
		}
		c, err := cc.MasterForKey(ctx, rediskeys.Order(id))
		if err != nil {
			t.Fatal(err)
		}
		masters[c.Options().Addr] = true
		ids = append([]string{id}, ids...)
	}
	if _, err := s.Update(ctx, ids[0], func(snap *orders.Snapshot) ([]orders.Event, error) {
		snap.Order.State = filing.StateSubmitted
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	key := s.ownerKey(owner)
	if ttl, err := cc.PTTL(ctx, key).Result(); err != nil || ttl < ownerForever-time.Hour {
		t.Errorf("index TTL %v (%v) while an order is submitted", ttl, err)
	}
	got, err := s.OwnerOrders(ctx, owner, 100)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, o := range got {
		gotIDs = append(gotIDs, o.ID)
		if o.SubjectLeader.IDNumber != "" || o.WebsiteLeader.IDNumber != "" {
			t.Errorf("the list carries the people of %s", o.ID)
		}
	}
	if strings.Join(gotIDs, ",") != strings.Join(ids, ",") {
		t.Errorf("listed %v, want %v (newest first)", gotIDs, ids)
	}
	if slot, err := cc.ClusterKeySlot(ctx, key).Result(); err != nil {
		t.Fatal(err)
	} else if want, _ := cc.ClusterKeySlot(ctx, "{"+strings.Split(strings.Split(key, "{")[1], "}")[0]+"}").Result(); slot != want {
		t.Errorf("index %s in slot %d, not its tag's %d", key, slot, want)
	}
}
