package admission

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// Defaults of the body budget (BEIANSCAN_BODY_MEMORY, BEIANSCAN_UPLOADS_PER_ORDER,
// BEIANSCAN_UPLOADS_PER_IP; docs/operations.md).
const (
	DefaultBodyMemory      int64 = 256 << 20
	DefaultUploadsPerOrder       = 8
	DefaultUploadsPerIP          = 32
)

// ErrTooManyUploads refuses an upload past the per-order or per-IP cap of uploads in flight.
var ErrTooManyUploads = filing.ErrRateLimited.WithMessage(
	"Too many uploads are under way at once for this order or from this network; wait for them to finish.",
	"同时进行的上传过多，请等待当前上传完成后再试。")

// BodyConfig sizes a Bodies. Zero fields take the defaults; a negative one leaves that bound
// off (benchmarks only).
type BodyConfig struct {
	// Memory is the budget of request body bytes held at once; default 256 MiB.
	Memory int64
	// PerOrder and PerIP cap the uploads in flight on one order and from one client IP.
	PerOrder, PerIP int
	// RetryAfter is the Retry-After of a refusal; default 1 s.
	RetryAfter time.Duration
}

// Bodies bounds the request bodies an instance holds in memory: uploads, fitted uploads
// and stitch parts are read whole before they are decoded, so without a bound a crowd of
// slow bodies takes the process's memory before the decode budget (Gate) sees any of them.
// A body reserves its bytes before they are read, from Content-Length, or as it grows when
// it is chunked; a body that finds no room is refused at once with 503 unavailable, holding
// nothing: waiting for room would mean holding the connection, and the bytes the kernel
// buffers for it, for nothing. It also caps the uploads in flight per order and per client
// IP, so that one client cannot take the whole budget. A nil *Bodies admits everything.
type Bodies struct {
	memory          int64
	perOrder, perIP int
	retryAfter      int

	used    atomic.Int64
	refused atomic.Int64

	mu     sync.Mutex
	orders map[string]int
	ips    map[string]int
}

// NewBodies returns a Bodies for cfg.
func NewBodies(cfg BodyConfig) *Bodies {
	if cfg.Memory == 0 {
		cfg.Memory = DefaultBodyMemory
	}
	if cfg.PerOrder == 0 {
		cfg.PerOrder = DefaultUploadsPerOrder
	}
	if cfg.PerIP == 0 {
		cfg.PerIP = DefaultUploadsPerIP
	}
	ra := 1
	if cfg.RetryAfter > 0 {
		ra = max(1, int((cfg.RetryAfter+time.Second-1)/time.Second))
	}
	return &Bodies{memory: cfg.Memory, perOrder: cfg.PerOrder, perIP: cfg.PerIP, retryAfter: ra,
		orders: map[string]int{}, ips: map[string]int{}}
}

// Memory is the budget in bytes (negative: none).
func (b *Bodies) Memory() int64 { return b.memory }

// BodyStats are the gauges of a Bodies.
type BodyStats struct {
	BytesReserved int64 // by bodies being read or held
	Refused       int64 // bodies refused with 503 since start
}

// Stats returns the current gauges.
func (b *Bodies) Stats() BodyStats {
	if b == nil {
		return BodyStats{}
	}
	return BodyStats{BytesReserved: b.used.Load(), Refused: b.refused.Load()}
}

// Admit takes a place for one upload on orderID from ip and reserves the bytes its body
// will hold: size (Content-Length; negative when unknown) but never more than limit+1,
// the most a reader bounded by limit lets through. An unknown size reserves nothing yet:
// the body's Reader reserves as it grows. It answers ErrTooManyUploads (429) past a cap
// and filing.ErrUnavailable (503, Retry-After) when the budget has no room, at once. The
// Body must be released once its bytes are no longer held.
func (b *Bodies) Admit(orderID, ip string, size, limit int64) (*Body, error) {
	if b == nil {
		return &Body{}, nil
	}
	if err := b.take(orderID, ip); err != nil {
		return nil, err
	}
	body := &Body{b: b, order: orderID, ip: ip, limit: max(limit, 0) + 1, known: size >= 0}
	if size >= 0 {
		if err := body.reserve(min(size, body.limit)); err != nil {
			body.Release()
			return nil, err
		}
	}
	return body, nil
}

func (b *Bodies) take(orderID, ip string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if (b.perOrder > 0 && orderID != "" && b.orders[orderID] >= b.perOrder) ||
		(b.perIP > 0 && ip != "" && b.ips[ip] >= b.perIP) {
		return filing.RetryAfter(ErrTooManyUploads, time.Duration(b.retryAfter)*time.Second)
	}
	if orderID != "" {
		b.orders[orderID]++
	}
	if ip != "" {
		b.ips[ip]++
	}
	return nil
}

func (b *Bodies) give(orderID, ip string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	drop(b.orders, orderID)
	drop(b.ips, ip)
}

// drop counts one place of k out of m, deleting k at zero so that the maps hold only the
// orders and addresses with uploads in flight.
func drop(m map[string]int, k string) {
	if k == "" {
		return
	}
	if m[k] <= 1 {
		delete(m, k)
	} else {
		m[k]--
	}
}

// tryReserve takes n bytes of the budget if they are free now.
func (b *Bodies) tryReserve(n int64) bool {
	if b.memory < 0 {
		b.used.Add(n)
		return true
	}
	for {
		cur := b.used.Load()
		if cur+n > b.memory {
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (b *Bodies) unavailable() error {
	b.refused.Add(1)
	return filing.ErrUnavailable.WithDetails(map[string]any{filing.DetailRetryAfter: b.retryAfter})
}

// Body is one admitted body's reservation and place.
type Body struct {
	b         *Bodies
	order, ip string
	limit     int64 // the most bytes it may reserve
	known     bool  // its size was known when admitted
	reserved  int64
	once      sync.Once
}

func (r *Body) reserve(n int64) error {
	if n <= 0 {
		return nil
	}
	if !r.b.tryReserve(n) {
		return r.b.unavailable()
	}
	r.reserved += n
	return nil
}

// Size is the bytes reserved when the body's size was known on admission, else -1: the
// capacity to read it into at once instead of growing a buffer.
func (r *Body) Size() int64 {
	if r.b == nil || !r.known {
		return -1
	}
	return r.reserved
}

// Release gives the bytes and the place back; it may be called more than once.
func (r *Body) Release() {
	if r.b == nil {
		return
	}
	r.once.Do(func() {
		r.b.used.Add(-r.reserved)
		r.b.give(r.order, r.ip)
	})
}

// Reader returns src reserving, before each read, room for what the read may bring past
// what is already reserved: a chunked body is reserved as it grows, and refused with 503
// (the read's error) when the budget is full. A body of known size was reserved whole on
// admission; net/http never lets more than Content-Length through.
func (r *Body) Reader(src io.Reader) io.Reader {
	if r.b == nil || r.known {
		return src
	}
	return &growingReader{body: r, src: src}
}

type growingReader struct {
	body *Body
	src  io.Reader
	read int64
}

func (g *growingReader) Read(p []byte) (int, error) {
	if g.read >= g.body.limit {
		return 0, filing.ErrTooLarge
	}
	want := min(g.read+int64(len(p)), g.body.limit)
	if want > g.body.reserved {
		// Grow by at least what is reserved already (doubling, as the caller's buffer does),
		// so that a body read in small pieces is not reserved one piece at a time.
		step := max(want-g.body.reserved, min(g.body.reserved, g.body.limit-g.body.reserved), 64<<10)
		step = min(step, g.body.limit-g.body.reserved)
		if err := g.body.reserve(step); err != nil {
			return 0, err
		}
	}
	n, err := g.src.Read(p[:min(int64(len(p)), max(g.body.reserved-g.read, 0))])
	g.read += int64(n)
	return n, err
}
