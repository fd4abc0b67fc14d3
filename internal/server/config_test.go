package server

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/limits"
	"github.com/beianscan/beianscan/internal/orders"
)

// TestWithDefaults: a zero Config gets the defaults its fields document (written out here,
// not taken from the constants, so a changed constant shows); what is set, and the
// negative "off" values, are kept; a configuration that cannot run is refused.
func TestWithDefaults(t *testing.T) {
	var zero Config
	if err := zero.withDefaults(); err != nil {
		t.Fatal(err)
	}
	got := []any{zero.Addr, zero.DataDir, zero.UploadTimeout, zero.PairingTTL, zero.PhoneTokenTTL, zero.DesktopTokenTTL,
		zero.MinAppVersion, zero.AppProvinces, zero.Retention, zero.RedisWaitTimeout, zero.DecodeMemory, zero.ImageWorkers,
		zero.DecodeWait, zero.Logger != nil, zero.Now != nil, zero.PublicURL}
	want := []any{":8080", "./data", 2 * time.Minute, 5 * time.Minute, 30 * time.Minute, 72 * time.Hour,
		"3.16.0", []string{"CN-GD", "CN-CQ", "CN-LN", "CN-AH", "CN-FJ"}, 720 * time.Hour, time.Second, int64(512 << 20), admission.DefaultWorkers(),
		10 * time.Second, true, true, ""}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults\n got %v\nwant %v", got, want)
	}
	// The abuse limits and the metrics listener are on, as the README says, not off.
	limitsGot := []any{zero.ClaimGuessLimit, zero.OrderRate, zero.PairingRate, zero.WebsocketsPerOrder, zero.MetricsAddr}
	limitsWant := []any{20, limits.Rate{N: 30, Per: time.Hour}, limits.Rate{N: 60, Per: time.Hour}, 20, "127.0.0.1:9464"}
	if !reflect.DeepEqual(limitsGot, limitsWant) {
		t.Fatalf("limit defaults\n got %v\nwant %v", limitsGot, limitsWant)
	}
	off := Config{ClaimGuessLimit: orders.GuessLimitOff, OrderRate: limits.RateOff, PairingRate: limits.RateOff,
		WebsocketsPerOrder: limits.Off, MetricsAddr: MetricsOff}
	if err := off.withDefaults(); err != nil {
		t.Fatal(err)
	}
	if off.ClaimGuessLimit != orders.GuessLimitOff || !off.OrderRate.Off() || !off.PairingRate.Off() ||
		off.WebsocketsPerOrder != limits.Off || off.MetricsAddr != MetricsOff {
		t.Fatalf("an Off value was overwritten: %+v", off)
	}

	set := Config{Addr: ":1", PairingTTL: time.Minute, AppProvinces: []string{}, DecodeMemory: -1, ImageWorkers: -1, MinAppVersion: "4.0.0"}
	if err := set.withDefaults(); err != nil {
		t.Fatal(err)
	}
	if set.Addr != ":1" || set.PairingTTL != time.Minute || set.AppProvinces == nil || len(set.AppProvinces) != 0 ||
		set.DecodeMemory != -1 || set.ImageWorkers != -1 || set.MinAppVersion != "4.0.0" {
		t.Fatalf("a set field was overwritten: %+v", set)
	}

	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"production without a secret", Config{RedisURL: "redis://127.0.0.1:6379/0"}, "BEIANSCAN_JWT_SECRET is required"},
		{"short secret", Config{JWTSecret: "short"}, "at least 32 bytes"},
		{"short secret in production", Config{RedisURL: "redis://127.0.0.1:6379/0", JWTSecret: "short"}, "at least 32 bytes"},
		{"negative duration", Config{PairingTTL: -time.Minute}, "BEIANSCAN_PAIRING_TTL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.withDefaults(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}
