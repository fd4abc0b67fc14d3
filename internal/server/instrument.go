package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/events"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/metrics"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redisstore"
)

// Metrics are taken from the outside of the packages that do the work: an HTTP middleware
// (routes, statuses, error codes, uploads, claims), wrappers of the store and the blob store,
// and a Redis hook. Only the hub and the image pipeline have hooks inside.

// metricsMiddleware records every answered request, once answered (afterAnswer, as
// requestLog), so that the status it records is the one the client got; it takes the code
// from the error rather than parsing the body.
func metricsMiddleware(m *metrics.Metrics) echo.MiddlewareFunc {
	return afterAnswer(func(c echo.Context, err error, took time.Duration) {
		code := ""
		if err != nil {
			fe, _ := httpx.Coded(err)
			code = fe.Code
		}
		route, method, status := routeOf(c), c.Request().Method, c.Response().Status
		m.Request(route, method, status, code, took)
		outcome := code
		if outcome == "" {
			outcome = "ok"
		}
		switch {
		case route == "/m/v1/pairings/claim":
			m.Claim(outcome)
		case method == http.MethodPut && route == "/m/v1/materials/:slot":
			m.Upload(slotLabel(c.Param("slot")), string(filing.ViaApp), outcome)
		case method == http.MethodPut && route == "/api/v1/orders/:id/materials/:slot",
			route == "/api/v1/orders/:id/materials/:slot/stitch":
			m.Upload(slotLabel(c.Param("slot")), string(filing.ViaPC), outcome)
		}
	})
}

// routeOf is the request's route pattern (bounded: the router's, never the URL); requests
// that matched no route share one label.
func routeOf(c echo.Context) string {
	if p := c.Path(); p != "" && p != "/*" {
		return p
	}
	return "unmatched"
}

// slotLabel keeps the slot label bounded: a slot the contract does not know is "unknown".
func slotLabel(s string) string {
	if filing.Slot(s).Valid() {
		return s
	}
	return "unknown"
}

// meteredStore counts the events of every successful update. It embeds the store, so any
// method added to orders.Store passes through untouched.
type meteredStore struct {
	// The concrete store, so that the optional capabilities the service looks for (the
	// audit trail) stay visible through the wrapper.
	*redisstore.Store
	m *metrics.Metrics
}

func (s meteredStore) Update(ctx context.Context, orderID string, change func(*orders.Snapshot) ([]orders.Event, error)) (*orders.Snapshot, error) {
	var last []orders.Event
	snap, err := s.Store.Update(ctx, orderID, func(sn *orders.Snapshot) ([]orders.Event, error) {
		evs, err := change(sn)
		last = evs
		if err != nil {
			last = nil
		}
		return evs, err
	})
	if err == nil {
		for _, ev := range last {
			reason := ""
			if d, ok := ev.Data.(events.PairingExpiredData); ok {
				reason = d.Reason
			}
			s.m.Event(ev.Type, reason)
		}
	}
	return snap, err
}

// blobStore is what the orders service and the desktop API need of the blob store.
type blobStore interface {
	orders.Blobs
	Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error)
}

// meteredBlobs counts failed blob operations; a missing blob is an answer, not a failure.
type meteredBlobs struct {
	blobStore
	m *metrics.Metrics
}

func (b meteredBlobs) count(op string, err error) error {
	if err != nil && !errors.Is(err, context.Canceled) && !isNotFound(err) {
		b.m.BlobError(op)
	}
	return err
}

func isNotFound(err error) bool {
	var fe *filing.Error
	return errors.As(err, &fe) && strings.HasSuffix(fe.Code, "not_found")
}

func (b meteredBlobs) Put(ctx context.Context, key string, data []byte) error {
	return b.count("put", b.blobStore.Put(ctx, key, data))
}

func (b meteredBlobs) Delete(ctx context.Context, key string) error {
	return b.count("delete", b.blobStore.Delete(ctx, key))
}

func (b meteredBlobs) Open(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	f, n, err := b.blobStore.Open(ctx, key)
	return f, n, b.count("open", err)
}

// redisHook counts failed Redis commands. redis.Nil (no such key) and a lost WATCH
// (redis.TxFailedErr, retried by the store) are answers, not failures.
type redisHook struct{ m *metrics.Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if failed(err) {
			h.m.RedisError(cmdName(cmd))
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if failed(err) {
			h.m.RedisError("pipeline")
		}
		return err
	}
}

func failed(err error) bool {
	return err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, redis.TxFailedErr) && !errors.Is(err, context.Canceled)
}

// cmdName bounds the label to the commands beianscan sends (their names are fixed in code).
func cmdName(cmd redis.Cmder) string {
	n := strings.ToLower(cmd.Name())
	if len(n) > 16 {
		return "other"
	}
	return n
}
