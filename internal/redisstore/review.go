package redisstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

var (
	//go:embed hold.lua
	holdSource string
	holdScript = redis.NewScript(holdSource)

	//go:embed queue_mark.lua
	queueMarkSource string
	queueMarkScript = redis.NewScript(queueMarkSource)

	//go:embed queue_copy.lua
	queueCopySource string
	queueCopyScript = redis.NewScript(queueCopySource)

	//go:embed queue_page.lua
	queuePageSource string
	queuePageScript = redis.NewScript(queuePageSource)

	//go:embed queue_drop.lua
	queueDropSource string
	queueDropScript = redis.NewScript(queueDropSource)
)

// newStamp is a new value of the queue's stamp (rediskeys.ReviewQueueStamp): random, not
// counted, so that a stamp a failover or a flush lost cannot come back with other content
// behind it and pass an instance's cached page as current.
func newStamp() string { return strconv.FormatUint(rand.Uint64(), 36) }

var _ orders.ReviewStore = (*Store)(nil)

func decodeHold(h map[string]string) *orders.Hold {
	if h["reviewer"] == "" {
		return nil
	}
	round, _ := strconv.Atoi(h["round"])
	return &orders.Hold{Reviewer: h["reviewer"], Until: fromMS(h["until"]), Round: round}
}

// writeHold ends the hold with the round: when the order leaves submitted (a decision, a
// withdraw), or when the change dropped it.
func writeHold(ctx context.Context, p redis.Pipeliner, c *change) {
	if holdDropped(c) {
		p.Del(ctx, rediskeys.Hold(c.id))
		p.HDel(ctx, rediskeys.Queued(c.id), heldField)
	}
}

// holdDropped says whether the change ends the order's hold.
func holdDropped(c *change) bool {
	return c.before.Hold != nil && (c.after.Hold == nil || c.after.Order.State != filing.StateSubmitted)
}

// touchesQueue says whether a change touches the review queue: the order is submitted
// before or after it.
func touchesQueue(c *change) bool {
	return c.before.Order.State == filing.StateSubmitted || c.after.Order.State == filing.StateSubmitted
}

// queueMembers are the queue entries a change moves: added, the round it submits (score
// its submission's time), and gone, the round it ends ("" none).
func queueMembers(c *change) (added string, score int64, gone string) {
	b, o := c.before.Order, c.after.Order
	if o.State == filing.StateSubmitted && b.State != filing.StateSubmitted {
		added, score = rediskeys.ReviewQueueMember(o.ID, o.Round), o.SubmittedAt.UnixMilli()
	}
	if b.State == filing.StateSubmitted && (o.State != filing.StateSubmitted || o.Round != b.Round) {
		gone = rediskeys.ReviewQueueMember(b.ID, b.Round)
	}
	return added, score, gone
}

// queueBefore prepares the queue's side of a change that touches it. On a single Redis or
// Sentinel every key shares one keyspace, so the queue's side joins the order's own
// MULTI (queueInline): the change and its entry, copy and stamp commit together, and are
// confirmed by the change's own WAIT. On Cluster the queue is not in the order's hash
// slot and cannot join its MULTI, so the change is marked before the order's transaction,
// adding the round it submits to the queue, and queueAfter copies the change into the
// queue's slot after it, removing a round that it ends. In this order a crash between the
// two steps can only leave an entry too many, never one too few, and a mark that is never
// ended: Queue reads such an order from its own keys, not from the copy, and drops entries
// of rounds that have ended (docs/architecture.md, "Review queue").
func (s *Store) queueBefore(ctx context.Context, c *change) error {
	if !touchesQueue(c) {
		return nil
	}
	if !s.cluster() {
		c.inline = true
		return nil
	}
	member, score, _ := queueMembers(c)
	if err := s.markQueued(ctx, c.id, member, score); err != nil {
		return err
	}
	c.marked = true
	return nil
}

// queueInline is the queue's side of an inline change, the transaction's last step on the
// queue, in plain commands (a script would cost the MULTI more than the rest of it): the
// round it ends leaves the queue; while the order is submitted after it, its entry is
// there (added with the submission's time) and its copy is the summary, the hold copy and
// the sequence number exactly as the transaction leaves them, else its copy is removed;
// and the stamp is set anew. It is all in the change's own step, so a page never sees the
// change without its copy and no mark is needed. The sequence number and the hold copy
// are known before the MULTI: Update read them under its WATCH, which covers the summary,
// so numberQueued's HINCRBY answers exactly the number written here, and copies made
// outside the transaction (a page's repair, a previous version's copy) that are older
// lose against it.
func (s *Store) queueInline(ctx context.Context, p redis.Pipeliner, c *change) {
	if !c.inline {
		return
	}
	_, _, gone := queueMembers(c)
	if gone != "" {
		p.ZRem(ctx, rediskeys.ReviewQueue(s.scope), gone)
	}
	copies := rediskeys.ReviewQueueCopies(s.scope)
	if o := c.after.Order; o.State == filing.StateSubmitted {
		held, seq := "", int64(0)
		if len(c.summary) == 2 {
			held, _ = c.summary[0].(string)
			n, _ := c.summary[1].(string)
			seq, _ = strconv.ParseInt(n, 10, 64)
		}
		if holdDropped(c) {
			held = ""
		}
		p.ZAdd(ctx, rediskeys.ReviewQueue(s.scope), redis.Z{Score: float64(o.SubmittedAt.UnixMilli()), Member: rediskeys.ReviewQueueMember(o.ID, o.Round)})
		p.HSet(ctx, copies, "s:"+c.id, seq+1, "q:"+c.id, c.queued, "h:"+c.id, held)
	} else {
		p.HDel(ctx, copies, "s:"+c.id, "q:"+c.id, "h:"+c.id)
	}
	p.Set(ctx, rediskeys.ReviewQueueStamp(s.scope), newStamp(), 0)
}

// markQueued runs queue_mark.lua, confirmed on the replicas like an acknowledged change
// (in the same round trip): were the mark lost in a failover that kept the change, a page
// would trust a stale copy.
func (s *Store) markQueued(ctx context.Context, id, member string, score int64) error {
	_, err := s.runConfirmed(ctx, queueMarkScript,
		[]string{rediskeys.ReviewQueueWriting(s.scope), rediskeys.ReviewQueue(s.scope), rediskeys.ReviewQueueStamp(s.scope)},
		id, false, nil, id, member, score, newStamp())
	return err
}

// queueAfter copies the committed change of a marked change (its summary and hold as the
// transaction left them, and their sequence number) into the queue's slot and ends its
// mark.
func (s *Store) queueAfter(ctx context.Context, c *change) {
	if !c.marked {
		return
	}
	_, _, gone := queueMembers(c)
	// A failure leaves the mark: Queue reads the order itself; the change is committed.
	s.copyQueued(ctx, c.id, true, strconv.FormatInt(c.seq.Val(), 10), c.queued, heldValue(c.held), gone)
}

// queueAbort ends the mark of a change whose transaction certainly did not commit (its
// WATCH failed, and Update tries again). After any other failure the transaction may
// have committed, so the mark stays and Queue keeps reading the order itself.
func (s *Store) queueAbort(ctx context.Context, c *change, err error) {
	if c.marked && errors.Is(err, redis.TxFailedErr) {
		s.copyQueued(ctx, c.id, true, "", "", "", "")
	}
}

func heldValue(cmd *redis.SliceCmd) string {
	if cmd == nil {
		return ""
	}
	if v := cmd.Val(); len(v) == 1 {
		str, _ := v[0].(string)
		return str
	}
	return ""
}

// copyQueued runs queue_copy.lua: the order's summary q and hold copy h at sequence seq
// ("" copies nothing) replace an older copy; done ends a mark; gone is a member to remove.
func (s *Store) copyQueued(ctx context.Context, id string, done bool, seq, q, h, gone string) error {
	state, round := "", 0
	if qd, ok := decodeQueued(q); ok {
		state, round = string(qd.State), qd.Round
	} else {
		seq = "" // no summary to copy; the mark still ends
	}
	return queueCopyScript.Run(ctx, s.rdb, s.queueCopyKeys(), id, boolField(done), seq, state, round, q, h, gone, newStamp()).Err()
}

func (s *Store) queueCopyKeys() []string {
	return []string{rediskeys.ReviewQueueCopies(s.scope), rediskeys.ReviewQueueWriting(s.scope), rediskeys.ReviewQueue(s.scope),
		rediskeys.ReviewQueueStamp(s.scope)}
}

// Hold runs the hold script: orders.DecideHold, atomically. A queue page must never
// answer a hold older than one that committed and was answered, so the hold is copied
// into the queue's slot with it: on a single Redis or Sentinel in the same MULTI
// (holdInline), on Cluster marked before the script and copied after it (holdBeside).
func (s *Store) Hold(ctx context.Context, req orders.HoldRequest) (_ orders.HoldResult, err error) {
	defer translate(&err)
	keys := []string{rediskeys.Order(req.OrderID), rediskeys.Hold(req.OrderID), rediskeys.Queued(req.OrderID)}
	args := []any{string(req.Mode), req.Reviewer, req.Now.UnixMilli(), req.TTL.Milliseconds()}
	hold := s.holdBeside
	if !s.cluster() {
		hold = s.holdInline
	}
	vals, confirm, err := hold(ctx, req.OrderID, keys, args)
	if err != nil {
		return orders.HoldResult{}, err
	}
	if len(vals) != 8 {
		return orders.HoldResult{}, fmt.Errorf("redisstore: hold script answered %d values", len(vals))
	}
	res := orders.HoldResult{Outcome: orders.HoldOutcome(vals[0]), State: filing.State(vals[4])}
	if vals[1] != "" {
		round, _ := strconv.Atoi(vals[3])
		res.Hold = &orders.Hold{Reviewer: vals[1], Until: fromMS(vals[2]), Round: round}
	}
	// An answer that changed the hold is acknowledged like any change.
	if res.Outcome == orders.HoldTaken || res.Outcome == orders.HoldReleased {
		if err := confirm(); err != nil {
			return orders.HoldResult{}, err
		}
	}
	return res, nil
}

// holdBeside runs the hold script between the queue's mark and its copy (Cluster); its
// confirm waits for the replicas in a round trip of its own.
func (s *Store) holdBeside(ctx context.Context, id string, keys []string, args []any) ([]string, func() error, error) {
	if err := s.markQueued(ctx, id, "", 0); err != nil {
		return nil, nil, err
	}
	vals, err := holdScript.Run(ctx, s.rdb, keys, args...).StringSlice()
	if err != nil {
		// The script may have run: the mark stays (see queueAbort).
		return nil, nil, err
	}
	if len(vals) == 8 {
		seq := vals[7]
		if vals[5] == "" {
			seq = "" // no summary (the order is gone): nothing to copy
		}
		// A failure leaves the mark: pages read the order itself.
		_ = s.copyQueued(ctx, id, true, seq, vals[5], vals[6], "")
	}
	return vals, func() error { return s.confirmKey(ctx, id) }, nil
}

// holdCopyKeys are queue_copy.lua's keys for a copy read from the order's summary, in the
// hold's MULTI: only on a single Redis or Sentinel, where a script may touch two slots.
func (s *Store) holdCopyKeys(id string) []string {
	return append(s.queueCopyKeys(), rediskeys.Queued(id))
}

// holdInline runs the hold script and the queue's copy of what it leaves (queue_copy.lua
// reading the order's summary, which sets the stamp only when the hold changed) in one
// MULTI, and confirm's WAIT (with its bump) after the EXEC, in one pipeline on one
// connection: one round trip. The WAIT is sent whatever the outcome; its confirm checks
// it, which Hold does only for an answer that changed the hold. Both scripts go as EVAL:
// a NOSCRIPT inside the MULTI would fail one of them alone while the other committed.
func (s *Store) holdInline(ctx context.Context, id string, keys []string, args []any) ([]string, func() error, error) {
	var exec, wait *redis.Cmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "multi")
		p.Eval(ctx, holdSource, keys, args...)
		p.Eval(ctx, queueCopySource, s.holdCopyKeys(id), id, "0", "", "", 0, "", "", "", newStamp())
		exec = p.Do(ctx, "exec")
		wait = s.confirm(ctx, p, id, true)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	res, err := exec.Slice()
	if err != nil {
		return nil, nil, err
	}
	if len(res) != 2 {
		return nil, nil, fmt.Errorf("redisstore: hold transaction answered %d replies", len(res))
	}
	for _, r := range res {
		if err, ok := r.(error); ok {
			return nil, nil, err
		}
	}
	raw, _ := res[0].([]any)
	vals := make([]string, len(raw))
	for i, v := range raw {
		vals[i], _ = v.(string)
	}
	return vals, func() error { return s.confirmed(wait) }, nil
}

// confirmKey waits for the replicas to hold what the master has of the order's slot.
func (s *Store) confirmKey(ctx context.Context, id string) error {
	c, err := s.oneConn(ctx, rediskeys.Order(id))
	if err != nil {
		return err
	}
	var wait *redis.Cmd
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		wait = s.confirm(ctx, p, id, true)
		return nil
	}); err != nil {
		return err
	}
	return s.confirmed(wait)
}

// dropQueued removes entries of rounds that have ended: a round is submitted once, so no
// later change can need them. It sets the stamp when it removed any (queue_drop.lua).
func (s *Store) dropQueued(ctx context.Context, members []any) {
	if len(members) > 0 {
		queueDropScript.Run(ctx, s.rdb, []string{rediskeys.ReviewQueue(s.scope), rediskeys.ReviewQueueStamp(s.scope)},
			append([]any{newStamp()}, members...)...)
	}
}

// QueueStats reads the queue's size and oldest entry: two commands on one key, whatever
// the number waiting.
func (s *Store) QueueStats(ctx context.Context) (_ int64, _ time.Time, err error) {
	defer translate(&err)
	var card *redis.IntCmd
	var first *redis.ZSliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		card = p.ZCard(ctx, rediskeys.ReviewQueue(s.scope))
		first = p.ZRangeWithScores(ctx, rediskeys.ReviewQueue(s.scope), 0, 0)
		return nil
	}); err != nil {
		return 0, time.Time{}, err
	}
	if zs := first.Val(); len(zs) > 0 {
		return card.Val(), time.UnixMilli(int64(zs[0].Score)).UTC(), nil
	}
	return card.Val(), time.Time{}, nil
}
