package deploy

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/beianscan/beianscan/internal/metrics"
)

// TestInstancesHealthAndMetrics: each instance checks itself with the binary (the image has
// no curl) and serves metrics on a port of the Compose network that Prometheus scrapes.
func TestInstancesHealthAndMetrics(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	targets := prometheusTargets(t)
	for _, name := range instances {
		s := service(t, p, name)
		hc := s.HealthCheck
		if hc == nil || hc.Disable || strings.Join(hc.Test, " ") != "CMD /usr/local/bin/beianscan healthcheck" {
			t.Errorf("%s healthcheck = %+v, want CMD /usr/local/bin/beianscan healthcheck", name, hc)
		}
		_, port, err := net.SplitHostPort(env(s, "BEIANSCAN_METRICS_ADDR"))
		if err != nil || port == "" {
			t.Fatalf("%s: BEIANSCAN_METRICS_ADDR %q", name, env(s, "BEIANSCAN_METRICS_ADDR"))
		}
		if host, _, _ := net.SplitHostPort(env(s, "BEIANSCAN_METRICS_ADDR")); host == "127.0.0.1" || host == "localhost" {
			t.Errorf("%s: metrics on loopback cannot be scraped from another container", name)
		}
		if !slices.Contains(s.Expose, port) {
			t.Errorf("%s does not expose the metrics port %s: %v", name, port, s.Expose)
		}
		if slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool { return pc.Target == mustAtoi(port) }) {
			t.Errorf("%s publishes its metrics port", name)
		}
		if !slices.Contains(targets, name+":"+port) {
			t.Errorf("prometheus.yml does not scrape %s:%s (targets %v)", name, port, targets)
		}
	}
}

func mustAtoi(s string) uint32 {
	var n uint32
	for _, c := range s {
		n = n*10 + uint32(c-'0')
	}
	return n
}

func prometheusTargets(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	var out []string
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "beianscan" || sc.MetricsPath != "/metrics" {
			continue
		}
		for _, st := range sc.StaticConfigs {
			out = append(out, st.Targets...)
		}
	}
	return out
}

func TestPrometheusService(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	s := service(t, p, "prometheus")
	if !strings.HasPrefix(s.Image, "prom/prometheus:v") {
		t.Errorf("image %q, want a pinned prom/prometheus", s.Image)
	}
	want, _ := filepath.Abs("prometheus.yml")
	if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeBind && v.Source == want && v.Target == "/etc/prometheus/prometheus.yml" && v.ReadOnly
	}) {
		t.Errorf("prometheus does not mount %s read-only: %+v", want, s.Volumes)
	}
	for _, pc := range s.Ports {
		if pc.HostIP != "127.0.0.1" {
			t.Errorf("prometheus published on %q; loopback only", pc.HostIP)
		}
	}
}

func TestDockerfileHealthcheck(t *testing.T) {
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	if !regexp.MustCompile(`(?m)^HEALTHCHECK .*\\\n\s+CMD \["/usr/local/bin/beianscan", "healthcheck"\]`).MatchString(df) {
		t.Error("Dockerfile has no HEALTHCHECK running beianscan healthcheck")
	}
	if !strings.Contains(df, "COPY --from=build /out/beianscan /usr/local/bin/beianscan") {
		t.Error("the healthcheck's binary path is not where the image puts it")
	}
}

func TestNginxPassiveHealth(t *testing.T) {
	b, err := os.ReadFile(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	conf := regexp.MustCompile(`(?m)#.*$`).ReplaceAllString(string(b), "")
	for _, name := range instances {
		if !regexp.MustCompile(`(?m)^\s*server\s+` + name + `:8080\b[^;]*\bmax_fails=\d+[^;]*\bfail_timeout=\d+s`).MatchString(conf) {
			t.Errorf("upstream server %s has no max_fails/fail_timeout", name)
		}
	}
	m := regexp.MustCompile(`proxy_next_upstream\s+([^;]*);`).FindStringSubmatch(conf)
	if m == nil || !strings.Contains(m[1], "http_503") || !strings.Contains(m[1], "error") {
		t.Errorf("proxy_next_upstream = %v; an unready instance's 503 must go to the other", m)
	}
}

// TestGrafanaDashboard: the dashboard parses and every beianscan metric it queries exists.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/beianscan.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if d.UID == "" || len(d.Panels) < 10 {
		t.Fatalf("uid %q, %d panels", d.UID, len(d.Panels))
	}
	m := metrics.New()
	m.Websockets(func() int { return 0 })
	m.DecodeBudget(func() int64 { return 0 }, 0)
	m.Webhooks(func() int { return 0 }, func() (int64, time.Duration) { return 0, 0 })
	m.ReviewQueue(func() (int64, time.Duration, error) { return 0, 0, nil })
	known := m.Names()
	name := regexp.MustCompile(`beianscan_[a-z_]+`)
	used := map[string]bool{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				base := n
				for _, suf := range []string{"_bucket", "_count", "_sum"} {
					base = strings.TrimSuffix(base, suf)
				}
				if !slices.Contains(known, base) {
					t.Errorf("panel %q queries %s, which beianscan does not export", p.Title, n)
				}
				used[base] = true
			}
		}
	}
	for _, n := range known {
		if !used[n] && n != "beianscan_websocket_event_frames_total" {
			t.Errorf("metric %s is on no panel", n)
		}
	}
}
