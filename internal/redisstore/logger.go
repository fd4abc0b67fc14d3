package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DriverLogger takes go-redis's own log lines (redis.SetLogger) into slog, at most one line
// per kind of message per interval: while Redis is down the pool logs "failed to dial" on
// every attempt (twice a second and more under load, issue 11), which would bury everything
// else. A kind is the message's format string; the next line of a kind after a quiet spell
// says how many were left out.
type DriverLogger struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	kinds map[string]*kindState
}

type kindState struct {
	last       time.Time
	suppressed int
}

// maxKinds bounds the table; go-redis has a few dozen format strings.
const maxKinds = 256

// NewDriverLogger returns a DriverLogger writing to log at warn level, one line per kind
// every interval (default 10s).
func NewDriverLogger(log *slog.Logger, every time.Duration) *DriverLogger {
	every = cmp.Or(every, 10*time.Second)
	return &DriverLogger{log: log, every: every, now: time.Now, kinds: make(map[string]*kindState)}
}

// Printf implements go-redis's internal.Logging.
func (l *DriverLogger) Printf(ctx context.Context, format string, v ...any) {
	now := l.now()
	l.mu.Lock()
	k := l.kinds[format]
	if k == nil {
		if len(l.kinds) >= maxKinds {
			clear(l.kinds)
		}
		k = &kindState{}
		l.kinds[format] = k
	}
	if !k.last.IsZero() && now.Sub(k.last) < l.every {
		k.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := k.suppressed
	k.last, k.suppressed = now, 0
	l.mu.Unlock()
	attrs := []any{"component", "redis"}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	// The driver's messages hold addresses and errors, never keys or values.
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...), attrs...)
}
