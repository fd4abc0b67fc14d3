package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/beianscan/beianscan/internal/server"
)

// newLogger builds the process's logger from BEIANSCAN_LOG_LEVEL and BEIANSCAN_LOG_FORMAT.
func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil || !validLevel(level) {
		return nil, fmt.Errorf("BEIANSCAN_LOG_LEVEL: %q is not one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("BEIANSCAN_LOG_FORMAT: %q is not text or json", format)
}

func validLevel(s string) bool {
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		return true
	}
	return false
}

// healthcheck is `beianscan healthcheck`: it asks the instance on BEIANSCAN_ADDR (or -addr)
// whether it is ready and exits 0 only on a 200 from /readyz. The distroless image has no
// curl or shell, so the container's healthcheck runs the binary itself.
func healthcheck(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("beianscan healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := getenv("BEIANSCAN_ADDR")
	if def == "" {
		def = server.DefaultAddr
	}
	addr := fs.String("addr", def, "the instance's listen address (BEIANSCAN_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	u, err := readyURL(*addr)
	if err != nil {
		fmt.Fprintln(stderr, "beianscan healthcheck:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "beianscan healthcheck: not answering:", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "beianscan healthcheck: not ready:", resp.Status)
		return 1
	}
	return 0
}

// readyURL turns a listen address into the loopback URL of its /readyz: ":8080" and
// "0.0.0.0:8080" listen on every interface, loopback included.
func readyURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("BEIANSCAN_ADDR %q has no port to check", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// tryOutMetricsAddr is the metrics address of the embedded mode: a try-out (a second local
// instance, say) whose metrics port is taken warns and runs without /metrics instead of
// stopping. With a Redis URL a busy port still stops the start, as any other listener
// would: a production instance must be scraped.
func tryOutMetricsAddr(addr string, log *slog.Logger) string {
	if addr == "" || addr == "off" {
		return addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("metrics port is taken: running without /metrics; set BEIANSCAN_METRICS_ADDR to a free address or off",
			"metrics_addr", addr, "err", err)
		return "off"
	}
	ln.Close()
	return addr
}
