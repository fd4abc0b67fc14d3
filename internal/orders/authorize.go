package orders

import (
	"context"
	"errors"

	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/filing"
)

// PhoneSession is an authorised phone: its token's claims and the order as AuthorizePhone
// read and checked it. The app handlers pass it to Upload and Complete instead of the
// token, so the checks before an image is read judge this snapshot rather than loading the
// order again.
type PhoneSession struct {
	Phone auth.Phone
	// Snapshot is the order when the token was checked; the writes check the order as
	// stored anyway, so a snapshot gone stale meanwhile costs at most an image's validation.
	Snapshot *Snapshot
}

// AuthorizePhone checks a phone token against the order's current pairing and returns the
// session: a token of a revoked or replaced pairing stops working at once.
func (s *Service) AuthorizePhone(ctx context.Context, token string) (*PhoneSession, error) {
	p, err := s.signer.ParsePhone(token)
	if err != nil {
		return nil, err
	}
	snap, err := s.store.Load(ctx, p.OrderID)
	if errors.Is(err, filing.ErrOrderNotFound) {
		return nil, filing.ErrTokenRevoked
	}
	if err != nil {
		return nil, err
	}
	if err := checkPhone(snap, p); err != nil {
		return nil, err
	}
	return &PhoneSession{Phone: p, Snapshot: snap}, nil
}

func checkPhone(snap *Snapshot, p auth.Phone) error {
	if snap.Pairing == nil || snap.Pairing.ID != p.PairingID || snap.Pairing.DeviceID != p.DeviceID {
		return filing.ErrTokenRevoked
	}
	return nil
}

// AuthorizeDesktop checks a desktop token for the order: the order's own token, or an
// owner token of the order's owner. Any other order, a standalone order under an owner
// token included, gets order_not_found, so a token never tells whether some other order
// exists.
func (s *Service) AuthorizeDesktop(ctx context.Context, token, orderID string) error {
	id, owner, err := s.signer.ParseAnyDesktop(token)
	if err != nil {
		return err
	}
	if owner == "" {
		if id != orderID {
			return filing.ErrOrderNotFound
		}
		return nil
	}
	if !validID(orderID) {
		return filing.ErrOrderNotFound
	}
	snap, err := s.store.Load(ctx, orderID)
	if err != nil {
		return err
	}
	if snap.Order.OwnerID == "" || snap.Order.OwnerID != owner {
		return filing.ErrOrderNotFound
	}
	return nil
}
