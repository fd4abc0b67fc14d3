package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"
)

// confBlocks returns nginx.conf without comments, and each server block's body.
func confBlocks(t *testing.T) (string, []string) {
	t.Helper()
	b, err := os.ReadFile(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	conf := regexp.MustCompile(`(?m)#.*$`).ReplaceAllString(string(b), "")
	var servers []string
	for _, loc := range regexp.MustCompile(`(?m)^server\s*\{`).FindAllStringIndex(conf, -1) {
		depth, i := 0, loc[1]-1
		for ; i < len(conf); i++ {
			if conf[i] == '{' {
				depth++
			} else if conf[i] == '}' {
				if depth--; depth == 0 {
					break
				}
			}
		}
		servers = append(servers, conf[loc[1]:i])
	}
	return conf, servers
}

// TestTLS: nginx serves HTTPS only (TLS 1.2 and 1.3, HSTS), port 80 only redirects, the
// certificate is the pair the Compose file mounts from the files the environment names
// (by default the git-ignored deploy/tls/), and the instances are told the public URL is
// https so that the desktop cookie is Secure.
func TestTLS(t *testing.T) {
	_, servers := confBlocks(t)
	var plain, tls string
	for _, s := range servers {
		switch {
		case regexp.MustCompile(`(?m)^\s*listen\s+443\s+ssl\b`).MatchString(s):
			tls = s
		case regexp.MustCompile(`(?m)^\s*listen\s+80;`).MatchString(s):
			plain = s
		}
	}
	if plain == "" || tls == "" {
		t.Fatalf("want a server on 80 and one on 443 ssl; found %d servers", len(servers))
	}
	if strings.Contains(plain, "proxy_pass") || !strings.Contains(plain, "return 301 https://$host$request_uri;") {
		t.Errorf("the port 80 server does more than redirect to https:\n%s", plain)
	}
	if m := regexp.MustCompile(`ssl_protocols\s+([^;]*);`).FindStringSubmatch(tls); m == nil || strings.Join(strings.Fields(m[1]), " ") != "TLSv1.2 TLSv1.3" {
		t.Errorf("ssl_protocols = %v, want TLSv1.2 TLSv1.3 only", m)
	}
	hsts := regexp.MustCompile(`add_header\s+Strict-Transport-Security\s+"max-age=(\d+)[^"]*"\s+always;`).FindStringSubmatch(tls)
	if hsts == nil {
		t.Error("no Strict-Transport-Security header (always) on the TLS server")
	} else if age, _ := strconv.Atoi(hsts[1]); age < 365*24*3600 {
		t.Errorf("HSTS max-age %d, want at least a year", age)
	}
	for _, line := range []string{"proxy_pass http://beianscan;", "client_body_timeout ", "error_page 502 504 =503 @unavailable;", "add_header Retry-After 1 always;"} {
		if !strings.Contains(tls, line) {
			t.Errorf("TLS server lacks %q", line)
		}
	}
	cert := regexp.MustCompile(`ssl_certificate\s+(\S+);`).FindStringSubmatch(tls)
	key := regexp.MustCompile(`ssl_certificate_key\s+(\S+);`).FindStringSubmatch(tls)
	if cert == nil || key == nil {
		t.Fatal("no ssl_certificate / ssl_certificate_key")
	}

	mounted := func(p *types.Project, target string) string {
		for _, v := range service(t, p, "nginx").Volumes {
			if v.Target == target && v.Type == types.VolumeTypeBind && v.ReadOnly {
				return v.Source
			}
		}
		return ""
	}
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	for target, def := range map[string]string{cert[1]: "tls/tls.crt", key[1]: "tls/tls.key"} {
		want, _ := filepath.Abs(def)
		if got := mounted(p, target); got != want {
			t.Errorf("%s is mounted from %q, want the default %q", target, got, want)
		}
	}
	p = mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret, "BEIANSCAN_TLS_CERT=/etc/letsencrypt/live/x/fullchain.pem", "BEIANSCAN_TLS_KEY=/etc/letsencrypt/live/x/privkey.pem")
	if got := mounted(p, cert[1]); got != "/etc/letsencrypt/live/x/fullchain.pem" {
		t.Errorf("BEIANSCAN_TLS_CERT: certificate mounted from %q", got)
	}
	if got := mounted(p, key[1]); got != "/etc/letsencrypt/live/x/privkey.pem" {
		t.Errorf("BEIANSCAN_TLS_KEY: key mounted from %q", got)
	}
	for _, name := range instances {
		if u := env(service(t, p, name), "BEIANSCAN_PUBLIC_URL"); !strings.HasPrefix(u, "https://") {
			t.Errorf("%s: default public URL %q is not https (the cookie would not be Secure)", name, u)
		}
	}

	gi, err := os.ReadFile("../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(string(gi)), "/deploy/tls/") {
		t.Error(".gitignore does not keep deploy/tls/ (the local key pair) out of git")
	}
}

// TestGrafana: Grafana runs with the dashboard and the Prometheus data source provisioned
// from deploy/grafana/provisioning, on loopback only, with a required admin password.
func TestGrafana(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	g := service(t, p, "grafana")
	if !regexp.MustCompile(`^grafana/grafana:\d+\.\d+\.\d+$`).MatchString(g.Image) {
		t.Errorf("image %q, want a pinned grafana/grafana", g.Image)
	}
	if env(g, "GF_SECURITY_ADMIN_PASSWORD") != testGrafana {
		t.Errorf("admin password not from BEIANSCAN_GRAFANA_PASSWORD: %v", g.Environment)
	}
	if !hasVolumeAt(g, "/var/lib/grafana") {
		t.Errorf("grafana keeps /var/lib/grafana in no named volume: %+v", g.Volumes)
	}
	for _, pc := range g.Ports {
		if pc.HostIP != "127.0.0.1" {
			t.Errorf("grafana published on %q; loopback only", pc.HostIP)
		}
	}
	if _, ok := g.DependsOn["prometheus"]; !ok {
		t.Error("grafana does not depend on prometheus")
	}
	bind := func(source string) string {
		want, _ := filepath.Abs(source)
		for _, v := range g.Volumes {
			if v.Type == types.VolumeTypeBind && v.Source == want && v.ReadOnly {
				return v.Target
			}
		}
		t.Errorf("grafana does not mount %s read-only: %+v", want, g.Volumes)
		return ""
	}
	if got := bind("grafana/provisioning"); got != "/etc/grafana/provisioning" {
		t.Errorf("provisioning mounted at %q", got)
	}
	dashboard := bind("grafana/beianscan.json")

	var providers struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/beianscan.yml", &providers)
	if len(providers.Providers) != 1 || providers.Providers[0].Type != "file" || filepath.Dir(dashboard) != providers.Providers[0].Options.Path {
		t.Errorf("dashboard provider %+v does not load %s", providers, dashboard)
	}

	var sources struct {
		Datasources []struct {
			Type      string `yaml:"type"`
			URL       string `yaml:"url"`
			IsDefault bool   `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yml", &sources)
	prom := service(t, p, "prometheus")
	var promPort uint32
	for _, pc := range prom.Ports {
		promPort = pc.Target
	}
	if len(sources.Datasources) != 1 || sources.Datasources[0].Type != "prometheus" || !sources.Datasources[0].IsDefault ||
		sources.Datasources[0].URL != "http://prometheus:"+strconv.Itoa(int(promPort)) {
		t.Errorf("data sources %+v, want the default prometheus at http://prometheus:%d", sources, promPort)
	}
	// The dashboard's data source variable picks a Prometheus source: the provisioned one.
	var d struct {
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	b, err := os.ReadFile("grafana/beianscan.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(d.Templating.List, func(v struct {
		Type  string `json:"type"`
		Query string `json:"query"`
	}) bool {
		return v.Type == "datasource" && v.Query == "prometheus"
	}) {
		t.Error("the dashboard has no prometheus data source variable")
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestVolumes: everything stateful keeps its state in a named volume of its own, and every
// declared volume is used by exactly one service.
func TestVolumes(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	users := map[string][]string{}
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume {
				users[v.Source] = append(users[v.Source], s.Name)
			}
		}
	}
	for name := range p.Volumes {
		if len(users[name]) != 1 {
			t.Errorf("volume %s is used by %v, want exactly one service", name, users[name])
		}
	}
	for svc, target := range map[string]string{
		"redis": "/data", "redis-replica": "/data", "minio": "/data", "prometheus": "/prometheus",
		"grafana": "/var/lib/grafana", "sentinel1": "/data", "sentinel2": "/data", "sentinel3": "/data",
	} {
		if !hasVolumeAt(service(t, p, svc), target) {
			t.Errorf("%s keeps %s in no named volume", svc, target)
		}
	}
}

// sentinelVolumes: each Sentinel's configuration, which it rewrites after a failover, is
// on its volume and written at start only when absent, so a restart keeps what it learnt.
func sentinelVolumes(t *testing.T, p *types.Project) {
	t.Helper()
	for _, name := range sentinels {
		s := service(t, p, name)
		if !hasVolumeAt(s, "/data") {
			t.Errorf("%s keeps its configuration in no volume: %+v", name, s.Volumes)
		}
		cmd := strings.Join(s.Command, " ")
		if !strings.Contains(cmd, "[ -s /data/sentinel.conf ] ||") || !strings.Contains(cmd, "exec redis-server /data/sentinel.conf --sentinel") {
			t.Errorf("%s does not keep an existing /data/sentinel.conf: %q", name, cmd)
		}
	}
}

// checkBucketPolicy: the instances' MinIO policy allows the bucket's objects and nothing
// else (no admin action, no other bucket).
func checkBucketPolicy(t *testing.T, path, bucket string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pol struct {
		Statement []struct {
			Effect   string   `json:"Effect"`
			Action   []string `json:"Action"`
			Resource []string `json:"Resource"`
		} `json:"Statement"`
	}
	if err := json.Unmarshal(b, &pol); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var actions []string
	for _, st := range pol.Statement {
		for _, a := range st.Action {
			if !strings.HasPrefix(a, "s3:") || strings.Contains(a, "*") {
				t.Errorf("policy allows %q", a)
			}
			actions = append(actions, a)
		}
		for _, r := range st.Resource {
			if r != "arn:aws:s3:::"+bucket && r != "arn:aws:s3:::"+bucket+"/*" {
				t.Errorf("policy reaches %q, beyond bucket %s", r, bucket)
			}
		}
	}
	for _, need := range []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"} {
		if !slices.Contains(actions, need) {
			t.Errorf("policy lacks %s, which the blob store uses", need)
		}
	}
}

// TestGracefulStop: Docker gives an instance more time after SIGTERM than the server's own
// shutdown takes (10 s for requests in flight), so a restart never kills an upload.
func TestGracefulStop(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	for _, name := range instances {
		s := service(t, p, name)
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= 10*time.Second {
			t.Errorf("%s stop_grace_period %v, want more than the 10 s shutdown", name, s.StopGracePeriod)
		}
		if s.StopSignal != "" && s.StopSignal != "SIGTERM" {
			t.Errorf("%s stop_signal %q, want SIGTERM", name, s.StopSignal)
		}
	}
}
