package redisbackup_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/redisbackup"
	"github.com/beianscan/beianscan/internal/redistest"
)

// fill writes one key of each type the store uses, one of them with an expiry.
func fill(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := context.Background()
	rdb.Set(ctx, "beian:{o1}:order", `{"id":"o1"}`, time.Hour)
	rdb.Set(ctx, "beian:{o1}:version", 7, 0)
	rdb.HSet(ctx, "beian:{o1}:materials", "face_photo", `{"sha256":"ab"}`)
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: "beian:{o1}:audit", Values: []any{"action", "create"}})
	for i := range 2000 { // enough to take more than one read
		rdb.Set(ctx, "beian:{bulk"+strconv.Itoa(i)+"}:order", bytes.Repeat([]byte("x"), 100), 0)
	}
}

func check(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := context.Background()
	if v := rdb.Get(ctx, "beian:{o1}:order").Val(); v != `{"id":"o1"}` {
		t.Errorf("order %q", v)
	}
	if ttl := rdb.TTL(ctx, "beian:{o1}:order").Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("order TTL %v, want the hour it had", ttl)
	}
	if v := rdb.Get(ctx, "beian:{o1}:version").Val(); v != "7" {
		t.Errorf("version %q", v)
	}
	if v := rdb.HGet(ctx, "beian:{o1}:materials", "face_photo").Val(); v != `{"sha256":"ab"}` {
		t.Errorf("material %q", v)
	}
	if n := rdb.XLen(ctx, "beian:{o1}:audit").Val(); n != 1 {
		t.Errorf("audit has %d entries", n)
	}
	if n := rdb.DBSize(ctx).Val(); n != 2004 {
		t.Errorf("%d keys restored, want 2004", n)
	}
}

// requirePass turns on a password after the start (redistest checks the start without one).
func requirePass(t *testing.T, s *redistest.Server, pass string) {
	t.Helper()
	if pass != "" {
		if err := s.Client(t).ConfigSet(context.Background(), "requirepass", pass).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSnapshotRestores: a snapshot of a live server, by disk or diskless replication and
// with a password, restores into a fresh server with every key, value and expiry.
func TestSnapshotRestores(t *testing.T) {
	for _, tt := range []struct {
		name  string
		extra []string
		pass  string
	}{
		{"diskless", []string{"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}, ""},
		{"disk", []string{"--repl-diskless-sync", "no"}, ""},
		{"password", nil, "s3cret-pass"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := redistest.Start(t, tt.extra...)
			requirePass(t, src, tt.pass)
			c := redis.NewClient(&redis.Options{Addr: src.Addr, Password: tt.pass})
			defer c.Close()
			fill(t, c)
			out := filepath.Join(t.TempDir(), "beianscan.rdb")
			n, err := redisbackup.WriteFile(context.Background(), redisbackup.Target{Addr: src.Addr, Password: tt.pass}, out, 30*time.Second)
			if err != nil || n < 1000 {
				t.Fatalf("WriteFile: %d bytes, %v", n, err)
			}
			// The source goes on serving: the snapshot took nothing away.
			if err := c.Set(context.Background(), "after", 1, 0).Err(); err != nil {
				t.Fatalf("source after the snapshot: %v", err)
			}
			dst := redistest.StartFrom(t, out)
			check(t, dst.Client(t))
		})
	}
}

// TestSnapshotRefused: a wrong password fails without leaving a file.
func TestSnapshotRefused(t *testing.T) {
	src := redistest.Start(t)
	requirePass(t, src, "right-pass")
	out := filepath.Join(t.TempDir(), "beianscan.rdb")
	_, err := redisbackup.WriteFile(context.Background(), redisbackup.Target{Addr: src.Addr, Password: "wrong"}, out, 10*time.Second)
	if err == nil {
		t.Fatal("a snapshot with a wrong password succeeded")
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*")); len(m) != 0 {
		t.Errorf("files left behind: %v", m)
	}
}

// TestTargetFromSentinelURL: through the Sentinels, the backup is taken from the master
// they name; a Cluster URL is refused.
func TestTargetFromSentinelURL(t *testing.T) {
	set := redistest.StartSet(t)
	tg, err := redisbackup.TargetFromURL(context.Background(), set.URL())
	if err != nil || tg.Addr != set.Master.Addr {
		t.Errorf("target %+v, %v; want the master %s", tg, err, set.Master.Addr)
	}
	if _, err := redisbackup.TargetFromURL(context.Background(), "redis://a:1?addr=b:2"); err == nil {
		t.Error("a Cluster URL was accepted")
	}
	if _, err := redisbackup.TargetFromURL(context.Background(), "redis://127.0.0.1:1/0"); err != nil {
		t.Errorf("plain URL: %v", err)
	}
}
