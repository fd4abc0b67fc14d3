// Command beianscan runs the backend of the "upload filing materials" step of ICP filing.
// With no configuration it runs the embedded default (in-process Redis, blobs under
// ./data) and prints the URL to open; see the README for production. `beianscan reencrypt`
// moves everything encrypted at rest to the first encryption key (reencrypt.go); `beianscan
// backup` takes a consistent snapshot of Redis (backup.go); `beianscan restore-check` finds
// what a restore's orders refer to that the blob store no longer has (restorecheck.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/images"
	"github.com/beianscan/beianscan/internal/limits"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/server"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "reencrypt" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := runReencrypt(ctx, os.Args[2:], os.Getenv, os.Stdout)
		stop()
		os.Exit(code)
	}
	if len(os.Args) > 1 && os.Args[1] == "backup" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := runBackup(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if len(os.Args) > 1 && os.Args[1] == "restore-check" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := runRestoreCheck(ctx, os.Args[2:], os.Getenv, os.Stdout)
		stop()
		os.Exit(code)
	}
	if len(os.Args) > 1 && os.Args[1] == "reviewer" {
		os.Exit(reviewerCommand(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:], os.Getenv, os.Stderr))
	}
	cfg, err := configFrom(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "beianscan:", err)
		os.Exit(2)
	}
	log := cfg.Logger
	if cfg.RedisURL == "" {
		cfg.MetricsAddr = tryOutMetricsAddr(cfg.MetricsAddr, log)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(admission.Procs()) // events beside busy cores (admission.Procs)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Peak RSS under the decode and body budgets plus a fixed base (docs/benchmarks.md),
		// not twice them.
		debug.SetMemoryLimit(admission.SoftLimit(cfg.DecodeMemory, cfg.BodyMemory))
	}
	m, err := server.Open(cfg)
	if err != nil {
		log.Error("cannot start", "err", err)
		os.Exit(1)
	}
	fmt.Printf("beianscan is running: open %s in a browser\n", m.URL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	<-ctx.Done()
	stop()
	log.Info("shutting down")
	m.Close()
}

// configFrom reads BEIANSCAN_* variables, then flags of the same meaning, which win.
func configFrom(args []string, getenv func(string) string) (server.Config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("beianscan", flag.ContinueOnError)
	addr := fs.String("addr", env("BEIANSCAN_ADDR", server.DefaultAddr), "listen address (BEIANSCAN_ADDR)")
	publicURL := fs.String("public-url", env("BEIANSCAN_PUBLIC_URL", ""), "base of scan_url in the QR code (BEIANSCAN_PUBLIC_URL; default "+orders.DefaultPublicURL+")")
	redisURL := fs.String("redis-url", env("BEIANSCAN_REDIS_URL", ""), "redis:// URL; empty: embedded miniredis (BEIANSCAN_REDIS_URL)")
	dataDir := fs.String("data-dir", env("BEIANSCAN_DATA_DIR", server.DefaultDataDir), "blob storage folder (BEIANSCAN_DATA_DIR)")
	blobURL := fs.String("blob-url", env("BEIANSCAN_BLOB_URL", ""), "blob store: empty: the data dir; file:///path; s3://bucket/prefix?endpoint=…&region=… (BEIANSCAN_BLOB_URL)")
	pairingTTL := fs.String("pairing-ttl", env("BEIANSCAN_PAIRING_TTL", duration(orders.DefaultPairingTTL)), "how long an unclaimed QR stays claimable (BEIANSCAN_PAIRING_TTL)")
	phoneTTL := fs.String("phone-token-ttl", env("BEIANSCAN_PHONE_TOKEN_TTL", duration(orders.DefaultPhoneTokenTTL)), "phone token life (BEIANSCAN_PHONE_TOKEN_TTL)")
	deviceTTL := fs.String("device-token-ttl", env("BEIANSCAN_DEVICE_TOKEN_TTL", duration(orders.DefaultDeviceTokenTTL)), "device token life, the phone's list (BEIANSCAN_DEVICE_TOKEN_TTL)")
	desktopTTL := fs.String("desktop-token-ttl", env("BEIANSCAN_DESKTOP_TOKEN_TTL", duration(orders.DefaultDesktopTokenTTL)), "desktop token life (BEIANSCAN_DESKTOP_TOKEN_TTL)")
	minApp := fs.String("min-app-version", env("BEIANSCAN_MIN_APP_VERSION", orders.DefaultMinAppVersion), "oldest app version that may pair (BEIANSCAN_MIN_APP_VERSION)")
	provinces := fs.String("app-provinces", env("BEIANSCAN_APP_PROVINCES", strings.Join(filing.DefaultAppProvinces, ",")), "provinces with app verification (BEIANSCAN_APP_PROVINCES)")
	origins := fs.String("allowed-origins", env("BEIANSCAN_ALLOWED_ORIGINS", ""), "websocket origins, comma separated; empty: the request's own host (BEIANSCAN_ALLOWED_ORIGINS)")
	retention := fs.String("retention", env("BEIANSCAN_RETENTION", duration(redisstore.DefaultRetention)), "an order and its images are deleted this long after their last change, unless submitted (BEIANSCAN_RETENTION)")
	appDownload := fs.String("app-download-url", env("BEIANSCAN_APP_DOWNLOAD_URL", ""), "the app's download page, linked from /m/scan; empty: the page says to use the app store (BEIANSCAN_APP_DOWNLOAD_URL)")
	guesses := fs.String("claim-guess-limit", env("BEIANSCAN_CLAIM_GUESS_LIMIT", strconv.Itoa(orders.DefaultClaimGuessLimit)), "claims of codes never issued per IP per 10 minutes; 0 turns it off (BEIANSCAN_CLAIM_GUESS_LIMIT)")
	orderRate := fs.String("order-rate", env("BEIANSCAN_ORDER_RATE", limits.DefaultOrderRate.String()), "orders one client IP may create, N/s, N/m or N/h; 0 turns it off (BEIANSCAN_ORDER_RATE)")
	pairingRate := fs.String("pairing-rate", env("BEIANSCAN_PAIRING_RATE", limits.DefaultPairingRate.String()), "QR pairings one order may create, N/s, N/m or N/h; 0 turns it off (BEIANSCAN_PAIRING_RATE)")
	wsPerOrder := fs.String("ws-per-order", env("BEIANSCAN_WS_PER_ORDER", strconv.Itoa(limits.DefaultWebsocketsPerOrder)), "simultaneous websockets on one order across instances; 0 turns it off (BEIANSCAN_WS_PER_ORDER)")
	trusted := fs.String("trusted-proxies", env("BEIANSCAN_TRUSTED_PROXIES", ""), "reverse proxies whose X-Forwarded-For is believed, CIDRs comma separated; empty: none (BEIANSCAN_TRUSTED_PROXIES)")
	uploadTimeout := fs.String("upload-timeout", env("BEIANSCAN_UPLOAD_TIMEOUT", duration(httpx.DefaultUploadTimeout)), "time an upload's whole body may take to arrive (BEIANSCAN_UPLOAD_TIMEOUT)")
	minReplicas := fs.String("redis-min-replicas", env("BEIANSCAN_REDIS_MIN_REPLICAS", "0"), "Redis replicas that must confirm every acknowledged change (WAIT); 0: off (BEIANSCAN_REDIS_MIN_REPLICAS)")
	waitTimeout := fs.String("redis-wait-timeout", env("BEIANSCAN_REDIS_WAIT_TIMEOUT", duration(redisstore.DefaultWaitTimeout)), "how long to wait for that confirmation before answering 503 (BEIANSCAN_REDIS_WAIT_TIMEOUT)")
	decodeMemory := fs.String("decode-memory", env("BEIANSCAN_DECODE_MEMORY", fmt.Sprintf("%dMiB", admission.DefaultMemory>>20)), "decoded image bytes in flight, e.g. 512MiB, 1GiB (BEIANSCAN_DECODE_MEMORY)")
	bodyMemory := fs.String("body-memory", env("BEIANSCAN_BODY_MEMORY", fmt.Sprintf("%dMiB", admission.DefaultBodyMemory>>20)), "request body bytes held in memory at once, e.g. 256MiB (BEIANSCAN_BODY_MEMORY)")
	uploadsPerOrder := fs.String("uploads-per-order", env("BEIANSCAN_UPLOADS_PER_ORDER", strconv.Itoa(admission.DefaultUploadsPerOrder)), "uploads in flight on one order in this instance (BEIANSCAN_UPLOADS_PER_ORDER)")
	uploadsPerIP := fs.String("uploads-per-ip", env("BEIANSCAN_UPLOADS_PER_IP", strconv.Itoa(admission.DefaultUploadsPerIP)), "uploads in flight from one client IP in this instance (BEIANSCAN_UPLOADS_PER_IP)")
	imageWorkers := fs.String("image-workers", env("BEIANSCAN_IMAGE_WORKERS", ""), "images processed at once; empty: cores - 1, at least 1 (BEIANSCAN_IMAGE_WORKERS)")
	// Quality thresholds of the image warnings (0: the images package's default).
	blur := fs.String("quality-blur", env("BEIANSCAN_QUALITY_BLUR", "0"), "Laplacian variance under which an image is blurry; 0: default 20 (BEIANSCAN_QUALITY_BLUR)")
	dark := fs.String("quality-dark", env("BEIANSCAN_QUALITY_DARK", "0"), "mean luma under which an image is too_dark; 0: default 50 (BEIANSCAN_QUALITY_DARK)")
	bright := fs.String("quality-bright", env("BEIANSCAN_QUALITY_BRIGHT", "0"), "mean luma over which an image is overexposed; 0: default 215 (BEIANSCAN_QUALITY_BRIGHT)")
	gray := fs.String("quality-gray", env("BEIANSCAN_QUALITY_GRAY", "0"), "chroma under which a pixel counts as gray; 0: default 16 (BEIANSCAN_QUALITY_GRAY)")
	white := fs.String("quality-white-background", env("BEIANSCAN_QUALITY_WHITE_BACKGROUND", "0"), "share (0-1) of near-white border a face photo needs; 0: default 0.6 (BEIANSCAN_QUALITY_WHITE_BACKGROUND)")
	faceShare := fs.String("face-min-share", env("BEIANSCAN_FACE_MIN_SHARE", strconv.FormatFloat(images.DefaultFaceMinShare, 'g', -1, 64)), "face box (brow to chin) of the face photo under this share of the short side: face_too_small (BEIANSCAN_FACE_MIN_SHARE)")
	faceCentre := fs.String("face-center-tolerance", env("BEIANSCAN_FACE_CENTER_TOLERANCE", strconv.FormatFloat(images.DefaultFaceCenterTolerance, 'g', -1, 64)), "face centre further than this share of the width or height from the middle: face_not_centered (BEIANSCAN_FACE_CENTER_TOLERANCE)")
	logLevel := fs.String("log-level", env("BEIANSCAN_LOG_LEVEL", "info"), "debug, info, warn or error (BEIANSCAN_LOG_LEVEL)")
	logFormat := fs.String("log-format", env("BEIANSCAN_LOG_FORMAT", "text"), "text or json (BEIANSCAN_LOG_FORMAT)")
	metricsAddr := fs.String("metrics-addr", env("BEIANSCAN_METRICS_ADDR", server.DefaultMetricsAddr), "Prometheus /metrics listener; "+server.MetricsOff+" disables (BEIANSCAN_METRICS_ADDR)")
	webhookURL := fs.String("webhook-url", env("BEIANSCAN_WEBHOOK_URL", ""), "the back office's webhook endpoint, https (http only to loopback); empty: no webhooks (BEIANSCAN_WEBHOOK_URL; its secret BEIANSCAN_WEBHOOK_SECRET is read from the environment only)")
	reviewersFile := fs.String("reviewers", env("BEIANSCAN_REVIEWERS", ""), "file of reviewer lines NAME:SHA256HEX, re-read when it changes; empty: no workbench (BEIANSCAN_REVIEWERS)")
	reviewHold := fs.String("review-hold", env("BEIANSCAN_REVIEW_HOLD", duration(orders.DefaultReviewHold)), "how long a reviewer's hold on an order lasts without activity (BEIANSCAN_REVIEW_HOLD)")
	if err := fs.Parse(args); err != nil {
		return server.Config{}, err
	}
	cfg := server.Config{
		Addr: *addr, PublicURL: *publicURL, RedisURL: *redisURL, DataDir: *dataDir,
		// The secrets are read from the environment only: a flag would show in ps.
		JWTSecret: getenv("BEIANSCAN_JWT_SECRET"), OperatorKey: getenv("BEIANSCAN_OPERATOR_KEY"),
		BlobURL: *blobURL,
		// Like the secret, the keys are read from the environment only.
		EncryptionKeys: getenv("BEIANSCAN_ENCRYPTION_KEYS"),
		MinAppVersion:  *minApp, AppProvinces: list(*provinces), AllowedOrigins: list(*origins),
		AppDownloadURL: *appDownload, Reviewers: *reviewersFile,
		// The webhook secret, like the others, from the environment only.
		WebhookURL: *webhookURL, WebhookSecret: getenv("BEIANSCAN_WEBHOOK_SECRET"),
	}
	// The link is put in front of people who scanned a code: only an absolute web address.
	if u, err := url.Parse(cfg.AppDownloadURL); cfg.AppDownloadURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
		return cfg, fmt.Errorf("BEIANSCAN_APP_DOWNLOAD_URL: %q is not an http(s) URL", cfg.AppDownloadURL)
	}
	var err error
	if cfg.Logger, err = newLogger(*logLevel, *logFormat, os.Stderr); err != nil {
		return cfg, err
	}
	cfg.MetricsAddr = *metricsAddr
	if err := parseEach(time.ParseDuration, func(d time.Duration) bool { return d > 0 }, "a positive Go duration such as 5m",
		setting[time.Duration]{"BEIANSCAN_PAIRING_TTL", *pairingTTL, &cfg.PairingTTL},
		setting[time.Duration]{"BEIANSCAN_PHONE_TOKEN_TTL", *phoneTTL, &cfg.PhoneTokenTTL},
		setting[time.Duration]{"BEIANSCAN_DESKTOP_TOKEN_TTL", *desktopTTL, &cfg.DesktopTokenTTL},
		setting[time.Duration]{"BEIANSCAN_DEVICE_TOKEN_TTL", *deviceTTL, &cfg.DeviceTokenTTL},
		setting[time.Duration]{"BEIANSCAN_UPLOAD_TIMEOUT", *uploadTimeout, &cfg.UploadTimeout},
		setting[time.Duration]{"BEIANSCAN_RETENTION", *retention, &cfg.Retention},
		setting[time.Duration]{"BEIANSCAN_REDIS_WAIT_TIMEOUT", *waitTimeout, &cfg.RedisWaitTimeout},
		setting[time.Duration]{"BEIANSCAN_REVIEW_HOLD", *reviewHold, &cfg.ReviewHold},
	); err != nil {
		return cfg, err
	}
	th := &cfg.Images.Thresholds
	if err := parseEach(func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }, func(f float64) bool { return f >= 0 }, "a number >= 0",
		setting[float64]{"BEIANSCAN_QUALITY_BLUR", *blur, &th.Blur},
		setting[float64]{"BEIANSCAN_QUALITY_DARK", *dark, &th.Dark},
		setting[float64]{"BEIANSCAN_QUALITY_BRIGHT", *bright, &th.Bright},
		setting[float64]{"BEIANSCAN_QUALITY_GRAY", *gray, &th.Gray},
		setting[float64]{"BEIANSCAN_QUALITY_WHITE_BACKGROUND", *white, &th.WhiteBackground},
		setting[float64]{"BEIANSCAN_FACE_MIN_SHARE", *faceShare, &th.FaceMinShare},
		setting[float64]{"BEIANSCAN_FACE_CENTER_TOLERANCE", *faceCentre, &th.FaceCenterTolerance},
	); err != nil {
		return cfg, err
	}
	if err := parseEach(strconv.Atoi, func(n int) bool { return n >= 0 }, "a whole number >= 0",
		setting[int]{"BEIANSCAN_CLAIM_GUESS_LIMIT", *guesses, &cfg.ClaimGuessLimit},
		setting[int]{"BEIANSCAN_WS_PER_ORDER", *wsPerOrder, &cfg.WebsocketsPerOrder},
		setting[int]{"BEIANSCAN_REDIS_MIN_REPLICAS", *minReplicas, &cfg.RedisMinReplicas},
	); err != nil {
		return cfg, err
	}
	// 0 on the command line is off; in server.Config zero is unset and off has its value.
	if cfg.ClaimGuessLimit == 0 {
		cfg.ClaimGuessLimit = orders.GuessLimitOff
	}
	if cfg.WebsocketsPerOrder == 0 {
		cfg.WebsocketsPerOrder = limits.Off
	}
	if cfg.OrderRate, err = limits.ParseRate(*orderRate); err != nil {
		return cfg, fmt.Errorf("BEIANSCAN_ORDER_RATE: %w", err)
	}
	if cfg.PairingRate, err = limits.ParseRate(*pairingRate); err != nil {
		return cfg, fmt.Errorf("BEIANSCAN_PAIRING_RATE: %w", err)
	}
	if cfg.TrustedProxies, err = prefixes(*trusted); err != nil {
		return cfg, fmt.Errorf("BEIANSCAN_TRUSTED_PROXIES: %w", err)
	}
	if cfg.DecodeMemory, err = admission.ParseBytes(*decodeMemory); err != nil || cfg.DecodeMemory < 16<<20 {
		return cfg, fmt.Errorf("BEIANSCAN_DECODE_MEMORY: %q is not a size of at least 16MiB such as 512MiB or 1GiB", *decodeMemory)
	}
	if cfg.BodyMemory, err = admission.ParseBytes(*bodyMemory); err != nil || cfg.BodyMemory < 16<<20 {
		return cfg, fmt.Errorf("BEIANSCAN_BODY_MEMORY: %q is not a size of at least 16MiB such as 256MiB or 1GiB", *bodyMemory)
	}
	if err := parseEach(strconv.Atoi, func(n int) bool { return n >= 1 }, "a whole number >= 1",
		setting[int]{"BEIANSCAN_UPLOADS_PER_ORDER", *uploadsPerOrder, &cfg.UploadsPerOrder},
		setting[int]{"BEIANSCAN_UPLOADS_PER_IP", *uploadsPerIP, &cfg.UploadsPerIP},
	); err != nil {
		return cfg, err
	}
	cfg.ImageWorkers = admission.DefaultWorkers()
	if *imageWorkers != "" {
		if cfg.ImageWorkers, err = strconv.Atoi(*imageWorkers); err != nil || cfg.ImageWorkers < 1 {
			return cfg, fmt.Errorf("BEIANSCAN_IMAGE_WORKERS: %q is not a whole number >= 1", *imageWorkers)
		}
	}
	return cfg, nil
}

// duration writes a default as the flag help shows it: 72h, not 72h0m0s.
func duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// setting is one variable's raw value (flag or environment) and the field it sets.
type setting[T any] struct {
	name string // the environment variable, which errors name
	raw  string
	dst  *T
}

// parseEach parses every setting into its field with parse, and refuses the first value
// that does not parse or is not valid, naming its variable and what it should be.
func parseEach[T any](parse func(string) (T, error), valid func(T) bool, want string, settings ...setting[T]) error {
	for _, s := range settings {
		v, err := parse(s.raw)
		if err != nil || !valid(v) {
			return fmt.Errorf("%s: %q is not %s", s.name, s.raw, want)
		}
		*s.dst = v
	}
	return nil
}

// prefixes parses comma-separated CIDRs; a bare address stands for itself alone.
func prefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range list(s) {
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR such as 172.28.0.0/16 nor an IP address", p)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 172.28.0.0/16", p)
		}
		out = append(out, pf.Masked())
	}
	return out, nil
}

func list(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
