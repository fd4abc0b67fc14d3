package redisstore

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/webhook"
)

// The webhook outbox (docs/architecture.md, "Webhook outbox"). Each change that the back
// office is told about writes its delivery into the order's outbox hash in the change's own
// MULTI (writeOutbox), in the order's slot; the due index, which the deliverers of every
// instance read, lives in a slot of its own. On a single Redis or Sentinel the index entry
// joins the same MULTI; on Cluster it cannot (one MULTI, one slot), so it is written before
// the MULTI, due a little later (an intent: a crash after it and before or after the EXEC
// leaves the order where a deliverer looks, and finds either nothing or the delivery), and
// made due at once after the EXEC.

var (
	//go:embed webhook_take.lua
	webhookTakeSource string
	webhookTakeScript = redis.NewScript(webhookTakeSource)

	//go:embed webhook_finish.lua
	webhookFinishSource string
	webhookFinishScript = redis.NewScript(webhookFinishSource)

	//go:embed webhook_index.lua
	webhookIndexSource string
	webhookIndexScript = redis.NewScript(webhookIndexSource)
)

const (
	// outboxOutlives is how much longer an order's outbox lives than its other keys: the
	// order.deleted sent after retention removed them is retried for webhook.RetryFor, and
	// a dead delivery stays for the operator a day longer.
	outboxOutlives = webhook.RetryFor + 24*time.Hour
	// intentGrace is how long after an intent written before a Cluster MULTI a deliverer
	// looks at the order if the writer died: the longest a change's webhook then waits.
	intentGrace = 15 * time.Second
	// watchRecheck is how often the deletion watch of an order that does not expire (a
	// submitted one) looks again.
	watchRecheck = 24 * time.Hour
)

// webhooks is the store's outbox configuration; nil on a Store without webhooks.
type webhooks struct {
	scope  string
	notify func(orderID string)
}

// WithWebhooks turns the outbox on: every change the back office is told about records its
// delivery, found through the due index of scope (empty in production; tests sharing one
// Redis give each server its own).
func WithWebhooks(scope string) Option {
	return func(s *Store) { s.webhooks = &webhooks{scope: scope} }
}

// SetWebhookNotify sets what is called after a change with deliveries was committed (the
// local deliverer's Notify). Call it before use.
func (s *Store) SetWebhookNotify(fn func(orderID string)) {
	if s.webhooks != nil {
		s.webhooks.notify = fn
	}
}

var _ webhook.Outbox = (*Store)(nil)

// orderPeek is what the outbox reads of an order's JSON beyond filing.Order's own fields:
// the review round, the owner, the review rounds and the authority's status.
type orderPeek struct {
	State     filing.State      `json:"state"`
	Round     int64             `json:"round"`
	OwnerID   string            `json:"owner_id"`
	Reviews   []json.RawMessage `json:"reviews"`
	Authority json.RawMessage   `json:"authority"`
}

func peek(b []byte) orderPeek {
	var p orderPeek
	_ = json.Unmarshal(b, &p)
	return p
}

// webhookTypes names the webhooks a change from before to after produces. It is decided
// from the stored order alone, by the kind of change, so that every path that writes an
// order through Update (submit, withdraw, review decisions, the authority's reports, and
// any added later) produces its webhooks without calling anything.
func webhookTypes(before, after orderPeek) []string {
	var out []string
	open := func(s filing.State) bool { return s == filing.StateDraft || s == filing.StateUploaded }
	if after.State == filing.StateSubmitted && (before.State != filing.StateSubmitted || after.Round != before.Round) {
		out = append(out, webhook.OrderSubmitted)
	}
	if open(after.State) && !open(before.State) {
		out = append(out, webhook.OrderWithdrawn)
	}
	decided := before.State == filing.StateSubmitted && after.State != filing.StateSubmitted && !open(after.State)
	// A new review round is a decision; a change within the last one (its pending items
	// shrinking as the owner fixes them) is not.
	if decided || len(after.Reviews) > len(before.Reviews) {
		out = append(out, webhook.OrderReviewDecided)
	}
	if changedJSON(before.Authority, after.Authority) {
		out = append(out, webhook.OrderAuthorityUpdated)
	}
	return out
}

// changedJSON reports whether a field's JSON changed to something that is not null.
func changedJSON(a, b json.RawMessage) bool {
	if len(b) == 0 || string(b) == "null" {
		return false
	}
	return string(a) != string(b)
}

// deliveryID is the webhook-id of an event of an order: one change (one version) produces
// at most one event of each type, and the order's deletion happens once.
func deliveryID(orderID string, version int64, typ string) string {
	kind := strings.TrimPrefix(typ, "order.")
	if typ == webhook.OrderDeleted {
		return "wh_" + orderID + "_" + kind
	}
	return "wh_" + orderID + "_" + strconv.FormatInt(version, 10) + "_" + kind
}

// OrderOfDelivery returns the order ID in a delivery ID, if it is one deliveryID makes.
func OrderOfDelivery(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, "wh_")
	if !ok || len(id) > 128 {
		return "", false
	}
	order, _, ok := strings.Cut(rest, "_")
	if !ok || order == "" || len(order) > 64 {
		return "", false
	}
	for _, r := range id[3:] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return "", false
		}
	}
	return order, true
}

func pendingDelivery(orderID, typ string, p orderPeek, version int64, at time.Time) webhook.Delivery {
	t := at.UnixMilli()
	return webhook.Delivery{
		ID: deliveryID(orderID, version, typ), Type: typ, OrderID: orderID, At: t,
		State: string(p.State), Version: version, Round: p.Round, OwnerID: p.OwnerID,
		Status: webhook.StatusPending, Since: t, NextAt: t,
	}
}

// outboxEntries encodes the deliveries of c (nil without webhooks or without any).
func (s *Store) outboxEntries(c *change) (map[string]any, error) {
	if s.webhooks == nil {
		return nil, nil
	}
	b, err := json.Marshal(c.before.Order)
	if err != nil {
		return nil, err
	}
	after := peek(c.orderJSON)
	types := webhookTypes(peek(b), after)
	if len(types) == 0 {
		return nil, nil
	}
	m := make(map[string]any, len(types))
	for _, typ := range types {
		d := pendingDelivery(c.id, typ, after, c.after.Order.Version, c.now)
		if m[d.ID], err = json.Marshal(d); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *Store) cluster() bool {
	_, ok := s.rdb.(*redis.ClusterClient)
	return ok
}

// announce writes the intent of a Cluster change with deliveries before its MULTI, on the
// due index's own node (with its own WAIT when replicas are required).
func (s *Store) announce(ctx context.Context, orderID string, at time.Time) error {
	due := rediskeys.WebhookDue(s.webhooks.scope)
	c, err := s.oneConn(ctx, due)
	if err != nil {
		return err
	}
	var wait *redis.Cmd
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, due, redis.Z{Score: float64(at.Add(intentGrace).UnixMilli()), Member: orderID})
		wait = s.confirm(ctx, p, orderID, false)
		return nil
	}); err != nil {
		return err
	}
	return s.confirmed(wait)
}

// indexNow makes the order due at once in the due index, and lists it for the operator
// (lowering each only: an order due earlier stays so). Every caller has just written a
// delivery.
func indexNow(ctx context.Context, p redis.Cmdable, scope, orderID string, at time.Time) {
	z := redis.Z{Score: float64(at.UnixMilli()), Member: orderID}
	p.ZAddLT(ctx, rediskeys.WebhookDue(scope), z)
	p.ZAddLT(ctx, rediskeys.WebhookListed(scope), z)
}

// writeOutbox is the write path's outbox step: the change's deliveries, inside its MULTI,
// the deletion watch with the order as it now stands (so that an order.deleted sent after
// retention carries its last state and version), and the outbox's life, the order's plus
// outboxOutlives (for ever while the order is kept for ever). On a single Redis or
// Sentinel the due index is written here too. The watch alone needs no index entry: the
// order is in the index since its creation, at or before the watch's time.
func (s *Store) writeOutbox(ctx context.Context, p redis.Pipeliner, c *change, entries map[string]any) error {
	if s.webhooks == nil {
		return nil
	}
	key := rediskeys.Webhooks(c.id)
	w := pendingDelivery(c.id, webhook.OrderDeleted, peek(c.orderJSON), c.after.Order.Version, c.now)
	w.Status, w.NextAt = webhook.StatusWatch, c.now.Add(watchRecheck).UnixMilli()
	if c.keep > 0 {
		w.NextAt = c.now.Add(c.keep + time.Second).UnixMilli()
	}
	wb, err := json.Marshal(w)
	if err != nil {
		return err
	}
	p.HSet(ctx, key, w.ID, wb)
	if len(entries) > 0 {
		p.HSet(ctx, key, entries)
		if !s.cluster() {
			indexNow(ctx, p, s.webhooks.scope, c.id, c.now)
		}
	}
	if c.keep > 0 {
		p.PExpire(ctx, key, c.keep+outboxOutlives)
	} else {
		p.Persist(ctx, key)
	}
	return nil
}

// beforeOutbox runs before the MULTI of a change with deliveries (the Cluster intent).
func (s *Store) beforeOutbox(ctx context.Context, orderID string, at time.Time, entries map[string]any) error {
	if len(entries) == 0 || !s.cluster() {
		return nil
	}
	return s.announce(ctx, orderID, at)
}

// afterOutbox runs after the EXEC of a change with deliveries: the Cluster index is made
// due at once, and the local deliverer told. Neither is needed for safety: the intent
// alone brings a deliverer within intentGrace.
func (s *Store) afterOutbox(ctx context.Context, orderID string, at time.Time, entries map[string]any) {
	if len(entries) == 0 {
		return
	}
	if s.cluster() {
		// Both indexes share a slot: one round trip.
		s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			indexNow(ctx, p, s.webhooks.scope, orderID, at)
			return nil
		})
	}
	if s.webhooks.notify != nil {
		s.webhooks.notify(orderID)
	}
}

// createEntries returns the outbox of a new order: its order.created, and the deletion
// watch that becomes order.deleted once retention has removed the order.
func (s *Store) createEntries(o *filing.Order, orderJSON []byte) (map[string]any, error) {
	if s.webhooks == nil {
		return nil, nil
	}
	p := peek(orderJSON)
	created := pendingDelivery(o.ID, webhook.OrderCreated, p, o.Version, o.CreatedAt)
	watch := pendingDelivery(o.ID, webhook.OrderDeleted, p, o.Version, o.CreatedAt)
	watch.Status = webhook.StatusWatch
	watch.NextAt = o.CreatedAt.Add(s.retention + time.Second).UnixMilli()
	cb, err := json.Marshal(created)
	if err != nil {
		return nil, err
	}
	wb, err := json.Marshal(watch)
	if err != nil {
		return nil, err
	}
	return map[string]any{created.ID: cb, watch.ID: wb}, nil
}

func leaseScore(now time.Time, lease time.Duration) float64 {
	return float64(now.Add(lease).UnixMilli()) + 0.5
}

func fmtScore(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (s *Store) dueKey() string {
	if s.webhooks == nil {
		return rediskeys.WebhookDue("")
	}
	return rediskeys.WebhookDue(s.webhooks.scope)
}

// ClaimDue implements webhook.Outbox.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) (_ []webhook.Lease, err error) {
	defer translate(&err)
	score := leaseScore(now, lease)
	ids, err := webhookIndexScript.Run(ctx, s.rdb, []string{s.dueKey()}, "claim", now.UnixMilli(), fmtScore(score), limit).StringSlice()
	if err != nil {
		return nil, err
	}
	out := make([]webhook.Lease, len(ids))
	for i, id := range ids {
		out[i] = webhook.Lease{OrderID: id, Score: score}
	}
	return out, nil
}

// ClaimOrder implements webhook.Outbox.
func (s *Store) ClaimOrder(ctx context.Context, orderID string, now time.Time, lease time.Duration) (_ webhook.Lease, _ bool, err error) {
	defer translate(&err)
	score := leaseScore(now, lease)
	n, err := webhookIndexScript.Run(ctx, s.rdb, []string{s.dueKey()}, "claim_one", orderID, fmtScore(score)).Int()
	if err != nil {
		return webhook.Lease{}, false, err
	}
	return webhook.Lease{OrderID: orderID, Score: score}, n == 1, nil
}

// Settle implements webhook.Outbox.
func (s *Store) Settle(ctx context.Context, l webhook.Lease, next, now time.Time) (err error) {
	defer translate(&err)
	n := int64(-1)
	if !next.IsZero() {
		n = next.UnixMilli()
	}
	return webhookIndexScript.Run(ctx, s.rdb, []string{s.dueKey()}, "settle", l.OrderID, fmtScore(l.Score), n, now.UnixMilli()).Err()
}

func fromNext(n int64) time.Time {
	if n < 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// Take implements webhook.Outbox.
func (s *Store) Take(ctx context.Context, orderID string, now time.Time, lease time.Duration, limit int) (_ []webhook.Delivery, _ time.Time, err error) {
	defer translate(&err)
	keys := s.withListed([]string{rediskeys.Webhooks(orderID), rediskeys.Order(orderID), rediskeys.Version(orderID)})
	res, err := webhookTakeScript.Run(ctx, s.rdb, keys, now.UnixMilli(), lease.Milliseconds(), limit,
		watchRecheck.Milliseconds(), outboxOutlives.Milliseconds(), orderID).Slice()
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(res) < 3 {
		return nil, time.Time{}, errors.New("redisstore: webhook take: short answer")
	}
	next, _ := res[0].(int64)
	listed, _ := res[1].(int64)
	// On Cluster the listed index is written beside: a watch turned order.deleted is listed.
	if turned, _ := res[2].(int64); turned == 1 && s.cluster() {
		s.relist(ctx, orderID, listed)
	}
	ds := make([]webhook.Delivery, 0, len(res)-3)
	for _, r := range res[3:] {
		str, _ := r.(string)
		var d webhook.Delivery
		if err := json.Unmarshal([]byte(str), &d); err != nil {
			return nil, time.Time{}, fmt.Errorf("redisstore: webhook delivery of %s: %w", orderID, err)
		}
		ds = append(ds, d)
	}
	return ds, fromNext(next), nil
}

// withListed adds the listed index to the keys of a script in an order's slot, on a single
// Redis or Sentinel: there the script keeps it right in the same step. On Cluster the
// index is in another slot, and the caller writes it after (relist).
func (s *Store) withListed(keys []string) []string {
	if s.cluster() {
		return keys
	}
	return append(keys, rediskeys.WebhookListed(s.webhooks.scope))
}

// relist puts the order in the listed index at listed (the earliest next attempt of its
// deliveries), or removes it (-1: none left). On Cluster only, after the order's script:
// a change that wrote a delivery in between may be removed by it, and is listed again by
// its first attempt (Finish) at the latest; its delivery never depends on the listing.
func (s *Store) relist(ctx context.Context, orderID string, listed int64) {
	key := rediskeys.WebhookListed(s.webhooks.scope)
	if listed < 0 {
		s.rdb.ZRem(ctx, key, orderID)
		return
	}
	s.rdb.ZAdd(ctx, key, redis.Z{Score: float64(listed), Member: orderID})
}

// Finish implements webhook.Outbox. A dead delivery is listed in the dead index first, so
// that no crash leaves a dead one the operator cannot find.
func (s *Store) Finish(ctx context.Context, d webhook.Delivery, o webhook.Outcome, now time.Time) (_ time.Time, err error) {
	defer translate(&err)
	if o.Status == webhook.StatusDead {
		dead := rediskeys.WebhookDead(s.webhooks.scope)
		if err := s.rdb.ZAdd(ctx, dead, redis.Z{Score: float64(now.UnixMilli()), Member: d.OrderID + " " + d.ID}).Err(); err != nil {
			return time.Time{}, err
		}
	}
	var nextAt int64
	if !o.NextAt.IsZero() {
		nextAt = o.NextAt.UnixMilli()
	}
	keys := s.withListed([]string{rediskeys.Webhooks(d.OrderID)})
	res, err := webhookFinishScript.Run(ctx, s.rdb, keys, d.ID, d.Lease, o.Status, nextAt, o.LastError, d.OrderID).Int64Slice()
	if err != nil {
		return time.Time{}, err
	}
	if len(res) != 2 {
		return time.Time{}, errors.New("redisstore: webhook finish: short answer")
	}
	// On Cluster: the order leaves the listing with its last delivery, and a failed one
	// moves to its next attempt.
	if s.cluster() && (res[1] < 0 || o.Status != webhook.Delivered) {
		s.relist(ctx, d.OrderID, res[1])
	}
	return fromNext(res[0]), nil
}

// Deliveries lists up to limit deliveries in status (pending, failed or dead) for the
// operator: pending and failed ones from the orders of the listed index, soonest next
// attempt first (never the deletion watches, which keep every live order in the due
// index); dead ones from the dead index, latest first.
func (s *Store) Deliveries(ctx context.Context, status string, limit int) (_ []webhook.Delivery, err error) {
	defer translate(&err)
	if s.webhooks == nil {
		return []webhook.Delivery{}, nil
	}
	now := s.now()
	if status == webhook.StatusDead {
		var refs []ref
		dead := rediskeys.WebhookDead(s.webhooks.scope)
		// Dead deliveries older than their outbox's life are gone; so are their entries.
		s.rdb.ZRemRangeByScore(ctx, dead, "-inf", strconv.FormatInt(now.Add(-outboxOutlives).UnixMilli(), 10))
		members, err := s.rdb.ZRevRange(ctx, dead, 0, int64(limit)-1).Result()
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			if o, id, ok := strings.Cut(m, " "); ok {
				refs = append(refs, ref{o, id})
			}
		}
		return s.readDeliveries(ctx, refs, status, limit)
	}
	// Pending and failed: the orders of the listed index, soonest next attempt first, a page
	// at a time until limit are found (an order there may have deliveries in the other
	// status only, or on Cluster none left yet: see relist).
	out := []webhook.Delivery{}
	listed := rediskeys.WebhookListed(s.webhooks.scope)
	for start, pages := int64(0), 0; len(out) < limit && pages < maxListingPages; start, pages = start+int64(limit), pages+1 {
		ids, err := s.rdb.ZRange(ctx, listed, start, start+int64(limit)-1).Result()
		if err != nil {
			return nil, err
		}
		refs := make([]ref, len(ids))
		for i, id := range ids {
			refs[i] = ref{order: id}
		}
		ds, err := s.readDeliveries(ctx, refs, status, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
		if len(ids) < limit {
			break
		}
	}
	return out, nil
}

// maxListingPages bounds the listed index pages one listing reads.
const maxListingPages = 10

// ref names the deliveries of a listing to read: an order's, or one of them (id).
type ref struct{ order, id string }

// readDeliveries reads the outboxes of refs in one round trip and returns up to limit
// deliveries in status.
func (s *Store) readDeliveries(ctx context.Context, refs []ref, status string, limit int) ([]webhook.Delivery, error) {
	cmds := make([]*redis.MapStringStringCmd, len(refs))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = p.HGetAll(ctx, rediskeys.Webhooks(r.order))
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := []webhook.Delivery{}
	for i, r := range refs {
		var ds []webhook.Delivery
		for id, raw := range cmds[i].Val() {
			if r.id != "" && id != r.id {
				continue
			}
			var d webhook.Delivery
			if json.Unmarshal([]byte(raw), &d) != nil || d.Status != status {
				continue
			}
			ds = append(ds, d)
		}
		// An order's own deliveries soonest first (HGETALL has no order).
		slices.SortFunc(ds, func(a, b webhook.Delivery) int { return cmp.Compare(a.NextAt, b.NextAt) })
		for _, d := range ds {
			if len(out) < limit {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// RetryDelivery makes a dead delivery pending again, with 3 more days of retries. The
// order is made due in the index before (so that a crash between the steps leaves it
// where a deliverer looks) and again after (a deliverer that looked in between found
// nothing due and put it back at its next time).
func (s *Store) RetryDelivery(ctx context.Context, id string) (err error) {
	defer translate(&err)
	now := s.now()
	orderID, ok := OrderOfDelivery(id)
	if !ok || s.webhooks == nil {
		return errDeliveryNotFound
	}
	key := rediskeys.Webhooks(orderID)
	raw, err := s.rdb.HGet(ctx, key, id).Bytes()
	if errors.Is(err, redis.Nil) {
		return errDeliveryNotFound
	}
	if err != nil {
		return err
	}
	var d webhook.Delivery
	if err := json.Unmarshal(raw, &d); err != nil {
		return err
	}
	if d.Status != webhook.StatusDead {
		return filing.ErrInvalidState
	}
	indexNow(ctx, s.rdb, s.webhooks.scope, orderID, now)
	d.Status, d.NextAt, d.Since, d.Lease = webhook.StatusPending, now.UnixMilli(), now.UnixMilli(), 0
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	// Only if it is still the dead one read: a concurrent retry or removal wins.
	return s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		cur, err := tx.HGet(ctx, key, id).Bytes()
		if err != nil || string(cur) != string(raw) {
			return filing.ErrInvalidState
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, id, b)
			return nil
		})
		if err == nil {
			indexNow(ctx, s.rdb, s.webhooks.scope, orderID, now)
			s.rdb.ZRem(ctx, rediskeys.WebhookDead(s.webhooks.scope), orderID+" "+id)
		}
		return err
	}, key)
}

// errDeliveryNotFound answers a retry of a delivery that does not exist (404 not_found).
var errDeliveryNotFound = filing.ErrNotFound

// WebhookBacklog returns how many orders have deliveries due at now and since when the
// oldest of them has been due, for the metrics.
func (s *Store) WebhookBacklog(ctx context.Context) (n int64, oldest time.Duration, err error) {
	defer translate(&err)
	now := s.now()
	due := s.dueKey()
	var count *redis.IntCmd
	var first *redis.ZSliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		count = p.ZCount(ctx, due, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		first = p.ZRangeWithScores(ctx, due, 0, 0)
		return nil
	}); err != nil {
		return 0, 0, err
	}
	if zs := first.Val(); len(zs) > 0 && zs[0].Score <= float64(now.UnixMilli()) {
		oldest = now.Sub(time.UnixMilli(int64(math.Floor(zs[0].Score))))
	}
	return count.Val(), oldest, nil
}
