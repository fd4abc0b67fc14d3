package orders

import (
	"context"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// Snapshot is everything stored about one order, read at one moment.
type Snapshot struct {
	Order     *filing.Order
	Materials map[filing.Slot]filing.Material
	Pairing   *Pairing
	// Hold is a reviewer's hold on the order, nil when none is stored (it may have lapsed).
	// Update removes it when the order leaves submitted, or when change sets it to nil.
	Hold *Hold
	// Audit holds the audit entries a change adds (empty as loaded): the store writes them
	// in the same transaction as the change.
	Audit []AuditEntry
	// ResumeCode is set only on CreateOrder's answer: the one time the code exists in
	// the clear. It is never stored (Order.ResumeHash is).
	ResumeCode string
}

// has reports whether a slot holds a material; it is the domain's "uploaded" predicate.
func (s *Snapshot) has(slot filing.Slot) bool { _, ok := s.Materials[slot]; return ok }

// Pairing is the order's current QR pairing. The code itself is never stored: only its
// SHA-256, so that a copy of Redis cannot be used to claim anything.
type Pairing struct {
	ID        string
	CodeHash  string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Expired is set once pairing_expired has been published for it.
	Expired  bool
	DeviceID string
	// DeviceName is the phone's own name (X-Device-Name, e.g. "iPhone 15"), for the desktop
	// to show instead of the raw device ID; may be empty.
	DeviceName string
	AppVersion string
	ClaimedAt  time.Time
	Completed  bool
	Desktop    DesktopInfo
}

// Claimed reports whether a phone has claimed the pairing.
func (p *Pairing) Claimed() bool { return p != nil && p.DeviceID != "" }

// The pairing's life is decided by the four predicates below and nowhere else in Go; the
// claim script (internal/redisstore/claim.lua) restates them for Redis and is held to
// DecideClaim, which uses them, by a parity test.

// Lapsed reports whether claiming has ended at now: pairing_expired was published for it, or
// expires_at has come. It ends at expires_at for every device, the one that claimed it too
// (a reclaim is refused after it).
func (p *Pairing) Lapsed(now time.Time) bool { return p.Expired || !now.Before(p.ExpiresAt) }

// Claimable reports whether a phone may still claim the pairing at now: there is one, no
// phone has claimed it, and it has not lapsed. The desktop is shown its scan URL only then.
func (p *Pairing) Claimable(now time.Time) bool {
	return p != nil && !p.Claimed() && !p.Lapsed(now)
}

// Pending reports whether the pairing is unclaimed and its pairing_expired not yet
// published, whatever the time: someone still has to publish it (ExpirePairing, which the
// hub calls at expires_at). It is deliberately blind to the clock: a pairing that lapsed
// while no instance watched is still pending, and is expired at once when a desktop
// connects.
func (p *Pairing) Pending() bool { return p != nil && !p.Claimed() && !p.Expired }

// ExpireDue reports whether pairing_expired is owed at now: the pairing is pending and its
// time has come.
func (p *Pairing) ExpireDue(now time.Time) bool { return p.Pending() && p.Lapsed(now) }

// DesktopInfo says who showed the QR code, so the phone can show it before uploading.
type DesktopInfo struct {
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
}

// Event is one websocket event (the contract's event frame).
type Event struct {
	Type    string    `json:"type"`
	Version int64     `json:"version"`
	OrderID string    `json:"order_id"`
	At      time.Time `json:"at"`
	Data    any       `json:"data"`
}

// ClaimRequest is a phone's claim of a pairing code.
type ClaimRequest struct {
	OrderID      string
	CodeHash     string
	DeviceID     string
	DeviceName   string
	AppVersion   string
	Now          time.Time
	AppProvinces []string
	// IP is the phone's address, for the audit trail.
	IP string
	// DeviceHash, when set, names the device (auth.Signer.DeviceHash) whose generation the
	// store reads with the claim, in the same round trip, for the device token.
	DeviceHash string
}

// Claimed is a successful claim: the order as it stands after it and, for a request with
// a DeviceHash, the device's generation (DeviceIndex.DeviceGeneration).
type Claimed struct {
	Snapshot         *Snapshot
	DeviceGeneration int64
}

// Store keeps orders, materials and pairings, and publishes each change's events
// atomically with the change.
type Store interface {
	// CreateOrder stores a new order with created as its first audit entry.
	CreateOrder(ctx context.Context, o *filing.Order, created AuditEntry) error
	// Load returns the order's snapshot, or filing.ErrOrderNotFound.
	Load(ctx context.Context, orderID string) (*Snapshot, error)
	// Update runs change on the current snapshot and, if it returns no error, writes the
	// changed snapshot, bumps the version by one when there are events or changes, and
	// publishes the events stamped with the new version, all atomically. change may run
	// more than once when writers race, so it must only change the snapshot it is given.
	Update(ctx context.Context, orderID string, change func(*Snapshot) ([]Event, error)) (*Snapshot, error)
	// Claim claims a pairing once, atomically, in one round trip with its audit entry and
	// the snapshot it answers with, and publishes phone_connected, deciding as DecideClaim
	// does. A second claim by the same device before expires_at returns the same pairing
	// without a new event. Replacing or revoking
	// a pairing (in Update) retires its code: claims of it answer pairing_expired for as
	// long as the pairing itself would have been kept, then pairing_not_found.
	Claim(ctx context.Context, req ClaimRequest) (*Claimed, error)
	// Guess counts one claim of a code this server never issued from ip and refuses it
	// once ip is past limit in its window, in one atomic step: it returns 0 when the guess
	// was counted, else how long until the window ends (and counts nothing).
	Guess(ctx context.Context, ip string, limit int, window time.Duration, now time.Time) (time.Duration, error)
	// GuessResume counts one wrong resume code for the order from ip, against both the
	// order's and ip's limit, each in one atomic step; like Guess it returns 0 when the
	// guess was counted, else how long until the window that refused it ends.
	GuessResume(ctx context.Context, orderID, ip string, limit int, window time.Duration, now time.Time) (time.Duration, error)
	// Remembered returns what was stored under an idempotency key, or nil.
	Remembered(ctx context.Context, orderID, keyHash string) ([]byte, error)
	// Remember stores an answer under an idempotency key, replacing a spent one.
	Remember(ctx context.Context, orderID, keyHash string, answer []byte, ttl time.Duration) error
	Ready(ctx context.Context) error
}

// Blobs keeps the image bytes durably.
type Blobs interface {
	Put(ctx context.Context, key string, data []byte) error
	Delete(ctx context.Context, key string) error
}

// OwnerIndex is what a Store that lists an owner's orders can do (docs/architecture.md,
// "Owners come back"). It is optional, like AuditLog: without it an owner's list is empty.
type OwnerIndex interface {
	// OwnerOrders returns up to limit of the owner's orders, newest created first, as
	// stored but with the people (and so the ID numbers) left out.
	OwnerOrders(ctx context.Context, ownerID string, limit int) ([]*filing.Order, error)
}
