package orders

import (
	"context"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// MaxOwnerOrders is the most orders an owner's list answers, newest first.
const MaxOwnerOrders = 100

// OwnerSession is an owner token and its expiry, minted for the back office's logged-in
// user.
type OwnerSession struct {
	DesktopToken string    `json:"desktop_token"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// StartOwnerSession signs an owner token for ownerID (the caller has checked the operator
// key), valid for the desktop token's life.
func (s *Service) StartOwnerSession(ownerID string) (*OwnerSession, error) {
	if err := filing.ValidateOwnerID(ownerID); err != nil {
		return nil, err
	}
	tok, exp, err := s.signer.OwnerToken(ownerID, s.cfg.DesktopTokenTTL)
	if err != nil {
		return nil, err
	}
	return &OwnerSession{DesktopToken: tok, ExpiresAt: exp.UTC()}, nil
}

// OwnerOf checks an owner token and returns its owner; an order's desktop token, or any
// other, is filing.ErrUnauthorized.
func (s *Service) OwnerOf(token string) (string, error) { return s.signer.ParseOwner(token) }

// OwnerOrderView is one line of the owner's list (我的备案).
type OwnerOrderView struct {
	ID          string       `json:"id"`
	State       filing.State `json:"state"`
	SubjectName string       `json:"subject_name"`
	Domains     []string     `json:"domains"`
	// DomainsASCII is filing.DomainsASCII of Domains, as in the ORDER view.
	DomainsASCII []string          `json:"domains_ascii"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	Review       *filing.Review    `json:"review"`
	Authority    *filing.Authority `json:"authority"`
}

// OwnerOrders lists the orders of the owner token's owner, newest created first.
func (s *Service) OwnerOrders(ctx context.Context, token string) ([]OwnerOrderView, error) {
	owner, err := s.signer.ParseOwner(token)
	if err != nil {
		return nil, err
	}
	out := []OwnerOrderView{}
	idx, ok := s.store.(OwnerIndex)
	if !ok {
		return out, nil
	}
	list, err := idx.OwnerOrders(ctx, owner, MaxOwnerOrders)
	if err != nil {
		return nil, err
	}
	for _, o := range list {
		v := OwnerOrderView{ID: o.ID, State: o.State, SubjectName: o.SubjectName, Domains: o.Domains, DomainsASCII: filing.DomainsASCII(o.Domains),
			CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Review: viewReview(o), Authority: o.Authority}
		if v.Domains == nil {
			v.Domains = []string{}
		}
		out = append(out, v)
	}
	return out, nil
}
