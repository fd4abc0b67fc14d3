package server

import (
	"errors"
	"log/slog"
	"time"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/deadline"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/redisstore"
)

// Defaults of the settings the server itself owns. Every other default is a constant of
// the package that owns its setting (orders.Default…, deadline.DefaultUpload,
// redisstore.DefaultRetention, admission.DefaultMemory, …); withDefaults and the command's
// flags both take them from there, so each is defined once.
const (
	DefaultAddr    = ":8080"
	DefaultDataDir = "./data"
)

// withDefaults fills every zero field that has a default, and refuses a configuration the
// service cannot run with (tusd's Config.validate). PublicURL is filled once the listener
// is bound (Main.listen): with Addr ":0" its default is the address actually bound.
func (cfg *Config) withDefaults() error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.UploadTimeout <= 0 {
		cfg.UploadTimeout = deadline.DefaultUpload
	}
	if cfg.PairingTTL <= 0 {
		cfg.PairingTTL = orders.DefaultPairingTTL
	}
	if cfg.PhoneTokenTTL <= 0 {
		cfg.PhoneTokenTTL = orders.DefaultPhoneTokenTTL
	}
	if cfg.DesktopTokenTTL <= 0 {
		cfg.DesktopTokenTTL = orders.DefaultDesktopTokenTTL
	}
	if cfg.MinAppVersion == "" {
		cfg.MinAppVersion = orders.DefaultMinAppVersion
	}
	// nil, not empty: an empty non-nil slice means no province.
	if cfg.AppProvinces == nil {
		cfg.AppProvinces = filing.DefaultAppProvinces
	}
	if cfg.Retention <= 0 {
		cfg.Retention = redisstore.DefaultRetention
	}
	if cfg.RedisWaitTimeout <= 0 {
		cfg.RedisWaitTimeout = redisstore.DefaultWaitTimeout
	}
	// Negative Memory and Workers stay: they turn the bound off (benchmarks only).
	if cfg.DecodeMemory == 0 {
		cfg.DecodeMemory = admission.DefaultMemory
	}
	if cfg.ImageWorkers == 0 {
		cfg.ImageWorkers = admission.DefaultWorkers()
	}
	if cfg.DecodeWait <= 0 {
		cfg.DecodeWait = admission.DefaultWait
	}
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
	return nil
}
