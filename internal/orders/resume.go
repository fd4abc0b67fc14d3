package orders

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// The resume code (docs/architecture.md, "Owners come back") lets the owner of an order
// open it again in any browser, after the desktop cookie has lapsed: 80 random bits shown
// once at creation, stored only as their SHA-256.
const (
	// ResumeCodeLen is the code's length in Crockford base32 (80 bits).
	ResumeCodeLen = 16
	// ResumeGuessLimit is how many wrong codes one IP, and one order, may be sent per
	// ResumeGuessWindow; past it a wrong code is refused with rate_limited. The right
	// code is never refused, so a guesser cannot lock the owner out.
	ResumeGuessLimit  = 10
	ResumeGuessWindow = time.Hour
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so that a code copied by
// hand cannot be misread.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

func newResumeCode() string {
	b := make([]byte, 10)
	rand.Read(b) // crypto/rand never fails (it panics instead)
	return crockford.EncodeToString(b)
}

// NormalizeResumeCode reads a code as a person may type it: any case, with hyphens and
// spaces, I and L for 1 and O for 0. It reports false when what is left cannot be a code.
func NormalizeResumeCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ', '\t':
			continue
		case 'I', 'L':
			r = '1'
		case 'O':
			r = '0'
		}
		if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != ResumeCodeLen {
		return "", false
	}
	return b.String(), true
}

// ResumeResult is a resumed order and the fresh desktop token for it.
type ResumeResult struct {
	Snapshot     *Snapshot
	DesktopToken string
}

// Resume opens the order for the holder of its resume code. The code is checked first,
// whatever the guess limit says: the right code always works. A wrong code (or an order
// that does not exist, which answers the same) changes nothing but the guess counters,
// and is refused with unauthorized, or rate_limited once the IP or the order is past
// ResumeGuessLimit.
func (s *Service) Resume(ctx context.Context, orderID, code, ip string) (*ResumeResult, error) {
	snap, err := s.resumeMatch(ctx, orderID, code)
	if errors.Is(err, filing.ErrUnauthorized) {
		if !validID(orderID) {
			// Nothing to count it against but the IP; never build a key of it.
			orderID = ""
		}
		wait, gerr := s.store.GuessResume(ctx, orderID, ip, ResumeGuessLimit, ResumeGuessWindow, s.now())
		if gerr != nil {
			return nil, gerr
		}
		if wait > 0 {
			return nil, filing.RetryAfter(filing.ErrTooManyResumeGuesses, wait)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := s.recordRead(ctx, orderID, AuditEntry{At: s.now(), Actor: ActorDesktop, Action: AuditResume, IP: ClientIP(ctx)}); err != nil {
		return nil, err
	}
	token, _, err := s.signer.DesktopToken(orderID, s.cfg.DesktopTokenTTL)
	if err != nil {
		return nil, err
	}
	return &ResumeResult{Snapshot: snap, DesktopToken: token}, nil
}

// resumeMatch loads the order and compares the code's hash with the stored one in
// constant time; every mismatch is filing.ErrUnauthorized.
func (s *Service) resumeMatch(ctx context.Context, orderID, code string) (*Snapshot, error) {
	norm, ok := NormalizeResumeCode(code)
	if !ok || !validID(orderID) {
		return nil, filing.ErrUnauthorized
	}
	snap, err := s.store.Load(ctx, orderID)
	if errors.Is(err, filing.ErrOrderNotFound) {
		return nil, filing.ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	stored := snap.Order.ResumeHash
	if stored == "" || subtle.ConstantTimeCompare([]byte(hashCode(norm)), []byte(stored)) != 1 {
		return nil, filing.ErrUnauthorized
	}
	return snap, nil
}

var errOwnedNoResumeCode = filing.ErrInvalidRequest.WithMessage(
	"This order is opened from the provider's console; it has no resume code.",
	"此订单通过服务商控制台打开，没有续办码。")

// RotateResumeCode replaces the order's resume code and returns the new one; the old one
// stops working with this change.
func (s *Service) RotateResumeCode(ctx context.Context, orderID string) (string, error) {
	code := newResumeCode()
	_, err := s.store.Update(ctx, orderID, func(snap *Snapshot) ([]Event, error) {
		if snap.Order.OwnerID != "" {
			return nil, errOwnedNoResumeCode
		}
		snap.Order.ResumeHash = hashCode(code)
		s.audit(ctx, snap, ActorDesktop, AuditResumeRotate, "")
		return nil, nil
	})
	if err != nil {
		return "", err
	}
	return code, nil
}
