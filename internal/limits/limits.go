package limits

import (
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

var (
	//go:embed lease.lua
	leaseSource string
	leaseScript = redis.NewScript(leaseSource)
)

// DefaultLeaseTTL is Config.LeaseTTL's default.
const DefaultLeaseTTL = time.Minute

// Config says what is limited. A zero or negative limit is off: server.Config.withDefaults
// gives the limits their defaults (DefaultOrderRate, DefaultPairingRate,
// DefaultWebsocketsPerOrder) before they get here.
type Config struct {
	// OrderRate is how many orders one client IP may create.
	OrderRate Rate
	// PairingRate is how many QR pairings one order may create.
	PairingRate Rate
	// WebsocketsPerOrder is how many desktop websockets one order may hold at once, across
	// all instances; zero or negative (Off) is no limit.
	WebsocketsPerOrder int
	// Scope keeps the counters of servers that share one Redis apart (tests); empty, as in
	// production, all instances count together.
	Scope string
	// LeaseTTL is how long a websocket's place outlives the last renewal by its instance:
	// the most an instance that died keeps places it no longer uses. Renewed every third
	// of it. Default DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Now is the clock of the leases; default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Limits counts in Redis. Its methods are safe for concurrent use.
type Limits struct {
	rdb   redis.UniversalClient
	rate  *redis_rate.Limiter
	cfg   Config
	log   *slog.Logger
	owner string // this instance's part of every lease member

	seq    atomic.Uint64
	mu     sync.Mutex
	leases map[string]string // member → lease key, of the websockets this instance holds

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New returns the limits on rdb and starts renewing the leases this instance will hold;
// Close stops that.
func New(rdb redis.UniversalClient, cfg Config) *Limits {
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, DefaultLeaseTTL)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	b := make([]byte, 8)
	rand.Read(b)
	l := &Limits{
		rdb: rdb, rate: redis_rate.NewLimiter(rdb), cfg: cfg, log: cfg.Logger,
		owner: hex.EncodeToString(b), leases: map[string]string{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go l.renewLoop()
	return l
}

// AllowOrder counts one order creation from ip.
func (l *Limits) AllowOrder(ctx context.Context, ip string) error {
	return l.allow(ctx, rediskeys.OrderRate(l.cfg.Scope, ip), l.cfg.OrderRate, filing.ErrTooManyOrders)
}

// AllowPairing counts one QR pairing of the order.
func (l *Limits) AllowPairing(ctx context.Context, orderID string) error {
	return l.allow(ctx, rediskeys.PairingRate(l.cfg.Scope, orderID), l.cfg.PairingRate, filing.ErrTooManyPairings)
}

// allow is GCRA with a burst of the whole rate: N at once, then one every Per/N. The
// library's script reads Redis's own clock (TIME), so every instance agrees on it.
func (l *Limits) allow(ctx context.Context, key string, r Rate, refusal *filing.Error) error {
	if r.Off() {
		return nil
	}
	res, err := l.rate.Allow(ctx, key, redis_rate.Limit{Rate: r.N, Burst: r.N, Period: r.Per})
	if err != nil {
		return unavailable(err)
	}
	if res.Allowed == 0 {
		return filing.RetryAfter(refusal, res.RetryAfter)
	}
	return nil
}

// AcquireWebsocket takes one of the order's websocket places, or refuses with
// rate_limited when all are taken on any instance. release gives the place back; call it
// once the connection has ended (it may be called more than once). Until then this
// instance renews the lease.
func (l *Limits) AcquireWebsocket(ctx context.Context, orderID string) (release func(), err error) {
	if l.cfg.WebsocketsPerOrder <= 0 {
		return func() {}, nil
	}
	key := rediskeys.WebsocketLeases(l.cfg.Scope, orderID)
	member := l.owner + "/" + strconv.FormatUint(l.seq.Add(1), 36)
	now := l.cfg.Now()
	wait, err := leaseScript.Run(ctx, l.rdb, []string{key},
		now.UnixMilli(), now.Add(l.cfg.LeaseTTL).UnixMilli(), l.cfg.WebsocketsPerOrder, member).Int64()
	if err != nil {
		return nil, unavailable(err)
	}
	if wait > 0 {
		return nil, filing.RetryAfter(filing.ErrTooManyConnections, time.Duration(wait)*time.Millisecond)
	}
	// A renewal that ran between the script and here missed this lease; it has a whole
	// LeaseTTL from the script, and the next renewal comes within a third of that.
	l.mu.Lock()
	l.leases[member] = key
	l.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { l.release(member, key) }) }, nil
}

// unavailable turns a Redis failure into the contract's 503: a limit that cannot be counted
// is not waived, and the client's retry is safe.
func unavailable(err error) error {
	return fmt.Errorf("limits: %w (%v)", filing.ErrUnavailable, err)
}

func (l *Limits) forget(member string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.leases[member]
	delete(l.leases, member)
	return ok
}

func (l *Limits) release(member, key string) {
	if !l.forget(member) {
		return // Close has removed it already
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.rdb.ZRem(ctx, key, member).Err(); err != nil {
		// The lease lapses by itself within LeaseTTL.
		l.log.Warn("websocket lease not released", "err", err)
	}
}

// renewLoop pushes the expiry of every lease this instance holds, a third of LeaseTTL
// apart, so that a lease lapses only when its instance is gone (or cut off from Redis).
func (l *Limits) renewLoop() {
	defer close(l.done)
	t := time.NewTicker(l.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.renew()
		}
	}
}

// renew runs with the lease map locked: a lease released meanwhile waits and is then
// removed, so a renewal can never bring back a released lease.
func (l *Limits) renew() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.leases) == 0 {
		return
	}
	now := l.cfg.Now()
	exp := float64(now.Add(l.cfg.LeaseTTL).UnixMilli())
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.LeaseTTL/3)
	defer cancel()
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		keys := map[string]bool{}
		for member, key := range l.leases {
			p.ZAdd(ctx, key, redis.Z{Score: exp, Member: member})
			keys[key] = true
		}
		for key := range keys {
			p.PExpire(ctx, key, l.cfg.LeaseTTL)
		}
		return nil
	})
	if err != nil {
		l.log.Warn("websocket leases not renewed", "leases", len(l.leases), "err", err)
	}
}

// Close stops renewing and gives back every place this instance still holds (its
// websockets are closing with the server); call it before closing the Redis client.
func (l *Limits) Close() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		l.mu.Lock()
		held := l.leases
		l.leases = map[string]string{}
		l.mu.Unlock()
		if len(held) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for member, key := range held {
				p.ZRem(ctx, key, member)
			}
			return nil
		})
	})
}
