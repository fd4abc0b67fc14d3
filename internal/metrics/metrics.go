// Package metrics defines every Prometheus metric of beianscan in one place and serves them
// on their own listener (BEIANSCAN_METRICS_ADDR). Other packages never import Prometheus:
// the server wires the HTTP middleware, the store and blob wrappers and the Redis hook here,
// and the few hooks that must sit inside a package (image steps, the decode budget,
// retention) are plain functions that package's consumer passes in.
//
// Labels are bounded: route patterns (never URLs), methods, statuses, the contract's error
// codes, slots, vias, image steps. No order, pairing or device ID is ever a label.
package metrics

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/beianscan/beianscan/internal/events"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const ns = "beianscan"

// Metrics holds the collectors of one server. Each server has its own registry, so that
// two instances in one test process do not share counters.
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	uploads       *prometheus.CounterVec
	imageStep     *prometheus.HistogramVec
	eventDelivery prometheus.Histogram
	eventsWritten prometheus.Counter
	claims        *prometheus.CounterVec
	pairingsMade  prometheus.Counter
	pairingsEnded *prometheus.CounterVec
	events        *prometheus.CounterVec
	redisErrors   *prometheus.CounterVec
	blobErrors    *prometheus.CounterVec
	retentionGone *prometheus.CounterVec

	own []prometheus.Collector // beianscan's own, for Names

	routes atomic.Pointer[map[string]bool] // the route labels (SetRoutes)
}

// New registers every metric, with the Go runtime and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{Registry: r}
	m.httpRequests = counterVec(m, "http_requests_total",
		"HTTP requests answered, by route pattern, method, status and the contract's error code (\"\" when none).",
		"route", "method", "status", "code")
	m.httpDuration = histogramVec(m, "http_request_duration_seconds",
		"Time from the request's arrival to the end of its answer, by route pattern and method.",
		[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, "route", "method")
	m.uploads = counterVec(m, "uploads_total",
		"Material uploads (app, desktop, stitch) by slot, via (app|pc) and outcome (ok or the contract's error code).",
		"slot", "via", "outcome")
	m.imageStep = histogramVec(m, "image_step_duration_seconds",
		"Image processing time by step (header, decode, analyse, strip, fit, stitch).",
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}, "step")
	m.eventDelivery = register(m, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: ns, Name: "event_delivery_seconds",
		Help:    "From an event's publication (its \"at\") to its websocket frame being written, on this instance.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}))
	m.eventsWritten = register(m, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Name: "websocket_event_frames_total",
		Help: "Event frames (not snapshots or pings) written to desktop websockets.",
	}))
	m.claims = counterVec(m, "claims_total", "Pairing claims by outcome (ok or the contract's error code).", "outcome")
	m.pairingsMade = register(m, prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Name: "pairings_created_total", Help: "QR pairings created.",
	}))
	m.pairingsEnded = counterVec(m, "pairings_expired_total",
		"Unclaimed pairings that ended, by reason (expired: the QR lapsed; replaced or revoked by the desktop).", "reason")
	m.events = counterVec(m, "events_published_total", "Order events published, by type.", "type")
	m.redisErrors = counterVec(m, "redis_errors_total",
		"Redis commands or pipelines that failed (not a missing key, not a lost optimistic transaction), by command.", "command")
	m.blobErrors = counterVec(m, "blob_errors_total", "Blob store operations that failed, by operation (put, open, delete).", "op")
	m.retentionGone = counterVec(m, "retention_deletions_total",
		"Blobs deleted by the sweep, by kind: blob (no stored material refers to it: an expired order's image, or a replaced one), leftover (a crashed write).",
		"kind")
	return m
}

// register adds one of beianscan's own collectors to the registry and to the list Names
// reads, in one step, so that no metric can be registered and missing from Names.
func register[C prometheus.Collector](m *Metrics, c C) C {
	m.Registry.MustRegister(c)
	m.own = append(m.own, c)
	return c
}

// counterVec registers a counter with labels; name lacks the namespace.
func counterVec(m *Metrics, name, help string, labels ...string) *prometheus.CounterVec {
	return register(m, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels))
}

// histogramVec registers a histogram with labels; name lacks the namespace.
func histogramVec(m *Metrics, name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return register(m, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: name, Help: help, Buckets: buckets,
	}, labels))
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Request records one answered HTTP request. route is the pattern ("/api/v1/orders/:id"),
// code the contract's error code or "".
func (m *Metrics) Request(route, method string, status int, code string, took time.Duration) {
	if m == nil {
		return
	}
	route, method = m.route(route), methodLabel(method)
	m.httpRequests.WithLabelValues(route, method, statusLabel(status), codeLabel(code)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(took.Seconds())
}

// Upload records one upload's outcome: "ok" or the error code.
func (m *Metrics) Upload(slot, via, outcome string) {
	if m == nil {
		return
	}
	m.uploads.WithLabelValues(slotLabel(slot), closed(via, vias), outcomeLabel(outcome)).Inc()
}

// Claim records one claim's outcome: "ok" or the error code.
func (m *Metrics) Claim(outcome string) {
	if m == nil {
		return
	}
	m.claims.WithLabelValues(outcomeLabel(outcome)).Inc()
}

// ImageStep records how long one image processing step took. It is the hook the images
// package (or its caller) calls: func(step string, d time.Duration).
func (m *Metrics) ImageStep(step string, d time.Duration) {
	if m == nil {
		return
	}
	m.imageStep.WithLabelValues(closed(step, steps)).Observe(d.Seconds())
}

// Event records one published order event; pairing events also move the pairing counters.
// reason is the pairing_expired event's reason ("expired", "replaced", "revoked"), else "".
func (m *Metrics) Event(typ, reason string) {
	if m == nil {
		return
	}
	m.events.WithLabelValues(closed(typ, eventTypes)).Inc()
	switch typ {
	case events.PairingCreated:
		m.pairingsMade.Inc()
	case events.PairingExpired:
		if reason == "" {
			reason = "expired"
		}
		m.pairingsEnded.WithLabelValues(closed(reason, endReasons)).Inc()
	}
}

// RedisError counts one failed Redis command.
func (m *Metrics) RedisError(command string) {
	if m == nil {
		return
	}
	m.redisErrors.WithLabelValues(closed(command, redisCommands)).Inc()
}

// BlobError counts one failed blob store operation.
func (m *Metrics) BlobError(op string) {
	if m == nil {
		return
	}
	m.blobErrors.WithLabelValues(closed(op, blobOps)).Inc()
}

// RetentionDeleted is the retention sweep's hook: n orders or blobs (kind "order" or
// "blob") deleted.
func (m *Metrics) RetentionDeleted(kind string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.retentionGone.WithLabelValues(closed(kind, sweptKinds)).Add(float64(n))
}

// Names lists the names of beianscan's own metrics (those registered so far, gauge
// functions included), for checking dashboards and alerts against.
func (m *Metrics) Names() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range m.own {
			c.Describe(ch)
		}
		close(ch)
	}()
	var out []string
	for d := range ch {
		// Desc has no accessor for its name; its String form is stable:
		// Desc{fqName: "name", help: …}.
		s := d.String()
		if i := strings.Index(s, `fqName: "`); i >= 0 {
			s = s[i+len(`fqName: "`):]
			out = append(out, s[:strings.IndexByte(s, '"')])
		}
	}
	return out
}

// GaugeFunc registers a gauge read at scrape time, for values another package already
// keeps (open websockets, decode bytes in flight). name lacks the namespace.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	if m == nil {
		return
	}
	register(m, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, f))
}

// DecodeBudget is the hook of the decode memory budget (BEIANSCAN_DECODE_MEMORY):
// inFlight reports the decoded bytes reserved right now, budget is the configured limit.
// Both are read at scrape time; call it once per server.
func (m *Metrics) DecodeBudget(inFlight func() int64, budget int64) {
	m.GaugeFunc("decode_bytes_in_flight", "Decoded image bytes reserved by uploads in progress on this instance.",
		func() float64 { return float64(inFlight()) })
	m.GaugeFunc("decode_bytes_budget", "The decode memory budget of this instance (BEIANSCAN_DECODE_MEMORY).",
		func() float64 { return float64(budget) })
}

// Websockets registers the gauge of open desktop websockets.
func (m *Metrics) Websockets(open func() int) {
	m.GaugeFunc("websockets_open", "Desktop websockets open on this instance.", func() float64 { return float64(open()) })
}
