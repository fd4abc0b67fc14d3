package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultTimeout = 10 * time.Second
	// DefaultLease is how long a deliverer holds an order: a dead instance's work is taken
	// over once it ends. It is longer than the timeout of the attempts it covers (at most
	// takeLimit of them).
	DefaultLease   = 30 * time.Second
	DefaultPoll    = time.Second
	DefaultWorkers = 4
	DefaultQueue   = 1024
)

// takeLimit is how many of one order's deliveries a worker holds at once: their attempts,
// one after another, must end within the lease.
const takeLimit = 2

// Config configures a Deliverer. Zero fields take the defaults named.
type Config struct {
	URL    string
	Signer *Signer
	Outbox Outbox
	// Timeout of one attempt; default DefaultTimeout (10 s).
	Timeout time.Duration
	// Lease default DefaultLease; Poll, how often the due index is read, DefaultPoll.
	Lease, Poll time.Duration
	// Workers POST at once; default DefaultWorkers. Queue bounds the orders waiting for a
	// worker; default DefaultQueue. Both are this instance's own: a slow receiver fills
	// them, and nothing else waits on them.
	Workers, Queue int
	// Now is the clock of every due time; default time.Now. Jitter returns a number in
	// [0, 1); default math/rand.
	Now    func() time.Time
	Jitter func() float64
	// Client sends the requests; default a client of its own (no redirects followed).
	Client *http.Client
	Logger *slog.Logger
	// Observe is told each attempt's outcome ("delivered", "failed", "dead") and its
	// duration; may be nil.
	Observe func(outcome string, took time.Duration)
}

// Deliverer runs one instance's webhook workers.
type Deliverer struct {
	cfg   Config
	queue chan job
	wg    sync.WaitGroup
	stop  context.CancelFunc
	ctx   context.Context
	once  sync.Once
}

// job is an order to work on: from the poll with its lease, or from Notify (fast), which
// claims it first.
type job struct {
	orderID string
	lease   Lease
	fast    bool
}

// New returns a Deliverer; Start starts it.
func New(cfg Config) *Deliverer {
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.Lease = cmp.Or(cfg.Lease, DefaultLease)
	cfg.Poll = cmp.Or(cfg.Poll, DefaultPoll)
	cfg.Workers = cmp.Or(cfg.Workers, DefaultWorkers)
	cfg.Queue = cmp.Or(cfg.Queue, DefaultQueue)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	return &Deliverer{cfg: cfg, queue: make(chan job, cfg.Queue)}
}

// Start starts the workers and the poll of the due index.
func (d *Deliverer) Start() {
	d.ctx, d.stop = context.WithCancel(context.Background())
	for range d.cfg.Workers {
		d.wg.Go(d.work)
	}
	d.wg.Go(d.poll)
}

// Close stops the poll and the workers and waits for the attempts under way (each ends
// within the timeout); what is left stays in the outbox for the next deliverer.
func (d *Deliverer) Close() {
	d.once.Do(func() {
		if d.stop != nil {
			d.stop()
			d.wg.Wait()
		}
	})
}

// Notify is the store's hook after a change with deliveries was committed: this instance
// takes the order at once rather than at the next poll. It never blocks: with the queue
// full the order waits in the outbox for the poll, so a slow receiver costs the write path
// nothing.
func (d *Deliverer) Notify(orderID string) {
	select {
	case d.queue <- job{orderID: orderID, fast: true}:
	default:
	}
}

// QueueLen is how many orders wait for a worker in this instance.
func (d *Deliverer) QueueLen() int { return len(d.queue) }

func (d *Deliverer) poll() {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		d.pollOnce()
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollOnce claims as many due orders as the queue has room for.
func (d *Deliverer) pollOnce() {
	room := cap(d.queue) - len(d.queue)
	if room <= 0 {
		return
	}
	ls, err := d.cfg.Outbox.ClaimDue(d.ctx, d.cfg.Now(), d.cfg.Lease, min(room, 100))
	if err != nil {
		if d.ctx.Err() == nil {
			d.cfg.Logger.Warn("webhook: reading the due index failed", "err", err)
		}
		return
	}
	for _, l := range ls {
		select {
		case d.queue <- job{orderID: l.OrderID, lease: l}:
		default:
			// Fuller than a moment ago (Notify): the lease ends and the next poll takes it.
		}
	}
}

func (d *Deliverer) work() {
	for {
		select {
		case <-d.ctx.Done():
			return
		case j := <-d.queue:
			d.order(j)
		}
	}
}

// order delivers what is due of one order's outbox, then puts the order back in the index
// at its next due time.
func (d *Deliverer) order(j job) {
	ctx := d.ctx
	l := j.lease
	if j.fast {
		var ok bool
		var err error
		l, ok, err = d.cfg.Outbox.ClaimOrder(ctx, j.orderID, d.cfg.Now(), d.cfg.Lease)
		if err != nil || !ok {
			return // the poll will find it (or another instance delivered it)
		}
	}
	// Take until nothing is due: the last Take's next is then the order's next due time,
	// read after every outcome of this worker was recorded.
	var next time.Time
	for {
		ds, n, err := d.cfg.Outbox.Take(ctx, j.orderID, d.cfg.Now(), d.cfg.Lease, takeLimit)
		if err != nil {
			return // the lease ends and the order is taken again
		}
		next = n
		if len(ds) == 0 {
			break
		}
		for _, del := range ds {
			o := d.attempt(ctx, del)
			if _, err := d.cfg.Outbox.Finish(ctx, del, o, d.cfg.Now()); err != nil {
				return
			}
		}
	}
	if err := d.cfg.Outbox.Settle(ctx, l, next, d.cfg.Now()); err != nil && ctx.Err() == nil {
		d.cfg.Logger.Warn("webhook: settling an order in the due index failed", "err", err)
	}
}

// attempt POSTs one delivery and decides what comes of it.
func (d *Deliverer) attempt(ctx context.Context, del Delivery) Outcome {
	start := time.Now()
	sent := d.cfg.Now()
	status, errClass := d.post(ctx, del, sent)
	var o Outcome
	if errClass == "" {
		o = Outcome{Status: Delivered}
	} else {
		o = next(del, d.cfg.Now(), d.cfg.Jitter())
		o.LastError = errClass
	}
	took := time.Since(start)
	if d.cfg.Observe != nil {
		d.cfg.Observe(o.Status, took)
	}
	// No URL (it may carry a token of the receiver's) and no order data beyond the type.
	switch o.Status {
	case Delivered:
		d.cfg.Logger.Debug("webhook delivered", "type", del.Type, "attempt", del.Attempts+1, "status", status, "took", took)
	case StatusDead:
		d.cfg.Logger.Error("webhook dead after 3 days of failures", "type", del.Type, "attempts", del.Attempts+1, "error", errClass)
	default:
		d.cfg.Logger.Warn("webhook attempt failed", "type", del.Type, "attempt", del.Attempts+1, "error", errClass, "retry_in", o.NextAt.Sub(d.cfg.Now()).Round(time.Second))
	}
	return o
}

// post sends one attempt; errClass is empty for a 2xx, else a short closed description
// ("status 500", "timeout", "connect", "request") that the outbox keeps as last_error.
func (d *Deliverer) post(ctx context.Context, del Delivery, sent time.Time) (status int, errClass string) {
	body := del.Body()
	sig, err := d.cfg.Signer.Sign(del.ID, sent, body)
	if err != nil {
		return 0, "sign"
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "request"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "beianscan-webhook/1")
	req.Header.Set("webhook-id", del.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(sent.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
			return 0, "timeout"
		case errors.Is(err, context.Canceled):
			return 0, "canceled"
		default:
			return 0, "connect"
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, "status " + strconv.Itoa(resp.StatusCode)
}
