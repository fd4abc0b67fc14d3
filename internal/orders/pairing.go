package orders

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
)

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
		evs = append(evs, s.event(snap.Order.ID, events.PhoneDisconnected, map[string]any{"device": p.DeviceID, "reason": reason}))
	case p.Pending():
		evs = append(evs, s.event(snap.Order.ID, events.PairingExpired, events.PairingExpiredData{PairingID: p.ID, Reason: reason}))
	}
	return evs
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
	DeviceName string    `json:"device_name,omitempty"`
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

// viewPairing renders p for its order's desktop. It is the service's, not a plain
// function: the scan URL is derived from the signing secret.
func (s *Service) viewPairing(orderID string, p *Pairing) *PairingView {
	if p == nil {
		return nil
	}
	now := s.now()
	v := &PairingView{
		ID: p.ID, ExpiresAt: p.ExpiresAt,
		QRPNGURL: "/api/v1/orders/" + orderID + "/pairing/qr.png",
		Claimed:  p.Claimed(), Expired: p.Expired || (!p.Claimed() && p.Lapsed(now)),
		Device: p.DeviceID, DeviceName: p.DeviceName, AppVersion: p.AppVersion, Completed: p.Completed,
	}
	if p.Claimable(now) {
		v.ScanURL = s.ScanURL(orderID, p.ID)
	}
	return v
}

// CreatePairing starts a new QR pairing, revoking any earlier one and its phone, and
// returns it as the desktop sees it.
func (s *Service) CreatePairing(ctx context.Context, orderID string, desktop DesktopInfo) (*PairingView, error) {
	pairingID := randomID()
	snap, err := s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		if err := snap.Order.CheckPairing(s.AppAvailable(snap.Order.Province)); err != nil {
			return nil, err
		}
		evs := s.dropPairing(snap, "replaced", nil)
		s.audit(ctx, snap, ActorDesktop, AuditPairingCreate, "")
		now := s.now()
		desktop.CreatedAt = now
		snap.Pairing = &Pairing{
			ID: pairingID, CodeHash: hashCode(s.code(orderID, pairingID)),
			CreatedAt: now, ExpiresAt: now.Add(s.cfg.PairingTTL), Desktop: desktop,
		}
		return append(evs, s.event(orderID, events.PairingCreated, events.PairingCreatedData{
			ID: pairingID, ExpiresAt: snap.Pairing.ExpiresAt,
			QRPNGURL: "/api/v1/orders/" + orderID + "/pairing/qr.png",
		})), nil
	})
	if err != nil {
		return nil, err
	}
	return s.viewPairing(orderID, snap.Pairing), nil
}

// RevokePairing revokes the order's pairing; the phone's token stops working.
func (s *Service) RevokePairing(ctx context.Context, orderID string) error {
	_, err := s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		if snap.Pairing == nil {
			return nil, ErrUnchanged
		}
		s.audit(ctx, snap, ActorDesktop, AuditPairingRevoke, "")
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
		if p == nil || p.ID != pairingID || !p.ExpireDue(s.now()) {
			return nil, ErrUnchanged
		}
		p.Expired = true
		s.audit(ctx, snap, ActorSystem, AuditPairingExpire, "")
		return []Event{s.event(orderID, events.PairingExpired, events.PairingExpiredData{PairingID: p.ID, Reason: "expired"})}, nil
	})
	return err
}

// QRScanURL returns the scan URL of the order's current pairing while it can be claimed.
func (s *Service) QRScanURL(ctx context.Context, orderID string) (string, error) {
	p, err := s.loadPairing(ctx, orderID)
	if err != nil {
		return "", err
	}
	if !p.Claimable(s.now()) {
		return "", filing.ErrPairingNotFound
	}
	return s.ScanURL(orderID, p.ID), nil
}

// ClaimResult is what a phone gets for a successful claim.
type ClaimResult struct {
	Snapshot   *Snapshot
	PhoneToken string
	ExpiresAt  time.Time
	// DeviceToken opens the phone's list of what it verified (GET /m/v1/device/orders).
	DeviceToken string
}

// ClaimInput is a phone's claim as it arrives: the code from the QR and the headers.
type ClaimInput struct {
	Code       string
	DeviceID   string // X-Device-Id, required
	DeviceName string // X-Device-Name, optional
	AppVersion string // X-App-Version
}

// MaxDeviceName is the most characters of X-Device-Name kept; a longer name is cut there.
const MaxDeviceName = 64

// deviceName cleans X-Device-Name for display by the text rule for labels a device sends
// (filing.StripText): the characters that disguise text are removed, the rest trimmed and
// cut to MaxDeviceName characters. A name is only a label for the desktop, so a bad or
// overlong one is cleaned rather than failing the phone's claim.
func deviceName(raw string) string { return filing.StripText(raw, MaxDeviceName) }

// Claim lets a phone claim a pairing code. The claim runs first, whatever the guess limit
// says: a genuine code always claims, so that a guesser behind the same address as a real
// phone cannot lock it out. Only a code this server never issued is counted as a guess, and
// refused with rate_limited instead of pairing_not_found once the address is past the limit.
func (s *Service) Claim(ctx context.Context, in ClaimInput) (*ClaimResult, error) {
	if err := CheckAppVersion(in.AppVersion, s.cfg.MinAppVersion); err != nil {
		return nil, err
	}
	deviceID := strings.TrimSpace(in.DeviceID)
	if deviceID == "" || len(deviceID) > 128 {
		return nil, filing.ErrInvalidRequest.WithMessage(
			"The X-Device-Id header is required (at most 128 characters).",
			"缺少设备标识（X-Device-Id）。")
	}
	now, ip := s.now(), ClientIP(ctx)
	code := in.Code
	orderID, _, ok := strings.Cut(code, ".")
	var claimed *Claimed
	var err error = filing.ErrPairingNotFound
	if ok && len(code) <= 200 && validID(orderID) {
		req := ClaimRequest{
			OrderID: orderID, CodeHash: hashCode(code), DeviceID: deviceID, DeviceName: deviceName(in.DeviceName),
			AppVersion: in.AppVersion, Now: now, AppProvinces: s.cfg.AppProvinces, IP: ip,
		}
		if s.devices() != nil {
			// The device token's generation comes with the claim, not a round trip after it.
			req.DeviceHash = s.signer.DeviceHash(deviceID)
		}
		claimed, err = s.store.Claim(ctx, req)
	}
	if errors.Is(err, filing.ErrPairingNotFound) && s.cfg.ClaimGuessLimit > 0 {
		wait, gerr := s.store.Guess(ctx, ip, s.cfg.ClaimGuessLimit, s.cfg.GuessWindow, now)
		if gerr != nil {
			return nil, gerr
		}
		if wait > 0 {
			return nil, filing.RetryAfter(filing.ErrTooManyGuesses, wait)
		}
	}
	if err != nil {
		return nil, err
	}
	snap := claimed.Snapshot
	token, exp, err := s.signer.PhoneToken(auth.Phone{OrderID: orderID, PairingID: snap.Pairing.ID, DeviceID: deviceID}, s.cfg.PhoneTokenTTL)
	if err != nil {
		return nil, err
	}
	devToken, _, err := s.signer.DeviceToken(deviceID, claimed.DeviceGeneration, s.cfg.DeviceTokenTTL)
	if err != nil {
		return nil, err
	}
	return &ClaimResult{Snapshot: snap, PhoneToken: token, ExpiresAt: exp, DeviceToken: devToken}, nil
}

// ClaimOutcome is the verdict on a claim. The values are the claim script's answers.
type ClaimOutcome string

// The outcomes of a claim.
const (
	ClaimOK             ClaimOutcome = "ok"        // claimed now
	ClaimReclaimed      ClaimOutcome = "reclaimed" // the same device again, before expires_at
	ClaimNotFound       ClaimOutcome = "not_found" // a code this server never issued (or long retired)
	ClaimExpired        ClaimOutcome = "expired"   // lapsed, replaced or revoked
	ClaimAlreadyClaimed ClaimOutcome = "already_claimed"
	ClaimInvalidState   ClaimOutcome = "invalid_state"
	ClaimMethod         ClaimOutcome = "method"
	ClaimProvince       ClaimOutcome = "province"
)

// Err is the contract's error for an outcome that refuses the claim, nil for a success.
// state is the order's state, for invalid_state's details.
func (o ClaimOutcome) Err(state string) error {
	switch o {
	case ClaimOK, ClaimReclaimed:
		return nil
	case ClaimNotFound:
		return filing.ErrPairingNotFound
	case ClaimExpired:
		return filing.ErrPairingExpired
	case ClaimAlreadyClaimed:
		return filing.ErrPairingAlreadyClaimed
	case ClaimInvalidState:
		return filing.ErrInvalidState.WithDetails(map[string]any{"state": state})
	case ClaimMethod:
		return filing.ErrUploadMethodNotApp
	case ClaimProvince:
		return filing.ErrProvinceNotSupported
	}
	return fmt.Errorf("orders: unknown claim outcome %q", string(o))
}

// DecideClaim is the claim rule. The store runs it atomically as a Lua script
// (internal/redisstore/claim.lua), which a parity test holds to this function over every
// state. snap is the order as stored (nil: none); retiredUntil is, for a code of a replaced
// or revoked pairing of the order, the time until which it counts as issued (zero: never
// issued).
//
// In order: a code that is not the current pairing's is expired while retired, else not
// found; a pairing claimed by another device stays theirs; claiming ends at expires_at (for
// a retry by the same device too); then the order must take pairings (filing.CheckPairing);
// then the same device is given a fresh token, a new one claims.
func DecideClaim(snap *Snapshot, retiredUntil time.Time, req ClaimRequest, appAvailable bool) ClaimOutcome {
	var p *Pairing
	if snap != nil {
		p = snap.Pairing
	}
	if p == nil || p.CodeHash != req.CodeHash {
		if req.Now.Before(retiredUntil) {
			return ClaimExpired
		}
		return ClaimNotFound
	}
	if p.Claimed() && p.DeviceID != req.DeviceID {
		return ClaimAlreadyClaimed
	}
	if p.Lapsed(req.Now) {
		return ClaimExpired
	}
	if snap.Order == nil {
		return ClaimNotFound
	}
	switch err := snap.Order.CheckPairing(appAvailable); {
	case errors.Is(err, filing.ErrInvalidState):
		return ClaimInvalidState
	case errors.Is(err, filing.ErrUploadMethodNotApp):
		return ClaimMethod
	case errors.Is(err, filing.ErrProvinceNotSupported):
		return ClaimProvince
	}
	if p.Claimed() {
		return ClaimReclaimed
	}
	return ClaimOK
}

// PairingLoader is what a Store may offer to read an order's pairing alone: the desktop
// polls its QR code, and the whole snapshot (every key, the order's sealed ID numbers)
// would cost that poll three times as much.
type PairingLoader interface {
	// LoadPairing returns the order's pairing, nil when it has none.
	LoadPairing(ctx context.Context, orderID string) (*Pairing, error)
}

func (s *Service) loadPairing(ctx context.Context, orderID string) (*Pairing, error) {
	if pl, ok := s.store.(PairingLoader); ok {
		return pl.LoadPairing(ctx, orderID)
	}
	snap, err := s.store.Load(ctx, orderID)
	if err != nil {
		return nil, err
	}
	return snap.Pairing, nil
}
