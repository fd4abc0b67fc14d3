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
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/positive"
	"github.com/beianscan/beianscan/internal/redisstore"
)

// Defaults of the settings the server itself owns. Every other default is a constant of
// the package that owns its setting (orders.Default…, httpx.DefaultUploadTimeout,
// redisstore.DefaultRetention, admission.DefaultMemory, …); withDefaults and the command's
// flags both take them from there, so each is defined once.
const (
	DefaultAddr    = ":8080"
	DefaultDataDir = "./data"
	// MinOperatorKey is the shortest operator key production starts with.
	MinOperatorKey = 32
)

// withDefaults fills every zero field that has a default, and refuses a configuration the
// service cannot run with (tusd's Config.validate). PublicURL is filled once the listener
// is bound (Main.listen): with Addr ":0" its default is the address actually bound.
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
	// Zero or negative durations are unset, as in the packages that own them.
	cfg.UploadTimeout = positive.Or(cfg.UploadTimeout, httpx.DefaultUploadTimeout)
	cfg.PairingTTL = positive.Or(cfg.PairingTTL, orders.DefaultPairingTTL)
	cfg.PhoneTokenTTL = positive.Or(cfg.PhoneTokenTTL, orders.DefaultPhoneTokenTTL)
	cfg.DesktopTokenTTL = positive.Or(cfg.DesktopTokenTTL, orders.DefaultDesktopTokenTTL)
	cfg.Retention = positive.Or(cfg.Retention, redisstore.DefaultRetention)
	cfg.RedisWaitTimeout = positive.Or(cfg.RedisWaitTimeout, redisstore.DefaultWaitTimeout)
	cfg.DecodeWait = positive.Or(cfg.DecodeWait, admission.DefaultWait)
	// Only zero: a negative Memory or Workers turns the bound off (benchmarks only).
	cfg.DecodeMemory = cmp.Or(cfg.DecodeMemory, admission.DefaultMemory)
	cfg.ImageWorkers = cmp.Or(cfg.ImageWorkers, admission.DefaultWorkers())
	cfg.BodyMemory = cmp.Or(cfg.BodyMemory, admission.DefaultBodyMemory)
	cfg.UploadsPerOrder = cmp.Or(cfg.UploadsPerOrder, admission.DefaultUploadsPerOrder)
	cfg.UploadsPerIP = cmp.Or(cfg.UploadsPerIP, admission.DefaultUploadsPerIP)
	return cfg.validate()
}

// validate refuses what cannot run. The encryption keys are checked where they are parsed
// (encryptionKeys).
func (cfg *Config) validate() error {
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
	return nil
}
