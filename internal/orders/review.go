package orders

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
)

// DefaultReviewHold is BEIANSCAN_REVIEW_HOLD's default: how long a reviewer's hold on an
// order lasts without activity.
const DefaultReviewHold = 15 * time.Minute

// QueuePageSize is how many orders a page of the review queue holds.
const QueuePageSize = 50

// Hold is a reviewer's claim on a submitted order for one round: only the holder may
// decide, until the hold lapses.
type Hold struct {
	Reviewer string
	Until    time.Time
	Round    int
}

// Active reports whether the hold still stands at now.
func (h *Hold) Active(now time.Time) bool { return h != nil && now.Before(h.Until) }

// HoldMode is what a reviewer's call asks of the hold.
type HoldMode string

const (
	HoldTake    HoldMode = "take"    // take the hold, or renew one's own
	HoldRenew   HoldMode = "renew"   // renew one's own active hold, else nothing
	HoldRelease HoldMode = "release" // give one's own hold up
)

// HoldOutcome is what DecideHold decided.
type HoldOutcome string

const (
	HoldTaken        HoldOutcome = "taken"
	HoldKept         HoldOutcome = "none" // nothing changed
	HoldReleased     HoldOutcome = "released"
	HoldByOther      HoldOutcome = "held_by_other"
	HoldInvalidState HoldOutcome = "invalid_state"
	HoldNotFound     HoldOutcome = "not_found"
)

// HoldRequest is one reviewer's call on an order's hold.
type HoldRequest struct {
	OrderID  string
	Reviewer string
	Mode     HoldMode
	Now      time.Time
	TTL      time.Duration
}

// DecideHold is the hold rule. The store runs it atomically as a Lua script
// (internal/redisstore/hold.lua), held to this function by a parity test. state and round
// are the order's (state "" when there is no order); cur the hold as stored.
//
// Taking needs a submitted order that nobody else holds actively: a lapsed hold of another
// reviewer is taken over, one's own is renewed. Renewing touches only one's own active
// hold of the current round. Releasing drops one's own hold, whatever its time.
func DecideHold(req HoldRequest, state filing.State, round int, cur *Hold) HoldOutcome {
	if state == "" {
		return HoldNotFound
	}
	mine := cur != nil && cur.Reviewer == req.Reviewer
	switch req.Mode {
	case HoldRelease:
		if mine {
			return HoldReleased
		}
		return HoldKept
	case HoldRenew:
		if state == filing.StateSubmitted && mine && cur.Active(req.Now) && cur.Round == round {
			return HoldTaken
		}
		return HoldKept
	}
	if state != filing.StateSubmitted {
		return HoldInvalidState
	}
	if cur.Active(req.Now) && !mine && cur.Round == round {
		return HoldByOther
	}
	return HoldTaken
}

// HoldResult is the hold after a HoldRequest.
type HoldResult struct {
	Outcome HoldOutcome
	// Hold is the hold as it stands after the call (the other reviewer's for HoldByOther).
	Hold *Hold
	// State is the order's state, for invalid_state.
	State filing.State
}

// QueueEntry is one order waiting for review.
type QueueEntry struct {
	ID          string             `json:"id"`
	SubjectType filing.SubjectType `json:"subject_type"`
	Province    string             `json:"province"`
	SubjectName string             `json:"subject_name"`
	Domains     []string           `json:"domains"`
	// DomainsASCII is filing.DomainsASCII of Domains, as in the ORDER view.
	DomainsASCII []string   `json:"domains_ascii"`
	Round        int        `json:"round"`
	SubmittedAt  time.Time  `json:"submitted_at"`
	WaitingS     int64      `json:"waiting_s"`
	HeldBy       *string    `json:"held_by"`
	HeldUntil    *time.Time `json:"held_until"`
	// Memo, when set, is shared by every answer of the entry from one read of the queue,
	// during which its fields but WaitingS, HeldBy and HeldUntil do not change: an encoder
	// may keep there what it makes of them, once. It is no part of the entry's JSON.
	Memo *QueueMemo `json:"-"`
}

// QueueMemo is a QueueEntry's memo (its Memo): bytes kept by the first encoder, safe for
// concurrent use.
type QueueMemo struct{ b atomic.Pointer[[]byte] }

// Load returns what was kept, nil when nothing was.
func (m *QueueMemo) Load() []byte {
	if p := m.b.Load(); p != nil {
		return *p
	}
	return nil
}

// Keep keeps b, which must not change after.
func (m *QueueMemo) Keep(b []byte) { m.b.Store(&b) }

// QueuePage is a page of the review queue.
type QueuePage struct {
	Orders     []QueueEntry `json:"orders"`
	NextCursor *string      `json:"next_cursor"`
}

// ReviewStore is what a Store that keeps the review queue and the holds can do. It is
// optional like AuditLog: without it the service has no workbench.
type ReviewStore interface {
	// Hold runs DecideHold atomically on the stored order and hold.
	Hold(ctx context.Context, req HoldRequest) (HoldResult, error)
	// Queue returns up to limit submitted orders after cursor (""), oldest submission
	// first, with their holds; the entries' WaitingS and hold fields are filled in for now.
	Queue(ctx context.Context, cursor string, limit int, now time.Time) (QueuePage, error)
	// QueueStats returns how many orders wait and since when the oldest has waited (zero
	// when none), from the index alone.
	QueueStats(ctx context.Context) (waiting int64, oldest time.Time, err error)
}

// ReviewView is what a reviewer sees of an order (the contract's REVIEW_VIEW).
type ReviewView struct {
	Order                 OrderView           `json:"order"`
	Materials             []filing.Material   `json:"materials"`
	Rounds                []filing.Review     `json:"rounds"`
	ChangedSinceLastRound filing.ChangedSince `json:"changed_since_last_round"`
	HeldBy                *string             `json:"held_by"`
	HeldUntil             *time.Time          `json:"held_until"`
}

func (s *Service) reviewStore() (ReviewStore, error) {
	rs, ok := s.store.(ReviewStore)
	if !ok {
		return nil, filing.ErrNotFound
	}
	return rs, nil
}

// HoldTTL is how long a hold lasts without activity.
func (s *Service) HoldTTL() time.Duration { return s.cfg.ReviewHold }

func (s *Service) hold(ctx context.Context, orderID, reviewer string, mode HoldMode) (HoldResult, error) {
	rs, err := s.reviewStore()
	if err != nil {
		return HoldResult{}, err
	}
	if !validID(orderID) {
		return HoldResult{}, filing.ErrOrderNotFound
	}
	return rs.Hold(ctx, HoldRequest{OrderID: orderID, Reviewer: reviewer, Mode: mode, Now: s.now(), TTL: s.cfg.ReviewHold})
}

// TakeHold takes (or renews) the reviewer's hold on a submitted order and returns the
// reviewer's view of it.
func (s *Service) TakeHold(ctx context.Context, orderID, reviewer string) (*ReviewView, error) {
	res, err := s.hold(ctx, orderID, reviewer, HoldTake)
	if err != nil {
		return nil, err
	}
	switch res.Outcome {
	case HoldNotFound:
		return nil, filing.ErrOrderNotFound
	case HoldInvalidState:
		return nil, filing.ErrInvalidState.WithDetails(map[string]any{"state": string(res.State)})
	case HoldByOther:
		return nil, filing.ErrHeldByOther.WithDetails(map[string]any{"reviewer": res.Hold.Reviewer, "until": res.Hold.Until})
	}
	return s.reviewView(ctx, orderID, reviewer)
}

// ReleaseHold gives the reviewer's hold up; releasing what one does not hold does nothing.
func (s *Service) ReleaseHold(ctx context.Context, orderID, reviewer string) error {
	res, err := s.hold(ctx, orderID, reviewer, HoldRelease)
	if err != nil {
		return err
	}
	if res.Outcome == HoldNotFound {
		return filing.ErrOrderNotFound
	}
	return nil
}

// ReviewView returns the reviewer's view of an order, renewing the reviewer's own hold.
func (s *Service) ReviewView(ctx context.Context, orderID, reviewer string) (*ReviewView, error) {
	res, err := s.hold(ctx, orderID, reviewer, HoldRenew)
	if err != nil {
		return nil, err
	}
	if res.Outcome == HoldNotFound {
		return nil, filing.ErrOrderNotFound
	}
	return s.reviewView(ctx, orderID, reviewer)
}

// reviewView loads the order and audits the read of the full ID numbers before it is
// answered: a read that cannot be recorded is not served.
func (s *Service) reviewView(ctx context.Context, orderID, reviewer string) (*ReviewView, error) {
	snap, err := s.store.Load(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if err := s.recordRead(ctx, orderID, AuditEntry{At: s.now(), Actor: ActorReviewer, Reviewer: reviewer,
		Action: AuditReadPII, IP: ClientIP(ctx)}); err != nil {
		return nil, err
	}
	v := &ReviewView{Order: ViewOrder(snap, s.AppAvailable(snap.Order.Province)), Materials: MaterialList(snap), Rounds: snap.Order.Reviews}
	if v.Rounds == nil {
		v.Rounds = []filing.Review{}
	}
	v.Order.SubjectLeader.IDNumber = snap.Order.SubjectLeader.IDNumber
	v.Order.WebsiteLeader.IDNumber = snap.Order.WebsiteLeader.IDNumber
	v.ChangedSinceLastRound = snap.Order.ChangedSinceLastRound(func(sl filing.Slot) time.Time {
		return snap.Materials[sl].UploadedAt
	})
	if h := snap.Hold; h.Active(s.now()) && h.Round == snap.Order.Round && snap.Order.State == filing.StateSubmitted {
		v.HeldBy, v.HeldUntil = &h.Reviewer, &h.Until
	}
	return v, nil
}

// Decide records the reviewer's decision on an order the reviewer holds; the hold ends
// with it.
func (s *Service) Decide(ctx context.Context, orderID, reviewer string, d filing.Decision) (*Snapshot, error) {
	if _, err := s.reviewStore(); err != nil {
		return nil, err
	}
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		o := snap.Order
		if o.State != filing.StateSubmitted {
			return nil, filing.ErrInvalidState.WithDetails(map[string]any{"state": string(o.State)})
		}
		if h := snap.Hold; !h.Active(s.now()) || h.Reviewer != reviewer || h.Round != o.Round {
			return nil, filing.ErrNotHeld
		}
		t, err := o.Decide(d, s.now())
		if err != nil {
			return nil, err
		}
		snap.Hold = nil
		snap.Audit = append(snap.Audit, AuditEntry{At: s.now(), Actor: ActorReviewer, Reviewer: reviewer,
			Action: AuditReview, IP: ClientIP(ctx)})
		return s.decided(snap, t), nil
	})
}

// decided is the events of a decision: the state's change and the review itself.
func (s *Service) decided(snap *Snapshot, t *filing.Transition) []Event {
	return []Event{
		s.event(snap.Order.ID, events.StateChanged, t),
		s.event(snap.Order.ID, events.ReviewDecided, viewReview(snap.Order)),
	}
}

// viewReview is the order's current review as the owner sees it.
func viewReview(o *filing.Order) *filing.Review {
	r := o.LastReview()
	if r == nil {
		return nil
	}
	c := *r
	if c.Issues == nil {
		c.Issues = []filing.Issue{}
	}
	c.Pending = o.Pending()
	return &c
}

// Edit changes the order's fields (PATCH).
func (s *Service) Edit(ctx context.Context, orderID string, in filing.EditInput) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		changed, fixed, err := snap.Order.Edit(in, s.now())
		if err != nil {
			return nil, err
		}
		if len(changed) == 0 && !fixed {
			return nil, ErrUnchanged
		}
		if changed == nil {
			changed = []string{}
		}
		s.audit(ctx, snap, ActorDesktop, AuditEdit, "")
		return s.settle(snap, []Event{s.event(orderID, events.OrderEdited, map[string]any{"fields": changed})}), nil
	})
}

// ReportAuthority records a stage of the authority's handling that the back office reports.
func (s *Service) ReportAuthority(ctx context.Context, orderID string, r filing.AuthorityReport) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		t, err := snap.Order.ReportAuthority(r, s.now())
		if err != nil {
			return nil, err
		}
		s.audit(ctx, snap, ActorOperator, AuditAuthority, "")
		var evs []Event
		if t != nil {
			evs = append(evs, s.event(orderID, events.StateChanged, t))
		}
		return append(evs, s.event(orderID, events.AuthorityUpdated, snap.Order.Authority)), nil
	})
}

// ReviewQueue returns a page of the orders waiting for review.
func (s *Service) ReviewQueue(ctx context.Context, cursor string) (QueuePage, error) {
	rs, err := s.reviewStore()
	if err != nil {
		return QueuePage{}, err
	}
	return rs.Queue(ctx, cursor, QueuePageSize, s.now())
}

// ReviewQueueStats is how many orders wait for review and the oldest one's wait.
func (s *Service) ReviewQueueStats(ctx context.Context) (int64, time.Duration, error) {
	rs, err := s.reviewStore()
	if err != nil {
		return 0, 0, err
	}
	n, oldest, err := rs.QueueStats(ctx)
	if err != nil || oldest.IsZero() {
		return n, 0, err
	}
	return n, max(s.now().Sub(oldest), 0), nil
}
