package orders

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/beianscan/beianscan/internal/appversion"
	"github.com/beianscan/beianscan/internal/auth"
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
		evs = append(evs, s.event(snap.Order.ID, EventPhoneDisconnected, map[string]any{"device": p.DeviceID, "reason": reason}))
	case !p.Expired:
		evs = append(evs, s.event(snap.Order.ID, EventPairingExpired, map[string]any{"pairing_id": p.ID, "reason": reason}))
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
		s.audit(ctx, snap, ActorDesktop, AuditPairingCreate, "")
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
		if p == nil || p.ID != pairingID || p.Claimed() || p.Expired || s.now().Before(p.ExpiresAt) {
			return nil, ErrUnchanged
		}
		p.Expired = true
		s.audit(ctx, snap, ActorSystem, AuditPairingExpire, "")
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
			return nil, filing.ErrRateLimited.WithDetails(map[string]any{filing.DetailRetryAfter: int(wait.Seconds() + 0.999)})
		}
	}
	orderID, _, ok := strings.Cut(code, ".")
	var snap *Snapshot
	var err error = filing.ErrPairingNotFound
	if ok && len(code) <= 200 && validID(orderID) {
		snap, err = s.store.Claim(ctx, ClaimRequest{
			OrderID: orderID, CodeHash: hashCode(code), DeviceID: deviceID, AppVersion: appVersion,
			Now: now, AppProvinces: s.cfg.AppProvinces, IP: ip,
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
