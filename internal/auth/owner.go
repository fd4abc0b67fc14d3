package auth

import (
	"errors"
	"time"
)

// An owner token is a desktop token for a user of the provider's console rather than for
// one order: aud "desktop", the owner ID as subject and the claim "own" set. It opens
// every order the back office created for that owner. The claim keeps the two kinds
// apart in both directions: ParseDesktop refuses an owner token (an owner ID chosen to
// equal some order's ID must not open that order) and ParseOwner refuses an order's.

// OwnerToken returns a token for every order of ownerID, valid for ttl.
func (s *Signer) OwnerToken(ownerID string, ttl time.Duration) (token string, expires time.Time, err error) {
	if ownerID == "" {
		return "", time.Time{}, errors.New("auth: empty owner id")
	}
	return s.sign(&claims{RegisteredClaims: s.registered(ownerID, AudienceDesktop, ttl), Owner: true}, ttl)
}

// ParseOwner checks an owner token and returns its owner. Any failure, an order's desktop
// token included, is filing.ErrUnauthorized.
func (s *Signer) ParseOwner(token string) (ownerID string, err error) {
	c, err := s.parse(s.desktop, token)
	if err != nil {
		return "", err
	}
	if !c.Owner {
		return "", errUnauthorized
	}
	return c.Subject, nil
}

// ParseAnyDesktop checks a desktop-family token and says which kind it is: an order's
// (orderID set) or an owner's (ownerID set).
func (s *Signer) ParseAnyDesktop(token string) (orderID, ownerID string, err error) {
	c, err := s.parse(s.desktop, token)
	if err != nil {
		return "", "", err
	}
	if c.Owner {
		return "", c.Subject, nil
	}
	return c.Subject, "", nil
}
