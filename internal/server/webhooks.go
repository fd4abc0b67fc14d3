package server

import (
	"context"
	"time"

	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/webhook"
)

// validateWebhooks refuses a webhook URL that would send in clear, and a missing or weak
// secret.
func (cfg *Config) validateWebhooks() error {
	if cfg.WebhookURL == "" {
		return nil
	}
	if err := webhook.CheckURL(cfg.WebhookURL); err != nil {
		return err
	}
	_, err := webhook.NewSigner(cfg.WebhookSecret)
	return err
}

// webhookStoreOptions are the order store's options for webhooks: the outbox when
// webhooks are on (its due index scoped like the limits, so that test servers sharing one
// Redis keep apart).
func (cfg *Config) webhookStoreOptions() []redisstore.Option {
	if cfg.WebhookURL == "" {
		return nil
	}
	return []redisstore.Option{redisstore.WithWebhooks(cfg.LimitScope)}
}

// startWebhooks starts this instance's webhook deliverer on the outbox of rstore, told of
// each change this instance commits, its attempts counted in the metrics.
func (m *Main) startWebhooks(rstore *redisstore.Store) error {
	cfg := &m.Config
	if cfg.WebhookURL == "" {
		return nil
	}
	signer, err := webhook.NewSigner(cfg.WebhookSecret)
	if err != nil {
		return err
	}
	wc := cfg.Webhooks
	wc.URL, wc.Signer, wc.Outbox, wc.Logger = cfg.WebhookURL, signer, rstore, cfg.Logger
	if wc.Now == nil {
		wc.Now = cfg.Now
	}
	var d *webhook.Deliverer
	wc.Observe = m.Metrics.Webhooks(func() int { return d.QueueLen() }, func() (int64, time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, oldest, _ := rstore.WebhookBacklog(ctx)
		return n, oldest
	})
	d = webhook.New(wc)
	rstore.SetWebhookNotify(d.Notify)
	d.Start()
	m.Webhooks = d
	return nil
}
