package orders

import (
	"context"
	"errors"

	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/filing"
)

// AuthorizePhone checks a phone token against the order's current pairing and returns the
// snapshot: a token of a revoked or replaced pairing stops working at once.
func (s *Service) AuthorizePhone(ctx context.Context, token string) (auth.Phone, *Snapshot, error) {
	p, err := s.signer.ParsePhone(token)
	if err != nil {
		return p, nil, err
	}
	snap, err := s.store.Load(ctx, p.OrderID)
	if errors.Is(err, filing.ErrOrderNotFound) {
		return p, nil, filing.ErrTokenRevoked
	}
	if err != nil {
		return p, nil, err
	}
	if err := checkPhone(snap, p); err != nil {
		return p, nil, err
	}
	return p, snap, nil
}

func checkPhone(snap *Snapshot, p auth.Phone) error {
	if snap.Pairing == nil || snap.Pairing.ID != p.PairingID || snap.Pairing.DeviceID != p.DeviceID {
		return filing.ErrTokenRevoked
	}
	return nil
}

// AuthorizeDesktop checks a desktop token for the order. Another order's token gets
// order_not_found, so a token never tells whether some other order exists.
func (s *Service) AuthorizeDesktop(token, orderID string) error {
	id, err := s.signer.ParseDesktop(token)
	if err != nil {
		return err
	}
	if id != orderID {
		return filing.ErrOrderNotFound
	}
	return nil
}
