package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/api"
)

// serveMetrics starts the Prometheus listener, unless it is off. It is a listener of its
// own so that /metrics never goes through the public load balancer.
func (m *Main) serveMetrics() error {
	addr := m.Config.MetricsAddr
	if addr == MetricsOff {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		// Two instances on one host need a port each (or "off").
		return fmt.Errorf("BEIANSCAN_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Metrics.Handler())
	m.msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.MetricsURL = "http://" + hostPort(ln.Addr()) + "/metrics"
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.msrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Config.Logger.Error("metrics server stopped", "err", err)
		}
	}()
	return nil
}

// requestID gives every request a fresh random ID, in the X-Request-Id answer header and
// the access log. One sent by the client is not taken over: it is free text, which could
// carry a token or an ID number into the logs.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var b [12]byte
		_, _ = rand.Read(b[:])
		c.Response().Header().Set(echo.HeaderXRequestID, hex.EncodeToString(b[:]))
		return next(c)
	}
}

// openAPI serves the OpenAPI 3.1 document of the whole API.
func openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, api.OpenAPI)
}
