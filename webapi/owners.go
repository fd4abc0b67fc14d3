package webapi

import (
	"cmp"
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
)

// OwnerService is what the routes of an owner behind the provider's console need
// (docs/architecture.md, "Owners come back").
type OwnerService interface {
	StartOwnerSession(ownerID string) (*orders.OwnerSession, error)
	OwnerOf(token string) (string, error)
	OwnerOrders(ctx context.Context, token string) ([]orders.OwnerOrderView, error)
}

// ownerCookiePath is the owner cookie's path: the list and every order under it.
const ownerCookiePath = "/api/v1/orders"

func (a *API) registerOwners(g *echo.Group) {
	g.POST("/owner-sessions", a.startOwnerSession)
	g.POST("/session", a.openSession)
	g.GET("/orders", a.ownerOrders)
}

// startOwnerSession is the back office's: an owner token for its logged-in user.
func (a *API) startOwnerSession(c echo.Context) error {
	if ok, err := a.operator(c); err != nil || !ok {
		return cmp.Or(err, error(filing.ErrUnauthorized))
	}
	var in struct {
		OwnerID string `json:"owner_id"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	sess, err := a.svc.StartOwnerSession(in.OwnerID)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusCreated, sess)
}

// openSession turns an owner token (the bearer) into the page's HttpOnly cookie, for the
// list and every order of the owner. A browser's Origin must be allowed, as for resume: a
// page of another site must not plant a session of its choosing.
func (a *API) openSession(c echo.Context) error {
	if !a.originAllowed(c.Request()) {
		return filing.ErrOriginNotAllowed
	}
	token := bearer(c.Request())
	if _, err := a.svc.OwnerOf(token); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: token, Path: ownerCookiePath,
		MaxAge: int(a.cfg.DesktopTokenTTL.Seconds()), HttpOnly: true, Secure: a.cfg.SecureCookie,
		SameSite: http.SameSiteStrictMode,
	})
	noStore(c)
	return c.NoContent(http.StatusNoContent)
}

// ownerOrders lists the owner's orders: an owner token from the header or the cookie; an
// order's desktop token is refused (401), as the list is no order's.
func (a *API) ownerOrders(c echo.Context) error {
	token := bearer(c.Request())
	if token == "" {
		if ck, err := c.Cookie(CookieName); err == nil {
			token = strings.TrimSpace(ck.Value)
		}
	}
	if token == "" {
		return filing.ErrUnauthorized
	}
	list, err := a.svc.OwnerOrders(c.Request().Context(), token)
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"orders": list})
}
