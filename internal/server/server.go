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
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/blob"
	"github.com/beianscan/beianscan/internal/httperr"
	"github.com/beianscan/beianscan/internal/hub"
	"github.com/beianscan/beianscan/internal/images"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/mobileapi"
	"github.com/beianscan/beianscan/static"
	"github.com/beianscan/beianscan/webapi"
)

// Config is the whole service's configuration (DESIGN §3, Configuration). Zero fields take
// the defaults given; cmd/beianscan fills it from BEIANSCAN_* variables and flags.
type Config struct {
	// Addr to listen on; default ":8080".
	Addr string
	// PublicURL is the base of scan_url in the QR code; default "http://localhost:8080"
	// (with Addr ":0", the address actually bound).
	PublicURL string
	// RedisURL: empty runs an embedded miniredis (for trying out and tests); else a
	// redis:// or rediss:// URL (with ?master_name= for Sentinel, ?addr= for Cluster).
	RedisURL string
	// DataDir holds the blobs; default "./data".
	DataDir string
	// JWTSecret signs tokens and derives pairing codes; empty: random per process, allowed
	// only in the embedded mode.
	JWTSecret string
	// OperatorKey enables the review-result endpoint; empty disables it.
	OperatorKey string
	// PairingTTL default 5m, PhoneTokenTTL default 30m, DesktopTokenTTL default 72h.
	PairingTTL, PhoneTokenTTL, DesktopTokenTTL time.Duration
	// MinAppVersion default "3.16.0".
	MinAppVersion string
	// AppProvinces default CN-GD,CN-CQ,CN-LN,CN-AH,CN-FJ; an empty non-nil slice: none.
	AppProvinces []string
	// AllowedOrigins for the websocket; empty: the request's own host.
	AllowedOrigins []string
	// ClaimGuessLimit per client IP per 10 minutes; 0 turns it off (the command's default is 20).
	ClaimGuessLimit int
	// Images tunes image checks (quality thresholds); zero fields take defaults.
	Images images.Options
	// Hub tunes the websockets; zero fields take defaults.
	Hub hub.Config
	// DecodeMemory is the budget of decoded image bytes in flight (BEIANSCAN_DECODE_MEMORY);
	// default 512 MiB; negative: no budget (benchmarks only).
	DecodeMemory int64
	// ImageWorkers is how many images are processed at once (BEIANSCAN_IMAGE_WORKERS);
	// default cores − 1, at least 1; negative: unbounded (benchmarks only).
	ImageWorkers int
	// DecodeWait is how long an upload waits for the budget and a worker before 503
	// unavailable; default 10 s (DESIGN §3; shorter in tests).
	DecodeWait time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger default slog.Default().
	Logger *slog.Logger
}

// Main is a running service.
type Main struct {
	Config   Config
	Embedded bool
	// URL is where it listens, e.g. http://127.0.0.1:8080.
	URL string

	Service *orders.Service
	Redis   redis.UniversalClient
	Mini    *miniredis.Miniredis

	// Images bounds image work (internal/admission); its Stats are the gauges.
	Images *admission.Gate

	echo     *echo.Echo
	srv      *http.Server
	hub      *hub.Hub
	ln       net.Listener
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closeOne sync.Once
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

func (m *Main) open() error {
	cfg := &m.Config
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "./data"
	}
	log := cfg.Logger
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel

	secret := []byte(cfg.JWTSecret)
	if cfg.RedisURL == "" {
		m.Embedded = true
		mr, err := miniredis.Run()
		if err != nil {
			return fmt.Errorf("embedded redis: %w", err)
		}
		m.Mini = mr
		m.Redis = redis.NewClient(&redis.Options{Addr: mr.Addr()})
		m.goAdvance(ctx)
		if len(secret) == 0 {
			secret = auth.RandomSecret()
		}
		log.Warn("embedded mode: in-process Redis and a random signing key; for trying out and tests only, everything is lost when the process stops")
	} else {
		if len(secret) == 0 {
			return errors.New("BEIANSCAN_JWT_SECRET is required when BEIANSCAN_REDIS_URL is set: every instance must share one signing key")
		}
		rdb, err := redisClient(cfg.RedisURL)
		if err != nil {
			return err
		}
		m.Redis = rdb
	}
	if len(secret) < 32 {
		return errors.New("BEIANSCAN_JWT_SECRET must be at least 32 bytes")
	}
	signer, err := auth.NewSigner(secret, cfg.Now)
	if err != nil {
		return err
	}
	blobs, err := blob.NewDisk(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	m.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	m.URL = "http://" + hostPort(m.ln.Addr())
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:8080"
		if _, port, _ := net.SplitHostPort(cfg.Addr); port != "8080" {
			cfg.PublicURL = m.URL
		}
	}

	store := redisstore.New(m.Redis, cfg.PhoneTokenTTL)
	m.Images = admission.New(admission.Config{Memory: cfg.DecodeMemory, Workers: cfg.ImageWorkers, Wait: cfg.DecodeWait})
	svc := orders.New(orders.Config{
		PublicURL: cfg.PublicURL, PairingTTL: cfg.PairingTTL, PhoneTokenTTL: cfg.PhoneTokenTTL,
		DesktopTokenTTL: cfg.DesktopTokenTTL, MinAppVersion: cfg.MinAppVersion, AppProvinces: cfg.AppProvinces,
		ClaimGuessLimit: cfg.ClaimGuessLimit, Images: cfg.Images, Now: cfg.Now, Logger: log,
		Admission: m.Images,
	}, store, blobs, signer, secret)
	m.Service = svc

	hcfg := cfg.Hub
	if hcfg.Logger == nil {
		hcfg.Logger = log
	}
	m.hub = hub.New(m.Redis, func(ctx context.Context, orderID string) (*hub.Snapshot, error) {
		return snapshot(ctx, svc, orderID)
	}, svc.ExpirePairing, hcfg)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.hub.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("event hub stopped", "err", err)
		}
	}()

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httperr.Handler(log)
	// The client IP (for the claim guess limit) comes from X-Forwarded-For only when the
	// proxy in front is on a private or loopback network, as in docker-compose.
	e.IPExtractor = echo.ExtractIPFromXFFHeader()
	e.Use(middleware.Recover())
	e.Use(middleware.RequestID())
	e.Use(requestLog(log))
	e.Use(securityHeaders)
	webapi.New(svc, blobs, m.hub, webapi.Config{
		AllowedOrigins: cfg.AllowedOrigins, OperatorKey: cfg.OperatorKey,
		SecureCookie: strings.HasPrefix(cfg.PublicURL, "https://"), DesktopTokenTTL: cfg.DesktopTokenTTL,
	}).Register(e)
	mobileapi.New(svc).Register(e)
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", func(c echo.Context) error {
		rctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := svc.Ready(rctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "redis not answering"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	static.Register(e)
	m.echo = e

	m.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	// Hijacked websocket connections are not drained by Shutdown: the hub closes them
	// with going-away.
	m.srv.RegisterOnShutdown(m.hub.Close)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.srv.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	log.Info("beianscan listening", "url", m.URL, "public_url", cfg.PublicURL, "embedded", m.Embedded)
	return nil
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

func redisClient(raw string) (redis.UniversalClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("BEIANSCAN_REDIS_URL is not a URL")
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, fmt.Errorf("BEIANSCAN_REDIS_URL: %w", err)
		}
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(raw)
		if err != nil {
			return nil, fmt.Errorf("BEIANSCAN_REDIS_URL: %w", err)
		}
		return redis.NewClusterClient(o), nil
	default:
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("BEIANSCAN_REDIS_URL: %w", err)
		}
		return redis.NewClient(o), nil
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
	if p := snap.Pairing; p != nil && !p.Claimed() && !p.Expired {
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
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		if m.Redis != nil {
			m.Redis.Close()
		}
		if m.Mini != nil {
			m.Mini.Close()
		}
	})
	return nil
}
