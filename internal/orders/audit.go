package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// Actors of the audit trail (docs/operations.md, Privacy): who did or saw something.
const (
	ActorDesktop  = "desktop"
	ActorPhone    = "phone"
	ActorOperator = "operator"
	ActorSystem   = "system"
	// ActorReviewer is a named reviewer of the workbench; the entry carries the name.
	ActorReviewer = "reviewer"
)

// Actions of the audit trail. A client (the desktop's "谁查看过我的资料" list) translates
// them; they are part of the audit endpoint's answer.
const (
	AuditCreate        = "create"         // the order was created
	AuditRead          = "read"           // a slot's image was served
	AuditReadForm      = "read_form"      // the printed verification form, with the full ID numbers, was served
	AuditUpload        = "upload"         // a slot's image was stored (app, desktop or stitched)
	AuditRemove        = "remove"         // a slot's image was removed
	AuditMethod        = "method"         // the upload method was chosen or changed
	AuditPairingCreate = "pairing_create" // a QR code was shown
	AuditPairingRevoke = "pairing_revoke" // the desktop revoked the QR code and its phone
	AuditPairingExpire = "pairing_expire" // an unclaimed QR code lapsed
	AuditClaim         = "claim"          // a phone claimed the QR code (or claimed it again)
	AuditComplete      = "complete"       // the phone said it is done
	AuditSubmit        = "submit"
	AuditWithdraw      = "withdraw"
	AuditReview        = "review"         // a review round was decided (reviewer or operator)
	AuditReadPII       = "read_pii"       // a reviewer read the order with the full ID numbers
	AuditEdit          = "edit"           // the owner edited the order's fields
	AuditAuthority     = "authority"      // the back office reported the authority's progress
	AuditResume        = "resume"         // a browser opened the order with its resume code
	AuditResumeRotate  = "resume_rotate"  // the desktop replaced the resume code
	AuditReadOrder     = "read_order"     // the back office read the order (masked ID numbers)
	AuditReadMaterials = "read_materials" // the back office read the list of materials
	AuditReadList      = "read_list"      // the phone's list of what it verified showed the order
)

// AuditEntry is one line of an order's audit trail.
type AuditEntry struct {
	At     time.Time   `json:"at"`
	Actor  string      `json:"actor"`
	Action string      `json:"action"`
	Slot   filing.Slot `json:"slot"`
	IP     string      `json:"ip"`
	// Count is set on a summary of reads: how many reads of this slot by this actor from
	// this address in the hour that starts at At.
	Count int `json:"count,omitempty"`
	// Reviewer names the reviewer of a reviewer's entry; only the operator is shown it.
	Reviewer string `json:"reviewer,omitempty"`
}

// ForOwner is the entry as the owner sees it: staff stay private, so a reviewer's name
// and a reviewer's or operator's IP are left out.
func (e AuditEntry) ForOwner() AuditEntry {
	e.Reviewer = ""
	if e.Actor == ActorReviewer || e.Actor == ActorOperator {
		e.IP = ""
	}
	return e
}

// AuditLog is what a Store that keeps the audit trail can do besides writing the entries
// of Snapshot.Audit with each change. It is optional, so that small fakes of Store need
// not implement it; without it nothing is audited.
type AuditLog interface {
	// AppendAudit records an entry that goes with no change (an image read). It leaves
	// the order's expiry as it is and fails with filing.ErrOrderNotFound once the order
	// is gone.
	AppendAudit(ctx context.Context, orderID string, e AuditEntry) error
	// Audit returns the order's entries, oldest first.
	Audit(ctx context.Context, orderID string) ([]AuditEntry, error)
}

type clientIPKey struct{}

// WithClientIP notes the client's IP address on a request's context for the audit trail;
// the HTTP layer sets it once for every request.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP is the IP noted by WithClientIP, or "".
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// audit adds an entry to the change being made to snap; the store writes it in the same
// transaction as the change.
func (s *Service) audit(ctx context.Context, snap *Snapshot, actor, action string, slot filing.Slot) {
	snap.Audit = append(snap.Audit, AuditEntry{At: s.now(), Actor: actor, Action: action, Slot: slot, IP: ClientIP(ctx)})
}

// RecordRead audits a read of a slot's image by actor. Call it before serving the image:
// a read that cannot be recorded is not served.
func (s *Service) RecordRead(ctx context.Context, orderID string, slot filing.Slot, actor string) error {
	return s.recordRead(ctx, orderID, AuditEntry{At: s.now(), Actor: actor, Action: AuditRead, Slot: slot, IP: ClientIP(ctx)})
}

// RecordFormRead audits an opening of the printed form by actor, the one page that shows
// the full ID numbers. Like RecordRead, call it before serving.
func (s *Service) RecordFormRead(ctx context.Context, orderID, actor string) error {
	return s.recordRead(ctx, orderID, AuditEntry{At: s.now(), Actor: actor, Action: AuditReadForm, IP: ClientIP(ctx)})
}

// RecordOperatorRead audits the back office's read of the order (AuditReadOrder) or of its
// materials list (AuditReadMaterials); like RecordRead, before serving.
func (s *Service) RecordOperatorRead(ctx context.Context, orderID, action string) error {
	return s.recordRead(ctx, orderID, AuditEntry{At: s.now(), Actor: ActorOperator, Action: action, IP: ClientIP(ctx)})
}

type reviewerKey struct{}

// WithReviewer notes the signed-in reviewer on a request's context, so that what the
// reviewer reads is audited with the name.
func WithReviewer(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, reviewerKey{}, name)
}

// ReviewerName is the reviewer noted by WithReviewer, or "".
func ReviewerName(ctx context.Context) string {
	n, _ := ctx.Value(reviewerKey{}).(string)
	return n
}

func (s *Service) recordRead(ctx context.Context, orderID string, e AuditEntry) error {
	if e.Actor == ActorReviewer && e.Reviewer == "" {
		e.Reviewer = ReviewerName(ctx)
	}
	log, ok := s.store.(AuditLog)
	if !ok {
		return nil
	}
	err := log.AppendAudit(ctx, orderID, e)
	var fe *filing.Error
	if err == nil || errors.As(err, &fe) || errors.Is(err, context.Canceled) {
		return err
	}
	// A refused write (a Redis ACL without XADD, a script error) is not a bug of the
	// service: the read is not served, and the client may retry.
	return fmt.Errorf("%w: audit: %w", filing.ErrUnavailable, err)
}

// AuditTrail returns the order's audit trail, oldest first.
func (s *Service) AuditTrail(ctx context.Context, orderID string) ([]AuditEntry, error) {
	if _, err := s.store.Load(ctx, orderID); err != nil {
		return nil, err
	}
	log, ok := s.store.(AuditLog)
	if !ok {
		return []AuditEntry{}, nil
	}
	entries, err := log.Audit(ctx, orderID)
	if entries == nil && err == nil {
		entries = []AuditEntry{}
	}
	return entries, err
}
