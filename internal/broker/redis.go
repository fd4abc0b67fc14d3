package broker

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/rediskeys"
)

// Sentinel names the Sentinels that a Redis broker watches for master switches, and how to
// log in to the master they name.
type Sentinel struct {
	MasterName string
	Addrs      []string
	// Username and Password authenticate to the Sentinels (SentinelUsername/Password of
	// go-redis's FailoverOptions).
	Username, Password string
	// Master holds the data nodes' login (Username, Password, DB, TLSConfig); its Addr is
	// set to whatever the Sentinels name.
	Master redis.Options
}

// SentinelOf returns the Sentinel part of a failover client's options.
func SentinelOf(o *redis.FailoverOptions) *Sentinel {
	return &Sentinel{MasterName: o.MasterName, Addrs: o.SentinelAddrs, Username: o.SentinelUsername, Password: o.SentinelPassword,
		Master: redis.Options{Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLSConfig}}
}

// RedisOptions tunes a Redis broker. Zero fields take the defaults given.
type RedisOptions struct {
	// Sentinel, with a Sentinel (failover) client, is watched for master switches; nil for
	// a single Redis or a Cluster.
	Sentinel *Sentinel
	// PollInterval is how often the Sentinels are asked for the master's address, beside
	// listening to their +switch-master. Default 500ms.
	PollInterval time.Duration
	// Logger default slog.Default().
	Logger *slog.Logger
}

// Redis is the Broker on Redis pub/sub: one PubSub connection per instance, subscribed to the
// channels of the orders it holds desktops of.
type Redis struct {
	rdb  redis.UniversalClient
	opts RedisOptions
	log  *slog.Logger

	// cmds is the FIFO of (un)subscriptions, appended to by Subscribe/Unsubscribe.
	cmdMu sync.Mutex
	cmds  []cmd
	wake  chan struct{}

	// sendMu orders the sending of commands and a new session's re-subscription; wanted is
	// the set of channels as last sent, which a new session subscribes again.
	sendMu sync.Mutex
	wanted map[string]struct{}

	// switched is signalled when the Sentinels name another master; master is the one they
	// name now, known once known is closed.
	switched  chan string
	masterMu  sync.Mutex
	master    string
	known     chan struct{}
	knownOnce sync.Once
}

type cmd struct {
	subscribe bool
	channel   string
}

// NewRedis returns a broker on rdb.
func NewRedis(rdb redis.UniversalClient, o RedisOptions) *Redis {
	o.PollInterval = cmp.Or(o.PollInterval, 500*time.Millisecond)
	o.Logger = cmp.Or(o.Logger, slog.Default())
	return &Redis{
		rdb: rdb, opts: o, log: o.Logger.With("component", "broker"),
		wake: make(chan struct{}, 1), wanted: make(map[string]struct{}), switched: make(chan string, 1),
		known: make(chan struct{}),
	}
}

// Subscribe implements Broker.
func (r *Redis) Subscribe(orderID string) { r.enqueue(true, orderID) }

// Unsubscribe implements Broker.
func (r *Redis) Unsubscribe(orderID string) { r.enqueue(false, orderID) }

func (r *Redis) enqueue(subscribe bool, orderID string) {
	r.cmdMu.Lock()
	r.cmds = append(r.cmds, cmd{subscribe: subscribe, channel: rediskeys.Events(orderID)})
	r.cmdMu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// errSwitched ends a session whose PubSub may be on a demoted master.
var errSwitched = errors.New("broker: master switched")

// errClosed is the PubSub closing under a session.
var errClosed = errors.New("broker: Redis pub/sub closed")

// Run implements Broker. Each session is one go-redis PubSub. go-redis reconnects a PubSub
// by itself and re-subscribes its channels (whose confirmations reach the Handler), but it
// does not move one off a master that Sentinel demoted while the connection stays up: its
// failover handler only drops the idle connections of the command pools, not the PubSub's
// (go-redis v9.23.0 sentinel.go, NewFailoverClient's failover.onFailover, which filters
// connPool and the pipeline pool only; redis/go-redis#583, and #3811 for the same symptom in
// 2026). The PubSub stays on the demoted master until the Sentinels reconfigure it as a
// replica, which kills its pub/sub clients (redis/redis#6545) — about 10 s later here
// (TestSentinelFailover without the watcher: the fresh snapshot came 10.1 s after the
// switch; issue 11 saw ≈ 11 s without events), and events published meanwhile on the new
// master never reach it. So a new master ends the session, and the next one dials the
// master the Sentinels name now — by its address, not through the failover client, whose dialer asks the one Sentinel it caches,
// which may not have heard of the switch yet (Sentinels learn it from each other within
// about 2 s).
func (r *Redis) Run(ctx context.Context, h Handler) error {
	if r.opts.Sentinel != nil {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go r.watchSentinels(wctx)
	}
	for {
		err := r.session(ctx, h)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, errSwitched) {
			return err
		}
	}
}

func (r *Redis) session(ctx context.Context, h Handler) error {
	ps, closeClient, err := r.subscriber(ctx)
	if err != nil {
		return err
	}
	defer closeClient()
	msgs := ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		_ = ps.Close()
		wg.Wait()
	}()

	// Every channel still wanted is subscribed again; its confirmation tells the hub to
	// re-read the order.
	r.sendMu.Lock()
	if len(r.wanted) > 0 {
		chans := make([]string, 0, len(r.wanted))
		for ch := range r.wanted {
			chans = append(chans, ch)
		}
		if err := ps.Subscribe(sctx, chans...); err != nil {
			r.log.Warn("re-subscribing failed; the pub/sub retries", "channels", len(chans), "err", err)
		}
	}
	r.sendMu.Unlock()

	wg.Add(1)
	go func() { defer wg.Done(); r.sendCommands(sctx, ps) }()

	for {
		select {
		case <-ctx.Done():
			return nil
		case addr := <-r.switched:
			r.log.Warn("Redis master switched: moving the pub/sub to it", "addr", addr)
			return errSwitched
		case m, ok := <-msgs:
			if !ok {
				return errClosed
			}
			switch m := m.(type) {
			case *redis.Subscription:
				id, ok := rediskeys.OrderFromEvents(m.Channel)
				if !ok {
					continue
				}
				switch m.Kind {
				case "subscribe":
					h.Subscribed(id)
				case "unsubscribe":
					h.Unsubscribed(id)
				}
			case *redis.Message:
				if id, ok := rediskeys.OrderFromEvents(m.Channel); ok {
					h.Message(id, []byte(m.Payload))
				}
			}
		}
	}
}

// subscriber opens the session's PubSub: on rdb, or with Sentinels on a client of the master
// they name (waiting until they have named one).
func (r *Redis) subscriber(ctx context.Context) (*redis.PubSub, func(), error) {
	if r.opts.Sentinel == nil {
		return r.rdb.Subscribe(ctx), func() {}, nil
	}
	select {
	case <-r.known:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	r.masterMu.Lock()
	o := r.opts.Sentinel.Master
	o.Addr = r.master
	r.masterMu.Unlock()
	c := redis.NewClient(&o)
	return c.Subscribe(ctx), func() { _ = c.Close() }, nil
}

// sendCommands sends the queued (un)subscriptions in order, a run of one kind in one command.
func (r *Redis) sendCommands(ctx context.Context, ps *redis.PubSub) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		r.sendMu.Lock()
		r.cmdMu.Lock()
		cmds := r.cmds
		r.cmds = nil
		r.cmdMu.Unlock()
		for i := 0; i < len(cmds); {
			j := i
			chans := make([]string, 0, 1)
			for ; j < len(cmds) && cmds[j].subscribe == cmds[i].subscribe; j++ {
				chans = append(chans, cmds[j].channel)
				if cmds[i].subscribe {
					r.wanted[cmds[j].channel] = struct{}{}
				} else {
					delete(r.wanted, cmds[j].channel)
				}
			}
			var err error
			if cmds[i].subscribe {
				err = ps.Subscribe(ctx, chans...)
			} else {
				err = ps.Unsubscribe(ctx, chans...)
			}
			// go-redis remembers a subscription even when sending it failed and sends it again
			// when it reconnects, so a failure here only delays the confirmation.
			if err != nil && ctx.Err() == nil {
				r.log.Warn("pub/sub command failed", "subscribe", cmds[i].subscribe, "channels", len(chans), "err", err)
			}
			i = j
		}
		r.sendMu.Unlock()
	}
}

// watchSentinels signals switched when the Sentinels name a master other than the one they
// named before: it asks every Sentinel at once when one of them publishes +switch-master on
// its pub/sub, and every PollInterval in case that subscription is down. Of the answers it
// believes the one with the highest config epoch: a Sentinel that has not yet heard of a
// failover still names the old master, with the old epoch, and must not switch back to it.
func (r *Redis) watchSentinels(ctx context.Context) {
	s := r.opts.Sentinel
	clients := make([]*redis.SentinelClient, len(s.Addrs))
	for i, addr := range s.Addrs {
		clients[i] = redis.NewSentinelClient(&redis.Options{
			Addr: addr, Username: s.Username, Password: s.Password,
			DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
			MaxRetries: -1, PoolSize: 2,
		})
	}
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()

	poke := make(chan struct{}, 1)
	for _, c := range clients {
		ps := c.Subscribe(ctx, "+switch-master")
		defer ps.Close()
		go func() {
			for m := range ps.Channel() {
				// "<master name> <old ip> <old port> <new ip> <new port>"
				if f := strings.Fields(m.Payload); len(f) == 5 && f[0] == s.MasterName {
					select {
					case poke <- struct{}{}:
					default:
					}
				}
			}
		}()
	}

	epoch := int64(-1)
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		addr, e := "", int64(-1)
		for _, c := range clients {
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			m, err := c.Master(qctx, s.MasterName).Result()
			cancel()
			if err != nil {
				continue
			}
			if ce, err := strconv.ParseInt(m["config-epoch"], 10, 64); err == nil && ce > e && m["ip"] != "" {
				addr, e = net.JoinHostPort(m["ip"], m["port"]), ce
			}
		}
		if addr != "" && e >= epoch {
			epoch = e
			r.seen(addr)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-poke:
		}
	}
}

// seen records the master the Sentinels name, and signals a switch if it is a new one.
func (r *Redis) seen(addr string) {
	r.masterMu.Lock()
	changed := r.master != "" && addr != r.master
	r.master = addr
	r.masterMu.Unlock()
	r.knownOnce.Do(func() { close(r.known) })
	if changed {
		select {
		case r.switched <- addr:
		default: // a switch is already pending; the next session dials the latest master
		}
	}
}
