// Package orders is the service of the "upload filing materials" step: it applies the
// domain rules of internal/filing to stored orders, pairs phones by QR code, validates and
// stores uploads, and raises the events the desktop watches. Storage sits behind the small
// Store and Blobs interfaces declared here.
package orders

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beianscan/beianscan/internal/appversion"
	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/images"
)

// ErrUnchanged, returned by an Update's change function, ends the update without writing
// or publishing anything; Update then returns the snapshot and no error.
var ErrUnchanged = errors.New("orders: unchanged")

// Config tunes the service. Zero fields take the defaults given.
type Config struct {
	// PublicURL is the base of scan_url in the QR code; default http://localhost:8080.
	PublicURL string
	// PairingTTL is how long an unclaimed QR stays claimable; default 5m.
	PairingTTL time.Duration
	// PhoneTokenTTL is the phone token's life; default 30m.
	PhoneTokenTTL time.Duration
	// DesktopTokenTTL is the desktop token's life; default 72h.
	DesktopTokenTTL time.Duration
	// MinAppVersion is the oldest app that may claim; default 3.16.0.
	MinAppVersion string
	// AppProvinces are the provinces where app verification is open; default
	// filing.DefaultAppProvinces. An empty non-nil slice means none.
	AppProvinces []string
	// ClaimGuessLimit is how many unmatched codes one IP may claim per GuessWindow;
	// 0 turns the limit off (the command line's default is 20).
	ClaimGuessLimit int
	// GuessWindow is the window of ClaimGuessLimit; default 10m.
	GuessWindow time.Duration
	// IdempotencyTTL is how long an upload's first answer is kept for its retries; default 24h.
	IdempotencyTTL time.Duration
	// Images sets the image rules; zero fields take the images package's defaults.
	Images images.Options
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Service carries out every operation of the contract on stored orders.
type Service struct {
	cfg     Config
	store   Store
	blobs   Blobs
	signer  *auth.Signer
	codeKey []byte
}

// New returns a service. secret seeds the pairing codes; it is the same secret that signs
// the tokens, so every instance derives the same code for a pairing.
func New(cfg Config, store Store, blobs Blobs, signer *auth.Signer, secret []byte) *Service {
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:8080"
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.PairingTTL <= 0 {
		cfg.PairingTTL = 5 * time.Minute
	}
	if cfg.PhoneTokenTTL <= 0 {
		cfg.PhoneTokenTTL = 30 * time.Minute
	}
	if cfg.DesktopTokenTTL <= 0 {
		cfg.DesktopTokenTTL = 72 * time.Hour
	}
	if cfg.MinAppVersion == "" {
		cfg.MinAppVersion = "3.16.0"
	}
	if cfg.AppProvinces == nil {
		cfg.AppProvinces = filing.DefaultAppProvinces
	}
	if cfg.GuessWindow <= 0 {
		cfg.GuessWindow = 10 * time.Minute
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("beianscan pairing code v1"))
	return &Service{cfg: cfg, store: store, blobs: blobs, signer: signer, codeKey: mac.Sum(nil)}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// AppAvailable reports whether app verification is open in the province.
func (s *Service) AppAvailable(province string) bool {
	return slices.Contains(s.cfg.AppProvinces, province)
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomID returns 128 random bits, base32: order IDs, and pairing IDs from which codes
// are derived.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return idEncoding.EncodeToString(b)
}

// validID reports whether s could be an ID made by randomID, so that nothing else is ever
// built into a Redis key.
func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || '2' <= r && r <= '7') {
			return false
		}
	}
	return true
}

// CreateOrder validates the input, stores a draft order and returns it with a desktop token.
func (s *Service) CreateOrder(ctx context.Context, in filing.NewOrderInput) (*Snapshot, string, error) {
	o, err := filing.NewOrder(randomID(), in, s.now())
	if err != nil {
		return nil, "", err
	}
	if err := s.store.CreateOrder(ctx, o); err != nil {
		return nil, "", err
	}
	token, _, err := s.signer.DesktopToken(o.ID, s.cfg.DesktopTokenTTL)
	if err != nil {
		return nil, "", err
	}
	return &Snapshot{Order: o, Materials: map[filing.Slot]filing.Material{}}, token, nil
}

// Load returns the order's snapshot.
func (s *Service) Load(ctx context.Context, orderID string) (*Snapshot, error) {
	return s.store.Load(ctx, orderID)
}

func (s *Service) event(orderID, typ string, data any) Event {
	if data == nil {
		data = struct{}{}
	}
	return Event{Type: typ, OrderID: orderID, At: s.now(), Data: data}
}

// settle moves the order between draft and uploaded and adds the state_changed event.
func (s *Service) settle(snap *Snapshot, evs []Event) []Event {
	if t := snap.Order.Settle(snap.has, s.now()); t != nil {
		evs = append(evs, s.event(snap.Order.ID, EventStateChanged, t))
	}
	return evs
}

// dropPairing revokes the order's pairing; a phone that had claimed it is told it is
// disconnected, an unclaimed QR lapses.
func (s *Service) dropPairing(snap *Snapshot, reason string, evs []Event) []Event {
	p := snap.Pairing
	if p == nil {
		return evs
	}
	snap.Pairing = nil
	switch {
	case p.Claimed():
		evs = append(evs, s.event(snap.Order.ID, EventPhoneDisconnected, map[string]any{"device": p.DeviceID, "reason": reason}))
	case !p.Expired:
		evs = append(evs, s.event(snap.Order.ID, EventPairingExpired, map[string]any{"pairing_id": p.ID, "reason": reason}))
	}
	return evs
}

// ChooseMethod sets the upload method. Leaving the app revokes the QR and its phone.
func (s *Service) ChooseMethod(ctx context.Context, orderID string, m filing.UploadMethod) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		o := snap.Order
		if err := o.ChooseMethod(m, s.AppAvailable(o.Province), s.now()); err != nil {
			return nil, err
		}
		var evs []Event
		if m != filing.MethodApp {
			evs = s.dropPairing(snap, "method_changed", evs)
		}
		return s.settle(snap, evs), nil
	})
}

// PairingView is the pairing as the desktop sees it.
type PairingView struct {
	ID         string    `json:"id"`
	ExpiresAt  time.Time `json:"expires_at"`
	QRPNGURL   string    `json:"qr_png_url"`
	ScanURL    string    `json:"scan_url,omitempty"`
	Claimed    bool      `json:"claimed"`
	Expired    bool      `json:"expired"`
	Device     string    `json:"device,omitempty"`
	AppVersion string    `json:"app_version,omitempty"`
	Completed  bool      `json:"completed"`
}

// code derives a pairing's code from the pairing ID and the shared secret: 256 bits no one
// can guess without the secret, recomputable on any instance, so the code never needs to
// be stored. The order ID in front lets a claim find the pairing under the order's hash tag.
func (s *Service) code(orderID, pairingID string) string {
	mac := hmac.New(sha256.New, s.codeKey)
	mac.Write([]byte(orderID + "/" + pairingID))
	return orderID + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func hashCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// ScanURL is what the QR code of a pairing holds.
func (s *Service) ScanURL(orderID, pairingID string) string {
	return s.cfg.PublicURL + "/m/scan?code=" + url.QueryEscape(s.code(orderID, pairingID))
}

// ViewPairing renders p for its order's desktop.
func (s *Service) ViewPairing(orderID string, p *Pairing) *PairingView {
	if p == nil {
		return nil
	}
	v := &PairingView{
		ID: p.ID, ExpiresAt: p.ExpiresAt,
		QRPNGURL: "/api/v1/orders/" + orderID + "/pairing/qr.png",
		Claimed:  p.Claimed(), Expired: p.Expired || (!p.Claimed() && !s.now().Before(p.ExpiresAt)),
		Device: p.DeviceID, AppVersion: p.AppVersion, Completed: p.Completed,
	}
	if !v.Claimed && !v.Expired {
		v.ScanURL = s.ScanURL(orderID, p.ID)
	}
	return v
}

// CreatePairing starts a new QR pairing, revoking any earlier one and its phone.
func (s *Service) CreatePairing(ctx context.Context, orderID string, desktop DesktopInfo) (*Snapshot, error) {
	pairingID := randomID()
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		if err := snap.Order.CheckPairing(s.AppAvailable(snap.Order.Province)); err != nil {
			return nil, err
		}
		evs := s.dropPairing(snap, "replaced", nil)
		now := s.now()
		desktop.CreatedAt = now
		snap.Pairing = &Pairing{
			ID: pairingID, CodeHash: hashCode(s.code(orderID, pairingID)),
			CreatedAt: now, ExpiresAt: now.Add(s.cfg.PairingTTL), Desktop: desktop,
		}
		return append(evs, s.event(orderID, EventPairingCreated, map[string]any{
			"id": pairingID, "expires_at": snap.Pairing.ExpiresAt,
			"qr_png_url": "/api/v1/orders/" + orderID + "/pairing/qr.png",
		})), nil
	})
}

// RevokePairing revokes the order's pairing; the phone's token stops working.
func (s *Service) RevokePairing(ctx context.Context, orderID string) error {
	_, err := s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		if snap.Pairing == nil {
			return nil, ErrUnchanged
		}
		return s.dropPairing(snap, "revoked", nil), nil
	})
	return err
}

// ExpirePairing publishes pairing_expired for an unclaimed pairing whose time has come.
// Every instance holding a websocket for the order may call it; the store's atomic update
// lets exactly one of them publish.
func (s *Service) ExpirePairing(ctx context.Context, orderID, pairingID string) error {
	_, err := s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		p := snap.Pairing
		if p == nil || p.ID != pairingID || p.Claimed() || p.Expired || s.now().Before(p.ExpiresAt) {
			return nil, ErrUnchanged
		}
		p.Expired = true
		return []Event{s.event(orderID, EventPairingExpired, map[string]any{"pairing_id": p.ID, "reason": "expired"})}, nil
	})
	return err
}

// QRScanURL returns the scan URL of the order's current pairing while it can be claimed.
func (s *Service) QRScanURL(ctx context.Context, orderID string) (string, error) {
	snap, err := s.store.Load(ctx, orderID)
	if err != nil {
		return "", err
	}
	p := snap.Pairing
	if p == nil || p.Claimed() || p.Expired || !s.now().Before(p.ExpiresAt) {
		return "", filing.ErrPairingNotFound
	}
	return s.ScanURL(orderID, p.ID), nil
}

// ClaimResult is what a phone gets for a successful claim.
type ClaimResult struct {
	Snapshot   *Snapshot
	PhoneToken string
	ExpiresAt  time.Time
}

// Claim lets a phone claim a pairing code.
func (s *Service) Claim(ctx context.Context, code, deviceID, appVersion, ip string) (*ClaimResult, error) {
	if err := appversion.Check(appVersion, s.cfg.MinAppVersion); err != nil {
		return nil, err
	}
	deviceID = strings.TrimSpace(deviceID)
	if deviceID == "" || len(deviceID) > 128 {
		return nil, filing.ErrInvalidRequest.WithMessage(
			"The X-Device-Id header is required (at most 128 characters).",
			"缺少设备标识（X-Device-Id）。")
	}
	now := s.now()
	if s.cfg.ClaimGuessLimit > 0 {
		wait, err := s.store.GuessBlocked(ctx, ip, s.cfg.ClaimGuessLimit, s.cfg.GuessWindow, now)
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			return nil, filing.ErrRateLimited.WithDetails(map[string]any{"retry_after_seconds": int(wait.Seconds() + 0.999)})
		}
	}
	orderID, _, ok := strings.Cut(code, ".")
	var snap *Snapshot
	var err error = filing.ErrPairingNotFound
	if ok && len(code) <= 200 && validID(orderID) {
		snap, err = s.store.Claim(ctx, ClaimRequest{
			OrderID: orderID, CodeHash: hashCode(code), DeviceID: deviceID, AppVersion: appVersion,
			Now: now, AppProvinces: s.cfg.AppProvinces,
		})
	}
	if errors.Is(err, filing.ErrPairingNotFound) && s.cfg.ClaimGuessLimit > 0 {
		if rerr := s.store.RecordGuess(ctx, ip, s.cfg.GuessWindow, now); rerr != nil {
			return nil, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	token, exp, err := s.signer.PhoneToken(auth.Phone{OrderID: orderID, PairingID: snap.Pairing.ID, DeviceID: deviceID}, s.cfg.PhoneTokenTTL)
	if err != nil {
		return nil, err
	}
	return &ClaimResult{Snapshot: snap, PhoneToken: token, ExpiresAt: exp}, nil
}

// Phone checks a phone token against the order's current pairing and returns the
// snapshot: a token of a revoked or replaced pairing stops working at once.
func (s *Service) Phone(ctx context.Context, token string) (auth.Phone, *Snapshot, error) {
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

// Desktop checks a desktop token for the order. Another order's token gets
// order_not_found, so a token never tells whether some other order exists.
func (s *Service) Desktop(token, orderID string) error {
	id, err := s.signer.ParseDesktop(token)
	if err != nil {
		return err
	}
	if id != orderID {
		return filing.ErrOrderNotFound
	}
	return nil
}

// Upload is one image arriving for a slot.
type Upload struct {
	OrderID string
	Slot    filing.Slot
	Via     filing.Via
	Body    io.Reader
	Fit     bool
	// IdempotencyKey makes a retry return the first answer.
	IdempotencyKey string
	// Phone is set for app uploads: the upload counts only while its pairing stands.
	Phone *auth.Phone
}

func (s *Service) imageOptions(slot filing.Slot, fit bool) images.Options {
	o := s.cfg.Images
	o.Fit = fit
	o.Face = slot == filing.SlotFacePhoto
	return o
}

// ReadLimit is the most bytes an upload may carry, for the edge's MaxBytesReader.
func (s *Service) ReadLimit(fit bool) int64 {
	o := s.cfg.Images
	if fit {
		if o.FitMaxBytes > 0 {
			return o.FitMaxBytes
		}
		return 20 << 20
	}
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return 4 << 20
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
		scope += "/" + u.Phone.PairingID
	}
	sum := sha256.Sum256([]byte(scope + "\x00" + u.IdempotencyKey))
	return hex.EncodeToString(sum[:])
}

// Upload validates an image, stores it durably, records it and announces it. It answers
// only after the bytes are fsynced and the metadata is written.
func (s *Service) Upload(ctx context.Context, u Upload) (*filing.Material, error) {
	// Decide everything that does not need the image before reading a byte of it.
	snap, err := s.store.Load(ctx, u.OrderID)
	if err != nil {
		return nil, err
	}
	if u.Phone != nil {
		if err := checkPhone(snap, *u.Phone); err != nil {
			return nil, err
		}
	}
	if err := snap.Order.CheckUpload(u.Slot, u.Via); err != nil {
		return nil, err
	}
	var idem string
	if u.IdempotencyKey != "" {
		idem = idempotencyHash(u)
		if m, err := s.remembered(ctx, u.OrderID, idem, u.Slot); m != nil || err != nil {
			return m, err
		}
	}
	data, err := images.ReadLimited(u.Body, s.ReadLimit(u.Fit))
	if err != nil {
		return nil, err
	}
	res, err := images.Process(data, s.imageOptions(u.Slot, u.Fit))
	if err != nil {
		return nil, err
	}
	return s.store1(ctx, u, idem, res)
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
	res, err := images.Stitch(parts, s.imageOptions(slot, false))
	if err != nil {
		return nil, err
	}
	return s.store1(ctx, Upload{OrderID: orderID, Slot: slot, Via: filing.ViaPC}, "", res)
}

func (s *Service) remembered(ctx context.Context, orderID, idem string, slot filing.Slot) (*filing.Material, error) {
	b, err := s.store.Remembered(ctx, orderID, idem)
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
	return &r.Material, nil
}

func blobKey(orderID, sha string) string { return orderID + "/" + sha }

// store1 writes a validated image and its metadata, in that order, so that metadata never
// points at bytes that are not on disk.
func (s *Service) store1(ctx context.Context, u Upload, idem string, res *images.Result) (*filing.Material, error) {
	sum := sha256.Sum256(res.Data)
	sha := hex.EncodeToString(sum[:])
	if err := s.blobs.Put(ctx, blobKey(u.OrderID, sha), res.Data); err != nil {
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
	var old *filing.Material
	snap, err := s.store.Update(ctx, u.OrderID, func(snap *Snapshot) ([]Event, error) {
		old = nil
		// The order may have moved on while the image was checked.
		if u.Phone != nil {
			if err := checkPhone(snap, *u.Phone); err != nil {
				return nil, err
			}
		}
		if err := snap.Order.CheckUpload(u.Slot, u.Via); err != nil {
			return nil, err
		}
		if prev, ok := snap.Materials[u.Slot]; ok {
			old = &prev
		}
		snap.Materials[u.Slot] = m
		snap.Order.UpdatedAt = m.UploadedAt
		return s.settle(snap, []Event{s.event(u.OrderID, EventMaterialUploaded, m)}), nil
	})
	if err != nil {
		s.forget(ctx, u.OrderID, sha, nil)
		return nil, err
	}
	if old != nil && old.SHA256 != sha {
		s.forget(ctx, u.OrderID, old.SHA256, snap)
	}
	if idem != "" {
		b, _ := json.Marshal(remembered{Slot: u.Slot, Material: m})
		if err := s.store.Remember(ctx, u.OrderID, idem, b, s.cfg.IdempotencyTTL); err != nil {
			s.cfg.Logger.WarnContext(ctx, "idempotency record failed", "order", u.OrderID, "err", err)
		}
	}
	return &m, nil
}

// forget deletes an image nobody refers to any more: identity documents are not kept
// longer than the order needs them. snap, when known, is the order after the change.
func (s *Service) forget(ctx context.Context, orderID, sha string, snap *Snapshot) {
	if snap == nil {
		var err error
		if snap, err = s.store.Load(ctx, orderID); err != nil {
			return
		}
	}
	for _, m := range snap.Materials {
		if m.SHA256 == sha {
			return
		}
	}
	if err := s.blobs.Delete(ctx, blobKey(orderID, sha)); err != nil {
		s.cfg.Logger.WarnContext(ctx, "blob delete failed", "order", orderID, "err", err)
	}
}

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
	return &m, blobKey(orderID, m.SHA256), nil
}

// RemoveMaterial removes a slot's material.
func (s *Service) RemoveMaterial(ctx context.Context, orderID string, slot filing.Slot) error {
	var old filing.Material
	snap, err := s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		if err := snap.Order.CheckRemove(slot); err != nil {
			return nil, err
		}
		m, ok := snap.Materials[slot]
		if !ok {
			return nil, filing.ErrMaterialNotFound
		}
		old = m
		delete(snap.Materials, slot)
		snap.Order.UpdatedAt = s.now()
		return s.settle(snap, []Event{s.event(orderID, EventMaterialRemoved, map[string]any{"slot": slot})}), nil
	})
	if err != nil {
		return err
	}
	s.forget(ctx, orderID, old.SHA256, snap)
	return nil
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
		return []Event{s.event(p.OrderID, EventUploadComplete, map[string]any{"device": p.DeviceID})}, nil
	})
}

// Submit sends the order for review.
func (s *Service) Submit(ctx context.Context, orderID string) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		t, err := snap.Order.Submit(snap.has, s.now())
		if err != nil {
			return nil, err
		}
		return []Event{s.event(orderID, EventStateChanged, t)}, nil
	})
}

// Withdraw takes the order back to draft and clears the method; the QR pairing goes too.
func (s *Service) Withdraw(ctx context.Context, orderID string) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		t, err := snap.Order.Withdraw(s.now())
		if err != nil {
			return nil, err
		}
		evs := s.dropPairing(snap, "withdrawn", nil)
		return append(evs, s.event(orderID, EventStateChanged, t)), nil
	})
}

// Review records the authority's decision.
func (s *Service) Review(ctx context.Context, orderID string, approved bool, reason string) (*Snapshot, error) {
	return s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		t, err := snap.Order.Review(approved, reason, s.now())
		if err != nil {
			return nil, err
		}
		data := map[string]any{"from": t.From, "to": t.To}
		if !approved {
			data["reason"] = snap.Order.RejectReason
		}
		return []Event{s.event(orderID, EventStateChanged, data)}, nil
	})
}

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// CheckAppVersion refuses a missing, malformed or too old app version.
func (s *Service) CheckAppVersion(v string) error { return appversion.Check(v, s.cfg.MinAppVersion) }

// MinAppVersion is the oldest app version that may pair.
func (s *Service) MinAppVersion() string { return s.cfg.MinAppVersion }
