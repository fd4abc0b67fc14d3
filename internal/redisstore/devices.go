package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/rediskeys"
)

var (
	//go:embed device_note.lua
	deviceNoteSource string
	deviceNoteScript = redis.NewScript(deviceNoteSource)
)

var _ orders.DeviceIndex = (*Store)(nil)

// deviceCap is the most entries a device's index keeps (the oldest go first): more than
// the list shows, so that entries of orders that are gone do not push live ones out
// before a read drops them.
const deviceCap = 200

// deviceEntry is the JSON of one order in a device's index. Times are Unix ms; first and
// last count confirmed uploads only.
type deviceEntry struct {
	First int64                 `json:"first"`
	Last  int64                 `json:"last"`
	Slots map[string]deviceSlot `json:"slots"`
}

type deviceSlot struct {
	At int64 `json:"at"`
	OK bool  `json:"ok"`
}

func (s *Store) note(ctx context.Context, device, orderID string, slot filing.Slot, at time.Time, keep time.Duration, done bool) error {
	flag := "0"
	if done {
		flag = "1"
	}
	keys := []string{rediskeys.DeviceRecent(device), rediskeys.DeviceOrders(device)}
	return deviceNoteScript.Run(ctx, s.rdb, keys, orderID, string(slot), at.UnixMilli(), keep.Milliseconds(), flag, deviceCap).Err()
}

// NoteDeviceUpload notes an upload in the device's index before the order's transaction.
func (s *Store) NoteDeviceUpload(ctx context.Context, device, orderID string, slot filing.Slot, at time.Time, keep time.Duration) (err error) {
	defer translate(&err)
	return s.note(ctx, device, orderID, slot, at, keep, false)
}

// ConfirmDeviceUpload marks a noted upload as committed, after the order's transaction.
// A failure only leaves the upload for the reader to confirm against the order.
func (s *Store) ConfirmDeviceUpload(ctx context.Context, device, orderID string, slot filing.Slot, at time.Time, keep time.Duration) (err error) {
	defer translate(&err)
	return s.note(ctx, device, orderID, slot, at, keep, true)
}

// DeviceGeneration reads the device's generation.
func (s *Store) DeviceGeneration(ctx context.Context, device string) (_ int64, err error) {
	defer translate(&err)
	g, err := s.rdb.Get(ctx, rediskeys.DeviceGeneration(device)).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return g, err
}

// ForgetDevice drops the device's index and raises its generation in one transaction (the
// three keys share the device's hash tag).
func (s *Store) ForgetDevice(ctx context.Context, device string, keep time.Duration) (err error) {
	defer translate(&err)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, rediskeys.DeviceRecent(device), rediskeys.DeviceOrders(device))
		p.Incr(ctx, rediskeys.DeviceGeneration(device))
		p.PExpire(ctx, rediskeys.DeviceGeneration(device), keep)
		return nil
	})
	return err
}

// DeviceUploads reads the device's index and, beside it, each order it names: entries of
// orders that are gone are dropped; a slot noted but never confirmed counts when the
// order's material in it is the app upload of that very time (the transaction committed
// and only the confirmation was lost), and is confirmed then; other unconfirmed slots are
// uploads that failed and are not shown. Newest last upload first.
func (s *Store) DeviceUploads(ctx context.Context, device string, limit int) (_ []orders.DeviceUpload, _ []*orders.Snapshot, err error) {
	defer translate(&err)
	recentKey, ordersKey := rediskeys.DeviceRecent(device), rediskeys.DeviceOrders(device)
	ids, err := s.rdb.ZRevRange(ctx, recentKey, 0, deviceCap-1).Result()
	if err != nil || len(ids) == 0 {
		return nil, nil, err
	}
	raws, err := s.rdb.HMGet(ctx, ordersKey, ids...).Result()
	if err != nil {
		return nil, nil, err
	}
	reads := make([]func() (stored, error), len(ids))
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			reads[i] = queueLoad(ctx, p, id)
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, err
	}
	type found struct {
		up   orders.DeviceUpload
		snap *orders.Snapshot
	}
	var live []found
	var gone []string
	for i, id := range ids {
		r, err := reads[i]()
		if errors.Is(err, filing.ErrOrderNotFound) {
			gone = append(gone, id)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		snap, err := s.decode(r)
		if err != nil {
			return nil, nil, err
		}
		raw, _ := raws[i].(string)
		var e deviceEntry
		if raw == "" || json.Unmarshal([]byte(raw), &e) != nil {
			gone = append(gone, id)
			continue
		}
		up := orders.DeviceUpload{OrderID: id}
		first, last := e.First, e.Last
		for slot, ds := range e.Slots {
			if !ds.OK {
				m, ok := snap.Materials[filing.Slot(slot)]
				if !ok || m.Via != filing.ViaApp || m.UploadedAt.UnixMilli() != ds.At {
					continue
				}
				// Best effort: a failure leaves it for the next read to confirm.
				_ = s.note(ctx, device, id, filing.Slot(slot), m.UploadedAt, s.retention, true)
				if first == 0 || ds.At < first {
					first = ds.At
				}
				last = max(last, ds.At)
			}
			up.Slots = append(up.Slots, filing.Slot(slot))
		}
		if len(up.Slots) == 0 {
			continue // only uploads that were refused
		}
		sort.Slice(up.Slots, func(a, b int) bool { return up.Slots[a] < up.Slots[b] })
		up.First, up.Last = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		live = append(live, found{up, snap})
	}
	if len(gone) > 0 {
		// Dropped on read: the orders expired or were deleted, and their entries with them.
		s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			members := make([]any, len(gone))
			for i, id := range gone {
				members[i] = id
			}
			p.ZRem(ctx, recentKey, members...)
			p.HDel(ctx, ordersKey, gone...)
			return nil
		})
	}
	// The retention starts again with every read as with every upload; it never outlives
	// the newest order it lists by more than one retention.
	s.rdb.PExpire(ctx, recentKey, s.retention)
	s.rdb.PExpire(ctx, ordersKey, s.retention)
	sort.SliceStable(live, func(a, b int) bool { return live[a].up.Last.After(live[b].up.Last) })
	if len(live) > limit {
		live = live[:limit]
	}
	ups := make([]orders.DeviceUpload, len(live))
	snaps := make([]*orders.Snapshot, len(live))
	for i, f := range live {
		ups[i], snaps[i] = f.up, f.snap
	}
	return ups, snaps, nil
}
