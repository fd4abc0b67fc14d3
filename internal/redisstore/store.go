// Package redisstore keeps orders, materials metadata, QR pairings, idempotency records and
// the guessed-code counters in Redis, and publishes each change's events on the order's
// channel in the same transaction as the change.
//
// Two rules hold for every exported method (errors.go, replicas.go):
//   - it starts with `defer translate(&err)` on a named error result, so that Redis being
//     away, read-only, loading or short of replicas reaches the caller as
//     filing.ErrUnavailable (503), never as a driver error (500);
//   - a method whose success acknowledges a change sends its writes and then s.confirm's
//     WAIT on one connection (a pipeline, a Tx, or oneConn's client) and checks it with
//     s.confirmed before returning, so that with BEIANSCAN_REDIS_MIN_REPLICAS ≥ 1 nothing
//     is acknowledged that a failover could lose.
package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

var (
	//go:embed claim.lua
	claimSource string
	claimScript = redis.NewScript(claimSource)

	//go:embed guess.lua
	guessSource string
	guessScript = redis.NewScript(guessSource)
)

// Store is the Redis implementation of orders.Store.
type Store struct {
	rdb redis.UniversalClient
	// keepClaimed is how long a claimed pairing is kept: as long as its phone token lives,
	// so the token can be checked against it.
	keepClaimed time.Duration
	repl        Replication
}

var _ orders.Store = (*Store)(nil)

// New returns a store on rdb. keepClaimed is the phone token's life (default 30m).
func New(rdb redis.UniversalClient, keepClaimed time.Duration) *Store {
	if keepClaimed <= 0 {
		keepClaimed = 30 * time.Minute
	}
	return &Store{rdb: rdb, keepClaimed: keepClaimed}
}

// Ready pings Redis.
func (s *Store) Ready(ctx context.Context) (err error) {
	defer translate(&err)
	return s.rdb.Ping(ctx).Err()
}

// oneConn returns what pipelines the commands about key on one connection, as WAIT needs
// (see confirm): a plain or Sentinel client sends a pipeline on one connection, while a
// Cluster client splits it by slot and would send the keyless WAIT to any node, so it is
// given the master of key's slot instead.
func (s *Store) oneConn(ctx context.Context, key string) (reader, error) {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.MasterForKey(ctx, key)
	}
	return s.rdb, nil
}

func orderKeys(id string) []string {
	return []string{rediskeys.Order(id), rediskeys.Version(id), rediskeys.Materials(id), rediskeys.Pairing(id)}
}

// CreateOrder stores a new order; it fails if the ID is taken.
func (s *Store) CreateOrder(ctx context.Context, o *filing.Order) (err error) {
	defer translate(&err)
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	c, err := s.oneConn(ctx, rediskeys.Order(o.ID))
	if err != nil {
		return err
	}
	// One MSETNX sets the order and its version together or not at all (same hash tag, so
	// same slot), and the WAIT rides in the same round trip.
	var set *redis.BoolCmd
	var wait *redis.Cmd
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		set = p.MSetNX(ctx, rediskeys.Order(o.ID), b, rediskeys.Version(o.ID), o.Version)
		wait = s.confirm(ctx, p, o.ID, false)
		return nil
	}); err != nil {
		return err
	}
	if !set.Val() {
		return fmt.Errorf("redisstore: order id %s taken", o.ID)
	}
	return s.confirmed(wait)
}

type reader interface {
	Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
}

// stored is an order's keys as read, before decoding.
type stored struct {
	order   []byte
	version int64
	mats    map[string]string
	pairing map[string]string
}

func (r stored) decode() (*orders.Snapshot, error) {
	return decode(r.order, r.version, r.mats, r.pairing)
}

// load reads the four keys of an order in one round trip.
func load(ctx context.Context, r reader, id string) (stored, error) {
	var orderCmd, versionCmd *redis.StringCmd
	var matCmd, pairCmd *redis.MapStringStringCmd
	_, err := r.Pipelined(ctx, func(p redis.Pipeliner) error {
		orderCmd = p.Get(ctx, rediskeys.Order(id))
		versionCmd = p.Get(ctx, rediskeys.Version(id))
		matCmd = p.HGetAll(ctx, rediskeys.Materials(id))
		pairCmd = p.HGetAll(ctx, rediskeys.Pairing(id))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return stored{}, err
	}
	raw, err := orderCmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return stored{}, filing.ErrOrderNotFound
	}
	if err != nil {
		return stored{}, err
	}
	version, _ := versionCmd.Int64()
	return stored{raw, version, matCmd.Val(), pairCmd.Val()}, nil
}

func decode(rawOrder []byte, version int64, mats, pairing map[string]string) (*orders.Snapshot, error) {
	var o filing.Order
	if err := json.Unmarshal(rawOrder, &o); err != nil {
		return nil, fmt.Errorf("redisstore: order: %w", err)
	}
	o.Version = version
	snap := &orders.Snapshot{Order: &o, Materials: make(map[filing.Slot]filing.Material, len(mats))}
	for slot, raw := range mats {
		var m filing.Material
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, fmt.Errorf("redisstore: material %s: %w", slot, err)
		}
		snap.Materials[filing.Slot(slot)] = m
	}
	snap.Pairing = decodePairing(pairing)
	return snap, nil
}

// Load returns the order's snapshot.
func (s *Store) Load(ctx context.Context, id string) (_ *orders.Snapshot, err error) {
	defer translate(&err)
	r, err := load(ctx, s.rdb, id)
	if err != nil {
		return nil, err
	}
	return r.decode()
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func fromMS(v string) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

func encodePairing(p *orders.Pairing) map[string]any {
	m := map[string]any{
		"id": p.ID, "code_hash": p.CodeHash, "created_at": ms(p.CreatedAt), "expires_at": ms(p.ExpiresAt),
		"expired": boolField(p.Expired), "device": p.DeviceID, "app_version": p.AppVersion,
		"completed": boolField(p.Completed), "desktop_ip": p.Desktop.IP, "desktop_ua": p.Desktop.UserAgent,
	}
	if !p.ClaimedAt.IsZero() {
		m["claimed_at"] = ms(p.ClaimedAt)
	}
	return m
}

func boolField(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func decodePairing(h map[string]string) *orders.Pairing {
	if h["id"] == "" {
		return nil
	}
	created := fromMS(h["created_at"])
	return &orders.Pairing{
		ID: h["id"], CodeHash: h["code_hash"], CreatedAt: created, ExpiresAt: fromMS(h["expires_at"]),
		Expired: h["expired"] == "1", DeviceID: h["device"], AppVersion: h["app_version"],
		ClaimedAt: fromMS(h["claimed_at"]), Completed: h["completed"] == "1",
		Desktop: orders.DesktopInfo{IP: h["desktop_ip"], UserAgent: h["desktop_ua"], CreatedAt: created},
	}
}

// pairingTTL keeps a pairing past its expiry for as long as a phone that claims it at the
// last moment keeps its token: a late claim is then answered 410 rather than 404, a
// claimed pairing outlives its phone token, and the claim itself need not touch the TTL.
func (s *Store) pairingTTL(p *orders.Pairing, now time.Time) time.Duration {
	ttl := p.ExpiresAt.Add(s.keepClaimed).Sub(now)
	if ttl < time.Second {
		ttl = time.Second
	}
	return ttl
}

const maxUpdateAttempts = 100

// Update applies change atomically with WATCH/MULTI and publishes its events inside the
// transaction, so events leave in the order of the versions they carry.
func (s *Store) Update(ctx context.Context, id string, change func(*orders.Snapshot) ([]orders.Event, error)) (_ *orders.Snapshot, err error) {
	defer translate(&err)
	keys := orderKeys(id)
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		var result *orders.Snapshot
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			r, err := load(ctx, tx, id)
			if err != nil {
				return err
			}
			// change works on a second copy, so that what was read stays for the diff.
			before, err := r.decode()
			if err != nil {
				return err
			}
			snap, err := r.decode()
			if err != nil {
				return err
			}
			evs, err := change(snap)
			if errors.Is(err, orders.ErrUnchanged) {
				// The state answered may come from an earlier attempt whose confirmation
				// failed: confirm everything the master has (bump), not just nothing.
				if err := s.confirmOn(ctx, tx, id, true); err != nil {
					return err
				}
				result = before
				return nil
			}
			if err != nil {
				return err
			}
			if err := s.write(ctx, tx, before, snap, evs, &result); err != nil {
				return err
			}
			// tx holds one connection for the whole Watch, so this WAIT covers the EXEC
			// above. (WAIT is refused inside MULTI, hence a round trip of its own.)
			return s.confirmOn(ctx, tx, id, false)
		}, keys...)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return result, nil
	}
	return nil, fmt.Errorf("redisstore: update of %s kept conflicting", id)
}

func (s *Store) write(ctx context.Context, tx *redis.Tx, before, snap *orders.Snapshot, evs []orders.Event, result **orders.Snapshot) error {
	id := snap.Order.ID
	snap.Order.Version = before.Order.Version + 1
	orderJSON, err := json.Marshal(snap.Order)
	if err != nil {
		return err
	}
	payloads := make([][]byte, len(evs))
	for i := range evs {
		evs[i].Version = snap.Order.Version
		if payloads[i], err = json.Marshal(evs[i]); err != nil {
			return err
		}
	}
	now := time.Now()
	_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, rediskeys.Order(id), orderJSON, 0)
		p.Set(ctx, rediskeys.Version(id), snap.Order.Version, 0)
		for slot, m := range snap.Materials {
			if old, ok := before.Materials[slot]; ok && sameMaterial(old, m) {
				continue
			}
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			p.HSet(ctx, rediskeys.Materials(id), string(slot), b)
		}
		for slot := range before.Materials {
			if _, ok := snap.Materials[slot]; !ok {
				p.HDel(ctx, rediskeys.Materials(id), string(slot))
			}
		}
		if snap.Pairing == nil {
			if before.Pairing != nil {
				p.Del(ctx, rediskeys.Pairing(id))
			}
		} else if before.Pairing == nil || *before.Pairing != *snap.Pairing {
			if before.Pairing != nil && before.Pairing.ID != snap.Pairing.ID {
				p.Del(ctx, rediskeys.Pairing(id))
			}
			p.HSet(ctx, rediskeys.Pairing(id), encodePairing(snap.Pairing))
			p.PExpire(ctx, rediskeys.Pairing(id), s.pairingTTL(snap.Pairing, now))
		}
		for _, b := range payloads {
			p.Publish(ctx, rediskeys.Events(id), b)
		}
		return nil
	})
	if err == nil {
		*result = snap
	}
	return err
}

func sameMaterial(a, b filing.Material) bool {
	return a.SHA256 == b.SHA256 && a.UploadedAt.Equal(b.UploadedAt) && a.Via == b.Via
}

// Claim runs the claim script.
func (s *Store) Claim(ctx context.Context, req orders.ClaimRequest) (_ *orders.Snapshot, err error) {
	defer translate(&err)
	at := req.Now.UTC()
	pre, post, err := phoneConnectedFrame(req, at)
	if err != nil {
		return nil, err
	}
	keys := []string{rediskeys.Pairing(req.OrderID), rediskeys.Order(req.OrderID), rediskeys.Version(req.OrderID)}
	args := []any{req.CodeHash, req.DeviceID, req.AppVersion, at.UnixMilli(), strings.Join(req.AppProvinces, ","),
		pre, post, rediskeys.Events(req.OrderID)}
	// The bump makes a retried claim ("reclaimed", which writes nothing) confirm the first
	// attempt's write too: that attempt may have answered 503 (see confirm).
	out, err := s.runConfirmed(ctx, claimScript, keys, req.OrderID, true, args...)
	if err != nil {
		return nil, err
	}
	switch status, _ := out[0].(string); status {
	case "ok", "reclaimed":
		// Read after the claim: the script stays small (Redis runs one script at a time),
		// and a snapshot read a moment later is as good as one read inside it.
		return s.Load(ctx, req.OrderID)
	case "not_found":
		return nil, filing.ErrPairingNotFound
	case "already_claimed":
		return nil, filing.ErrPairingAlreadyClaimed
	case "expired":
		return nil, filing.ErrPairingExpired
	case "invalid_state":
		return nil, filing.ErrInvalidState.WithDetails(map[string]any{"state": out[1]})
	case "method":
		return nil, filing.ErrUploadMethodNotApp
	case "province":
		return nil, filing.ErrProvinceNotSupported
	default:
		return nil, fmt.Errorf("redisstore: claim answered %v", out[0])
	}
}

// phoneConnectedFrame splits the phone_connected event around its version, which only the
// script knows.
func phoneConnectedFrame(req orders.ClaimRequest, at time.Time) (string, string, error) {
	const marker = -987654321
	b, err := json.Marshal(orders.Event{
		Type: orders.EventPhoneConnected, Version: marker, OrderID: req.OrderID, At: at,
		Data: map[string]string{"device": req.DeviceID, "app_version": req.AppVersion},
	})
	if err != nil {
		return "", "", err
	}
	pre, post, ok := strings.Cut(string(b), strconv.Itoa(marker))
	if !ok {
		return "", "", errors.New("redisstore: event marker lost")
	}
	return pre, post, nil
}

// GuessBlocked reports how long ip stays blocked.
func (s *Store) GuessBlocked(ctx context.Context, ip string, limit int, window time.Duration, now time.Time) (_ time.Duration, err error) {
	defer translate(&err)
	n, err := guessScript.Run(ctx, s.rdb, []string{rediskeys.Guesses(ip)}, "check", now.UnixMilli(), window.Milliseconds(), limit).Int64()
	return time.Duration(n) * time.Millisecond, err
}

// RecordGuess counts one unmatched code from ip.
func (s *Store) RecordGuess(ctx context.Context, ip string, window time.Duration, now time.Time) (err error) {
	defer translate(&err)
	return guessScript.Run(ctx, s.rdb, []string{rediskeys.Guesses(ip)}, "record", now.UnixMilli(), window.Milliseconds(), 0).Err()
}

// Remembered returns an idempotency record.
func (s *Store) Remembered(ctx context.Context, orderID, keyHash string) (_ []byte, err error) {
	defer translate(&err)
	b, err := s.rdb.Get(ctx, rediskeys.Idempotency(orderID, keyHash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// Remember stores an idempotency record unless one exists.
func (s *Store) Remember(ctx context.Context, orderID, keyHash string, answer []byte, ttl time.Duration) (err error) {
	defer translate(&err)
	c, err := s.oneConn(ctx, rediskeys.Order(orderID))
	if err != nil {
		return err
	}
	var set *redis.BoolCmd
	var wait *redis.Cmd
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		set = p.SetNX(ctx, rediskeys.Idempotency(orderID, keyHash), answer, ttl)
		wait = s.confirm(ctx, p, orderID, false)
		return nil
	}); err != nil {
		return err
	}
	if err := set.Err(); err != nil {
		return err
	}
	return s.confirmed(wait)
}
