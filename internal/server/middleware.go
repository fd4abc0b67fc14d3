package server

import (
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/orders"
)

// afterAnswer is a middleware that calls done once the request has been answered. A
// handler's error is rendered first (c.Error), so that done sees the status the client got;
// done also gets that error (nil when none) and how long the answer took. The middlewares
// further out then see no error: it has been answered.
func afterAnswer(done func(c echo.Context, err error, took time.Duration)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			done(c, err, time.Since(start))
			return nil
		}
	}
}

// requestLog logs one line per request with the request id and the route pattern, never
// the URL itself: a URL could carry a code, and IDs and tokens stay out of logs.
func requestLog(log *slog.Logger) echo.MiddlewareFunc {
	return afterAnswer(func(c echo.Context, _ error, took time.Duration) {
		log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("route", c.Path()),
			slog.Int("status", c.Response().Status),
			slog.Duration("duration", took))
	})
}

// noteClientIP notes the client's address (see clientIP) on the request's context for the
// audit trail.
func noteClientIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.SetRequest(r.WithContext(orders.WithClientIP(r.Context(), c.RealIP())))
		return next(c)
	}
}

// securityHeaders keeps pages from being framed or sniffed, and keeps the referrer (which
// could hold an order ID) from leaving the site.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		return next(c)
	}
}

// contentSecurityPolicy gives every response the desktop page's policy (a JSON error opened
// in a browser gets it too). The other pages (mobileapi's /m/scan, webapi's verification
// form) replace it with their own, built by the same function from their own HTML. The
// websocket is allowed to the public URL and the allowed origins as ws(s)
// sources: CSP3 lets 'self' cover the page's own host's websocket, but not every browser
// in use implements that.
func contentSecurityPolicy(page, publicURL string, allowedOrigins []string) echo.MiddlewareFunc {
	var ws []string
	for _, o := range append([]string{publicURL}, allowedOrigins...) {
		u, err := url.Parse(strings.TrimRight(o, "/"))
		if err != nil || u.Host == "" {
			continue
		}
		switch u.Scheme {
		case "http":
			ws = append(ws, "ws://"+u.Host)
		case "https":
			ws = append(ws, "wss://"+u.Host)
		}
	}
	policy := httpx.CSP(page, ws...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set(httpx.CSPHeader, policy)
			return next(c)
		}
	}
}

// clientIP is the client's address: the peer's, unless the peer is one of the trusted
// reverse proxies; then X-Forwarded-For is walked from the right (each proxy appends the
// address it saw) past the trusted hops, and the first address not trusted is the client.
// Anything left of it was written by the client and is ignored. With no trusted proxies
// the header is never read: a client could otherwise pick its own address, and with it
// dodge the claim guess limit or lock out someone else's.
func clientIP(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	// echo's own walk, with its defaults (every loopback, link-local and private address
	// trusted) turned off.
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{
			IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
		}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
