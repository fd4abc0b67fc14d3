// Package webapi is the desktop's HTTP API (/api/v1) and its websocket of live events.
// Handlers are thin: they authorize, decode, call the orders service and encode; every
// rule lives in the service and the domain.
package webapi

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/images"
	"github.com/beianscan/beianscan/internal/orders"
)

// Service is what the desktop API needs of the orders service.
type Service interface {
	CreateOrder(ctx context.Context, in filing.NewOrderInput) (*orders.Snapshot, string, error)
	Load(ctx context.Context, orderID string) (*orders.Snapshot, error)
	AuthorizeDesktop(ctx context.Context, token, orderID string) error
	ChooseMethod(ctx context.Context, orderID string, m filing.UploadMethod) (*orders.Snapshot, error)
	CreatePairing(ctx context.Context, orderID string, desktop orders.DesktopInfo) (*orders.PairingView, error)
	RevokePairing(ctx context.Context, orderID string) error
	QRScanURL(ctx context.Context, orderID string) (string, error)
	Upload(ctx context.Context, u orders.Upload) (*filing.Material, error)
	Stitch(ctx context.Context, orderID string, slot filing.Slot, parts [][]byte) (*filing.Material, error)
	Material(ctx context.Context, orderID string, slot filing.Slot) (*filing.Material, string, error)
	RemoveMaterial(ctx context.Context, orderID string, slot filing.Slot) error
	Submit(ctx context.Context, orderID string) (*orders.Snapshot, error)
	Withdraw(ctx context.Context, orderID string) (*orders.Snapshot, error)
	Review(ctx context.Context, orderID string, approved bool, reason string) (*orders.Snapshot, error)
	RecordRead(ctx context.Context, orderID string, slot filing.Slot, actor string) error
	RecordFormRead(ctx context.Context, orderID, actor string) error
	AuditTrail(ctx context.Context, orderID string) ([]orders.AuditEntry, error)
	Resume(ctx context.Context, orderID, code, ip string) (*orders.ResumeResult, error)
	RotateResumeCode(ctx context.Context, orderID string) (string, error)
	RecordOperatorRead(ctx context.Context, orderID, action string) error
	OwnerService
	ReviewService
}

// Guesser counts one presentation of a secret from a client IP (internal/limits.Guesses):
// right gives it back once the secret proved right; past the limit it answers 429.
type Guesser interface {
	Try(ctx context.Context, ip string) (right func(), err error)
}

// Blobs opens stored images.
type Blobs interface {
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
}

// Events serves an authorized, upgraded websocket: Start returns at once and calls ended
// when the connection has ended.
type Events interface {
	Start(ctx context.Context, conn *websocket.Conn, orderID string, ended func())
}

// Limits admits the calls that docs/operations.md "Abuse" limits, counted across instances; a
// refusal is rate_limited with the seconds to wait.
type Limits interface {
	AllowOrder(ctx context.Context, ip string) error
	AllowPairing(ctx context.Context, orderID string) error
	// AcquireWebsocket takes one of the order's websocket places; release gives it back
	// and must be called once the connection has ended.
	AcquireWebsocket(ctx context.Context, orderID string) (release func(), err error)
}

// Config of the desktop API, filled in by the server (server.Config.withDefaults applies
// the defaults).
type Config struct {
	// Limits counts order creations, pairings and websockets; nil limits nothing.
	Limits Limits
	// AllowedOrigins are the browser origins (scheme://host[:port]) the websocket accepts;
	// empty: the request's own host only.
	AllowedOrigins []string
	// OperatorKey guards review-result and lets an operator read an order's images and
	// audit trail; empty disables all three for operators.
	OperatorKey string
	// OperatorGuesses limits the operator keys one client IP may present (429 past it);
	// nil limits nothing.
	OperatorGuesses Guesser
	// SecureCookie marks the desktop cookie Secure (set when the public URL is https).
	SecureCookie bool
	// DesktopTokenTTL is the cookie's life, the desktop token's.
	DesktopTokenTTL time.Duration
	// UploadTimeout bounds the arrival of an upload's body (PUT materials, stitch); zero:
	// no bound.
	UploadTimeout time.Duration
	// Catalog is what GET /api/v1/catalog serves; its limits bound the uploads' bodies and
	// its provinces say where the app may be used, as every answer's order shows.
	Catalog filing.Catalog
	// Bodies is the instance's budget of upload bodies in memory and its caps of uploads
	// in flight per order and per IP; nil bounds nothing but each body's size.
	Bodies *admission.Bodies
	// Reviewers checks the workbench's reviewers; nil: no workbench (every reviewer call
	// answers 401).
	Reviewers ReviewerKeys
	// ReviewSessions keeps the reviewers' sessions; nil: no workbench.
	ReviewSessions ReviewSessions
	// ReviewLimiter guess-limits reviewer keys; nil limits nothing.
	ReviewLimiter LoginLimiter
}

type noLoginLimit struct{}

func (noLoginLimit) Wrong(context.Context, string) error { return nil }

// API holds the desktop handlers.
type API struct {
	svc      Service
	blobs    Blobs
	events   Events
	cfg      Config
	upgrader websocket.Upgrader
	qr       *qrCache
	catalog  catalogAnswer
	// appProvinces are the provinces of the catalogue where the app may be used.
	appProvinces map[string]bool
}

// view renders an order for an answer, with whether its province has app verification as
// the catalogue says.
func (a *API) view(snap *orders.Snapshot) orders.OrderView {
	return orders.ViewOrder(snap, a.appProvinces[snap.Order.Province])
}

// readLimit is the most bytes an upload's image may carry (the catalogue's limits).
func (a *API) readLimit(fit bool) int64 {
	if fit {
		return a.cfg.Catalog.Limits.FitMaxBytes
	}
	return a.cfg.Catalog.Limits.MaxBytes
}

// New returns the desktop API.
func New(svc Service, blobs Blobs, events Events, cfg Config) *API {
	if cfg.Limits == nil {
		cfg.Limits = noLimits{}
	}
	if cfg.ReviewLimiter == nil {
		cfg.ReviewLimiter = noLoginLimit{}
	}
	a := &API{svc: svc, blobs: blobs, events: events, cfg: cfg, qr: newQRCache(1024), catalog: newCatalogAnswer(cfg.Catalog)}
	a.appProvinces = map[string]bool{}
	for _, p := range cfg.Catalog.Provinces {
		a.appProvinces[p.Code] = p.AppAvailable
	}
	a.upgrader = websocket.Upgrader{
		// Desktops only listen and the hub reads the connection itself, so gorilla's read
		// buffer is never used: 128 is the smallest it takes. Write buffers are pooled: an
		// idle connection then holds no buffer at all.
		ReadBufferSize:   128,
		WriteBufferSize:  4096,
		WriteBufferPool:  &writePool,
		HandshakeTimeout: 10 * time.Second,
		// The Origin is checked before the upgrade, in the handler, so that a refusal is
		// the contract's JSON error.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return a
}

var writePool = poolOf{}

type noLimits struct{}

func (noLimits) AllowOrder(context.Context, string) error   { return nil }
func (noLimits) AllowPairing(context.Context, string) error { return nil }
func (noLimits) AcquireWebsocket(context.Context, string) (func(), error) {
	return func() {}, nil
}

// Register adds the routes to e.
func (a *API) Register(e *echo.Echo) {
	g := e.Group("/api/v1")
	g.POST("/orders", a.createOrder)
	g.GET("/catalog", a.serveCatalog)
	o := g.Group("/orders/:id", a.desktopAuth)
	o.PUT("/upload-method", a.chooseMethod)
	o.PATCH("", a.editOrder)
	o.POST("/pairing", a.createPairing)
	o.GET("/pairing/qr.png", a.qrPNG)
	o.DELETE("/pairing", a.revokePairing)
	o.PUT("/materials/:slot", a.putMaterial, httpx.BodyDeadline(a.cfg.UploadTimeout))
	o.DELETE("/materials/:slot", a.deleteMaterial)
	o.POST("/materials/:slot/stitch", a.stitch, httpx.BodyDeadline(a.cfg.UploadTimeout))
	o.POST("/submit", a.orderCall(Service.Submit))
	o.POST("/withdraw", a.orderCall(Service.Withdraw))
	o.GET("/events", a.serveEvents)
	o.POST("/resume-code", a.rotateResumeCode)
	g.POST("/orders/:id/resume", a.resume)
	g.POST("/orders/:id/review-result", a.reviewResult)
	g.POST("/orders/:id/authority", a.reportAuthority)
	// The owner or an operator; each image read is audited as the one who read it.
	g.GET("/orders/:id/audit", a.auditTrail, a.ownerOrOperator)
	// The owner, an operator or a reviewer: what a reviewer must compare the images with.
	g.GET("/orders/:id", a.getOrder, a.ownerOrStaff)
	g.GET("/orders/:id/materials", a.listMaterials, a.ownerOrStaff)
	g.GET("/orders/:id/materials/:slot", a.getMaterial, a.ownerOrStaff)
	g.GET("/orders/:id/verification-form", a.verificationForm, a.ownerOrStaff)
	a.registerOwners(g)
	a.registerReview(g)
}

// actorKey holds, on the echo context, who an ownerOrOperator request is.
const actorKey = "beianscan.actor"

// operator reports whether the request carries the configured operator key. Every key
// presented counts against the client IP's guess limit first (429 past it), so that the key
// cannot be found by trying; the right key gives its count back.
func (a *API) operator(c echo.Context) (bool, error) {
	if a.cfg.OperatorKey == "" {
		return false, nil
	}
	right := func() {}
	if a.cfg.OperatorGuesses != nil {
		var err error
		if right, err = a.cfg.OperatorGuesses.Try(c.Request().Context(), c.RealIP()); err != nil {
			return false, err
		}
	}
	key := c.Request().Header.Get("X-Api-Key")
	if subtle.ConstantTimeCompare([]byte(key), []byte(a.cfg.OperatorKey)) != 1 {
		return false, nil
	}
	right()
	return true, nil
}

// ownerOrOperator admits the order's desktop token or, when X-Api-Key is sent, the
// operator key (a wrong key is refused, not tried as a desktop).
func (a *API) ownerOrOperator(next echo.HandlerFunc) echo.HandlerFunc {
	owner := a.desktopAuth(func(c echo.Context) error {
		c.Set(actorKey, orders.ActorDesktop)
		return next(c)
	})
	return func(c echo.Context) error {
		if c.Request().Header.Get("X-Api-Key") == "" {
			return owner(c)
		}
		if ok, err := a.operator(c); err != nil || !ok {
			return cmp.Or(err, error(filing.ErrUnauthorized))
		}
		c.Set(actorKey, orders.ActorOperator)
		return next(c)
	}
}

func actor(c echo.Context) string {
	s, _ := c.Get(actorKey).(string)
	return s
}

// auditTrail answers who did and saw what with the order (docs/operations.md, Privacy), oldest first.
func (a *API) auditTrail(c echo.Context) error {
	entries, err := a.svc.AuditTrail(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if actor(c) != orders.ActorOperator {
		for i, e := range entries {
			entries[i] = e.ForOwner()
		}
	}
	noStore(c)
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}

// CookieName is the desktop token's cookie; its Path is the order's own API prefix.
const CookieName = "beianscan_desktop"

func bearer(r *http.Request) string {
	h := r.Header.Get(echo.HeaderAuthorization)
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// desktopAuth admits the order's desktop token, from the Authorization header or the
// cookie; never from the URL.
func (a *API) desktopAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		token := bearer(r)
		if token == "" {
			if ck, err := c.Cookie(CookieName); err == nil {
				token = ck.Value
				if !a.crossSiteSafe(r) {
					return filing.ErrOriginNotAllowed
				}
			}
		}
		if token == "" {
			return filing.ErrUnauthorized
		}
		if err := a.svc.AuthorizeDesktop(r.Context(), token, c.Param("id")); err != nil {
			return err
		}
		return next(c)
	}
}

// decodeJSON reads a request's JSON body strictly (httpx.DecodeJSON), at most 64 KiB.
func decodeJSON(c echo.Context, v any) error {
	return httpx.DecodeJSON(c.Response(), c.Request(), 64<<10, v)
}

func (a *API) orderBody(snap *orders.Snapshot) map[string]any {
	return map[string]any{"order": a.view(snap)}
}

// orderReply answers a call on an order with the order as the call left it, or with the
// call's error.
func (a *API) orderReply(c echo.Context, snap *orders.Snapshot, err error) error {
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.orderBody(snap))
}

// orderCall is the handler of a call that takes nothing but the order's ID (read, submit,
// withdraw) and answers the order. call is a method expression (Service.Submit), taken
// from the service when a request comes.
func (a *API) orderCall(call func(s Service, ctx context.Context, orderID string) (*orders.Snapshot, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		snap, err := call(a.svc, c.Request().Context(), c.Param("id"))
		return a.orderReply(c, snap, err)
	}
}

func (a *API) createOrder(c echo.Context) error {
	// The back office creates the orders of its users from its own address: a request with
	// the operator key (itself guess-limited) is not held to one client IP's order rate.
	operator := false
	if c.Request().Header.Get("X-Api-Key") != "" {
		var err error
		if operator, err = a.operator(c); err != nil {
			return err
		}
	}
	// Every other attempt counts, valid or not: admission comes before any work.
	if !operator {
		if err := a.cfg.Limits.AllowOrder(c.Request().Context(), c.RealIP()); err != nil {
			return err
		}
	}
	var in filing.NewOrderInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.OwnerID != "" && !operator {
		return filing.ErrOwnerIDNeedsOperator()
	}
	snap, token, err := a.svc.CreateOrder(c.Request().Context(), in)
	if err != nil {
		return err
	}
	a.setDesktopCookie(c, snap.Order.ID, token)
	noStore(c)
	body := map[string]any{"order": a.view(snap), "desktop_token": token}
	if snap.ResumeCode != "" {
		body["resume_code"] = snap.ResumeCode
	}
	return c.JSON(http.StatusCreated, body)
}

// setDesktopCookie gives the browser the order's desktop token, for the order's own API
// prefix only.
func (a *API) setDesktopCookie(c echo.Context, orderID, token string) {
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: token, Path: "/api/v1/orders/" + orderID,
		MaxAge: int(a.cfg.DesktopTokenTTL.Seconds()), HttpOnly: true, Secure: a.cfg.SecureCookie,
		SameSite: http.SameSiteStrictMode,
	})
}

func (a *API) chooseMethod(c echo.Context) error {
	var in struct {
		Method filing.UploadMethod `json:"method"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	snap, err := a.svc.ChooseMethod(c.Request().Context(), c.Param("id"), in.Method)
	return a.orderReply(c, snap, err)
}

func (a *API) createPairing(c echo.Context) error {
	ua := c.Request().UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	if err := a.cfg.Limits.AllowPairing(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	p, err := a.svc.CreatePairing(c.Request().Context(), c.Param("id"), orders.DesktopInfo{IP: c.RealIP(), UserAgent: ua})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"pairing": p})
}

func (a *API) qrPNG(c echo.Context) error {
	scanURL, err := a.svc.QRScanURL(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	png, err := a.qr.get(scanURL)
	if err != nil {
		return err
	}
	noStore(c)
	return c.Blob(http.StatusOK, "image/png", png)
}

func noStore(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

func (a *API) revokePairing(c echo.Context) error {
	if err := a.svc.RevokePairing(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// getOrder answers the order; the back office's read is audited first.
func (a *API) getOrder(c echo.Context) error {
	ctx := c.Request().Context()
	snap, err := a.svc.Load(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if actor(c) == orders.ActorOperator {
		if err := a.svc.RecordOperatorRead(ctx, snap.Order.ID, orders.AuditReadOrder); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, a.orderBody(snap))
}

func (a *API) listMaterials(c echo.Context) error {
	ctx := c.Request().Context()
	snap, err := a.svc.Load(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if actor(c) == orders.ActorOperator {
		if err := a.svc.RecordOperatorRead(ctx, snap.Order.ID, orders.AuditReadMaterials); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"materials": orders.MaterialList(snap)})
}

func (a *API) getMaterial(c echo.Context) error {
	ctx := c.Request().Context()
	m, key, err := a.svc.Material(ctx, c.Param("id"), filing.Slot(c.Param("slot")))
	if err != nil {
		return err
	}
	f, _, err := a.blobs.Open(ctx, key)
	if err != nil {
		return err
	}
	defer f.Close()
	// Recorded before a byte is sent: a read that cannot be audited is not served.
	if err := a.svc.RecordRead(ctx, c.Param("id"), m.Slot, actor(c)); err != nil {
		return err
	}
	noStore(c)
	c.Response().Header().Set("Content-Disposition", "inline")
	c.Response().Header().Set("ETag", `"`+m.SHA256+`"`)
	c.Response().Header().Set(echo.HeaderContentType, "image/"+m.Format)
	http.ServeContent(c.Response(), c.Request(), "", m.UploadedAt, f)
	return nil
}

// putMaterial takes a raw image body or a multipart field "file", streamed: the body is
// never read beyond the limit, and a multipart form is never spooled whole.
func (a *API) putMaterial(c echo.Context) error {
	r := c.Request()
	fit := c.QueryParam("fit") == "1"
	// A multipart envelope around the image is allowed a little more than the image.
	held, err := httpx.AdmitBody(c, a.cfg.Bodies, c.Param("id"), a.readLimit(fit)+64<<10)
	if err != nil {
		return err
	}
	defer held.Release()
	body, err := imageBody(r)
	if err != nil {
		return err
	}
	m, err := a.svc.Upload(r.Context(), orders.Upload{
		OrderID: c.Param("id"), Slot: filing.Slot(c.Param("slot")), Via: filing.ViaPC, Body: body, Fit: fit,
		Size:           held.Size(),
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"material": m})
}

// imageBody returns the image of a request: the multipart part named "file", or the body.
func imageBody(r *http.Request) (io.Reader, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if mt != "multipart/form-data" {
		return r.Body, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, filing.ErrInvalidRequest
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, missingFile(err)
		}
		if p.FormName() == "file" {
			return p, nil
		}
	}
}

func missingFile(err error) error {
	var mbe *http.MaxBytesError
	var fe *filing.Error // the body's deadline (request_timeout)
	if errors.As(err, &mbe) || errors.As(err, &fe) {
		return err
	}
	return filing.ErrInvalidRequest.WithMessage("The multipart body has no \"file\" part.", "请选择要上传的图片文件。")
}

func (a *API) stitch(c echo.Context) error {
	r := c.Request()
	held, err := httpx.AdmitBody(c, a.cfg.Bodies, c.Param("id"), int64(images.StitchMaxParts)*a.readLimit(false)+1<<20)
	if err != nil {
		return err
	}
	defer held.Release()
	mr, err := r.MultipartReader()
	if err != nil {
		return filing.ErrInvalidRequest.WithMessage("Send the images as multipart \"file\" parts.", "请以多个 file 字段上传要拼接的图片。")
	}
	var parts [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return missingFile(err)
		}
		if p.FormName() != "file" {
			continue
		}
		if len(parts) == images.StitchMaxParts {
			return filing.ErrInvalidRequest.WithMessage(fmt.Sprintf("At most %d images can be combined.", images.StitchMaxParts),
				fmt.Sprintf("最多可拼接 %d 张图片。", images.StitchMaxParts))
		}
		b, err := readPart(p, a.readLimit(false), len(parts))
		if err != nil {
			return err
		}
		parts = append(parts, b)
	}
	m, err := a.svc.Stitch(r.Context(), c.Param("id"), filing.Slot(c.Param("slot")), parts)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"material": m})
}

// readPart reads part i of a stitch, refusing it as soon as it reaches limit bytes: every
// part must be under the plain upload limit (a stitch is never fitted), so reading more of
// it only holds memory for an answer already known.
func readPart(p io.Reader, limit int64, i int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p, limit))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) >= limit {
		mb := limit >> 20
		return nil, filing.ErrTooLarge.WithMessage(
			fmt.Sprintf("Each image to combine must be under %d MB.", mb),
			fmt.Sprintf("每张待拼接的图片应小于 %d MB。", mb)).
			WithDetails(map[string]any{"max_bytes": limit, "part": i})
	}
	return b, nil
}

func (a *API) deleteMaterial(c echo.Context) error {
	if err := a.svc.RemoveMaterial(c.Request().Context(), c.Param("id"), filing.Slot(c.Param("slot"))); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// reviewResult is the operator's endpoint, guarded by the operator key rather than a
// desktop token; it does not exist unless a key is configured.
func (a *API) reviewResult(c echo.Context) error {
	if ok, err := a.operator(c); err != nil || !ok {
		return cmp.Or(err, error(filing.ErrUnauthorized))
	}
	var in struct {
		Approved *bool  `json:"approved"`
		Reason   string `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Approved == nil {
		return filing.ErrInvalidRequest.WithMessage("\"approved\" (true or false) is required.", "请给出审核结果 approved。")
	}
	snap, err := a.svc.Review(c.Request().Context(), c.Param("id"), *in.Approved, in.Reason)
	return a.orderReply(c, snap, err)
}

// serveEvents authorizes and checks the Origin before upgrading, then hands the connection to
// the hub.
func (a *API) serveEvents(c echo.Context) error {
	if !a.originAllowed(c.Request()) {
		return filing.ErrOriginNotAllowed
	}
	orderID := c.Param("id")
	// The place is taken before the upgrade, so that a refusal is the contract's JSON 429,
	// and given back when Serve returns: the connection has ended then, however it ended.
	release, err := a.cfg.Limits.AcquireWebsocket(c.Request().Context(), orderID)
	if err != nil {
		return err
	}
	conn, err := a.upgrader.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		release()
		// The upgrader has answered the client already.
		return nil
	}
	// Returning at once lets net/http release the request and its buffers, and the hub
	// serves the connection from a single fresh goroutine: an idle desktop then costs about
	// a quarter of what it does under a blocking handler (internal/hub's
	// BenchmarkIdleConnections). Nothing of the echo context may be used past here.
	a.events.Start(context.Background(), conn, orderID, release)
	return nil
}

// crossSiteSafe decides whether a request carrying the desktop cookie may act (docs/operations.md,
// Cross-site requests): a browser attaches the cookie to whatever a page on another site
// sends here, so a change (any method but GET/HEAD) must come from an allowed Origin, as the
// websocket must. A browser sends Origin with every cross-site request of these methods, and
// with a same-origin fetch too; without it, Sec-Fetch-Site (sent by every current browser)
// must say same-origin when present. A request with neither is not a current browser's, and
// SameSite=Strict keeps an old one from attaching the cookie cross-site at all. Reads stay
// open: the page's <img> tags load materials and the QR with the cookie and no Origin.
func (a *API) crossSiteSafe(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	if r.Header.Get("Origin") != "" {
		return a.originAllowed(r)
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin"
}

// originAllowed lets a request without Origin through (not a browser: its token is its
// proof); a browser's Origin must be allowed, by default the request's own host.
func (a *API) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if len(a.cfg.AllowedOrigins) == 0 {
		return strings.EqualFold(u.Host, r.Host)
	}
	for _, o := range a.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), u.Scheme+"://"+u.Host) {
			return true
		}
	}
	return false
}
