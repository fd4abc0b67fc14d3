package orders

import (
	"context"

	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
)

// ChooseMethod sets the upload method. Leaving the app revokes the QR and its phone.
func (s *Service) ChooseMethod(ctx context.Context, orderID string, m filing.UploadMethod) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		o := snap.Order
		from := o.UploadMethod
		if err := o.ChooseMethod(m, s.AppAvailable(o.Province), s.now()); err != nil {
			return nil, err
		}
		s.audit(ctx, snap, ActorDesktop, AuditMethod, "")
		var evs []Event
		if m != filing.MethodApp {
			evs = s.dropPairing(snap, "method_changed", evs)
		}
		evs = s.methodChanged(snap, from, evs)
		return s.settle(snap, evs), nil
	})
}

// Submit sends the order for review.
func (s *Service) Submit(ctx context.Context, orderID string) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		t, err := snap.Order.Submit(snap.has, s.now())
		if err != nil {
			return nil, err
		}
		s.audit(ctx, snap, ActorDesktop, AuditSubmit, "")
		return []Event{s.event(orderID, events.StateChanged, t)}, nil
	})
}

// Withdraw takes the order back to draft and clears the method; the QR pairing goes too.
func (s *Service) Withdraw(ctx context.Context, orderID string) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		from := snap.Order.UploadMethod
		t, err := snap.Order.Withdraw(s.now())
		if err != nil {
			return nil, err
		}
		s.audit(ctx, snap, ActorDesktop, AuditWithdraw, "")
		evs := s.dropPairing(snap, "withdrawn", nil)
		evs = s.methodChanged(snap, from, evs)
		return append(evs, s.event(orderID, events.StateChanged, t)), nil
	})
}

// methodChanged adds the method_changed event when the order's method is no longer from,
// so a second tab on the order follows the change live.
func (s *Service) methodChanged(snap *Snapshot, from filing.UploadMethod, evs []Event) []Event {
	to := snap.Order.UploadMethod
	if to == from {
		return evs
	}
	return append(evs, s.event(snap.Order.ID, events.MethodChanged, map[string]any{"from": from, "to": to}))
}

// Review records the authority's decision.
func (s *Service) Review(ctx context.Context, orderID string, approved bool, reason string) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		t, err := snap.Order.Review(approved, reason, s.now())
		if err != nil {
			return nil, err
		}
		s.audit(ctx, snap, ActorOperator, AuditReview, "")
		snap.Hold = nil
		data := map[string]any{"from": t.From, "to": t.To}
		if !approved {
			data["reason"] = snap.Order.RejectReason
		}
		return []Event{s.event(orderID, events.StateChanged, data),
			s.event(orderID, events.ReviewDecided, s.viewReview(snap.Order))}, nil
	})
}
