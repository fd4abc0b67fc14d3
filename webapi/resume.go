package webapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
)

// resume opens an order in this browser with its resume code (no token): the answer is the
// order and a fresh desktop cookie. A browser's Origin must be allowed, so that another
// site cannot sign a visitor into an order of its own choosing.
func (a *API) resume(c echo.Context) error {
	if !a.originAllowed(c.Request()) {
		return filing.ErrOriginNotAllowed
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	res, err := a.svc.Resume(c.Request().Context(), c.Param("id"), in.Code, c.RealIP())
	if err != nil {
		return err
	}
	a.setDesktopCookie(c, res.Snapshot.Order.ID, res.DesktopToken)
	noStore(c)
	return c.JSON(http.StatusOK, a.orderBody(res.Snapshot))
}

// rotateResumeCode replaces the order's resume code and answers the new one, once.
func (a *API) rotateResumeCode(c echo.Context) error {
	code, err := a.svc.RotateResumeCode(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"resume_code": code})
}
