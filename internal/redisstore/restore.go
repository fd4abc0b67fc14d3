package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
)

// OrderIDs lists every stored order, for `beianscan restore-check`, which runs after a
// restore with no instance serving: it scans the whole database (never done in steady
// state).
func (s *Store) OrderIDs(ctx context.Context) (_ []string, err error) {
	defer translate(&err)
	var ids []string
	_, err = s.eachOrder(ctx, func(_ *redis.Client, _, id string) (bool, error) {
		ids = append(ids, id)
		return false, nil
	})
	return ids, err
}

// DropLostMaterial removes the material of slot when it is still the image sha256 and the
// order's state lets materials change, in one transaction with a `remove` audit entry by
// the system: after a restore to an older point the image may be gone from the blob store
// (replaced or removed after the backup), and a material whose image cannot be read must
// not be listed as uploaded. It reports whether it removed it; an order that no longer
// allows changes (submitted, approved) keeps it and returns the state's error.
func (s *Store) DropLostMaterial(ctx context.Context, id string, slot filing.Slot, sha256 string, at time.Time) (dropped bool, err error) {
	_, err = s.Update(ctx, id, func(snap *orders.Snapshot) ([]orders.Event, error) {
		dropped = false
		m, ok := snap.Materials[slot]
		if !ok || m.SHA256 != sha256 {
			return nil, orders.ErrUnchanged
		}
		if err := snap.Order.CheckRemove(slot); err != nil {
			return nil, err
		}
		delete(snap.Materials, slot)
		snap.Audit = append(snap.Audit, orders.AuditEntry{At: at, Actor: orders.ActorSystem, Action: orders.AuditRemove, Slot: slot})
		snap.Order.UpdatedAt = at
		dropped = true
		return nil, nil
	})
	return dropped, err
}
