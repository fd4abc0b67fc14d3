package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestLogConfig(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		args        []string
		debug, info bool
		warn, json  bool
		wantErr     string
	}{
		{name: "default: info, text", info: true, warn: true},
		{name: "debug", env: map[string]string{"BEIANSCAN_LOG_LEVEL": "debug"}, debug: true, info: true, warn: true},
		{name: "warn, json", env: map[string]string{"BEIANSCAN_LOG_LEVEL": "warn", "BEIANSCAN_LOG_FORMAT": "json"}, warn: true, json: true},
		{name: "error by flag", args: []string{"-log-level", "error"}},
		{name: "bad level", env: map[string]string{"BEIANSCAN_LOG_LEVEL": "verbose"}, wantErr: "BEIANSCAN_LOG_LEVEL"},
		{name: "level with offset refused", env: map[string]string{"BEIANSCAN_LOG_LEVEL": "info+2"}, wantErr: "BEIANSCAN_LOG_LEVEL"},
		{name: "bad format", env: map[string]string{"BEIANSCAN_LOG_FORMAT": "logfmt"}, wantErr: "BEIANSCAN_LOG_FORMAT"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ok := loadConfig(t, tt.args, tt.env, tt.wantErr)
			if !ok {
				return
			}
			l := cfg.Logger
			if l.Enabled(ctx, slog.LevelDebug) != tt.debug || l.Enabled(ctx, slog.LevelInfo) != tt.info || l.Enabled(ctx, slog.LevelWarn) != tt.warn {
				t.Errorf("levels debug %v info %v warn %v", l.Enabled(ctx, slog.LevelDebug), l.Enabled(ctx, slog.LevelInfo), l.Enabled(ctx, slog.LevelWarn))
			}
			if _, isJSON := l.Handler().(*slog.JSONHandler); isJSON != tt.json {
				t.Errorf("json handler %v, want %v", isJSON, tt.json)
			}
		})
	}
}

func TestMetricsAddrConfig(t *testing.T) {
	for _, tt := range []struct {
		env, want string
	}{{"", "127.0.0.1:9464"}, {"off", "off"}, {"0.0.0.0:9100", "0.0.0.0:9100"}} {
		cfg, err := configFrom(nil, func(k string) string {
			if k == "BEIANSCAN_METRICS_ADDR" {
				return tt.env
			}
			return ""
		})
		if err != nil || cfg.MetricsAddr != tt.want {
			t.Errorf("BEIANSCAN_METRICS_ADDR=%q: %q, %v; want %q", tt.env, cfg.MetricsAddr, err, tt.want)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	closed := func() string { // a port nothing listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	tests := []struct {
		name   string
		status int
		args   []string
		env    string
		want   int
	}{
		{"ready, BEIANSCAN_ADDR :port", 200, nil, ":" + port, 0},
		{"ready, unspecified host", 200, nil, "0.0.0.0:" + port, 0},
		{"ready, -addr", 200, []string{"-addr", "127.0.0.1:" + port}, ":1", 0},
		{"not ready", 503, nil, ":" + port, 1},
		{"nothing listening", 200, nil, closed, 1},
		{"no port", 200, nil, "localhost", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status.Store(int32(tt.status))
			var stderr bytes.Buffer
			got := healthcheck(tt.args, func(k string) string {
				if k == "BEIANSCAN_ADDR" {
					return tt.env
				}
				return ""
			}, &stderr)
			if got != tt.want {
				t.Fatalf("exit %d, want %d (%s)", got, tt.want, stderr.String())
			}
			if got != 0 && stderr.Len() == 0 {
				t.Error("a failed check says nothing")
			}
		})
	}
}

// TestTryOutMetricsPortBusy: in the embedded mode a taken metrics port is a warning and no
// metrics listener, not the end of the start; a free one is kept.
func TestTryOutMetricsPortBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	for _, tt := range []struct {
		addr, want string
		warns      bool
	}{
		{busy.Addr().String(), "off", true},
		{freeAddr, freeAddr, false},
		{"off", "off", false},
	} {
		var logs bytes.Buffer
		got := tryOutMetricsAddr(tt.addr, slog.New(slog.NewTextHandler(&logs, nil)))
		if got != tt.want || strings.Contains(logs.String(), "level=WARN") != tt.warns {
			t.Errorf("%s: got %q, logs %q; want %q, warning %v", tt.addr, got, logs.String(), tt.want, tt.warns)
		}
	}
}
