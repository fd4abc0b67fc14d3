// Package pairingexpiry asks the store to expire each pending QR pairing when it lapses.
//
// The hub tells it, for every order this instance holds desktops of, which pairing is still
// pending (Watch) and when there is none any more (Forget). A timer per order fires at the
// pairing's expires_at and calls the store's expire, which decides atomically and publishes
// pairing_expired once however many instances ask: the timers never make the event up. A
// failed call is retried a second apart, a few times, unless the pairing has changed since.
package pairingexpiry

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"
)

// Config tunes Timers. Zero fields take the documented defaults.
type Config struct {
	// Now is the clock that stamped expires_at (the service's). Default time.Now.
	Now func() time.Time
	// Retries is how many times a failed expire call is tried in all. Default 5.
	Retries int
	// RetryDelay is the wait before trying a failed call again. Default 1s.
	RetryDelay time.Duration
	// Timeout bounds each expire call. Default 10s.
	Timeout time.Duration
	// Logger receives failed calls. Default slog.Default().
	Logger *slog.Logger
}

// Timers holds one timer per order whose pairing is pending on this instance.
type Timers struct {
	expire func(ctx context.Context, orderID, pairingID string) error
	cfg    Config
	log    *slog.Logger
	// afterFunc is time.AfterFunc; tests replace it to fire timers themselves.
	afterFunc func(time.Duration, func()) stopper

	// ctx bounds the expire calls; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	pending  map[string]*watch // by order ID
	inflight sync.WaitGroup    // expire calls; Add only under mu while not closed
}

type stopper interface{ Stop() bool }

// watch is one order's pending pairing and its timer. A fire checks that its watch is still
// the order's: a timer that was stopped too late, or a pairing replaced while its expire
// call ran, then changes nothing.
type watch struct {
	pairingID string
	expiresAt time.Time
	timer     stopper
}

// New returns Timers that call expire for each lapsed pairing.
func New(expire func(ctx context.Context, orderID, pairingID string) error, cfg Config) *Timers {
	if expire == nil {
		panic("expiry: New needs an expire func")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Retries = cmp.Or(cfg.Retries, 5)
	cfg.RetryDelay = cmp.Or(cfg.RetryDelay, time.Second)
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Second)
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	t := &Timers{
		expire:  expire,
		cfg:     cfg,
		log:     cfg.Logger.With("component", "expiry"),
		pending: make(map[string]*watch),
		afterFunc: func(d time.Duration, f func()) stopper {
			return time.AfterFunc(d, f)
		},
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	return t
}

// Watch makes pairingID the order's pending pairing, to be expired at expiresAt (at once if
// that has passed: a pairing that lapsed while no instance watched still owes its event).
// Watching the pairing already watched changes nothing.
func (t *Timers) Watch(orderID, pairingID string, expiresAt time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if w := t.pending[orderID]; w != nil {
		if w.pairingID == pairingID && w.expiresAt.Equal(expiresAt) {
			return
		}
		w.timer.Stop()
	}
	w := &watch{pairingID: pairingID, expiresAt: expiresAt}
	t.pending[orderID] = w
	t.armLocked(orderID, w, expiresAt.Sub(t.cfg.Now()), 1)
}

// Forget drops the order's pending pairing: it was claimed, expired or replaced by none, or
// the last desktop of the order left this instance.
func (t *Timers) Forget(orderID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w := t.pending[orderID]; w != nil {
		w.timer.Stop()
		delete(t.pending, orderID)
	}
}

// Close stops every timer, cancels the expire calls under way and waits for them.
func (t *Timers) Close() {
	t.mu.Lock()
	t.closed = true
	for id, w := range t.pending {
		w.timer.Stop()
		delete(t.pending, id)
	}
	t.mu.Unlock()
	t.cancel()
	t.inflight.Wait()
}

func (t *Timers) armLocked(orderID string, w *watch, d time.Duration, attempt int) {
	w.timer = t.afterFunc(d, func() { t.fire(orderID, w, attempt) })
}

// fire asks the store to expire w's pairing if w is still the order's watch, and tries
// again later if the call failed.
func (t *Timers) fire(orderID string, w *watch, attempt int) {
	t.mu.Lock()
	if t.closed || t.pending[orderID] != w {
		t.mu.Unlock()
		return
	}
	t.inflight.Add(1)
	t.mu.Unlock()
	defer t.inflight.Done()

	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.Timeout)
	err := t.expire(ctx, orderID, w.pairingID)
	cancel()

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.pending[orderID] != w {
		return // closed, forgotten or replaced while the call ran
	}
	if err == nil {
		// Done: the store has published pairing_expired, or found the pairing claimed or
		// replaced. A snapshot still showing it pending will watch it again.
		delete(t.pending, orderID)
		return
	}
	t.log.Warn("expiring pairing failed", "order_id", orderID, "attempt", attempt, "err", err)
	if attempt >= t.cfg.Retries {
		delete(t.pending, orderID)
		return
	}
	t.armLocked(orderID, w, t.cfg.RetryDelay, attempt+1)
}
