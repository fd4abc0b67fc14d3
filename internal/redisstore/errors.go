package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
)

// errNotConfirmed is a write that fewer replicas than required confirmed in time (WAIT).
var errNotConfirmed = errors.New("redisstore: write not confirmed on enough replicas")

// translate is applied at the return of every exported method (`defer translate(&err)`), so
// that no caller ever sees a driver error for Redis being away: a dependency that cannot
// answer now is filing.ErrUnavailable (503 with Retry-After, docs/operations.md), wrapped around the
// cause so that it is still in the error for logs and errors.Is. Errors that are answers
// (redis.Nil, the contract's own *filing.Error, a script's refusal) pass unchanged, and so
// does a cancelled context: the caller has gone, nothing is answered.
func translate(errp *error) {
	if err := *errp; err != nil && unavailable(err) {
		*errp = fmt.Errorf("%w: %w", filing.ErrUnavailable, err)
	}
}

// unavailable reports whether err means "Redis cannot do this now; the same request may
// work in a moment".
func unavailable(err error) bool {
	var fe *filing.Error
	switch {
	case errors.As(err, &fe), errors.Is(err, redis.Nil), errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, errNotConfirmed),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, redis.ErrClosed),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true // dial failures, timeouts, resets: net.OpError is a net.Error
	}
	// Server-side refusals of a node that is not (or not yet, or no longer) a usable
	// master: a replica during failover (READONLY), a node loading its data set, a master
	// without its replicas (NOREPLICAS from min-replicas-to-write), a cluster reshaping.
	switch {
	case redis.IsReadOnlyError(err), redis.IsLoadingError(err), redis.IsMasterDownError(err),
		redis.IsClusterDownError(err), redis.IsTryAgainError(err), redis.IsNoReplicasError(err),
		redis.IsMaxClientsError(err), redis.IsOOMError(err),
		redis.HasErrorPrefix(err, "BUSY"), redis.HasErrorPrefix(err, "MISCONF"),
		// A MULTI whose queued commands a node refused (MOVED mid-failover): EXEC discarded
		// it whole, so nothing was written and the client's retry is safe.
		redis.HasErrorPrefix(err, "EXECABORT"):
		return true
	}
	// A slot that moved under a Cluster failover, seen by a node's own client (oneConn).
	if _, ok := redis.IsMovedError(err); ok {
		return true
	}
	if _, ok := redis.IsAskError(err); ok {
		return true
	}
	// The same refusals raised inside a script arrive wrapped in its error text.
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, code := range unavailableCodes {
			if strings.HasPrefix(msg, code+" ") || strings.Contains(msg, "-"+code+" ") {
				return true
			}
		}
	}
	return false
}

var unavailableCodes = []string{"READONLY", "LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN",
	"NOREPLICAS", "BUSY", "MISCONF", "OOM"}
