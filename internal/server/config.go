package server

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/limits"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redisstore"
)

// Defaults of the settings the server itself owns. Every other default is a constant of
// the package that owns its setting (orders.Default…, limits.Default…,
// httpx.DefaultUploadTimeout, redisstore.DefaultRetention, admission.DefaultMemory, …);
// withDefaults and the command's flags both take them from there, so each is defined once.
const (
	DefaultAddr        = ":8080"
	DefaultDataDir     = "./data"
	DefaultMetricsAddr = "127.0.0.1:9464"
	// MetricsOff as MetricsAddr serves the metrics nowhere (they are still kept).
	MetricsOff = "off"
	// MinOperatorKey is the shortest operator key production starts with.
	MinOperatorKey = 32
)

// withDefaults fills every zero field that has a default, and refuses a configuration the
// service cannot run with (tusd's Config.validate). It is the one place the defaults of
// Config are applied: the packages below take what it hands them. Zero is unset; where a
// setting can be off, off is a value of its own (orders.GuessLimitOff, limits.RateOff,
// limits.Off, MetricsOff), so Open(Config{}) runs as the command does with nothing set.
// PublicURL is filled once the listener is bound (Main.listen): with Addr ":0" its default
// is the address actually bound.
func (cfg *Config) withDefaults() error {
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Addr = cmp.Or(cfg.Addr, DefaultAddr)
	cfg.DataDir = cmp.Or(cfg.DataDir, DefaultDataDir)
	cfg.MinAppVersion = cmp.Or(cfg.MinAppVersion, orders.DefaultMinAppVersion)
	// nil, not empty: an empty non-nil slice means no province.
	if cfg.AppProvinces == nil {
		cfg.AppProvinces = filing.DefaultAppProvinces
	}
	cfg.UploadTimeout = cmp.Or(cfg.UploadTimeout, httpx.DefaultUploadTimeout)
	cfg.PairingTTL = cmp.Or(cfg.PairingTTL, orders.DefaultPairingTTL)
	cfg.PhoneTokenTTL = cmp.Or(cfg.PhoneTokenTTL, orders.DefaultPhoneTokenTTL)
	cfg.DesktopTokenTTL = cmp.Or(cfg.DesktopTokenTTL, orders.DefaultDesktopTokenTTL)
	cfg.DeviceTokenTTL = cmp.Or(cfg.DeviceTokenTTL, orders.DefaultDeviceTokenTTL)
	cfg.Retention = cmp.Or(cfg.Retention, redisstore.DefaultRetention)
	cfg.RedisWaitTimeout = cmp.Or(cfg.RedisWaitTimeout, redisstore.DefaultWaitTimeout)
	cfg.DecodeWait = cmp.Or(cfg.DecodeWait, admission.DefaultWait)
	// Only zero: a negative Memory or Workers turns the bound off (benchmarks only).
	cfg.DecodeMemory = cmp.Or(cfg.DecodeMemory, admission.DefaultMemory)
	cfg.ImageWorkers = cmp.Or(cfg.ImageWorkers, admission.DefaultWorkers())
	// The abuse limits: zero is unset, the Off values are off.
	cfg.ClaimGuessLimit = cmp.Or(cfg.ClaimGuessLimit, orders.DefaultClaimGuessLimit)
	cfg.OrderRate = cmp.Or(cfg.OrderRate, limits.DefaultOrderRate)
	cfg.PairingRate = cmp.Or(cfg.PairingRate, limits.DefaultPairingRate)
	cfg.WebsocketsPerOrder = cmp.Or(cfg.WebsocketsPerOrder, limits.DefaultWebsocketsPerOrder)
	cfg.MetricsAddr = cmp.Or(cfg.MetricsAddr, DefaultMetricsAddr)
	cfg.BodyMemory = cmp.Or(cfg.BodyMemory, admission.DefaultBodyMemory)
	cfg.UploadsPerOrder = cmp.Or(cfg.UploadsPerOrder, admission.DefaultUploadsPerOrder)
	cfg.UploadsPerIP = cmp.Or(cfg.UploadsPerIP, admission.DefaultUploadsPerIP)
	return cfg.validate()
}

// validate refuses what cannot run. The encryption keys are checked where they are parsed
// (encryptionKeys).
func (cfg *Config) validate() error {
	// A negative duration is not unset, as zero is, but a mistake: a pairing or token that
	// is born expired, a deadline already past.
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"BEIANSCAN_UPLOAD_TIMEOUT", cfg.UploadTimeout}, {"BEIANSCAN_PAIRING_TTL", cfg.PairingTTL},
		{"BEIANSCAN_PHONE_TOKEN_TTL", cfg.PhoneTokenTTL}, {"BEIANSCAN_DESKTOP_TOKEN_TTL", cfg.DesktopTokenTTL},
		{"BEIANSCAN_DEVICE_TOKEN_TTL", cfg.DeviceTokenTTL},
		{"BEIANSCAN_RETENTION", cfg.Retention}, {"BEIANSCAN_REDIS_WAIT_TIMEOUT", cfg.RedisWaitTimeout},
		{"DecodeWait", cfg.DecodeWait},
	} {
		if d.v < 0 {
			return fmt.Errorf("%s must be positive, not %v", d.name, d.v)
		}
	}
	if cfg.RedisURL != "" && cfg.JWTSecret == "" {
		return errors.New("BEIANSCAN_JWT_SECRET is required when BEIANSCAN_REDIS_URL is set: every instance must share one signing key")
	}
	// Empty is allowed only in the embedded mode, which then draws a random secret.
	if cfg.JWTSecret != "" && len(cfg.JWTSecret) < 32 {
		return errors.New("BEIANSCAN_JWT_SECRET must be at least 32 bytes")
	}
	// With a Redis URL (production) the operator key, which reads every order's images,
	// must not be guessable; the embedded mode lets a short one through for trying out.
	if cfg.RedisURL != "" && cfg.OperatorKey != "" && len(cfg.OperatorKey) < MinOperatorKey {
		return fmt.Errorf("BEIANSCAN_OPERATOR_KEY must be at least %d bytes (e.g. $(openssl rand -hex 32))", MinOperatorKey)
	}
	return cfg.validateWebhooks()
}
