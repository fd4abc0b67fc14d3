// Package mobileapi is the phone app's HTTP API (/m): the landing page a phone's ordinary
// camera opens from the QR code, the claim of a pairing, and the uploads of the materials.
package mobileapi

import (
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/orders"
)

// Service is what the app API needs of the orders service.
type Service interface {
	Claim(ctx context.Context, in orders.ClaimInput) (*orders.ClaimResult, error)
	AuthorizePhone(ctx context.Context, token string) (*orders.PhoneSession, error)
	Upload(ctx context.Context, u orders.Upload) (*filing.Material, error)
	Complete(ctx context.Context, p auth.Phone) (*orders.Snapshot, error)
	CheckAppVersion(v string) error
	ScanState(ctx context.Context, code string) string
	AuthorizeDevice(ctx context.Context, token, deviceID string) (*orders.DeviceSession, error)
	DeviceOrders(ctx context.Context, sess *orders.DeviceSession) ([]orders.DeviceOrder, error)
	ForgetDevice(ctx context.Context, sess *orders.DeviceSession) error
}

// Config of the app API, filled in by the server (server.Config.withDefaults applies the
// defaults).
type Config struct {
	// UploadTimeout bounds the arrival of an upload's body; zero: no bound.
	UploadTimeout time.Duration
	// AppDownloadURL is the provider's app download page, linked from the scan page; empty:
	// the page says to get the app from the phone's app store.
	AppDownloadURL string
	// Bodies is the instance's budget of upload bodies in memory and its caps of uploads
	// in flight per order and per IP; nil bounds nothing but each body's size.
	Bodies *admission.Bodies
	// ImageLimits bound an upload's body (MaxBytes, or FitMaxBytes with ?fit=1).
	ImageLimits filing.Limits
	// MinAppVersion is the oldest app that may pair, as the scan page says.
	MinAppVersion string
	// AppAvailable reports whether app verification is open in a province, as every
	// answer's order shows; nil: nowhere.
	AppAvailable func(province string) bool
	// Now is the service's clock (completed_at), so that a test's injected clock reaches
	// it too; nil: time.Now.
	Now func() time.Time
}

// API holds the app handlers.
type API struct {
	svc Service
	cfg Config
}

// New returns the app API.
func New(svc Service, cfg Config) *API {
	if cfg.AppAvailable == nil {
		cfg.AppAvailable = func(string) bool { return false }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &API{svc: svc, cfg: cfg}
}

// Register adds the routes to e.
func (a *API) Register(e *echo.Echo) {
	e.GET("/m/scan", a.scan)
	g := e.Group("/m/v1", a.appVersion)
	g.POST("/pairings/claim", a.claim)
	g.GET("/order", a.order)
	g.PUT("/materials/:slot", a.upload, httpx.BodyDeadline(a.cfg.UploadTimeout))
	g.POST("/complete", a.complete)
	g.GET("/device/orders", a.deviceOrders)
	g.DELETE("/device", a.forgetDevice)
}

// appVersion refuses every /m/v1 call from a missing, malformed or too old app, so an old
// app learns it must update before it does anything else.
func (a *API) appVersion(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := a.svc.CheckAppVersion(c.Request().Header.Get("X-App-Version")); err != nil {
			return err
		}
		return next(c)
	}
}

// view renders an order for an answer.
func (a *API) view(snap *orders.Snapshot) orders.OrderView {
	return orders.ViewOrder(snap, a.cfg.AppAvailable(snap.Order.Province))
}

// readLimit is the most bytes an upload's image may carry.
func (a *API) readLimit(fit bool) int64 {
	if fit {
		return a.cfg.ImageLimits.FitMaxBytes
	}
	return a.cfg.ImageLimits.MaxBytes
}

// session authorises the request's phone token; every phone call starts with it, before
// a byte of its body is read.
func (a *API) session(c echo.Context) (*orders.PhoneSession, error) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return nil, filing.ErrUnauthorized
	}
	return a.svc.AuthorizePhone(c.Request().Context(), strings.TrimSpace(token))
}

func (a *API) claim(c echo.Context) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := httpx.DecodeJSON(c.Response(), c.Request(), 4<<10, &in); err != nil {
		return err
	}
	if in.Code == "" {
		return filing.ErrInvalidRequest.WithMessage("The body must be {\"code\": \"…\"} from the QR code.", "请求内容应包含二维码中的 code。")
	}
	r := c.Request()
	res, err := a.svc.Claim(r.Context(), orders.ClaimInput{
		Code: in.Code, DeviceID: r.Header.Get("X-Device-Id"), DeviceName: r.Header.Get("X-Device-Name"),
		AppVersion: r.Header.Get("X-App-Version"),
	})
	if err != nil {
		return err
	}
	return writeClaimAnswer(c, res, a.view(res.Snapshot))
}

// device authorises the request's device token with the X-Device-Id it must come with.
func (a *API) device(c echo.Context) (*orders.DeviceSession, error) {
	token, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return nil, filing.ErrUnauthorized
	}
	return a.svc.AuthorizeDevice(c.Request().Context(), strings.TrimSpace(token), strings.TrimSpace(c.Request().Header.Get("X-Device-Id")))
}

func (a *API) deviceOrders(c echo.Context) error {
	sess, err := a.device(c)
	if err != nil {
		return err
	}
	list, err := a.svc.DeviceOrders(c.Request().Context(), sess)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"orders": list})
}

func (a *API) forgetDevice(c echo.Context) error {
	sess, err := a.device(c)
	if err != nil {
		return err
	}
	if err := a.svc.ForgetDevice(c.Request().Context(), sess); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *API) order(c echo.Context) error {
	sess, err := a.session(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"order":     a.view(sess.Snapshot),
		"materials": orders.PhoneMaterials(sess.Snapshot),
	})
}

func (a *API) upload(c echo.Context) error {
	sess, err := a.session(c)
	if err != nil {
		return err
	}
	r := c.Request()
	fit := c.QueryParam("fit") == "1"
	held, err := httpx.AdmitBody(c, a.cfg.Bodies, sess.Phone.OrderID, a.readLimit(fit))
	if err != nil {
		return err
	}
	defer held.Release()
	m, err := a.svc.Upload(r.Context(), orders.Upload{
		OrderID: sess.Phone.OrderID, Slot: filing.Slot(c.Param("slot")), Via: filing.ViaApp,
		Body: r.Body, Size: held.Size(), Fit: fit, IdempotencyKey: r.Header.Get("Idempotency-Key"), Phone: sess,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"material": m})
}

func (a *API) complete(c echo.Context) error {
	sess, err := a.session(c)
	if err != nil {
		return err
	}
	snap, err := a.svc.Complete(c.Request().Context(), sess.Phone)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"order": a.view(snap), "completed_at": a.cfg.Now().UTC()})
}

//go:embed scan.html
var scanHTML string

var (
	scanTemplate = template.Must(template.New("scan").Parse(scanHTML))
	scanPolicy   = httpx.CSP(scanHTML)
)

// scanData is what the scan page shows.
type scanData struct {
	MinVersion  string
	DownloadURL string
	// WeChat: opened inside WeChat, whose browser cannot start other apps or download
	// them; the page says to open it in the phone's browser.
	WeChat bool
	// State of the code (orders.Scan*): a lapsed or replaced one says to refresh the
	// computer's QR.
	State string
}

// scan is what a phone's ordinary camera opens: it tells the person to use the app and
// where to get it. The code is not echoed into the page.
func (a *API) scan(c echo.Context) error {
	r := c.Request()
	d := scanData{
		MinVersion:  a.cfg.MinAppVersion,
		DownloadURL: a.cfg.AppDownloadURL,
		WeChat:      strings.Contains(r.Header.Get("User-Agent"), "MicroMessenger"),
	}
	if code := c.QueryParam("code"); code != "" {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		d.State = a.svc.ScanState(ctx, code)
		cancel()
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set(httpx.CSPHeader, scanPolicy)
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return scanTemplate.Execute(c.Response(), d)
}
