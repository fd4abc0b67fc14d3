package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// WebhookOutcomes are the outcomes an attempt is counted by: a closed set.
var WebhookOutcomes = []string{"delivered", "failed", "dead"}

// Webhooks registers the webhook metrics of this instance (internal/webhook): the local
// queue's length, and, read from the outbox at scrape time, how many orders have deliveries
// due and how long the longest-waiting of them has waited. It returns the deliverer's
// Observe hook, which counts attempts by outcome and times them.
func (m *Metrics) Webhooks(queue func() int, backlog func() (orders int64, oldest time.Duration)) func(outcome string, took time.Duration) {
	if m == nil {
		return nil
	}
	attempts := counterVec(m, "webhook_deliveries_total",
		"Webhook delivery attempts by outcome: delivered (2xx), failed (to be retried), dead (retries exhausted).", "outcome")
	for _, o := range WebhookOutcomes {
		attempts.WithLabelValues(o) // every series exists from the start, at 0
	}
	took := register(m, prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: ns, Name: "webhook_attempt_seconds", Help: "Time of one webhook attempt, from the request to the receiver's answer.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}))
	m.GaugeFunc("webhook_queue_length", "Orders with due webhooks waiting for a worker of this instance.", func() float64 { return float64(queue()) })
	m.GaugeFunc("webhook_due_orders", "Orders whose outbox has deliveries due now and not yet taken, across instances.", func() float64 {
		n, _ := backlog()
		return float64(n)
	})
	m.GaugeFunc("webhook_oldest_pending_seconds", "How long the longest-waiting due webhook delivery has waited for an attempt, across instances.", func() float64 {
		_, d := backlog()
		return d.Seconds()
	})
	return func(outcome string, d time.Duration) {
		switch outcome {
		case "delivered", "failed", "dead":
		default:
			outcome = "failed"
		}
		attempts.WithLabelValues(outcome).Inc()
		took.Observe(d.Seconds())
	}
}
