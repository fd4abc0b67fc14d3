package orders

import (
	"context"
	"errors"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// DefaultDeviceTokenTTL is BEIANSCAN_DEVICE_TOKEN_TTL's default: the device token outlives
// any order's retention, so the list stays reachable for as long as there is something in it.
const DefaultDeviceTokenTTL = 4320 * time.Hour

// MaxDeviceOrders is the most orders the phone's list shows.
const MaxDeviceOrders = 50

// DeviceUpload is one entry of a device's index: an order it uploaded to, when first and
// last, and the slots.
type DeviceUpload struct {
	OrderID string
	First   time.Time
	Last    time.Time
	Slots   []filing.Slot
}

// DeviceIndex is what a Store may offer to keep the orders each device uploaded to
// (docs/architecture.md, "The phone's list"). device is auth.Signer.DeviceHash.
type DeviceIndex interface {
	// NoteDeviceUpload records, before the upload's own write, that device is uploading
	// slot of order at at; keep is the index's retention.
	NoteDeviceUpload(ctx context.Context, device, orderID string, slot filing.Slot, at time.Time, keep time.Duration) error
	// ConfirmDeviceUpload marks a noted upload as committed, after the order's write.
	ConfirmDeviceUpload(ctx context.Context, device, orderID string, slot filing.Slot, at time.Time, keep time.Duration) error
	// DeviceUploads returns the device's entries whose order still exists, newest last
	// upload first, at most limit, with their orders; it drops the entries of orders that
	// are gone.
	DeviceUploads(ctx context.Context, device string, limit int) ([]DeviceUpload, []*Snapshot, error)
	// DeviceGeneration is the device's current generation (0 when never forgotten).
	DeviceGeneration(ctx context.Context, device string) (int64, error)
	// ForgetDevice drops the device's index and raises its generation, which it keeps for
	// keep (the tokens' life).
	ForgetDevice(ctx context.Context, device string, keep time.Duration) error
}

func (s *Service) devices() DeviceIndex {
	d, _ := s.store.(DeviceIndex)
	return d
}

// DeviceSession is an authorised device call.
type DeviceSession struct {
	Hash string
	Gen  int64
}

// AuthorizeDevice checks a device token against the X-Device-Id it came with and the
// device's generation.
func (s *Service) AuthorizeDevice(ctx context.Context, token, deviceID string) (*DeviceSession, error) {
	hash, gen, err := s.signer.ParseDevice(token, deviceID)
	if err != nil {
		return nil, err
	}
	if d := s.devices(); d != nil {
		cur, err := d.DeviceGeneration(ctx, hash)
		if err != nil {
			return nil, err
		}
		if gen < cur {
			return nil, filing.ErrUnauthorized
		}
	}
	return &DeviceSession{Hash: hash, Gen: gen}, nil
}

// DeviceOrder is one line of the phone's list: no ID numbers, masked or not.
type DeviceOrder struct {
	ID          string   `json:"id"`
	SubjectName string   `json:"subject_name"`
	Domains     []string `json:"domains"`
	// DomainsASCII is filing.DomainsASCII of Domains, as in the ORDER view.
	DomainsASCII []string          `json:"domains_ascii"`
	State        filing.State      `json:"state"`
	Review       *filing.Review    `json:"review"`
	Authority    *filing.Authority `json:"authority"`
	VerifiedAt   time.Time         `json:"verified_at"`
	Slots        []filing.Slot     `json:"slots"`
}

// DeviceOrders lists what the device uploaded to, auditing the read on every order listed
// before it is answered; an order gone meanwhile is left out.
func (s *Service) DeviceOrders(ctx context.Context, sess *DeviceSession) ([]DeviceOrder, error) {
	out := []DeviceOrder{}
	d := s.devices()
	if d == nil {
		return out, nil
	}
	ups, snaps, err := d.DeviceUploads(ctx, sess.Hash, MaxDeviceOrders)
	if err != nil {
		return nil, err
	}
	for i, u := range ups {
		o := snaps[i].Order
		err := s.recordRead(ctx, o.ID, AuditEntry{At: s.now(), Actor: ActorPhone, Action: AuditReadList, IP: ClientIP(ctx)})
		if errors.Is(err, filing.ErrOrderNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		v := ViewOrder(snaps[i], false)
		out = append(out, DeviceOrder{
			ID: o.ID, SubjectName: o.SubjectName, Domains: v.Domains, DomainsASCII: v.DomainsASCII, State: v.State,
			Review: v.Review, Authority: v.Authority, VerifiedAt: u.Last, Slots: u.Slots,
		})
	}
	return out, nil
}

// ForgetDevice forgets the device's list and revokes its tokens.
func (s *Service) ForgetDevice(ctx context.Context, sess *DeviceSession) error {
	if d := s.devices(); d != nil {
		return d.ForgetDevice(ctx, sess.Hash, s.cfg.DeviceTokenTTL)
	}
	return nil
}
