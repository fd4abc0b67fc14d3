package webapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/orders"
)

// ReviewService is what the workbench's and the back office's routes need of the orders
// service.
type ReviewService interface {
	TakeHold(ctx context.Context, orderID, reviewer string) (*orders.ReviewView, error)
	ReleaseHold(ctx context.Context, orderID, reviewer string) error
	ReviewView(ctx context.Context, orderID, reviewer string) (*orders.ReviewView, error)
	Decide(ctx context.Context, orderID, reviewer string, d filing.Decision) (*orders.Snapshot, error)
	ReviewQueue(ctx context.Context, cursor string) (orders.QueuePage, error)
	Edit(ctx context.Context, orderID string, in filing.EditInput) (*orders.Snapshot, error)
	ReportAuthority(ctx context.Context, orderID string, r filing.AuthorityReport) (*orders.Snapshot, error)
}

// ReviewerKeys checks reviewers' names and keys (internal/reviewers.File).
type ReviewerKeys interface {
	Check(name, key string) error
	// Fingerprint identifies the reviewer's current key; ok is false for a reviewer no
	// longer in the file, whose sessions then end.
	Fingerprint(name string) (fp string, ok bool)
}

// ReviewSessions keeps reviewers' sessions, by the SHA-256 of their cookies.
type ReviewSessions interface {
	CreateReviewSession(ctx context.Context, hash, reviewer, fingerprint string, ttl time.Duration) error
	ReviewSession(ctx context.Context, hash string) (reviewer, fingerprint string, err error)
	DeleteReviewSession(ctx context.Context, hash string) error
}

// LoginLimiter guess-limits reviewer keys per client IP (internal/limits.Guesses, counted
// in Redis across instances): Wrong counts one wrong key and answers nil (401 follows), or
// 429 past the limit. Only wrong keys count, and only they are refused.
type LoginLimiter interface {
	Wrong(ctx context.Context, ip string) error
}

// ReviewCookieName is the reviewer's session cookie; its path is /api/v1, so that it
// reaches the material URLs too.
const ReviewCookieName = "beianscan_review"

// ReviewSessionTTL is a reviewer session's life.
const ReviewSessionTTL = 12 * time.Hour

const reviewerKey = "beianscan.reviewer"

func reviewerOf(c echo.Context) string { s, _ := c.Get(reviewerKey).(string); return s }

func (a *API) registerReview(g *echo.Group) {
	g.POST("/review/session", a.reviewLogin)
	g.DELETE("/review/session", a.reviewLogout)
	r := g.Group("/review", a.reviewerAuth)
	r.GET("/queue", a.reviewQueue)
	r.GET("/reasons", a.reviewReasons)
	r.POST("/orders/:id/hold", a.takeHold)
	r.DELETE("/orders/:id/hold", a.releaseHold)
	r.GET("/orders/:id", a.reviewView)
	// The workbench's image reads: under the reviewer's own path, where only the reviewer's
	// credentials count, so that an owner's desktop cookie in the same browser (its path is
	// the order's URL) can never make a reviewer's read be audited as the owner's.
	r.GET("/orders/:id/materials/:slot", a.getMaterial)
	r.POST("/orders/:id/decision", a.decide)
}

func sessionHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// checkKey checks a reviewer's name and key; a wrong one counts against the client's IP,
// and past the limit is answered 429 instead of 401. A right key always passes.
func (a *API) checkKey(c echo.Context, name, key string) error {
	if a.cfg.Reviewers == nil {
		return filing.ErrUnauthorized
	}
	if a.cfg.Reviewers.Check(name, key) == nil {
		return nil
	}
	if err := a.cfg.ReviewLimiter.Wrong(c.Request().Context(), c.RealIP()); err != nil {
		return err
	}
	return filing.ErrUnauthorized
}

// authReviewer finds the reviewer of a request: `Authorization: Bearer NAME:KEY` (scripts)
// or the session cookie, whose reviewer must still be in the file with the same key.
func (a *API) authReviewer(c echo.Context) (string, error) {
	if a.cfg.Reviewers == nil || a.cfg.ReviewSessions == nil {
		return "", filing.ErrUnauthorized
	}
	r := c.Request()
	if t := bearer(r); t != "" {
		name, key, ok := strings.Cut(t, ":")
		if !ok {
			return "", filing.ErrUnauthorized
		}
		if err := a.checkKey(c, name, key); err != nil {
			return "", err
		}
		return name, nil
	}
	ck, err := c.Cookie(ReviewCookieName)
	if err != nil || ck.Value == "" {
		return "", filing.ErrUnauthorized
	}
	if !a.crossSiteSafe(r) {
		return "", filing.ErrOriginNotAllowed
	}
	name, fp, err := a.cfg.ReviewSessions.ReviewSession(r.Context(), sessionHash(ck.Value))
	if err != nil {
		return "", err
	}
	if cur, ok := a.cfg.Reviewers.Fingerprint(name); !ok || cur != fp {
		return "", filing.ErrUnauthorized
	}
	return name, nil
}

func (a *API) asReviewer(c echo.Context, name string) {
	c.Set(reviewerKey, name)
	c.Set(actorKey, orders.ActorReviewer)
	c.SetRequest(c.Request().WithContext(orders.WithReviewer(c.Request().Context(), name)))
}

func (a *API) reviewerAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		name, err := a.authReviewer(c)
		if err != nil {
			return err
		}
		a.asReviewer(c, name)
		return next(c)
	}
}

// reviewerRequest reports whether a request presents a reviewer's credentials rather than
// the owner's: a bearer NAME:KEY (a desktop token has no colon), or the reviewer's cookie
// without the desktop's.
func reviewerRequest(c echo.Context) bool {
	if t := bearer(c.Request()); t != "" {
		return strings.Contains(t, ":")
	}
	if _, err := c.Cookie(CookieName); err == nil {
		return false
	}
	_, err := c.Cookie(ReviewCookieName)
	return err == nil
}

// ownerOrStaff admits the order's owner, the operator key or a reviewer; each read is
// audited as the one who made it.
func (a *API) ownerOrStaff(next echo.HandlerFunc) echo.HandlerFunc {
	ownerOrOperator := a.ownerOrOperator(next)
	return func(c echo.Context) error {
		if c.Request().Header.Get("X-Api-Key") != "" || !reviewerRequest(c) {
			return ownerOrOperator(c)
		}
		name, err := a.authReviewer(c)
		if err != nil {
			return err
		}
		a.asReviewer(c, name)
		return next(c)
	}
}

func (a *API) reviewLogin(c echo.Context) error {
	var in struct {
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if a.cfg.ReviewSessions == nil {
		return filing.ErrUnauthorized
	}
	if err := a.checkKey(c, in.Name, in.Key); err != nil {
		return err
	}
	fp, ok := a.cfg.Reviewers.Fingerprint(in.Name)
	if !ok {
		return filing.ErrUnauthorized
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	if err := a.cfg.ReviewSessions.CreateReviewSession(c.Request().Context(), sessionHash(v), in.Name, fp, ReviewSessionTTL); err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: ReviewCookieName, Value: v, Path: "/api/v1", MaxAge: int(ReviewSessionTTL / time.Second),
		HttpOnly: true, Secure: a.cfg.SecureCookie, SameSite: http.SameSiteStrictMode})
	return c.NoContent(http.StatusNoContent)
}

func (a *API) reviewLogout(c echo.Context) error {
	if ck, err := c.Cookie(ReviewCookieName); err == nil && ck.Value != "" && a.cfg.ReviewSessions != nil {
		if !a.crossSiteSafe(c.Request()) {
			return filing.ErrOriginNotAllowed
		}
		if err := a.cfg.ReviewSessions.DeleteReviewSession(c.Request().Context(), sessionHash(ck.Value)); err != nil {
			return err
		}
	}
	c.SetCookie(&http.Cookie{Name: ReviewCookieName, Value: "", Path: "/api/v1", MaxAge: -1,
		HttpOnly: true, Secure: a.cfg.SecureCookie, SameSite: http.SameSiteStrictMode})
	return c.NoContent(http.StatusNoContent)
}

func (a *API) reviewQueue(c echo.Context) error {
	page, err := a.svc.ReviewQueue(c.Request().Context(), c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	noStore(c)
	return httpx.WriteAppended(c, http.StatusOK, func(b []byte) ([]byte, error) { return appendQueuePage(b, page), nil })
}

func (a *API) reviewReasons(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"reasons": filing.Reasons()})
}

func (a *API) takeHold(c echo.Context) error {
	v, err := a.svc.TakeHold(c.Request().Context(), c.Param("id"), reviewerOf(c))
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, v)
}

func (a *API) releaseHold(c echo.Context) error {
	if err := a.svc.ReleaseHold(c.Request().Context(), c.Param("id"), reviewerOf(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *API) reviewView(c echo.Context) error {
	v, err := a.svc.ReviewView(c.Request().Context(), c.Param("id"), reviewerOf(c))
	if err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, v)
}

func (a *API) decide(c echo.Context) error {
	var in struct {
		Outcome filing.Outcome `json:"outcome"`
		Issues  []struct {
			Target string            `json:"target"`
			Slot   filing.Slot       `json:"slot"`
			Field  string            `json:"field"`
			Code   filing.ReasonCode `json:"code"`
			Note   string            `json:"note"`
		} `json:"issues"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d := filing.Decision{Outcome: in.Outcome, Reason: in.Reason}
	for _, i := range in.Issues {
		d.Issues = append(d.Issues, filing.Issue{Target: i.Target, Slot: i.Slot, Field: i.Field, Code: i.Code, Note: i.Note})
	}
	snap, err := a.svc.Decide(c.Request().Context(), c.Param("id"), reviewerOf(c), d)
	return a.orderReply(c, snap, err)
}

// editOrder is PATCH /orders/{id}: the owner corrects the order's fields.
func (a *API) editOrder(c echo.Context) error {
	var in filing.EditInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	snap, err := a.svc.Edit(c.Request().Context(), c.Param("id"), in)
	return a.orderReply(c, snap, err)
}

// reportAuthority is the back office's report of the authority's progress (operator key).
func (a *API) reportAuthority(c echo.Context) error {
	if ok, err := a.operator(c); err != nil || !ok {
		return cmp.Or(err, error(filing.ErrUnauthorized))
	}
	var in filing.AuthorityReport
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	snap, err := a.svc.ReportAuthority(c.Request().Context(), c.Param("id"), in)
	return a.orderReply(c, snap, err)
}
