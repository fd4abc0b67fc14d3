// Package orders is the service of the "upload filing materials" step: it applies the
// domain rules of internal/filing to stored orders, pairs phones by QR code, validates and
// stores uploads, and raises the events the desktop watches. Storage sits behind the small
// Store and Blobs interfaces declared here.
package orders

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/images"
)

// ErrUnchanged, returned by an Update's change function, ends the update without writing
// or publishing anything; Update then returns the snapshot and no error.
var ErrUnchanged = errors.New("orders: unchanged")

// Defaults of the settings the service owns (docs/operations.md, Configuration), defined
// here once: server.Config.withDefaults and the command's flags take them from here.
const (
	DefaultPublicURL       = "http://localhost:8080"
	DefaultPairingTTL      = 5 * time.Minute
	DefaultPhoneTokenTTL   = 30 * time.Minute
	DefaultDesktopTokenTTL = 72 * time.Hour
	DefaultMinAppVersion   = "3.16.0"
	// DefaultClaimGuessLimit is how many claims of codes never issued one client IP may
	// make per DefaultGuessWindow.
	DefaultClaimGuessLimit = 20
	DefaultGuessWindow     = 10 * time.Minute
	DefaultIdempotencyTTL  = 24 * time.Hour
)

// GuessLimitOff as server.Config.ClaimGuessLimit turns the guess limit off (zero there is
// unset and takes DefaultClaimGuessLimit).
const GuessLimitOff = -1

// Config tunes the service. The settings of server.Config (PublicURL to ClaimGuessLimit)
// come filled in by server.Config.withDefaults, which is where their defaults are applied;
// New takes them as they are. The others take the defaults given when zero.
type Config struct {
	// PublicURL is the base of scan_url in the QR code (DefaultPublicURL).
	PublicURL string
	// PairingTTL is how long an unclaimed QR stays claimable (DefaultPairingTTL).
	PairingTTL time.Duration
	// PhoneTokenTTL is the phone token's life (DefaultPhoneTokenTTL).
	PhoneTokenTTL time.Duration
	// DesktopTokenTTL is the desktop token's life (DefaultDesktopTokenTTL).
	DesktopTokenTTL time.Duration
	// DeviceTokenTTL is the device token's life; default DefaultDeviceTokenTTL.
	DeviceTokenTTL time.Duration
	// Retention is how long an order is kept after its last change, which the device
	// index's keys are given too; default 720h.
	Retention time.Duration
	// MinAppVersion is the oldest app that may claim (DefaultMinAppVersion).
	MinAppVersion string
	// AppProvinces are the provinces where app verification is open
	// (filing.DefaultAppProvinces); empty means none.
	AppProvinces []string
	// ClaimGuessLimit is how many unmatched codes one IP may claim per GuessWindow;
	// zero or negative (GuessLimitOff) turns the limit off.
	ClaimGuessLimit int
	// GuessWindow is the window of ClaimGuessLimit; default DefaultGuessWindow.
	GuessWindow time.Duration
	// IdempotencyTTL is how long an upload's first answer is kept for its retries; default
	// DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration
	// Images sets the image rules; zero fields take the images package's defaults.
	Images images.Options
	// Admission bounds decoding, fitting and stitching (internal/admission); nil: unbounded.
	Admission Admission
	// ReviewHold is how long a reviewer's hold lasts without activity; default
	// DefaultReviewHold (15m).
	ReviewHold time.Duration
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
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	cfg.GuessWindow = cmp.Or(cfg.GuessWindow, DefaultGuessWindow)
	cfg.IdempotencyTTL = cmp.Or(cfg.IdempotencyTTL, DefaultIdempotencyTTL)
	cfg.ReviewHold = cmp.Or(cfg.ReviewHold, DefaultReviewHold)
	cfg.DeviceTokenTTL = cmp.Or(cfg.DeviceTokenTTL, DefaultDeviceTokenTTL)
	cfg.Retention = cmp.Or(cfg.Retention, 720*time.Hour)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("beianscan pairing code v1"))
	return &Service{cfg: cfg, store: store, blobs: blobs, signer: signer, codeKey: mac.Sum(nil)}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// Now is the service's clock (Config.Now, in UTC), for the handlers' own times, so that a
// test's injected clock reaches them too.
func (s *Service) Now() time.Time { return s.now() }

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
	// An order of an owner is opened through the owner's console session, never by a
	// code: it gets none.
	code := ""
	if o.OwnerID == "" {
		code = newResumeCode()
		o.ResumeHash = hashCode(code)
	}
	created := AuditEntry{At: o.CreatedAt, Actor: ActorDesktop, Action: AuditCreate, IP: ClientIP(ctx)}
	if err := s.store.CreateOrder(ctx, o, created); err != nil {
		return nil, "", err
	}
	token, _, err := s.signer.DesktopToken(o.ID, s.cfg.DesktopTokenTTL)
	if err != nil {
		return nil, "", err
	}
	return &Snapshot{Order: o, Materials: map[filing.Slot]filing.Material{}, ResumeCode: code}, token, nil
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
		evs = append(evs, s.event(snap.Order.ID, events.StateChanged, t))
	}
	return evs
}

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error { return s.store.Ready(ctx) }

// CheckAppVersion refuses a missing, malformed or too old app version.
func (s *Service) CheckAppVersion(v string) error { return CheckAppVersion(v, s.cfg.MinAppVersion) }
