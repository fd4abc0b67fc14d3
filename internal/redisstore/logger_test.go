package redisstore

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDriverLoggerRateLimits(t *testing.T) {
	var buf bytes.Buffer
	l := NewDriverLogger(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	ctx := context.Background()
	dial := "redis: connection pool: failed to dial after %d attempts: %v"
	for i := range 50 { // 25 s of dial failures, two a second
		l.Printf(ctx, dial, 5, "connection refused")
		if i == 10 {
			l.Printf(ctx, "sentinel: new master=%q addr=%q", "m", "127.0.0.1:1")
		}
		now = now.Add(500 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	dials := 0
	for _, ln := range lines {
		if strings.Contains(ln, "failed to dial") {
			dials++
		}
	}
	// At 0 s, 10 s and 20 s; the later two say how many were left out.
	if dials != 3 || len(lines) != 4 {
		t.Fatalf("%d dial lines of %d, want 3 of 4:\n%s", dials, len(lines), buf.String())
	}
	if !strings.Contains(lines[len(lines)-1], "suppressed=19") {
		t.Fatalf("last line does not count the 19 left out: %s", lines[len(lines)-1])
	}
	if !strings.Contains(buf.String(), `new master=\"m\"`) {
		t.Fatalf("another kind of message was suppressed:\n%s", buf.String())
	}
}
