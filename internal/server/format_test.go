package server_test

import (
	"context"
	"errors"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/server"
)

// TestStartChecksFormat: an instance records the format on a Redis written before the
// format key, and refuses to start on a format newer than its own, leaving it as it was.
// A private miniredis: the format key is global, never to be set on a shared Redis.
func TestStartChecksFormat(t *testing.T) {
	for _, tt := range []struct {
		stored, after string
		refused       bool
	}{{"", "1", false}, {"2", "2", true}} {
		mr := miniredis.RunT(t)
		if tt.stored != "" {
			mr.Set(rediskeys.Format, tt.stored)
		}
		cfg := server.Config{Addr: "127.0.0.1:0", RedisURL: "redis://" + mr.Addr() + "/0", DataDir: t.TempDir(),
			JWTSecret: testSecret, EncryptionKeys: testKeys, MetricsAddr: server.MetricsOff}
		m, err := server.Open(cfg)
		if m != nil {
			m.Close()
		}
		if errors.Is(err, redisstore.ErrFormat) != tt.refused {
			t.Errorf("stored %q: Open err %v, want refused %v", tt.stored, err, tt.refused)
		}
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		if got := rdb.Get(context.Background(), rediskeys.Format).Val(); got != tt.after {
			t.Errorf("stored %q: format key %q after start, want %q", tt.stored, got, tt.after)
		}
		rdb.Close()
	}
}
