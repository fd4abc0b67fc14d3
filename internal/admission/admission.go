// Package admission bounds image work in one instance (the README's BEIANSCAN_DECODE_MEMORY
// and BEIANSCAN_IMAGE_WORKERS, §5 "Image memory"): a budget of decoded bytes in flight, so
// that no number of uploads arriving at once can take the process's memory, and a number of
// workers, so that image work never takes the core the event path needs.
//
// An upload reserves what its header says it will hold (images.Cost) before decoding,
// waits at most Config.Wait for room and a worker together, and is refused with 503
// unavailable when it does not get them in time: the client's retry is safe.
package admission

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/beianscan/beianscan/internal/filing"
)

// Defaults (the README's configuration table).
const (
	DefaultMemory int64 = 512 << 20
	DefaultWait         = 10 * time.Second
)

// BaseMemory is what an instance holds beside image work and upload bodies, for the soft
// memory limit: 10,000 idle websockets (≈ 80 MiB), Redis and HTTP buffers.
const BaseMemory int64 = 256 << 20

// SoftLimit is the Go runtime's soft memory limit for a decode budget and a body budget
// (runtime/debug SetMemoryLimit, what GOMEMLIMIT sets). The budgets bound the live image and
// body memory; without a limit the GC lets the heap grow to twice the live heap (GOGC=100)
// before collecting the garbage of finished decodes, so peak RSS would be twice the budgets.
// An unset (0) or unbounded (negative) body budget counts as the default.
func SoftLimit(decode, bodies int64) int64 {
	if bodies <= 0 {
		bodies = DefaultBodyMemory
	}
	return decode + bodies + BaseMemory
}

// cores is the process's cores: the runtime's GOMAXPROCS at start (its CPU count or cgroup
// quota, or the GOMAXPROCS variable), before the command raises it to Procs.
var cores = runtime.GOMAXPROCS(0)

// DefaultWorkers is cores − 1, at least 1: one core stays free for the event path.
func DefaultWorkers() int { return max(1, cores-1) }

// Procs is the GOMAXPROCS the command runs with when GOMAXPROCS is not set: one more than
// the cores. With as many Ps as cores, both busy (the image worker; the uploads' transfers,
// strips and sealing), a goroutine an event wakes waits for Go's 10 ms preemption to get a
// P; with one P more it gets a thread at once and the kernel's finer time slices run it.
// Ack → frame p99 under 200 uploads went from 3–21 ms to 0.7–7.9 ms at the same upload
// throughput (docs/benchmarks.md, "one P more than the cores").
func Procs() int { return cores + 1 }

// Config sizes a Gate. Zero fields take the defaults; a negative Memory or Workers leaves
// that bound off (for measuring what the bound costs, never in production).
type Config struct {
	// Memory is the budget of decoded bytes in flight; default 512 MiB.
	Memory int64
	// Workers is how many images are processed at once; default DefaultWorkers().
	Workers int
	// Wait is how long a request waits for room and a worker; default 10 s.
	Wait time.Duration
	// RetryAfter is the least Retry-After of the 503; default 1 s. Past it, the answer says
	// how long the requests already waiting would take to go through (see Do).
	RetryAfter time.Duration
}

// Gate admits image work. It is safe for concurrent use; a nil *Gate admits everything.
type Gate struct {
	mem, work  *semaphore.Weighted
	memory     int64
	workers    int
	wait       time.Duration
	retryAfter int
	inFlight   atomic.Int64 // bytes reserved
	running    atomic.Int64 // works running
	waiting    atomic.Int64 // requests waiting for room or a worker
	refused    atomic.Int64
	avgWork    atomic.Int64 // moving average of a work's duration, ns
}

// maxRetryAfter caps the Retry-After a refusal suggests, in seconds.
const maxRetryAfter = 30

// New returns a Gate for cfg.
func New(cfg Config) *Gate {
	if cfg.Memory == 0 {
		cfg.Memory = DefaultMemory
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers()
	}
	cfg.Wait = cmp.Or(cfg.Wait, DefaultWait)
	g := &Gate{memory: cfg.Memory, workers: cfg.Workers, wait: cfg.Wait,
		retryAfter: max(1, int((cfg.RetryAfter+time.Second-1)/time.Second))}
	if cfg.Memory > 0 {
		g.mem = semaphore.NewWeighted(cfg.Memory)
	}
	if cfg.Workers > 0 {
		g.work = semaphore.NewWeighted(int64(cfg.Workers))
	}
	return g
}

// Memory is the budget in bytes (negative: none); Workers the number of workers
// (negative: unbounded).
func (g *Gate) Memory() int64 { return g.memory }
func (g *Gate) Workers() int  { return g.workers }

// Stats are a Gate's gauges, for metrics and tests.
type Stats struct {
	BytesInFlight int64 // reserved by work admitted and not yet finished
	Running       int64 // works running
	Refused       int64 // requests refused with 503 since start
}

// Stats returns the current gauges.
func (g *Gate) Stats() Stats {
	return Stats{BytesInFlight: g.inFlight.Load(), Running: g.running.Load(), Refused: g.refused.Load()}
}

// Do runs work once bytes of the budget and a worker are free, waiting for both at most
// the configured wait; then it answers filing.ErrUnavailable (with Retry-After) without
// running work. A reservation larger than the whole budget waits for all of it: such an
// image runs alone. If ctx ends first (the client went away), Do returns ctx's error.
func (g *Gate) Do(ctx context.Context, bytes int64, work func() error) error {
	if g == nil {
		return work()
	}
	wctx, cancel := context.WithTimeout(ctx, g.wait)
	defer cancel()
	g.waiting.Add(1)
	waiting := true
	defer func() {
		if waiting {
			g.waiting.Add(-1)
		}
	}()
	n := min(max(bytes, 1), g.memory)
	if g.mem != nil {
		if err := g.mem.Acquire(wctx, n); err != nil {
			return g.refuse(ctx)
		}
		defer g.mem.Release(n)
		g.inFlight.Add(n)
		defer g.inFlight.Add(-n)
	}
	// Memory first, then a worker: a request that holds a worker always has its memory,
	// so workers never idle waiting for memory held by requests that cannot run.
	if g.work != nil {
		if err := g.work.Acquire(wctx, 1); err != nil {
			return g.refuse(ctx)
		}
		defer g.work.Release(1)
	}
	g.waiting.Add(-1)
	waiting = false
	g.running.Add(1)
	defer g.running.Add(-1)
	start := time.Now()
	defer func() {
		d := int64(time.Since(start))
		old := g.avgWork.Load()
		g.avgWork.Store(old + (d-old)/8) // racy on purpose: an estimate
	}()
	return work()
}

func (g *Gate) refuse(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.refused.Add(1)
	return filing.ErrUnavailable.WithDetails(map[string]any{filing.DetailRetryAfter: g.retryAfterNow()})
}

// retryAfterNow is how many seconds the requests now waiting would take to go through
// at the recent pace, at least the configured Retry-After: telling every refused client
// "1 s" under a burst only brings it back with its body to be refused again.
func (g *Gate) retryAfterNow() int {
	workers := int64(max(g.workers, 1))
	est := g.waiting.Load() * g.avgWork.Load() / workers
	secs := int((est + int64(time.Second) - 1) / int64(time.Second))
	return min(max(secs, g.retryAfter), max(g.retryAfter, maxRetryAfter))
}

// ParseBytes reads a size such as 512MiB, 1GiB, 300MB, 64KiB or 1048576 (bytes). Binary
// (KiB, MiB, GiB, TiB) and decimal (kB, MB, GB, TB) units are accepted, in any case, with
// or without a space; a bare number is bytes.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" {
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 1GiB", s)
	}
	b := v * mult
	if b < 1 || b > 1<<62 {
		return 0, errors.New("size out of range: " + s)
	}
	return int64(b), nil
}
