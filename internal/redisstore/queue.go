package redisstore

import (
	"cmp"
	"context"
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

// The summary hash (rediskeys.Queued) has three fields: queuedField, written by the write
// path with every change of the order, heldField, a copy of the hold written with it by
// hold.lua and removed with it by writeHold, and seqField, numbering those writes. The
// queue's slot keeps a copy of the first two (queue_copy.lua), which a page reads for all
// its entries at once; an entry without a usable copy is read from this hash, one short
// HMGET per order, instead of the order's JSON and its hold.
const (
	queuedField = "q"
	heldField   = "h"
	// seqField numbers the writes of the other two (Update, hold.lua), so that their
	// copies in the queue's slot (queue_copy.lua) keep the newest.
	seqField = "n"
)

// QueuedSummary is the summary's queuedField: exactly what a queue page shows of the
// order, and its state and round, which tell a live queue entry from an ended one, each
// field as its length, a colon and its bytes, the domains last. It is exported for tests
// that seed a queue as the write path leaves it.
func QueuedSummary(o *filing.Order) string {
	at := ""
	if !o.SubmittedAt.IsZero() {
		at = ms(o.SubmittedAt)
	}
	b := make([]byte, 0, 96)
	for _, f := range append([]string{string(o.State), strconv.Itoa(o.Round), string(o.SubjectType), o.Province, o.SubjectName, at}, o.Domains...) {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
	}
	return string(b)
}

// splitSummary undoes QueuedSummary's framing.
func splitSummary(s string) ([]string, bool) {
	var fs []string
	for s != "" {
		n, rest, ok := strings.Cut(s, ":")
		l, err := strconv.Atoi(n)
		if !ok || err != nil || l < 0 || l > len(rest) {
			return nil, false
		}
		fs, s = append(fs, rest[:l]), rest[l:]
	}
	return fs, len(fs) >= 6
}

// writeQueued stores the order's summary beside its JSON, with the same life.
func writeQueued(ctx context.Context, p redis.Pipeliner, c *change) {
	c.queued = QueuedSummary(c.after.Order)
	p.HSet(ctx, rediskeys.Queued(c.id), queuedField, c.queued)
}

// numberQueued, the transaction's last step on the summary, gives its writes (the summary
// and writeHold's removal of the hold copy) their sequence number and, for a copy made
// after the transaction (queueAfter), reads the hold copy as they leave it; an inline
// copy (queueInline) reads it itself.
func numberQueued(ctx context.Context, p redis.Pipeliner, c *change) {
	c.seq = p.HIncrBy(ctx, rediskeys.Queued(c.id), seqField, 1)
	if !c.inline {
		c.held = p.HMGet(ctx, rediskeys.Queued(c.id), heldField)
	}
}

// queued is what the queue reads of an order.
type queued struct {
	State       filing.State       `json:"state"`
	Round       int                `json:"round"`
	SubjectType filing.SubjectType `json:"subject_type"`
	Province    string             `json:"province"`
	SubjectName string             `json:"subject_name"`
	Domains     []string           `json:"domains"`
	SubmittedAt time.Time          `json:"submitted_at"`
}

// decodeQueued reads a summary; ok is false when there is none (an order last written
// before summaries existed, or gone) or it does not parse.
func decodeQueued(v any) (q queued, ok bool) {
	str, _ := v.(string)
	fs, ok := splitSummary(str)
	if !ok {
		return q, false
	}
	q.State, q.SubjectType, q.Province, q.SubjectName = filing.State(fs[0]), filing.SubjectType(fs[2]), fs[3], fs[4]
	q.Round, _ = strconv.Atoi(fs[1])
	if fs[5] != "" {
		q.SubmittedAt = fromMS(fs[5])
	}
	if len(fs) > 6 {
		q.Domains = fs[6:]
	}
	return q, true
}

// decodeHeld reads the summary's copy of the hold: "reviewer\nuntil\nround" (hold.lua).
func decodeHeld(v any) *orders.Hold {
	str, _ := v.(string)
	reviewer, rest, _ := strings.Cut(str, "\n")
	until, round, _ := strings.Cut(rest, "\n")
	return decodeHold(map[string]string{"reviewer": reviewer, "until": until, "round": round})
}

// queueCursor is a position in the queue: the last entry answered.
type queueCursor struct {
	score  int64
	member string
}

func (c queueCursor) String() string { return strconv.FormatInt(c.score, 10) + "." + c.member }

func parseQueueCursor(s string) (*queueCursor, error) {
	if s == "" {
		return nil, nil
	}
	score, member, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(score, 10, 64)
	if _, _, valid := rediskeys.ParseReviewQueueMember(member); !ok || err != nil || !valid {
		return nil, filing.ErrInvalidRequest.WithMessage("Not a cursor of this queue.", "分页参数不正确。").
			WithDetails(map[string]any{"field": "cursor"})
	}
	return &queueCursor{n, member}, nil
}

// maxQueueReads bounds the batches one page may read past entries it drops.
const maxQueueReads = 8

// queueCand is one queue entry being read: its place in the queue and what its order's
// summary and hold say.
type queueCand struct {
	at    queueCursor
	id    string
	round int
	q     queued
	found bool
	hold  *orders.Hold
	// repair: the entry had no copy and no change in flight; what its order says may be
	// copied.
	repair bool
}

// queueStatus is what an entry's order says of it.
type queueStatus int

const (
	queueLive    queueStatus = iota
	queueEnded               // the order is gone or that round has ended: drop the entry
	queuePending             // its submission has not committed (yet): skip it, keep it
)

func (c *queueCand) status() queueStatus {
	switch {
	case !c.found, c.q.Round > c.round, c.q.Round == c.round && c.q.State != filing.StateSubmitted:
		return queueEnded
	case c.q.Round < c.round:
		return queuePending
	}
	return queueLive
}

// shown is what a page shows of the candidate, but for what changes with the time: its
// wait and whether its hold still stands (queueShown.at).
func (c *queueCand) shown() queueShown {
	q := c.q
	e := orders.QueueEntry{ID: c.id, SubjectType: q.SubjectType, Province: q.Province, SubjectName: q.SubjectName,
		Domains: q.Domains, Round: q.Round, SubmittedAt: q.SubmittedAt}
	if e.Domains == nil {
		e.Domains = []string{}
	}
	e.DomainsASCII = filing.DomainsASCII(e.Domains)
	sh := queueShown{entry: e}
	if h := c.hold; h != nil && h.Round == q.Round {
		sh.hold = h
	}
	return sh
}

// queueShown is one entry of a page as read, kept by the page cache: the entry without
// its wait and hold, and the hold of its round (nil: none).
type queueShown struct {
	entry orders.QueueEntry
	hold  *orders.Hold
}

// memoize gives each entry a memo for the encoder (orders.QueueEntry.Memo): for a page
// that is cached, whose entries are answered again.
func memoize(shown []queueShown) {
	for i := range shown {
		shown[i].entry.Memo = new(orders.QueueMemo)
	}
}

// at is the entry as it shows at now: the wait grows, a hold that has lapsed shows as none.
// Its slices are shared with the cache: read-only.
func (sh *queueShown) at(now time.Time) orders.QueueEntry {
	e := sh.entry
	e.WaitingS = int64(max(now.Sub(e.SubmittedAt), 0) / time.Second)
	if h := sh.hold; h.Active(now) {
		reviewer, until := h.Reviewer, h.Until
		e.HeldBy, e.HeldUntil = &reviewer, &until
	}
	return e
}

// Queue answers a page of the review queue from the index: each entry's order summary and
// hold are read (one pipelined round trip a batch, a few short fields each) to fill the
// page and to tell a live entry from one a crash left behind, which is removed. An entry
// of a round whose transaction has not committed yet (its order still at the round
// before) is skipped and kept.
//
// A page is cached by the instance with the queue's stamp it was read at (queuePages):
// while the queue's stamp is still that one, the page script answers just that (one GET),
// and the page is answered from the cache for now.
func (s *Store) Queue(ctx context.Context, cursor string, limit int, now time.Time) (_ orders.QueuePage, err error) {
	defer translate(&err)
	page := orders.QueuePage{Orders: make([]orders.QueueEntry, 0, limit)}
	after, err := parseQueueCursor(cursor)
	if err != nil {
		return page, err
	}
	cached := s.queuePages.get(cursor, limit)
	known := ""
	if cached != nil {
		known = cached.stamp
	}
	// read is the page as read, for the cache; keep says it may be cached: every batch was
	// read at one stamp and none had a change of its order in flight.
	read := &queueCached{cursor: cursor, limit: limit}
	keep := true
	offset := int64(0)
	// answer is the page as read; it is cached when it may be.
	answer := func() orders.QueuePage {
		if keep = keep && read.stamp != ""; keep {
			memoize(read.shown)
			s.queuePages.put(read)
		}
		return read.page(now, page.Orders)
	}
	for i := range maxQueueReads {
		b, err := s.queueBatch(ctx, after, offset, limit+1, known)
		if err != nil {
			return page, err
		}
		if b.current {
			return cached.page(now, page.Orders), nil
		}
		known = "" // only a whole page is answered from the cache
		if i == 0 {
			read.stamp = b.stamp
		}
		keep = keep && !b.marked && b.stamp == read.stamp
		if b.n == 0 {
			break
		}
		offset += int64(b.n)
		var dead []any
		for _, c := range b.cands {
			switch c.status() {
			case queueEnded:
				dead = append(dead, c.at.member)
				continue
			case queuePending:
				continue
			}
			if len(read.shown) == limit {
				next := read.last
				read.next = &next
				s.dropQueued(ctx, dead)
				return answer(), nil
			}
			read.shown = append(read.shown, c.shown())
			read.last = c.at.String()
		}
		s.dropQueued(ctx, dead)
		if b.n < limit+1 {
			break
		}
	}
	return answer(), nil
}

// queueBatchRead is one batch of the queue as queueBatch read it: stamp is the queue's
// stamp it was read at ("" none); current says it is the stamp asked for, and then nothing
// was read; marked says an entry of it had a change of its order in flight (read from the
// order, whose change may commit before its copy sets the stamp).
type queueBatchRead struct {
	stamp   string
	current bool
	marked  bool
	cands   []*queueCand
	n       int
}

// queueBatch reads up to count entries from offset past the cursor's score, with their
// copies, in one script in the queue's slot (queue_page.lua); an entry without a copy, or
// whose order has a change being copied, is read from its order (readQueued). n is how
// many entries the index answered. When the queue's stamp is known, the script answers
// that alone.
func (s *Store) queueBatch(ctx context.Context, after *queueCursor, offset int64, count int, known string) (queueBatchRead, error) {
	min := "-inf"
	if after != nil {
		min = strconv.FormatInt(after.score, 10)
	}
	keys := []string{rediskeys.ReviewQueue(s.scope), rediskeys.ReviewQueueCopies(s.scope), rediskeys.ReviewQueueWriting(s.scope),
		rediskeys.ReviewQueueStamp(s.scope)}
	vals, err := queuePageScript.Run(ctx, s.rdb, keys, min, offset, count, known).StringSlice()
	if err != nil {
		return queueBatchRead{}, err
	}
	if len(vals) < 2 || (len(vals)-2)%5 != 0 {
		return queueBatchRead{}, fmt.Errorf("redisstore: queue page script answered %d values", len(vals))
	}
	b := queueBatchRead{stamp: vals[0], current: vals[1] == "1", n: (len(vals) - 2) / 5}
	if b.current || b.n == 0 {
		return b, nil
	}
	vals = vals[2:]
	b.cands = make([]*queueCand, 0, b.n)
	var uncopied []*queueCand
	for i := 0; i < len(vals); i += 5 {
		m, writing, q, h := vals[i], vals[i+2], vals[i+3], vals[i+4]
		score, _ := strconv.ParseFloat(vals[i+1], 64)
		at := queueCursor{int64(score), m}
		if after != nil && at.score == after.score && m <= after.member {
			continue // at or before the cursor among entries of the same time
		}
		id, round, ok := rediskeys.ParseReviewQueueMember(m)
		if !ok {
			continue
		}
		c := &queueCand{at: at, id: id, round: round}
		b.cands = append(b.cands, c)
		if c.q, c.found = decodeQueued(q); c.found && writing == "0" {
			c.hold = decodeHeld(h)
			continue
		}
		b.marked = b.marked || writing != "0"
		c.found, c.repair = false, writing == "0"
		uncopied = append(uncopied, c)
	}
	return b, s.readQueued(ctx, uncopied)
}

// readQueued fills in each candidate's summary and hold from its order's summary hash in
// one pipelined round trip (an order last written before summaries existed is read whole,
// in a second one), and copies what it read into the queue's slot for the next pages
// when no change of the order is in flight: the sequence number keeps a newer copy.
func (s *Store) readQueued(ctx context.Context, cands []*queueCand) error {
	if len(cands) == 0 {
		return nil
	}
	sums := make([]*redis.SliceCmd, len(cands))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range cands {
			sums[i] = p.HMGet(ctx, rediskeys.Queued(c.id), queuedField, heldField, seqField)
		}
		return nil
	}); err != nil {
		return err
	}
	var legacy []*queueCand
	var repairs [][]any
	for i, c := range cands {
		v := sums[i].Val()
		if len(v) != 3 {
			return fmt.Errorf("redisstore: queue summary of %s: %d values", c.id, len(v))
		}
		if c.q, c.found = decodeQueued(v[0]); !c.found {
			legacy = append(legacy, c)
			continue
		}
		c.hold = decodeHeld(v[1])
		if c.repair {
			q, _ := v[0].(string)
			h, _ := v[1].(string)
			seq, _ := v[2].(string)
			repairs = append(repairs, []any{c.id, "0", cmp.Or(seq, "0"), string(c.q.State), c.q.Round, q, h, "", newStamp()})
		}
	}
	if len(repairs) > 0 {
		// Best effort: a copy that fails to be written is read from the order again.
		s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, args := range repairs {
				p.Eval(ctx, queueCopySource, s.queueCopyKeys(), args...)
			}
			return nil
		})
	}
	return s.readQueuedOrders(ctx, legacy)
}

// readQueuedOrders reads the summary and the hold of orders without a summary from their
// JSON and hold hash.
func (s *Store) readQueuedOrders(ctx context.Context, cands []*queueCand) error {
	if len(cands) == 0 {
		return nil
	}
	raws := make([]*redis.StringCmd, len(cands))
	holds := make([]*redis.MapStringStringCmd, len(cands))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range cands {
			raws[i] = p.Get(ctx, rediskeys.Order(c.id))
			holds[i] = p.HGetAll(ctx, rediskeys.Hold(c.id))
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for i, c := range cands {
		c.hold = decodeHold(holds[i].Val())
		raw, err := raws[i].Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			continue // gone: c.found stays false
		case err != nil:
			return err
		}
		if err := json.Unmarshal(raw, &c.q); err != nil {
			return fmt.Errorf("redisstore: queued order %s: %w", c.id, err)
		}
		c.found = true
	}
	return nil
}

// SeedQueued queues on p what the write path leaves of a submitted order in the review
// queue of scope: its summary (with ttl), its entry and the queue's copy of it, and a new
// stamp of the queue. It is for benchmarks that seed a large queue without a transaction
// per order.
func SeedQueued(ctx context.Context, p redis.Pipeliner, scope string, o *filing.Order, ttl time.Duration) {
	q := QueuedSummary(o)
	p.HSet(ctx, rediskeys.Queued(o.ID), queuedField, q, seqField, 1)
	p.Expire(ctx, rediskeys.Queued(o.ID), ttl)
	p.ZAdd(ctx, rediskeys.ReviewQueue(scope), redis.Z{Score: float64(o.SubmittedAt.UnixMilli()), Member: rediskeys.ReviewQueueMember(o.ID, o.Round)})
	p.HSet(ctx, rediskeys.ReviewQueueCopies(scope), "s:"+o.ID, 1, "q:"+o.ID, q, "h:"+o.ID, "")
	p.Set(ctx, rediskeys.ReviewQueueStamp(scope), newStamp(), 0)
}
