package main

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/admission"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/server"
)

func TestConfigFrom(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c configView)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, c configView) {
			want := configView{Addr: ":8080", DataDir: "./data", PairingTTL: 5 * time.Minute, PhoneTTL: 30 * time.Minute,
				DesktopTTL: 72 * time.Hour, MinApp: "3.16.0", Provinces: []string{"CN-GD", "CN-CQ", "CN-LN", "CN-AH", "CN-FJ"},
				Origins: []string{}, Guesses: 20, Retention: 720 * time.Hour}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("got %+v\nwant %+v", c, want)
			}
		}},
		{name: "environment", env: map[string]string{
			"BEIANSCAN_ADDR": ":9090", "BEIANSCAN_PUBLIC_URL": "https://beian.example.com", "BEIANSCAN_REDIS_URL": "redis://r:6379/0",
			"BEIANSCAN_DATA_DIR": "/data", "BEIANSCAN_JWT_SECRET": "s3cret", "BEIANSCAN_OPERATOR_KEY": "op",
			"BEIANSCAN_PAIRING_TTL": "90s", "BEIANSCAN_PHONE_TOKEN_TTL": "1h", "BEIANSCAN_DESKTOP_TOKEN_TTL": "24h",
			"BEIANSCAN_MIN_APP_VERSION": "3.17.0", "BEIANSCAN_APP_PROVINCES": "CN-GD, CN-BJ", "BEIANSCAN_ALLOWED_ORIGINS": "https://a.example,https://b.example",
			"BEIANSCAN_CLAIM_GUESS_LIMIT": "0", "BEIANSCAN_RETENTION": "48h", "BEIANSCAN_ENCRYPTION_KEYS": "k1:AAAA",
		}, check: func(t *testing.T, c configView) {
			want := configView{Addr: ":9090", PublicURL: "https://beian.example.com", RedisURL: "redis://r:6379/0", DataDir: "/data",
				Secret: "s3cret", OperatorKey: "op", PairingTTL: 90 * time.Second, PhoneTTL: time.Hour, DesktopTTL: 24 * time.Hour,
				MinApp: "3.17.0", Provinces: []string{"CN-GD", "CN-BJ"}, Origins: []string{"https://a.example", "https://b.example"}, Guesses: orders.GuessLimitOff,
				Retention: 48 * time.Hour, Keys: "k1:AAAA"}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("got %+v\nwant %+v", c, want)
			}
		}},
		{name: "flags win over the environment", args: []string{"-addr", ":7070", "-pairing-ttl", "2m"},
			env: map[string]string{"BEIANSCAN_ADDR": ":9090", "BEIANSCAN_PAIRING_TTL": "90s"},
			check: func(t *testing.T, c configView) {
				if c.Addr != ":7070" || c.PairingTTL != 2*time.Minute {
					t.Fatalf("addr %q ttl %v", c.Addr, c.PairingTTL)
				}
			}},
		{name: "bad duration", env: map[string]string{"BEIANSCAN_PAIRING_TTL": "5 minutes"}, wantErr: "BEIANSCAN_PAIRING_TTL"},
		{name: "negative duration", env: map[string]string{"BEIANSCAN_PHONE_TOKEN_TTL": "-1m"}, wantErr: "BEIANSCAN_PHONE_TOKEN_TTL"},
		{name: "quality thresholds", env: map[string]string{"BEIANSCAN_QUALITY_BLUR": "35", "BEIANSCAN_QUALITY_WHITE_BACKGROUND": "0.7"},
			check: func(t *testing.T, c configView) {
				if c.Blur != 35 || c.White != 0.7 {
					t.Fatalf("blur %v white %v", c.Blur, c.White)
				}
			}},
		{name: "bad threshold", env: map[string]string{"BEIANSCAN_QUALITY_DARK": "dim"}, wantErr: "BEIANSCAN_QUALITY_DARK"},
		{name: "bad retention", env: map[string]string{"BEIANSCAN_RETENTION": "30 days"}, wantErr: "BEIANSCAN_RETENTION"},
		{name: "bad guess limit", env: map[string]string{"BEIANSCAN_CLAIM_GUESS_LIMIT": "-3"}, wantErr: "BEIANSCAN_CLAIM_GUESS_LIMIT"},
		{name: "app download page", env: map[string]string{"BEIANSCAN_APP_DOWNLOAD_URL": "https://www.example.com/app"},
			check: func(t *testing.T, c configView) {
				if c.AppDownload != "https://www.example.com/app" {
					t.Fatalf("app download URL %q", c.AppDownload)
				}
			}},
		{name: "app download page flag", args: []string{"-app-download-url", "https://flag.example/app"},
			env: map[string]string{"BEIANSCAN_APP_DOWNLOAD_URL": "https://www.example.com/app"},
			check: func(t *testing.T, c configView) {
				if c.AppDownload != "https://flag.example/app" {
					t.Fatalf("app download URL %q", c.AppDownload)
				}
			}},
		{name: "app download page not a web address", env: map[string]string{"BEIANSCAN_APP_DOWNLOAD_URL": "javascript:alert(1)"}, wantErr: "BEIANSCAN_APP_DOWNLOAD_URL"},
		{name: "app download page relative", env: map[string]string{"BEIANSCAN_APP_DOWNLOAD_URL": "/app"}, wantErr: "BEIANSCAN_APP_DOWNLOAD_URL"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "nope"},
		// A secret is never a flag: it would show in ps.
		{name: "no operator key flag", args: []string{"-operator-key", "k"}, wantErr: "operator-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := loadConfig(t, tt.args, tt.env, tt.wantErr)
			if !ok {
				return
			}
			tt.check(t, configView{
				Addr: cfg.Addr, PublicURL: cfg.PublicURL, RedisURL: cfg.RedisURL, DataDir: cfg.DataDir, Secret: cfg.JWTSecret,
				OperatorKey: cfg.OperatorKey, PairingTTL: cfg.PairingTTL, PhoneTTL: cfg.PhoneTokenTTL, DesktopTTL: cfg.DesktopTokenTTL,
				MinApp: cfg.MinAppVersion, Provinces: cfg.AppProvinces, Origins: cfg.AllowedOrigins, Guesses: cfg.ClaimGuessLimit,
				Blur: cfg.Images.Thresholds.Blur, White: cfg.Images.Thresholds.WhiteBackground,
				Retention: cfg.Retention, Keys: cfg.EncryptionKeys, AppDownload: cfg.AppDownloadURL,
			})
		})
	}
}

type configView struct {
	Addr, PublicURL, RedisURL, DataDir, Secret, OperatorKey string
	PairingTTL, PhoneTTL, DesktopTTL                        time.Duration
	MinApp                                                  string
	Provinces, Origins                                      []string
	Guesses                                                 int
	Blur, White                                             float64
	Retention                                               time.Duration
	Keys                                                    string
	AppDownload                                             string
}

// TestConfigFromEdge covers the variables of docs/operations.md's slow clients and trusted proxies.
func TestConfigFromEdge(t *testing.T) {
	type view struct {
		proxies []string
		timeout time.Duration
	}
	runConfigCases(t, func(c server.Config) view {
		var got []string
		for _, p := range c.TrustedProxies {
			got = append(got, p.String())
		}
		return view{got, c.UploadTimeout}
	}, []configCase[view]{
		{name: "defaults", want: view{nil, 2 * time.Minute}},
		{name: "environment", env: map[string]string{
			"BEIANSCAN_TRUSTED_PROXIES": "172.28.0.0/16, 10.1.2.3 ,fd00::/8,192.168.7.9/24", "BEIANSCAN_UPLOAD_TIMEOUT": "45s",
		}, want: view{[]string{"172.28.0.0/16", "10.1.2.3/32", "fd00::/8", "192.168.7.0/24"}, 45 * time.Second}},
		{name: "flags", args: []string{"-trusted-proxies", "127.0.0.1/8", "-upload-timeout", "1m30s"},
			env:  map[string]string{"BEIANSCAN_TRUSTED_PROXIES": "10.0.0.0/8", "BEIANSCAN_UPLOAD_TIMEOUT": "45s"},
			want: view{[]string{"127.0.0.0/8"}, 90 * time.Second}},
		{name: "bad CIDR", env: map[string]string{"BEIANSCAN_TRUSTED_PROXIES": "10.0.0.0/33"}, wantErr: "BEIANSCAN_TRUSTED_PROXIES"},
		{name: "not an address", env: map[string]string{"BEIANSCAN_TRUSTED_PROXIES": "nginx"}, wantErr: "BEIANSCAN_TRUSTED_PROXIES"},
		{name: "bad timeout", env: map[string]string{"BEIANSCAN_UPLOAD_TIMEOUT": "2 minutes"}, wantErr: "BEIANSCAN_UPLOAD_TIMEOUT"},
		{name: "zero timeout", env: map[string]string{"BEIANSCAN_UPLOAD_TIMEOUT": "0s"}, wantErr: "BEIANSCAN_UPLOAD_TIMEOUT"},
	})
}

func TestConfigRedisReplicas(t *testing.T) {
	type view struct {
		n       int
		timeout time.Duration
	}
	runConfigCases(t, func(c server.Config) view { return view{c.RedisMinReplicas, c.RedisWaitTimeout} }, []configCase[view]{
		{name: "defaults", want: view{0, time.Second}},
		{name: "set", env: map[string]string{"BEIANSCAN_REDIS_MIN_REPLICAS": "1", "BEIANSCAN_REDIS_WAIT_TIMEOUT": "250ms"}, want: view{1, 250 * time.Millisecond}},
		{name: "negative", env: map[string]string{"BEIANSCAN_REDIS_MIN_REPLICAS": "-1"}, wantErr: "BEIANSCAN_REDIS_MIN_REPLICAS"},
		{name: "not a number", env: map[string]string{"BEIANSCAN_REDIS_MIN_REPLICAS": "one"}, wantErr: "BEIANSCAN_REDIS_MIN_REPLICAS"},
		{name: "bad timeout", env: map[string]string{"BEIANSCAN_REDIS_WAIT_TIMEOUT": "0s"}, wantErr: "BEIANSCAN_REDIS_WAIT_TIMEOUT"},
	})
}

func TestConfigFromImageAdmission(t *testing.T) {
	type view struct {
		memory  int64
		workers int
	}
	runConfigCases(t, func(c server.Config) view { return view{c.DecodeMemory, c.ImageWorkers} }, []configCase[view]{
		{name: "defaults", want: view{512 << 20, admission.DefaultWorkers()}},
		{name: "environment", env: map[string]string{"BEIANSCAN_DECODE_MEMORY": "1GiB", "BEIANSCAN_IMAGE_WORKERS": "3"},
			want: view{1 << 30, 3}},
		{name: "decimal units", env: map[string]string{"BEIANSCAN_DECODE_MEMORY": "300MB"}, want: view{300e6, admission.DefaultWorkers()}},
		{name: "flags win", args: []string{"-decode-memory", "256MiB", "-image-workers", "1"},
			env: map[string]string{"BEIANSCAN_DECODE_MEMORY": "1GiB", "BEIANSCAN_IMAGE_WORKERS": "3"}, want: view{256 << 20, 1}},
		{name: "bad size", env: map[string]string{"BEIANSCAN_DECODE_MEMORY": "lots"}, wantErr: "BEIANSCAN_DECODE_MEMORY"},
		{name: "too small", env: map[string]string{"BEIANSCAN_DECODE_MEMORY": "1MiB"}, wantErr: "BEIANSCAN_DECODE_MEMORY"},
		{name: "zero workers", env: map[string]string{"BEIANSCAN_IMAGE_WORKERS": "0"}, wantErr: "BEIANSCAN_IMAGE_WORKERS"},
		{name: "bad workers", env: map[string]string{"BEIANSCAN_IMAGE_WORKERS": "two"}, wantErr: "BEIANSCAN_IMAGE_WORKERS"},
	})
}

// configCase is one run of configFrom on args and env: it must fail with an error naming
// wantErr or, without wantErr, succeed with a config whose view is want.
type configCase[V any] struct {
	name    string
	args    []string
	env     map[string]string
	want    V
	wantErr string
}

// runConfigCases runs each case as a subtest, comparing view of the config with want.
func runConfigCases[V any](t *testing.T, view func(server.Config) V, cases []configCase[V]) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := loadConfig(t, tt.args, tt.env, tt.wantErr)
			if !ok {
				return
			}
			if got := view(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// loadConfig runs configFrom on args and env. With wantErr, it checks that the error names
// wantErr and returns false; else it fails the test on any error.
func loadConfig(t *testing.T, args []string, env map[string]string, wantErr string) (server.Config, bool) {
	t.Helper()
	cfg, err := configFrom(args, func(k string) string { return env[k] })
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err %v, want one naming %s", err, wantErr)
		}
		return cfg, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, true
}

// TestDurationDefault: the flag help shows a default as it is written in the README.
func TestDurationDefault(t *testing.T) {
	for d, want := range map[time.Duration]string{
		720 * time.Hour: "720h", 72 * time.Hour: "72h", 30 * time.Minute: "30m", 5 * time.Minute: "5m",
		2 * time.Minute: "2m", time.Second: "1s", 90 * time.Minute: "1h30m", 10 * time.Hour: "10h", 100 * time.Second: "1m40s",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(duration(d)); err != nil || back != d {
			t.Errorf("duration(%v) does not parse back: %v, %v", d, back, err)
		}
	}
}

func TestReviewerAdd(t *testing.T) {
	var out, errOut strings.Builder
	if code := reviewerCommand([]string{"add", "alice"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	key := lines[0][strings.LastIndex(lines[0], " ")+1:]
	line := lines[len(lines)-1]
	sum := sha256.Sum256([]byte(key))
	if line != "alice:"+hex.EncodeToString(sum[:]) || len(key) < 40 {
		t.Errorf("key %q, line %q", key, line)
	}
	if code := reviewerCommand([]string{"add", "a b"}, &out, &errOut); code != 2 {
		t.Errorf("a bad name: exit %d", code)
	}
}
