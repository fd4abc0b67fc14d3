package orders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"

	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/images"
)

// Upload is one image arriving for a slot.
type Upload struct {
	OrderID string
	Slot    filing.Slot
	Via     filing.Via
	Body    io.Reader
	// Size is the body's declared length (Content-Length, or what the edge reserved for
	// it), which sizes the buffer it is read into; 0 or negative when unknown.
	Size int64
	Fit  bool
	// IdempotencyKey makes a retry return the first answer.
	IdempotencyKey string
	// Phone is set for app uploads (AuthorizePhone's session): the upload counts only while
	// its pairing stands, and the checks before the image is read judge the session's
	// snapshot instead of loading the order again.
	Phone *PhoneSession
}

func (s *Service) imageOptions(ord *filing.Order, slot filing.Slot, fit bool) images.Options {
	o := s.cfg.Images
	o.Fit = fit
	o.Faces = ord.FaceCheck(slot)
	return o
}

// ReadLimit is the most bytes an upload may carry, for the edge's MaxBytesReader.
func (s *Service) ReadLimit(fit bool) int64 {
	l := s.cfg.Images.Limits()
	if fit {
		return l.FitMaxBytes
	}
	return l.MaxBytes
}

type remembered struct {
	Slot     filing.Slot     `json:"slot"`
	Material filing.Material `json:"material"`
}

// idempotencyHash scopes a key to where the upload came from: the desktop, or one phone's
// pairing, so a key reused by another phone is another upload.
func idempotencyHash(u Upload) string {
	scope := string(u.Via)
	if u.Phone != nil {
		scope += "/" + u.Phone.Phone.PairingID
	}
	sum := sha256.Sum256([]byte(scope + "\x00" + u.IdempotencyKey))
	return hex.EncodeToString(sum[:])
}

// Upload validates an image, stores it durably, records it and announces it. It answers
// only after the bytes are fsynced and the metadata is written.
func (s *Service) Upload(ctx context.Context, u Upload) (*filing.Material, error) {
	// Decide everything that does not need the image before reading a byte of it.
	snap, err := s.uploadSnapshot(ctx, u)
	if err != nil {
		return nil, err
	}
	if err := precheck(snap, u); err != nil {
		return nil, err
	}
	var idem string
	if u.IdempotencyKey != "" {
		idem = idempotencyHash(u)
		if m, err := s.remembered(ctx, snap, idem, u.Slot); m != nil || err != nil {
			return m, err
		}
	}
	data, err := s.readBody(u)
	if err != nil {
		return nil, err
	}
	res, w, err := s.process(ctx, u.OrderID, data, s.imageOptions(snap.Order, u.Slot, u.Fit))
	if err != nil {
		return nil, err
	}
	return s.save(ctx, u, idem, res, w)
}

// uploadSnapshot is the order the pre-checks judge: the phone session's, if it is of this
// order, else a fresh read.
func (s *Service) uploadSnapshot(ctx context.Context, u Upload) (*Snapshot, error) {
	if u.Phone != nil {
		if snap := u.Phone.Snapshot; snap != nil && snap.Order != nil && snap.Order.ID == u.OrderID {
			return snap, nil
		}
	}
	return s.store.Load(ctx, u.OrderID)
}

// precheck is whether the order snap may take the upload: a phone's only while its pairing
// stands, and the slot only in a state and by a way that accepts it. Upload judges it before
// reading the image, and save again on the stored order, which may have moved on meanwhile.
func precheck(snap *Snapshot, u Upload) error {
	if u.Phone != nil {
		if err := checkPhone(snap, u.Phone.Phone); err != nil {
			return err
		}
	}
	return snap.Order.CheckUpload(u.Slot, u.Via)
}

// Stitch combines several images into one (the FAQ: 将资料与备案主体证件拼成一张图片) and
// stores it in the slot like any desktop upload.
func (s *Service) Stitch(ctx context.Context, orderID string, slot filing.Slot, parts [][]byte) (*filing.Material, error) {
	snap, err := s.store.Load(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if err := snap.Order.CheckUpload(slot, filing.ViaPC); err != nil {
		return nil, err
	}
	res, err := s.stitch(ctx, parts, s.imageOptions(snap.Order, slot, false))
	if err != nil {
		return nil, err
	}
	return s.save(ctx, Upload{OrderID: orderID, Slot: slot, Via: filing.ViaPC}, "", res, nil)
}

// remembered returns the first answer to an upload with this idempotency key, but only
// while the slot of snap still holds that very material (same sha256): a retry after a lost
// reply then changes nothing. Once the material was removed or replaced the key is spent and
// nil is returned, so the request is processed as the new upload it is; answering with the
// old material would acknowledge an image that is no longer stored.
func (s *Service) remembered(ctx context.Context, snap *Snapshot, idem string, slot filing.Slot) (*filing.Material, error) {
	b, err := s.store.Remembered(ctx, snap.Order.ID, idem)
	if err != nil || b == nil {
		return nil, err
	}
	var r remembered
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if r.Slot != slot {
		return nil, filing.ErrInvalidRequest.WithMessage(
			"This Idempotency-Key was already used for another slot.",
			"该 Idempotency-Key 已用于其他资料。")
	}
	if cur, ok := snap.Materials[slot]; !ok || cur.SHA256 != r.Material.SHA256 {
		return nil, nil
	}
	return &r.Material, nil
}

// save writes a validated image and its metadata, in that order, so that metadata never
// points at bytes that are not on disk. w is the image's write if process started it.
func (s *Service) save(ctx context.Context, u Upload, idem string, res *images.Result, w *pendingWrite) (*filing.Material, error) {
	sha, err := s.durable(ctx, u.OrderID, res.Data, w)
	if err != nil {
		return nil, err
	}
	m := filing.Material{
		Slot: u.Slot, Format: string(res.Format), Size: int64(len(res.Data)), SHA256: sha,
		Width: res.Width, Height: res.Height, Via: u.Via, UploadedAt: s.now(),
		Warnings: res.Warnings, Fitted: res.Fitted, OriginalSize: res.OriginalSize,
	}
	if m.Warnings == nil {
		m.Warnings = []string{}
	}
	// The device's index is written before the order's transaction, in a slot of its own:
	// an entry for an upload that then fails is told apart on read (docs/architecture.md,
	// "The phone's list").
	if d := s.devices(); d != nil && u.Phone != nil && u.Phone.Phone.DeviceID != "" {
		if err := d.NoteDeviceUpload(ctx, s.signer.DeviceHash(u.Phone.Phone.DeviceID), u.OrderID, u.Slot, m.UploadedAt, s.cfg.Retention); err != nil {
			return nil, err
		}
	}
	// A replaced image, and this one if its record is refused, are left to the sweeper
	// (see the comment above Material).
	_, err = s.store.Update(ctx, u.OrderID, func(snap *Snapshot) ([]Event, error) {
		// The order may have moved on while the image was checked.
		if err := precheck(snap, u); err != nil {
			return nil, err
		}
		snap.Materials[u.Slot] = m
		snap.Order.UpdatedAt = m.UploadedAt
		snap.Order.MaterialReplaced(u.Slot)
		actor := ActorDesktop
		if u.Phone != nil {
			actor = ActorPhone
		}
		s.audit(ctx, snap, actor, AuditUpload, u.Slot)
		return s.settle(snap, []Event{s.event(u.OrderID, events.MaterialUploaded, m)}), nil
	})
	if err != nil {
		return nil, err
	}
	if d := s.devices(); d != nil && u.Phone != nil && u.Phone.Phone.DeviceID != "" {
		if err := d.ConfirmDeviceUpload(ctx, s.signer.DeviceHash(u.Phone.Phone.DeviceID), u.OrderID, u.Slot, m.UploadedAt, s.cfg.Retention); err != nil {
			// The upload is stored; a reader confirms it against the order (DeviceUploads).
			s.cfg.Logger.WarnContext(ctx, "device index confirmation failed", "order", u.OrderID, "err", err)
		}
	}
	if idem != "" {
		// The upload is stored either way; without its record a retry is stored again (and
		// replaces it), so a failure here is logged, not returned.
		b, err := json.Marshal(remembered{Slot: u.Slot, Material: m})
		if err == nil {
			err = s.store.Remember(ctx, u.OrderID, idem, b, s.cfg.IdempotencyTTL)
		}
		if err != nil {
			s.cfg.Logger.WarnContext(ctx, "idempotency record failed", "order", u.OrderID, "err", err)
		}
	}
	return &m, nil
}

// Images no slot refers to any more (replaced, removed, or written for an upload whose record
// was refused) are not deleted here but by the sweeper (internal/sweep), which deletes every
// blob no stored material refers to once it is older than twice the upload timeout, at
// least every minute. Blobs are keyed by their content, so two slots, or a slot and an
// upload in flight, share one: a delete here, however it checked the references first,
// could fall between another upload's write of the same bytes and its record, and take an
// acknowledged image with it. The sweeper's age rule closes that: a blob written by an
// upload still in flight is younger than the rule, and one rewritten after it was listed is
// not removed (blob.ErrChanged).

// Material returns the metadata of a slot's material and its blob key.
func (s *Service) Material(ctx context.Context, orderID string, slot filing.Slot) (*filing.Material, string, error) {
	if !slot.Valid() {
		return nil, "", filing.ErrMaterialNotFound
	}
	snap, err := s.store.Load(ctx, orderID)
	if err != nil {
		return nil, "", err
	}
	m, ok := snap.Materials[slot]
	if !ok {
		return nil, "", filing.ErrMaterialNotFound
	}
	return &m, blob.Key(orderID, m.SHA256), nil
}

// RemoveMaterial removes a slot's material.
func (s *Service) RemoveMaterial(ctx context.Context, orderID string, slot filing.Slot) error {
	_, err := s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		if err := snap.Order.CheckRemove(slot); err != nil {
			return nil, err
		}
		if _, ok := snap.Materials[slot]; !ok {
			return nil, filing.ErrMaterialNotFound
		}
		delete(snap.Materials, slot)
		s.audit(ctx, snap, ActorDesktop, AuditRemove, slot)
		snap.Order.UpdatedAt = s.now()
		return s.settle(snap, []Event{s.event(orderID, events.MaterialRemoved, map[string]any{"slot": slot})}), nil
	})
	return err // the image itself is left to the sweeper (see the comment above Material)
}

// Complete is the phone saying it is done.
func (s *Service) Complete(ctx context.Context, p auth.Phone) (*Snapshot, error) {
	return s.store.Update(ctx, p.OrderID, func(snap *Snapshot) ([]Event, error) {
		if err := checkPhone(snap, p); err != nil {
			return nil, err
		}
		if missing := snap.Order.Missing(snap.has); len(missing) > 0 {
			return nil, filing.ErrMaterialsIncomplete.WithDetails(map[string]any{"missing": missing})
		}
		snap.Pairing.Completed = true
		s.audit(ctx, snap, ActorPhone, AuditComplete, "")
		return []Event{s.event(p.OrderID, events.UploadComplete, map[string]any{"device": p.DeviceID})}, nil
	})
}
