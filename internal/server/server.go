// Package server wires beianscan together: configuration defaults, Redis (or the embedded
// miniredis), blob storage, the orders service, the websocket hub, the desktop and app APIs
// and the embedded desktop page, with a graceful shutdown. cmd/beianscan reads the
// environment into a Config and runs it; tests start it on ":0".
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/broker"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/hub"
	"github.com/beianscan/beianscan/internal/images"
	"github.com/beianscan/beianscan/internal/limits"
	"github.com/beianscan/beianscan/internal/metrics"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/pairingexpiry"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/reviewers"
	"github.com/beianscan/beianscan/internal/sealbox"
	"github.com/beianscan/beianscan/internal/sweep"
	"github.com/beianscan/beianscan/internal/webhook"
	"github.com/beianscan/beianscan/mobileapi"
	"github.com/beianscan/beianscan/static"
	"github.com/beianscan/beianscan/webapi"
)

// Config is the whole service's configuration (the README's configuration table). Zero
// fields take the defaults given, filled in by withDefaults (config.go) from the constants
// of the package that owns each setting; a setting that can be off has an Off value of its
// own. cmd/beianscan fills it from BEIANSCAN_* variables and flags whose defaults are the
// same constants.
type Config struct {
	// Addr to listen on; default DefaultAddr (":8080").
	Addr string
	// PublicURL is the base of scan_url in the QR code; default orders.DefaultPublicURL,
	// "http://localhost:8080" (on a port other than 8080, e.g. Addr ":0", the address
	// actually bound).
	PublicURL string
	// RedisURL: empty runs an embedded miniredis (for trying out and tests); else a
	// redis:// or rediss:// URL (with ?master_name= for Sentinel, ?addr= for Cluster).
	RedisURL string
	// DataDir holds the blobs; default DefaultDataDir ("./data").
	DataDir string
	// BlobURL picks the blob store: empty → the file store under DataDir; file:///path;
	// s3://BUCKET/PREFIX?endpoint=http://host:port&region=… for S3-compatible storage, with
	// credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
	BlobURL string
	// JWTSecret signs tokens and derives pairing codes; empty: random per process, allowed
	// only in the embedded mode.
	JWTSecret string
	// OperatorKey enables the review-result endpoint; empty disables it.
	OperatorKey string
	// Reviewers is the path of the reviewers' file (BEIANSCAN_REVIEWERS, NAME:SHA256HEX
	// lines, re-read when it changes); empty: no workbench.
	Reviewers string
	// ReviewHold is how long a reviewer's hold lasts without activity; default
	// orders.DefaultReviewHold (15m).
	ReviewHold time.Duration
	// PairingTTL default 5m, PhoneTokenTTL default 30m, DesktopTokenTTL default 72h
	// (orders.DefaultPairingTTL, DefaultPhoneTokenTTL, DefaultDesktopTokenTTL).
	PairingTTL, PhoneTokenTTL, DesktopTokenTTL time.Duration
	// DeviceTokenTTL (BEIANSCAN_DEVICE_TOKEN_TTL) is the life of the device token a claim
	// answers, the phone's key to its list; default orders.DefaultDeviceTokenTTL (4320h).
	DeviceTokenTTL time.Duration
	// MinAppVersion default orders.DefaultMinAppVersion ("3.16.0").
	MinAppVersion string
	// AppProvinces default filing.DefaultAppProvinces (CN-GD,CN-CQ,CN-LN,CN-AH,CN-FJ); an
	// empty non-nil slice: none.
	AppProvinces []string
	// AllowedOrigins for the websocket; empty: the request's own host.
	AllowedOrigins []string
	// AppDownloadURL is the provider's app download page, linked from /m/scan; empty: the
	// page says to get the app from the phone's app store.
	AppDownloadURL string
	// ClaimGuessLimit is how many claims of codes never issued one client IP may make per
	// 10 minutes; default orders.DefaultClaimGuessLimit (20); orders.GuessLimitOff turns
	// it off.
	ClaimGuessLimit int
	// OrderRate is how many orders one client IP may create; default
	// limits.DefaultOrderRate (30/h); limits.RateOff turns it off.
	OrderRate limits.Rate
	// PairingRate is how many QR pairings one order may create; default
	// limits.DefaultPairingRate (60/h); limits.RateOff turns it off.
	PairingRate limits.Rate
	// WebsocketsPerOrder is how many desktop websockets one order may hold at once across
	// instances; default limits.DefaultWebsocketsPerOrder (20); limits.Off: no limit.
	WebsocketsPerOrder int
	// LimitScope keeps the rate and websocket counters of servers sharing one Redis apart
	// (tests); empty, as in production, every instance counts together.
	LimitScope string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed; empty: none,
	// the peer's address is the client's.
	TrustedProxies []netip.Prefix
	// UploadTimeout bounds the arrival of an upload's whole body; default
	// httpx.DefaultUploadTimeout (2m). Other
	// requests' bodies get the shorter of it and 30s. Blob files no material refers to are
	// swept once twice as old.
	UploadTimeout time.Duration
	// RedisMinReplicas: every acknowledged change is confirmed on this many Redis replicas
	// (WAIT) before the answer, else 503; default 0 (off).
	RedisMinReplicas int
	// RedisWaitTimeout bounds that confirmation; default redisstore.DefaultWaitTimeout (1s). Keep it below the client's
	// read timeout (go-redis's default 3s).
	RedisWaitTimeout time.Duration
	// Images tunes image checks (quality thresholds); zero fields take defaults.
	Images images.Options
	// Hub tunes the websockets; zero fields take defaults.
	Hub hub.Config
	// EncryptionKeys (BEIANSCAN_ENCRYPTION_KEYS) seal what is sensitive at rest, every image
	// and every full ID number: comma-separated ID:BASE64 32-byte keys, the first seals, all
	// open. Empty: a random key per process, allowed only in the embedded mode.
	EncryptionKeys string
	// Retention (BEIANSCAN_RETENTION): an order and everything under its hash tag expire
	// this long after its last change, unless it is submitted; default
	// redisstore.DefaultRetention (720h).
	Retention time.Duration
	// DecodeMemory is the budget of decoded image bytes in flight (BEIANSCAN_DECODE_MEMORY);
	// default admission.DefaultMemory (512 MiB); negative: no budget (benchmarks only).
	DecodeMemory int64
	// ImageWorkers is how many images are processed at once (BEIANSCAN_IMAGE_WORKERS);
	// default admission.DefaultWorkers(), cores − 1, at least 1; negative: unbounded
	// (benchmarks only).
	ImageWorkers int
	// DecodeWait is how long an upload waits for the budget and a worker before 503
	// unavailable; default admission.DefaultWait, 10 s (docs/operations.md; shorter in tests).
	DecodeWait time.Duration
	// BodyMemory is the budget of request body bytes held in memory at once
	// (BEIANSCAN_BODY_MEMORY); default admission.DefaultBodyMemory (256 MiB); negative: no
	// budget (benchmarks only).
	BodyMemory int64
	// UploadsPerOrder and UploadsPerIP cap the uploads in flight on one order and from one
	// client IP in this instance (BEIANSCAN_UPLOADS_PER_ORDER, BEIANSCAN_UPLOADS_PER_IP);
	// defaults admission.DefaultUploadsPerOrder (8) and DefaultUploadsPerIP (32); negative: off.
	UploadsPerOrder, UploadsPerIP int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger default slog.Default().
	Logger *slog.Logger

	// plaintextBlobs, set only by a benchmark, stores images unencrypted on the file
	// store: the reference the cost of encryption is measured against.
	plaintextBlobs bool
	// MetricsAddr is where Prometheus /metrics listens; default DefaultMetricsAddr
	// (127.0.0.1:9464); MetricsOff: nowhere. The metrics are kept either way.
	MetricsAddr string
	// WebhookURL (BEIANSCAN_WEBHOOK_URL) is the back office's webhook endpoint: https, or
	// http to a loopback address; empty: no webhooks.
	WebhookURL string
	// WebhookSecret (BEIANSCAN_WEBHOOK_SECRET, environment only): space-separated
	// "whsec_" + base64 secrets of at least 24 bytes, each signing every request (more
	// than one while the secret is changed); required with WebhookURL.
	WebhookSecret string
	// Webhooks tunes the deliverer: Workers, Queue, Timeout, Lease, Poll, Jitter, Client
	// (zero: internal/webhook's defaults). URL, Signer, Outbox, Logger and Observe are the
	// server's; Now defaults to Config.Now.
	Webhooks webhook.Config
}

// Main is a running service.
type Main struct {
	rstore    *redisstore.Store
	reviewers *reviewers.File

	Config   Config
	Embedded bool
	// URL is where it listens, e.g. http://127.0.0.1:8080.
	URL string

	Service *orders.Service
	// Keyring seals ID numbers (and images) at rest; built once from EncryptionKeys.
	Keyring *sealbox.Keyring
	Redis   redis.UniversalClient
	Mini    *miniredis.Miniredis
	// Blobs is the encrypted blob store; Sweeper sweeps the store beneath it.
	Blobs   *blob.Sealed
	Sweeper *sweep.Sweeper
	// Metrics of this server; MetricsURL is where they are served ("" when off).
	Metrics    *metrics.Metrics
	MetricsURL string

	// Images bounds image work (internal/admission); its Stats are the gauges.
	Images *admission.Gate
	// Bodies bounds upload bodies held in memory and uploads in flight per order and IP.
	Bodies *admission.Bodies
	// Webhooks delivers this instance's share of the webhooks; nil when they are off.
	Webhooks *webhook.Deliverer

	echo     *echo.Echo
	srv      *http.Server
	msrv     *http.Server
	hub      *hub.Hub
	expiry   *pairingexpiry.Timers
	limits   *limits.Limits
	ln       net.Listener
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeOne sync.Once
	// badFormat is set when Redis was found to hold a format this version cannot read
	// after the start (checkFormat); /readyz then answers 503.
	badFormat atomic.Bool
}

// Open builds everything and starts listening; it serves until Close.
func Open(cfg Config) (*Main, error) {
	m := &Main{Config: cfg}
	if err := m.open(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// open wires the service one named step at a time; each step builds one part from the
// parts before it. On an error Open's Close undoes what was started.
func (m *Main) open() error {
	if err := m.Config.withDefaults(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	sentinel, secret, err := m.openRedis(ctx)
	if err != nil {
		return err
	}
	signer, err := m.openKeys(secret)
	if err != nil {
		return err
	}
	raw, storeName, blobs, err := m.openBlobs(ctx)
	if err != nil {
		return err
	}
	if err := m.listen(); err != nil {
		return err
	}
	rstore, store := m.openStore()
	if err := m.checkFormat(ctx, rstore); err != nil {
		return err
	}
	if err := m.startWebhooks(rstore); err != nil {
		return err
	}
	m.rstore = rstore
	if cfg := m.Config; cfg.Reviewers != "" {
		if m.reviewers, err = reviewers.Open(cfg.Reviewers); err != nil {
			return fmt.Errorf("BEIANSCAN_REVIEWERS: %w", err)
		}
	}
	m.startSweeper(ctx, raw, storeName, rstore)
	m.openService(store, blobs, signer, secret)
	m.startHub(ctx, sentinel)
	m.echo = m.routes(blobs, rstore)
	if err := m.serveMetrics(); err != nil {
		return err
	}
	m.serve()
	m.Config.Logger.Info("beianscan listening", "url", m.URL, "public_url", m.Config.PublicURL, "embedded", m.Embedded,
		"blobs", storeName, "encryption_key", m.Keyring.Primary())
	return nil
}

// openRedis connects to BEIANSCAN_REDIS_URL, or starts the embedded miniredis (then with
// a random signing secret if none is given), and counts its commands in m.Metrics. It
// returns the Sentinels the broker watches (nil unless Sentinel) and the signing secret.
func (m *Main) openRedis(ctx context.Context) (*broker.Sentinel, []byte, error) {
	cfg := &m.Config
	secret := []byte(cfg.JWTSecret)
	// go-redis logs each failed dial (several a second while Redis is down): one line per
	// kind per 10 s is enough. The logger is process-wide in go-redis.
	redis.SetLogger(redisstore.NewDriverLogger(cfg.Logger, 10*time.Second))
	var sentinel *broker.Sentinel
	if cfg.RedisURL == "" {
		m.Embedded = true
		mr, err := miniredis.Run()
		if err != nil {
			return nil, nil, fmt.Errorf("embedded redis: %w", err)
		}
		m.Mini = mr
		m.Redis = redis.NewClient(&redis.Options{Addr: mr.Addr()})
		m.goAdvance(ctx)
		if len(secret) == 0 {
			secret = auth.RandomSecret()
		}
		cfg.Logger.Warn("embedded mode: in-process Redis and a random signing key; for trying out and tests only, everything is lost when the process stops")
	} else {
		rdb, s, err := redisClient(cfg.RedisURL)
		if err != nil {
			return nil, nil, err
		}
		m.Redis, sentinel = rdb, s
	}
	m.Metrics = metrics.New()
	m.Redis.AddHook(redisHook{m.Metrics})
	return sentinel, secret, nil
}

// openKeys builds the token signer on secret and the keyring that seals what is sensitive
// at rest (m.Keyring).
func (m *Main) openKeys(secret []byte) (*auth.Signer, error) {
	signer, err := auth.NewSigner(secret, m.Config.Now)
	if err != nil {
		return nil, err
	}
	if m.Keyring, err = encryptionKeys(m.Config.EncryptionKeys, m.Embedded, m.Config.Logger); err != nil {
		return nil, err
	}
	return signer, nil
}

// openBlobs opens the blob store of BEIANSCAN_BLOB_URL and seals it with m.Keyring. It
// returns the raw store (for the sweeper) and its name, and the metered store the service
// and the desktop API write through.
func (m *Main) openBlobs(ctx context.Context) (raw blob.Store, storeName string, blobs meteredBlobs, err error) {
	cfg := &m.Config
	raw, storeName, err = blob.FromURL(ctx, cfg.BlobURL, cfg.DataDir, os.Getenv)
	if err != nil {
		return nil, "", meteredBlobs{}, err
	}
	m.Blobs = blob.NewSealed(raw, m.Keyring)
	blobs = meteredBlobs{m.Blobs, m.Metrics}
	if d, ok := raw.(*blob.Disk); ok && cfg.plaintextBlobs {
		blobs = meteredBlobs{d, m.Metrics}
	}
	return raw, storeName, blobs, nil
}

// listen binds Config.Addr, and fills PublicURL: the default on port 8080, else (":0" in
// tests) the address actually bound.
func (m *Main) listen() error {
	cfg := &m.Config
	var err error
	m.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	m.URL = "http://" + hostPort(m.ln.Addr())
	if cfg.PublicURL == "" {
		cfg.PublicURL = orders.DefaultPublicURL
		if _, port, _ := net.SplitHostPort(cfg.Addr); port != "8080" {
			cfg.PublicURL = m.URL
		}
	}
	return nil
}

// openStore builds the Redis order store, and the metered view of it the service uses.
func (m *Main) openStore() (*redisstore.Store, meteredStore) {
	cfg := &m.Config
	opts := append([]redisstore.Option{redisstore.WithKeyring(m.Keyring), redisstore.WithRetention(cfg.Retention),
		redisstore.WithClock(cfg.Now), redisstore.WithScope(cfg.LimitScope)}, cfg.webhookStoreOptions()...)
	rstore := redisstore.New(m.Redis, cfg.PhoneTokenTTL, opts...)
	rstore.SetReplication(redisstore.Replication{MinReplicas: cfg.RedisMinReplicas, Timeout: cfg.RedisWaitTimeout})
	return rstore, meteredStore{rstore, m.Metrics}
}

// checkFormat refuses to start on data of a format this version cannot read
// (redisstore.Format). Redis not answering does not stop the start (an instance comes up
// during a failover and recovers by itself): the check is then made again in the
// background until Redis answers, and a format found unreadable then is logged as an error
// and makes /readyz answer 503 (the container is marked unhealthy).
func (m *Main) checkFormat(ctx context.Context, rstore *redisstore.Store) error {
	check := func() (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		found, err := rstore.CheckFormat(cctx)
		if errors.Is(err, redisstore.ErrFormat) {
			return true, err
		}
		if err != nil {
			return false, err
		}
		if found < redisstore.Format {
			m.Config.Logger.Info("redis format recorded", "found", found, "format", redisstore.Format)
		}
		return true, nil
	}
	done, err := check()
	if done {
		return err
	}
	m.Config.Logger.Warn("cannot check the redis format yet; checking again until redis answers", "err", err)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if done, err := check(); done {
				if err != nil {
					m.Config.Logger.Error("stored data unreadable by this version: stop this instance", "err", err)
					m.badFormat.Store(true)
				}
				return
			}
		}
	}()
	return nil
}

// startSweeper starts sweeping the blob files no material refers to.
func (m *Main) startSweeper(ctx context.Context, raw blob.Store, storeName string, refs *redisstore.Store) {
	m.Sweeper = sweep.New(sweep.Config{
		Store: raw, StoreName: storeName, Refs: refs, Redis: m.Redis,
		// Wall-clock time, not cfg.Now: the ages compared are file and object times.
		Age: 2 * m.Config.UploadTimeout, Logger: m.Config.Logger,
		Swept: func(r sweep.Result) {
			// Unreferenced blobs are the images of expired (or deleted) orders and replaced
			// images whose deletion failed; leftovers are crashed writes.
			m.Metrics.RetentionDeleted("blob", r.Unreferenced)
			m.Metrics.RetentionDeleted("leftover", r.Leftovers)
		},
	})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.Sweeper.Run(ctx)
	}()
}

// openService builds the image admission gate and the orders service on it.
func (m *Main) openService(store orders.Store, blobs orders.Blobs, signer *auth.Signer, secret []byte) {
	cfg := &m.Config
	if cfg.Images.Observe == nil {
		cfg.Images.Observe = m.Metrics.ImageStep
	}
	m.Images = admission.New(admission.Config{Memory: cfg.DecodeMemory, Workers: cfg.ImageWorkers, Wait: cfg.DecodeWait})
	m.Metrics.DecodeBudget(func() int64 { return m.Images.Stats().BytesInFlight }, m.Images.Memory())
	m.Bodies = admission.NewBodies(admission.BodyConfig{Memory: cfg.BodyMemory, PerOrder: cfg.UploadsPerOrder, PerIP: cfg.UploadsPerIP})
	m.Service = orders.New(orders.Config{
		PublicURL: cfg.PublicURL, PairingTTL: cfg.PairingTTL, PhoneTokenTTL: cfg.PhoneTokenTTL,
		DesktopTokenTTL: cfg.DesktopTokenTTL, MinAppVersion: cfg.MinAppVersion, AppProvinces: cfg.AppProvinces,
		ClaimGuessLimit: cfg.ClaimGuessLimit, Images: cfg.Images, Now: cfg.Now, Logger: cfg.Logger,
		Admission: m.Images, ReviewHold: cfg.ReviewHold,
		DeviceTokenTTL: cfg.DeviceTokenTTL, Retention: cfg.Retention,
	}, store, blobs, signer, secret)
	m.Metrics.ReviewQueue(func() (int64, time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return m.Service.ReviewQueueStats(ctx)
	})
}

// startHub starts the websocket hub on the Redis broker, its connections counted in the
// metrics, and the timers that expire the pairings its rooms hold pending.
func (m *Main) startHub(ctx context.Context, sentinel *broker.Sentinel) {
	cfg := &m.Config
	log := cfg.Logger
	hcfg := cfg.Hub
	if hcfg.Logger == nil {
		hcfg.Logger = log
	}
	if hcfg.FrameWritten == nil {
		hcfg.FrameWritten = m.Metrics.FrameWritten
	}
	svc := m.Service
	m.expiry = pairingexpiry.New(svc.ExpirePairing, pairingexpiry.Config{Now: cfg.Now, Logger: log})
	b := broker.NewRedis(m.Redis, broker.RedisOptions{Sentinel: sentinel, Logger: log})
	m.hub = hub.New(b, func(ctx context.Context, orderID string) (*hub.Snapshot, error) {
		return snapshot(ctx, svc, orderID)
	}, m.expiry, hcfg)
	m.Metrics.Websockets(m.hub.Connections)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.hub.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("event hub stopped", "err", err)
		}
	}()
}

// routes builds the HTTP handler: the middleware, in an order that matters (see
// middleware), then the desktop and app APIs, the probes and the embedded page.
func (m *Main) routes(blobs webapi.Blobs, deliveries webapi.WebhookOps) *echo.Echo {
	cfg := &m.Config
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httpx.ErrorHandler(cfg.Logger)
	e.IPExtractor = clientIP(cfg.TrustedProxies)
	m.middleware(e)
	m.limits = limits.New(m.Redis, limits.Config{
		OrderRate: cfg.OrderRate, PairingRate: cfg.PairingRate, WebsocketsPerOrder: cfg.WebsocketsPerOrder,
		Scope: cfg.LimitScope, Now: cfg.Now, Logger: cfg.Logger,
	})
	wcfg := webapi.Config{
		Limits:          m.limits,
		OperatorGuesses: limits.NewGuesses(m.Redis, "operator", cfg.LimitScope, 0, 0),
		AllowedOrigins:  cfg.AllowedOrigins, OperatorKey: cfg.OperatorKey,
		SecureCookie: isHTTPS(cfg.PublicURL), DesktopTokenTTL: cfg.DesktopTokenTTL,
		UploadTimeout: cfg.UploadTimeout, Bodies: m.Bodies,
		Catalog: filing.NewCatalog(m.Service.AppAvailable, cfg.Images.Limits()),
	}
	if m.reviewers != nil {
		// Reviewer keys are guess-limited like claims: the key is judged first (the right
		// one always passes), and only wrong ones count, per IP and 10 minutes, in Redis
		// across the instances.
		wcfg.Reviewers, wcfg.ReviewSessions = m.reviewers, m.rstore
		if cfg.ClaimGuessLimit > 0 {
			wcfg.ReviewLimiter = limits.NewGuesses(m.Redis, "reviewer", cfg.LimitScope, cfg.ClaimGuessLimit, 10*time.Minute)
		}
	}
	api := webapi.New(m.Service, blobs, m.hub, wcfg)
	api.Register(e)
	api.RegisterWebhooks(e, deliveries)
	mobileapi.New(m.Service, mobileapi.Config{
		UploadTimeout: cfg.UploadTimeout, AppDownloadURL: cfg.AppDownloadURL, Bodies: m.Bodies,
		ImageLimits: cfg.Images.Limits(), MinAppVersion: cfg.MinAppVersion, AppAvailable: m.Service.AppAvailable,
		Now: m.Service.Now,
	}).Register(e)
	m.probes(e)
	e.GET("/openapi.json", openAPI)
	static.Register(e)
	// The route label takes the router's patterns only (internal/metrics, labels.go).
	var patterns []string
	for _, r := range e.Routes() {
		patterns = append(patterns, r.Path)
	}
	m.Metrics.SetRoutes(patterns)
	return e
}

// middleware installs what every request passes through. The order is part of the
// security: the outer Recover guards all of it; the request ID comes first so the access
// log, the client IP note and the metrics see it; the inner Recover turns a handler's
// panic into a logged and counted 500; the headers, CSP and body deadline wrap every
// handler.
func (m *Main) middleware(e *echo.Echo) {
	cfg := &m.Config
	e.Use(middleware.Recover())
	e.Use(requestID)
	e.Use(requestLog(cfg.Logger))
	e.Use(noteClientIP)
	e.Use(metricsMiddleware(m.Metrics))
	// A handler's panic comes back here as an error, so it is logged and counted as the 500
	// it answers; the outer Recover still guards the middleware above.
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableErrorHandler: true}))
	e.Use(securityHeaders)
	e.Use(contentSecurityPolicy(static.Index(), cfg.PublicURL, cfg.AllowedOrigins))
	// Small bodies (JSON, or one refused before it is read, which net/http then drains) get
	// the shorter of 30s and the upload timeout; the upload routes extend it.
	e.Use(httpx.BodyDeadline(min(30*time.Second, cfg.UploadTimeout)))
}

// probes adds the liveness and readiness endpoints.
func (m *Main) probes(e *echo.Echo) {
	svc := m.Service
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", func(c echo.Context) error {
		rctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if m.badFormat.Load() {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "stored format unreadable by this version"})
		}
		if err := svc.Ready(rctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "redis not answering"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
}

// serve starts answering on the bound listener.
func (m *Main) serve() {
	// No ReadTimeout: one value for all would hold uploads to a JSON call's time or JSON
	// calls to an upload's; internal/httpx (deadline.go) bounds bodies per route instead, and turns a
	// slow one into the contract's 408.
	m.srv = &http.Server{Handler: m.echo, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	// Hijacked websocket connections are not drained by Shutdown: the hub closes them
	// with going-away.
	m.srv.RegisterOnShutdown(m.hub.Close)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.srv.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Config.Logger.Error("http server stopped", "err", err)
		}
	}()
}

// encryptionKeys reads BEIANSCAN_ENCRYPTION_KEYS. Production refuses to start without
// keys, as without the JWT secret: images sealed under a random key would be lost with the
// process, and instances could not read each other's.
func encryptionKeys(spec string, embedded bool, log *slog.Logger) (*sealbox.Keyring, error) {
	if spec != "" {
		k, err := sealbox.Parse(spec)
		if err != nil {
			return nil, fmt.Errorf("BEIANSCAN_ENCRYPTION_KEYS: %w", err)
		}
		return k, nil
	}
	if !embedded {
		return nil, errors.New("BEIANSCAN_ENCRYPTION_KEYS is required when BEIANSCAN_REDIS_URL is set: every instance must open what the others sealed (e.g. k1:$(openssl rand -base64 32))")
	}
	log.Warn("embedded mode: images and ID numbers are encrypted with a random key of this process; set BEIANSCAN_ENCRYPTION_KEYS to keep them readable after a restart")
	return sealbox.Random(), nil
}

func hostPort(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if ta.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", fmt.Sprint(ta.Port))
	}
	return ta.String()
}

// goAdvance moves the embedded miniredis's clock with the wall clock: miniredis expires
// keys only when told to (its FastForward), and no rule may rest on Redis TTLs alone, but
// keys should still go away in the embedded mode as they do in a real Redis.
func (m *Main) goAdvance(ctx context.Context) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				m.Mini.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
}

// isHTTPS tells whether the public URL is https, however its scheme is written (url.Parse
// lowercases it): then the desktop cookie is Secure, even though the instance itself
// speaks plain HTTP behind the TLS proxy.
func isHTTPS(publicURL string) bool {
	u, err := url.Parse(publicURL)
	return err == nil && u.Scheme == "https"
}

// RedisClient opens BEIANSCAN_REDIS_URL as the service does (plain, Sentinel or Cluster),
// for the subcommands that work on the same Redis.
func RedisClient(raw string) (redis.UniversalClient, error) {
	rdb, _, err := redisClient(raw)
	return rdb, err
}

// redisClient opens the client of BEIANSCAN_REDIS_URL; with Sentinel it also returns the
// Sentinels, which the broker watches for master switches.
func redisClient(raw string) (redis.UniversalClient, *broker.Sentinel, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, errors.New("BEIANSCAN_REDIS_URL is not a URL")
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("BEIANSCAN_REDIS_URL: %w", err)
		}
		return redis.NewFailoverClient(o), broker.SentinelOf(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("BEIANSCAN_REDIS_URL: %w", err)
		}
		return redis.NewClusterClient(o), nil, nil
	default:
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("BEIANSCAN_REDIS_URL: %w", err)
		}
		return redis.NewClient(o), nil, nil
	}
}

// snapshot builds the websocket's first frame and the pairing the hub must watch expire.
func snapshot(ctx context.Context, svc *orders.Service, orderID string) (*hub.Snapshot, error) {
	snap, err := svc.Load(ctx, orderID)
	if err != nil {
		return nil, err
	}
	frame := svc.SnapshotFrame(snap)
	payload, err := json.Marshal(frame)
	if err != nil {
		return nil, err
	}
	hs := &hub.Snapshot{Payload: payload, Version: snap.Order.Version}
	// Pending, not Claimable: a pairing that lapsed while no instance watched still owes its
	// pairing_expired, which the hub then asks the store for at once.
	if p := snap.Pairing; p.Pending() {
		hs.Pairing = &hub.PendingPairing{ID: p.ID, ExpiresAt: p.ExpiresAt}
	}
	return hs, nil
}

// Close shuts down gracefully: stops taking requests, closes websockets with going-away,
// waits for requests in flight, then closes Redis.
func (m *Main) Close() error {
	m.closeOne.Do(func() {
		if m.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = m.srv.Shutdown(ctx)
			cancel()
		} else if m.ln != nil {
			m.ln.Close()
		}
		if m.msrv != nil {
			_ = m.msrv.Close()
		}
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		if m.Webhooks != nil {
			m.Webhooks.Close()
		}
		if m.expiry != nil {
			m.expiry.Close()
		}
		if m.limits != nil {
			m.limits.Close()
		}
		if m.Redis != nil {
			m.Redis.Close()
		}
		if m.Mini != nil {
			m.Mini.Close()
		}
	})
	return nil
}
