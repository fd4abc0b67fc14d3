package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/beianscan/beianscan/internal/filing"
)

// TestOwnerToken: an owner token carries the owner as subject, aud desktop, an expiry and
// the owner claim; it is never read as an order's token (an owner ID equal to an order ID
// must not open that order), and an order's token is never an owner's.
func TestOwnerToken(t *testing.T) {
	s, clk := newSigner(t)
	const owner = "aaaaaaaaaaaaaaaaaaaaaaaaaa" // shaped like an order ID on purpose
	tok, exp, err := s.OwnerToken(owner, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("expires %v", exp)
	}
	var c claims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	if c.Subject != owner || !c.Owner || len(c.Audience) != 1 || c.Audience[0] != AudienceDesktop || c.ExpiresAt == nil || c.ID == "" {
		t.Errorf("claims %+v", c)
	}
	if got, err := s.ParseOwner(tok); err != nil || got != owner {
		t.Errorf("ParseOwner = %q, %v", got, err)
	}
	if _, err := s.ParseDesktop(tok); !errors.Is(err, filing.ErrUnauthorized) {
		t.Errorf("ParseDesktop accepted an owner token: %v", err)
	}
	if order, own, err := s.ParseAnyDesktop(tok); err != nil || order != "" || own != owner {
		t.Errorf("ParseAnyDesktop = %q, %q, %v", order, own, err)
	}

	orderTok, _, _ := s.DesktopToken(owner, time.Hour)
	if _, err := s.ParseOwner(orderTok); !errors.Is(err, filing.ErrUnauthorized) {
		t.Errorf("ParseOwner accepted an order's token: %v", err)
	}
	if _, err := s.ParsePhone(tok); !errors.Is(err, filing.ErrUnauthorized) {
		t.Errorf("ParsePhone accepted an owner token: %v", err)
	}
	// Tampered, and expired.
	if _, err := s.ParseOwner(tok[:len(tok)-2] + strings.Repeat("A", 2)); !errors.Is(err, filing.ErrUnauthorized) {
		t.Errorf("a tampered owner token: %v", err)
	}
	clk.Add(time.Hour + time.Second)
	if _, err := s.ParseOwner(tok); !errors.Is(err, filing.ErrUnauthorized) {
		t.Errorf("an expired owner token: %v", err)
	}
	if _, _, err := s.OwnerToken("", time.Hour); err == nil {
		t.Errorf("an owner token for nobody")
	}
}
