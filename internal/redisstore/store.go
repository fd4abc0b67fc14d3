// Package redisstore keeps orders, materials metadata, QR pairings, idempotency records,
// the audit trail and the guessed-code counters in Redis, and publishes each change's
// events on the order's channel in the same transaction as the change.
//
// Privacy (docs/operations.md, Privacy): full ID numbers are stored only sealed (sealbox, the context naming
// the order and the person) and opened on load; every key of an order expires after the
// retention without change, except while the order is submitted; every change writes its
// audit entries in its own transaction.
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
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/sealbox"
)

var (
	//go:embed claim.lua
	claimSource string
	claimScript = redis.NewScript(claimSource)

	//go:embed guess.lua
	guessSource string
	guessScript = redis.NewScript(guessSource)

	//go:embed create.lua
	createSource string
	createScript = redis.NewScript(createSource)

	//go:embed audit.lua
	auditSource string
	auditScript = redis.NewScript(auditSource)
)

// Store is the Redis implementation of orders.Store.
type Store struct {
	rdb redis.UniversalClient
	// keepClaimed is how long a claimed pairing is kept: as long as its phone token lives,
	// so the token can be checked against it.
	keepClaimed time.Duration
	ring        *sealbox.Keyring
	retention   time.Duration
	now         func() time.Time
	repl        Replication
	// webhooks is the outbox's configuration (outbox.go); nil: no webhooks.
	webhooks *webhooks
	// scope keeps the review queue of servers sharing one Redis apart (tests).
	scope string
	// queuePages caches pages of the review queue, checked against the queue's stamp.
	queuePages queuePages
}

var (
	_ orders.Store         = (*Store)(nil)
	_ orders.AuditLog      = (*Store)(nil)
	_ orders.PairingLoader = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithKeyring seals the full ID numbers with ring (its first key seals, all open). Without
// it a Store seals with a random key of its own, which no other process can open.
func WithKeyring(ring *sealbox.Keyring) Option { return func(s *Store) { s.ring = ring } }

// WithRetention sets how long an order's keys live after its last change; default 720h.
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retention = d } }

// WithClock sets the clock of the TTLs the store computes; default time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithScope names the review queue's scope: servers that share one Redis with different
// scopes (tests) keep different queues; production leaves it empty.
func WithScope(scope string) Option { return func(s *Store) { s.scope = scope } }

// DefaultRetention is BEIANSCAN_RETENTION's default.
const DefaultRetention = 720 * time.Hour

// New returns a store on rdb. keepClaimed is the phone token's life (default
// orders.DefaultPhoneTokenTTL).
func New(rdb redis.UniversalClient, keepClaimed time.Duration, opts ...Option) *Store {
	keepClaimed = cmp.Or(keepClaimed, orders.DefaultPhoneTokenTTL)
	s := &Store{rdb: rdb, keepClaimed: keepClaimed}
	for _, o := range opts {
		o(s)
	}
	if s.ring == nil {
		s.ring = sealbox.Random()
	}
	s.retention = cmp.Or(s.retention, DefaultRetention)
	if s.now == nil {
		s.now = time.Now
	}
	return s
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
		node, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return nil, err
		}
		return clusterMaster{node, cc}, nil
	}
	return s.rdb, nil
}

// clusterMaster is the client of the master oneConn found for a slot in the Cluster
// client's cached slot map. After a failover (or a resharding) that node answers MOVED or
// ASK; the Cluster client would reload its map on such an answer to its own commands but
// does not see those of a node's client, and would keep the stale map for up to 10 s
// (TestClusterFailover saw a claim answer 500 with "MOVED 8343"). So a moved slot has the
// map reloaded (in the background), and the request answers 503 (translate) for the
// client to retry: nothing of the pipeline ran on the node that refused it.
type clusterMaster struct {
	node *redis.Client
	cc   *redis.ClusterClient
}

func (m clusterMaster) Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error) {
	cmds, err := m.node.Pipelined(ctx, fn)
	moved := func(err error) bool {
		_, mv := redis.IsMovedError(err)
		_, ask := redis.IsAskError(err)
		return mv || ask
	}
	stale := moved(err)
	for _, c := range cmds {
		stale = stale || moved(c.Err())
	}
	if stale {
		m.cc.ReloadState(ctx)
	}
	return cmds, err
}

// orderKeys are the keys Update watches: the order's, and its queue summary, whose
// sequence number and hold copy an inline change reads before its MULTI (queueInline).
func orderKeys(id string) []string {
	return []string{rediskeys.Order(id), rediskeys.Version(id), rediskeys.Materials(id), rediskeys.Pairing(id), rediskeys.Hold(id),
		rediskeys.Queued(id)}
}

// CreateOrder stores a new order; it fails if the ID is taken. The order's creation is
// its first audit entry, by the desktop that sent it.
func (s *Store) CreateOrder(ctx context.Context, o *filing.Order, created orders.AuditEntry) (err error) {
	defer translate(&err)
	b, err := s.encodeOrder(o)
	if err != nil {
		return err
	}
	// An owned order enters its owner's index before it exists (owners.go).
	if err := s.ownerBefore(ctx, o, s.retention); err != nil {
		return err
	}
	if err := s.ownerCreateCheck(o); err != nil {
		return err
	}
	webhooks, err := s.createEntries(o, b)
	if err != nil {
		return err
	}
	if err := s.beforeOutbox(ctx, o.ID, o.CreatedAt, webhooks); err != nil {
		return err
	}
	// One script writes the order, its version, its first audit entry and its outbox, or
	// nothing if the ID is taken; the WAIT rides in the same round trip.
	keys, args := s.createArgs(o, b, webhooks, created)
	out, err := s.runConfirmed(ctx, createScript, keys, o.ID, false, nil, args...)
	if err != nil {
		return err
	}
	if len(out) != 1 || out[0] != int64(1) {
		return fmt.Errorf("redisstore: order id %s taken", o.ID)
	}
	s.afterOutbox(ctx, o.ID, o.CreatedAt, webhooks)
	return nil
}

// createArgs are create.lua's keys and arguments.
func (s *Store) createArgs(o *filing.Order, orderJSON []byte, webhooks map[string]any, created orders.AuditEntry) ([]string, []any) {
	keys := []string{rediskeys.Order(o.ID), rediskeys.Version(o.ID), rediskeys.Audit(o.ID), rediskeys.Webhooks(o.ID)}
	if len(webhooks) > 0 && !s.cluster() {
		keys = append(keys, rediskeys.WebhookDue(s.webhooks.scope), rediskeys.WebhookListed(s.webhooks.scope))
	}
	args := []any{orderJSON, s.retention.Milliseconds(), o.Version, (s.retention + outboxOutlives).Milliseconds(), o.ID,
		o.CreatedAt.UnixMilli(), len(webhooks)}
	fields := make([]string, 0, len(webhooks))
	for f := range webhooks {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		args = append(args, f, webhooks[f])
	}
	return keys, append(args, auditValues(created)...)
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
	hold    map[string]string
}

// loadForUpdate is load, with the hold copy and sequence number of the order's queue
// summary read in the same round trip (for queueInline).
func loadForUpdate(ctx context.Context, r reader, id string) (stored, []any, error) {
	var read func() (stored, error)
	var summary *redis.SliceCmd
	_, err := r.Pipelined(ctx, func(p redis.Pipeliner) error {
		read = queueLoad(ctx, p, id)
		summary = p.HMGet(ctx, rediskeys.Queued(id), heldField, seqField)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return stored{}, nil, err
	}
	st, err := read()
	return st, summary.Val(), err
}

// load reads the four keys of an order in one round trip.
func load(ctx context.Context, r reader, id string) (stored, error) {
	var read func() (stored, error)
	_, err := r.Pipelined(ctx, func(p redis.Pipeliner) error {
		read = queueLoad(ctx, p, id)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return stored{}, err
	}
	return read()
}

// queueLoad queues the reads of an order's keys on p and returns what reads their answers
// once p has run.
func queueLoad(ctx context.Context, p redis.Pipeliner, id string) func() (stored, error) {
	orderCmd := p.Get(ctx, rediskeys.Order(id))
	versionCmd := p.Get(ctx, rediskeys.Version(id))
	matCmd := p.HGetAll(ctx, rediskeys.Materials(id))
	pairCmd := p.HGetAll(ctx, rediskeys.Pairing(id))
	holdCmd := p.HGetAll(ctx, rediskeys.Hold(id))
	return func() (stored, error) {
		for _, c := range []redis.Cmder{matCmd, pairCmd, holdCmd} {
			if err := c.Err(); err != nil {
				return stored{}, err
			}
		}
		raw, err := orderCmd.Bytes()
		if errors.Is(err, redis.Nil) {
			return stored{}, filing.ErrOrderNotFound
		}
		if err != nil {
			return stored{}, err
		}
		// No version key is version 0 (redis.Nil); a version that is not a number is damage,
		// refused rather than read as version 0.
		version, err := versionCmd.Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return stored{}, fmt.Errorf("redisstore: order %s: version: %w", id, err)
		}
		return stored{raw, version, matCmd.Val(), pairCmd.Val(), holdCmd.Val()}, nil
	}
}

func (s *Store) decode(r stored) (*orders.Snapshot, error) {
	o, err := s.decodeOrder(r.order)
	if err != nil {
		return nil, err
	}
	o.Version = r.version
	mats, pairing := r.mats, r.pairing
	snap := &orders.Snapshot{Order: o, Materials: make(map[filing.Slot]filing.Material, len(mats))}
	for slot, raw := range mats {
		var m filing.Material
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, fmt.Errorf("redisstore: material %s: %w", slot, err)
		}
		snap.Materials[filing.Slot(slot)] = m
	}
	snap.Pairing = decodePairing(pairing)
	snap.Hold = decodeHold(r.hold)
	return snap, nil
}

// Load returns the order's snapshot.
func (s *Store) Load(ctx context.Context, id string) (_ *orders.Snapshot, err error) {
	defer translate(&err)
	r, err := load(ctx, s.rdb, id)
	if err != nil {
		return nil, err
	}
	return s.decode(r)
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
		"expired": boolField(p.Expired), "device": p.DeviceID, "device_name": p.DeviceName, "app_version": p.AppVersion,
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

// LoadPairing reads the order's pairing alone, for the QR code's poll.
func (s *Store) LoadPairing(ctx context.Context, id string) (_ *orders.Pairing, err error) {
	defer translate(&err)
	h, err := s.rdb.HGetAll(ctx, rediskeys.Pairing(id)).Result()
	if err != nil {
		return nil, err
	}
	return decodePairing(h), nil
}

func decodePairing(h map[string]string) *orders.Pairing {
	if h["id"] == "" {
		return nil
	}
	created := fromMS(h["created_at"])
	return &orders.Pairing{
		ID: h["id"], CodeHash: h["code_hash"], CreatedAt: created, ExpiresAt: fromMS(h["expires_at"]),
		Expired: h["expired"] == "1", DeviceID: h["device"], DeviceName: h["device_name"], AppVersion: h["app_version"],
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
			r, summary, err := loadForUpdate(ctx, tx, id)
			if err != nil {
				return err
			}
			// change works on a second copy, so that what was read stays for the diff.
			before, err := s.decode(r)
			if err != nil {
				return err
			}
			snap, err := s.decode(r)
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
			c, err := s.prepare(before, snap, evs)
			if err != nil {
				return err
			}
			c.summary = summary
			// The review queue is indexed in the transaction on a single Redis or Sentinel
			// (queueInline), beside it on Cluster (queueBefore, queueAfter).
			if err := s.queueBefore(ctx, c); err != nil {
				return err
			}
			// So is the owner's index (owners.go).
			if err := s.ownerBefore(ctx, c.after.Order, c.keep); err != nil {
				return err
			}
			if err := s.write(ctx, tx, c); err != nil {
				s.queueAbort(ctx, c, err)
				return err
			}
			s.queueAfter(ctx, c)
			result = snap
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

// change is one committed update of an order, as the write path's steps see it: what was
// read, what is to be stored, the events to publish and the retention every key gets.
type change struct {
	id            string
	before, after *orders.Snapshot
	orderJSON     []byte
	payloads      [][]byte
	now           time.Time
	// keep is the retention all the order's keys get; 0 means none (a submitted order
	// waits for its review however long that takes).
	keep time.Duration
	// summary is the order's queue summary's hold copy and sequence number as read under
	// the WATCH, for an inline copy.
	summary []any
	// inline is set when the queue's side of the change joins its MULTI (queueInline);
	// marked when queueBefore marked the change in the queue's slot instead (Cluster).
	// queued, seq and held are the order's queue summary, its new sequence number and its
	// hold copy as the transaction left them, for queueAfter's copy.
	inline bool
	marked bool
	queued string
	seq    *redis.IntCmd
	held   *redis.SliceCmd
}

// prepare numbers the new version and encodes what the transaction writes, so nothing in
// the MULTI can fail half way for want of an encoding.
func (s *Store) prepare(before, snap *orders.Snapshot, evs []orders.Event) (*change, error) {
	c := &change{id: snap.Order.ID, before: before, after: snap, now: s.now(), keep: s.retention}
	snap.Order.Version = before.Order.Version + 1
	var err error
	if c.orderJSON, err = s.encodeOrder(snap.Order); err != nil {
		return nil, err
	}
	c.payloads = make([][]byte, len(evs))
	for i := range evs {
		evs[i].Version = snap.Order.Version
		if c.payloads[i], err = json.Marshal(evs[i]); err != nil {
			return nil, err
		}
	}
	// Every change starts the retention again for all the order's keys at once: order,
	// version, materials and audit trail live exactly as long as the order; the pairing has
	// a shorter life of its own (pairingTTL), capped by the retention, and so have the
	// idempotency records (Remember).
	if snap.Order.State == filing.StateSubmitted {
		c.keep = 0
	}
	return c, nil
}

// write commits c in one MULTI/EXEC, step by step; each step adds its commands to the same
// transaction, so a reader sees all of a change or none of it.
func (s *Store) write(ctx context.Context, tx *redis.Tx, c *change) error {
	webhooks, err := s.outboxEntries(c)
	if err != nil {
		return err
	}
	if err := s.beforeOutbox(ctx, c.id, c.now, webhooks); err != nil {
		return err
	}
	_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.writeOrder(ctx, p, c)
		if err := writeMaterials(ctx, p, c); err != nil {
			return err
		}
		s.writePairing(ctx, p, c)
		writeHold(ctx, p, c)
		writeAudit(ctx, p, c)
		expireWithOrder(ctx, p, c)
		if err := s.writeOutbox(ctx, p, c, webhooks); err != nil {
			return err
		}
		numberQueued(ctx, p, c)
		s.queueInline(ctx, p, c)
		publish(ctx, p, c)
		return nil
	})
	if err == nil {
		s.afterOutbox(ctx, c.id, c.now, webhooks)
	}
	return err
}

func (s *Store) writeOrder(ctx context.Context, p redis.Pipeliner, c *change) {
	p.Set(ctx, rediskeys.Order(c.id), c.orderJSON, c.keep)
	p.Set(ctx, rediskeys.Version(c.id), c.after.Order.Version, c.keep)
	writeQueued(ctx, p, c)
}

// writeMaterials writes the slots whose material changed and deletes the removed ones.
func writeMaterials(ctx context.Context, p redis.Pipeliner, c *change) error {
	for slot, m := range c.after.Materials {
		if old, ok := c.before.Materials[slot]; ok && sameMaterial(old, m) {
			continue
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		p.HSet(ctx, rediskeys.Materials(c.id), string(slot), b)
	}
	for slot := range c.before.Materials {
		if _, ok := c.after.Materials[slot]; !ok {
			p.HDel(ctx, rediskeys.Materials(c.id), string(slot))
		}
	}
	return nil
}

// writePairing stores the pairing as it now stands (or deletes it), retires a replaced
// one's code, and gives it its own life, capped by the order's retention.
func (s *Store) writePairing(ctx context.Context, p redis.Pipeliner, c *change) {
	id, before, after := c.id, c.before.Pairing, c.after.Pairing
	s.retire(ctx, p, id, before, after, c.now)
	if after == nil {
		if before != nil {
			p.Del(ctx, rediskeys.Pairing(id))
		}
		return
	}
	if before == nil || *before != *after {
		if before != nil && before.ID != after.ID {
			p.Del(ctx, rediskeys.Pairing(id))
		}
		p.HSet(ctx, rediskeys.Pairing(id), encodePairing(after))
	}
	ttl := s.pairingTTL(after, c.now)
	if c.keep > 0 && c.keep < ttl {
		ttl = c.keep
	}
	p.PExpire(ctx, rediskeys.Pairing(id), ttl)
}

func writeAudit(ctx context.Context, p redis.Pipeliner, c *change) {
	for _, e := range c.after.Audit {
		addAudit(ctx, p, c.id, e)
	}
}

// expireWithOrder gives the order's other keys the order's life (set with the order's own
// SET above).
func expireWithOrder(ctx context.Context, p redis.Pipeliner, c *change) {
	for _, k := range []string{rediskeys.Materials(c.id), rediskeys.Audit(c.id), rediskeys.AuditReads(c.id), rediskeys.Queued(c.id)} {
		if c.keep > 0 {
			p.PExpire(ctx, k, c.keep)
		} else {
			p.Persist(ctx, k)
		}
	}
}

// publish sends the change's events inside the transaction, so they leave in the order of
// the versions they carry.
func publish(ctx context.Context, p redis.Pipeliner, c *change) {
	for _, b := range c.payloads {
		p.Publish(ctx, rediskeys.Events(c.id), b)
	}
}

func sameMaterial(a, b filing.Material) bool {
	return a.SHA256 == b.SHA256 && a.UploadedAt.Equal(b.UploadedAt) && a.Via == b.Via
}

// Claim runs the claim script, which also writes the claim's audit entry and reads the
// snapshot the phone is answered with: one round trip, with the WAIT (when replicas are
// configured) and the device's generation in the same pipeline.
func (s *Store) Claim(ctx context.Context, req orders.ClaimRequest) (_ *orders.Claimed, err error) {
	defer translate(&err)
	at := req.Now.UTC()
	pre, post, err := phoneConnectedFrame(req, at)
	if err != nil {
		return nil, err
	}
	out, err := s.claim(ctx, req, pre, post)
	if err != nil {
		return nil, err
	}
	if err := out.Err(out.state); err != nil {
		return nil, err
	}
	snap, err := s.decode(out.stored)
	if err != nil {
		return nil, err
	}
	return &orders.Claimed{Snapshot: snap, DeviceGeneration: out.gen}, nil
}

// phoneConnectedFrame splits the phone_connected event around its version, which only the
// script knows.
func phoneConnectedFrame(req orders.ClaimRequest, at time.Time) (string, string, error) {
	const marker = -987654321
	b, err := json.Marshal(orders.Event{
		Type: events.PhoneConnected, Version: marker, OrderID: req.OrderID, At: at,
		Data: events.PhoneConnectedData{Device: req.DeviceID, DeviceName: req.DeviceName, AppVersion: req.AppVersion},
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

// Remembered returns an idempotency record.
func (s *Store) Remembered(ctx context.Context, orderID, keyHash string) (_ []byte, err error) {
	defer translate(&err)
	b, err := s.rdb.Get(ctx, rediskeys.Idempotency(orderID, keyHash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// Remember stores an idempotency record, replacing a spent one: the service only gets
// here for a key that has no record or whose material is gone.
func (s *Store) Remember(ctx context.Context, orderID, keyHash string, answer []byte, ttl time.Duration) (err error) {
	defer translate(&err)
	if ttl <= 0 || ttl > s.retention {
		ttl = s.retention
	}
	c, err := s.oneConn(ctx, rediskeys.Order(orderID))
	if err != nil {
		return err
	}
	var set *redis.StatusCmd
	var wait *redis.Cmd
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		set = p.Set(ctx, rediskeys.Idempotency(orderID, keyHash), answer, ttl)
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

// MaterialHashes returns the SHA-256 of every stored material of an order and whether the
// order exists, for the blob sweeper: a blob nobody refers to, or of an order that is gone
// (deleted, expired by retention), may be swept.
func (s *Store) MaterialHashes(ctx context.Context, id string) (_ map[string]bool, _ bool, err error) {
	defer translate(&err)
	var exists *redis.IntCmd
	var vals *redis.StringSliceCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, rediskeys.Order(id))
		vals = p.HVals(ctx, rediskeys.Materials(id))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, err
	}
	hashes := map[string]bool{}
	for _, raw := range vals.Val() {
		var m struct {
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			// Unreadable metadata: keep every blob of the order rather than guess.
			return nil, true, fmt.Errorf("redisstore: material of %s: %w", id, err)
		}
		hashes[m.SHA256] = true
	}
	return hashes, exists.Val() > 0, nil
}

func auditValues(e orders.AuditEntry) []any {
	v := []any{"at", ms(e.At), "actor", e.Actor, "action", e.Action, "slot", string(e.Slot), "ip", e.IP}
	if e.Reviewer != "" {
		v = append(v, "reviewer", e.Reviewer)
	}
	return v
}

func addAudit(ctx context.Context, p redis.Pipeliner, id string, e orders.AuditEntry) {
	// No cap: every change is kept for the order's life (reads are summarised instead, see
	// audit.lua), and the stream expires with the order.
	p.XAdd(ctx, &redis.XAddArgs{Stream: rediskeys.Audit(id), Values: auditValues(e)})
}

// auditKeys and auditArgs are audit.lua's keys and arguments.
func auditKeys(id string) []string {
	return []string{rediskeys.Order(id), rediskeys.Audit(id), rediskeys.AuditReads(id), rediskeys.Version(id), rediskeys.Materials(id),
		rediskeys.Queued(id)}
}

func (s *Store) auditArgs(mode string, e orders.AuditEntry) []any {
	field := ""
	if mode == "summary" {
		field = summaryField(e)
	}
	return append([]any{mode, s.retention.Milliseconds(), field}, auditValues(e)...)
}

// appendAudit adds an entry outside a transaction of Update: see audit.lua for the modes.
func (s *Store) appendAudit(ctx context.Context, id, mode string, e orders.AuditEntry) error {
	n, err := auditScript.Run(ctx, s.rdb, auditKeys(id), s.auditArgs(mode, e)...).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		return filing.ErrOrderNotFound
	}
	return nil
}

// AppendAudit records an entry that goes with no change, such as an image read. Reads of
// images and of the form are summarised (one counter per actor, action, slot, hour and
// address): they can be many, and must never displace a change.
func (s *Store) AppendAudit(ctx context.Context, orderID string, e orders.AuditEntry) (err error) {
	defer translate(&err)
	mode := "read"
	switch e.Action {
	case orders.AuditRead, orders.AuditReadForm, orders.AuditReadOrder, orders.AuditReadMaterials, orders.AuditReadList:
		mode = "summary"
	}
	return s.appendAudit(ctx, orderID, mode, e)
}

// summaryField is the read summary a read counts in: its hour (Unix ms of the hour's
// start), actor, action, slot, address and reviewer, separated by a byte none of them holds. The
// hash holds the count under the field and the newest read's time under "last" + field.
func summaryField(e orders.AuditEntry) string {
	hour := e.At.UTC().Truncate(time.Hour)
	return strings.Join([]string{strconv.FormatInt(hour.UnixMilli(), 10), e.Actor, e.Action, string(e.Slot), e.IP, e.Reviewer}, "\x1f")
}

// parseSummary is summaryField's inverse: the summary at its newest read, with the count.
func parseSummary(field, count, last string) (orders.AuditEntry, bool) {
	p := strings.Split(field, "\x1f")
	n, err := strconv.Atoi(count)
	if len(p) != 6 || err != nil {
		return orders.AuditEntry{}, false
	}
	at := fromMS(last)
	if last == "" {
		ms, _ := strconv.ParseInt(p[0], 10, 64)
		at = time.UnixMilli(ms).UTC()
	}
	return orders.AuditEntry{At: at, Actor: p[1], Action: p[2], Slot: filing.Slot(p[3]), IP: p[4], Reviewer: p[5], Count: n}, true
}

// Audit returns the order's audit trail, oldest first.
func (s *Store) Audit(ctx context.Context, orderID string) (_ []orders.AuditEntry, err error) {
	defer translate(&err)
	var xr *redis.XMessageSliceCmd
	var hr *redis.MapStringStringCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		xr = p.XRange(ctx, rediskeys.Audit(orderID), "-", "+")
		hr = p.HGetAll(ctx, rediskeys.AuditReads(orderID))
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	msgs := xr.Val()
	out := make([]orders.AuditEntry, 0, len(msgs)+len(hr.Val()))
	for _, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		out = append(out, orders.AuditEntry{
			At: fromMS(str("at")), Actor: str("actor"), Action: str("action"), Slot: filing.Slot(str("slot")), IP: str("ip"),
			Reviewer: str("reviewer"),
		})
	}
	return mergeSummaries(out, hr.Val()), nil
}

// mergeSummaries puts the read summaries among the changes, which stay in the order they
// were written: newest last, each summary at its newest read, before the first change
// after it.
func mergeSummaries(changes []orders.AuditEntry, summaries map[string]string) []orders.AuditEntry {
	var sums []orders.AuditEntry
	for field, count := range summaries {
		if strings.HasPrefix(field, "last") {
			continue
		}
		if e, ok := parseSummary(field, count, summaries["last"+field]); ok {
			sums = append(sums, e)
		}
	}
	slices.SortStableFunc(sums, func(a, b orders.AuditEntry) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Actor+a.Action+string(a.Slot)+a.IP, b.Actor+b.Action+string(b.Slot)+b.IP))
	})
	out := make([]orders.AuditEntry, 0, len(changes)+len(sums))
	for _, c := range changes {
		for len(sums) > 0 && sums[0].At.Before(c.At) {
			out, sums = append(out, sums[0]), sums[1:]
		}
		out = append(out, c)
	}
	return append(out, sums...)
}
