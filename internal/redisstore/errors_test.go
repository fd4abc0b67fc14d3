package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/filing"
)

// serverError is what a Redis server's error reply looks like to go-redis's checks.
type serverError string

func (e serverError) Error() string { return string(e) }
func (serverError) RedisError()     {}

func TestTranslate(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"dial refused", dial, true},
		{"wrapped dial", fmt.Errorf("load: %w", dial), true},
		{"refused bare", syscall.ECONNREFUSED, true},
		{"timeout", context.DeadlineExceeded, true},
		{"pool timeout", redis.ErrPoolTimeout, true},
		{"pool exhausted", redis.ErrPoolExhausted, true},
		{"client closed", redis.ErrClosed, true},
		{"connection cut", fmt.Errorf("read: %w", net.ErrClosed), true},
		{"replica", serverError("READONLY You can't write against a read only replica."), true},
		{"loading", serverError("LOADING Redis is loading the dataset in memory"), true},
		{"masterdown", serverError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."), true},
		{"clusterdown", serverError("CLUSTERDOWN The cluster is down"), true},
		{"noreplicas", serverError("NOREPLICAS Not enough good replicas to write."), true},
		{"script busy", serverError("BUSY Redis is busy running a script."), true},
		{"in a script", serverError("ERR Error running script (call to f_1): @user_script:22: -READONLY You can't write against a read only replica."), true},
		{"not confirmed", fmt.Errorf("%w: 0 of 1", errNotConfirmed), true},
		{"nil", redis.Nil, false},
		{"contract error", filing.ErrOrderNotFound, false},
		{"client gone", context.Canceled, false},
		{"wrong type", serverError("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"bug", errors.New("redisstore: claim answered x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err
			translate(&err)
			if got := errors.Is(err, filing.ErrUnavailable); got != tt.unavailable {
				t.Fatalf("translate(%v) unavailable = %v, want %v", tt.err, got, tt.unavailable)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("translate(%v) = %v lost its cause", tt.err, err)
			}
			var fe *filing.Error
			if tt.unavailable && (!errors.As(err, &fe) || fe.Code != filing.CodeUnavailable) {
				t.Fatalf("translate(%v) = %v: first coded error is not unavailable", tt.err, err)
			}
		})
	}
	var none error
	translate(&none)
	if none != nil {
		t.Fatalf("translate(nil) = %v", none)
	}
}
