package redisbackup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/redis/go-redis/v9"
)

// TargetFromURL finds the server to back up from BEIANSCAN_REDIS_URL: the server of a
// redis:// or rediss:// URL, or, with ?master_name=, the master the Sentinels name now. A
// Cluster URL (?addr= without master_name) is refused: each master holds part of the data,
// and each is backed up with a URL of its own.
func TargetFromURL(ctx context.Context, raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, errors.New("BEIANSCAN_REDIS_URL is not a URL")
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return Target{}, fmt.Errorf("BEIANSCAN_REDIS_URL: %w", err)
		}
		var errs []error
		for _, sa := range o.SentinelAddrs {
			sc := redis.NewSentinelClient(&redis.Options{Addr: sa, Username: o.SentinelUsername, Password: o.SentinelPassword, TLSConfig: o.TLSConfig})
			addr, err := sc.GetMasterAddrByName(ctx, o.MasterName).Result()
			sc.Close()
			if err == nil && len(addr) == 2 {
				return Target{Addr: net.JoinHostPort(addr[0], addr[1]), Username: o.Username, Password: o.Password, TLS: o.TLSConfig}, nil
			}
			errs = append(errs, fmt.Errorf("sentinel %s: %w", sa, err))
		}
		return Target{}, fmt.Errorf("no Sentinel named the master %q: %w", o.MasterName, errors.Join(errs...))
	case q.Has("addr"):
		return Target{}, errors.New("a Redis Cluster is backed up master by master: run the backup once per master with its own redis://host:port URL")
	default:
		o, err := redis.ParseURL(raw)
		if err != nil {
			return Target{}, fmt.Errorf("BEIANSCAN_REDIS_URL: %w", err)
		}
		return Target{Addr: o.Addr, Username: o.Username, Password: o.Password, TLS: o.TLSConfig}, nil
	}
}
