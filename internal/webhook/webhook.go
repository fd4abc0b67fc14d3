// Package webhook tells the provider's back office about an order's changes with signed
// webhooks (docs/webhooks.md): the event types and their body, the Standard Webhooks
// signatures, the retry schedule, and the Deliverer, the workers of one instance that take
// due deliveries from the outbox every instance shares and POST them.
//
// The outbox itself lives in Redis (internal/redisstore, docs/architecture.md "Webhook
// outbox"): each delivery is written in the same transaction as the change it reports, so a
// change that was acknowledged always has its webhook. This package declares what it needs
// of it (Outbox) and knows nothing of Redis.
package webhook

import (
	"context"
	"encoding/json"
	"time"
)

// The event types of the contract.
const (
	OrderCreated          = "order.created"
	OrderSubmitted        = "order.submitted"
	OrderWithdrawn        = "order.withdrawn"
	OrderReviewDecided    = "order.review_decided"
	OrderAuthorityUpdated = "order.authority_updated"
	OrderDeleted          = "order.deleted"
)

// Types lists every event type, for tests and documentation.
var Types = []string{OrderCreated, OrderSubmitted, OrderWithdrawn, OrderReviewDecided, OrderAuthorityUpdated, OrderDeleted}

// The statuses of a delivery. Pending has not been tried yet, Failed was tried and will be
// again, Dead will not be (3 days of failures, or the operator may retry it). Watch is the
// outbox's own: the order's deletion watch, which becomes a pending order.deleted once
// retention has removed the order; it is never listed.
const (
	StatusPending = "pending"
	StatusFailed  = "failed"
	StatusDead    = "dead"
	StatusWatch   = "watch"
)

// Delivery is one webhook as the outbox keeps it. Its body (Body) is made from the fields
// alone, so every attempt sends the same bytes under the same webhook-id. Times are Unix
// milliseconds, as the outbox's scripts compute with them.
type Delivery struct {
	// ID is the webhook-id: stable across retries, unique per event.
	ID      string `json:"id"`
	Type    string `json:"type"`
	OrderID string `json:"order_id"`
	// At is when the change happened (the body's timestamp).
	At      int64  `json:"at"`
	State   string `json:"state"`
	Version int64  `json:"version"`
	Round   int64  `json:"round"`
	OwnerID string `json:"owner_id,omitempty"`

	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	// Since starts the 3 days of retries: the change, or the operator's retry of a dead one.
	Since int64 `json:"since"`
	// NextAt is when it is due; Lease, while a deliverer holds it, when its hold ends.
	NextAt    int64  `json:"next_at"`
	Lease     int64  `json:"lease"`
	LastError string `json:"last_error,omitempty"`
}

// Body is what is POSTed: no personal data, the back office reads the order with its key.
type Body struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Data is the body's data: the order after the change.
type Data struct {
	OrderID string `json:"order_id"`
	State   string `json:"state"`
	Version int64  `json:"version"`
	Round   int64  `json:"round"`
	OwnerID string `json:"owner_id,omitempty"`
}

// Body returns the bytes every attempt of d sends.
func (d *Delivery) Body() []byte {
	b, _ := json.Marshal(Body{
		Type: d.Type, Timestamp: time.UnixMilli(d.At).UTC(),
		Data: Data{OrderID: d.OrderID, State: d.State, Version: d.Version, Round: d.Round, OwnerID: d.OwnerID},
	})
	return b
}

// Outcome is what an attempt came to.
type Outcome struct {
	// Status is StatusFailed with NextAt, StatusDead, or "delivered".
	Status    string
	NextAt    time.Time
	LastError string
}

// Delivered is an Outcome's Status for a 2xx.
const Delivered = "delivered"

// Lease is a deliverer's hold on one order's outbox in the due index; Score tells it apart
// from a hold taken later (Settle only moves the index while it still holds).
type Lease struct {
	OrderID string
	Score   float64
}

// Outbox is the shared outbox, as the deliverers use it (internal/redisstore implements it).
type Outbox interface {
	// ClaimDue holds up to limit orders that have due deliveries until now+lease.
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Lease, error)
	// ClaimOrder holds one order (just written by this instance) until now+lease; ok is
	// false when it has nothing left in the index.
	ClaimOrder(ctx context.Context, orderID string, now time.Time, lease time.Duration) (l Lease, ok bool, err error)
	// Take holds up to limit of the order's due deliveries until now+lease and returns
	// them; it also turns a deletion watch whose order is gone into an order.deleted.
	// next is when the order's outbox is due again (zero: nothing left).
	Take(ctx context.Context, orderID string, now time.Time, lease time.Duration, limit int) (ds []Delivery, next time.Time, err error)
	// Finish records an attempt's outcome on a delivery taken with its Lease value.
	Finish(ctx context.Context, d Delivery, o Outcome, now time.Time) (next time.Time, err error)
	// Settle sets the order's place in the index to next (zero: removes it) if l still
	// holds it at now, else only brings it forward to next.
	Settle(ctx context.Context, l Lease, next, now time.Time) error
}
