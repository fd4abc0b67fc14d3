package deploy

import (
	"context"
	"maps"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	composeFile = "../docker-compose.yml"
	dockerfile  = "../Dockerfile"
	nginxConf   = "nginx.conf"
	testSecret  = "test-secret-0123456789abcdef0123456789"
	testKeys    = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	testS3      = "test-s3-secret-0123456789"
	testRoot    = "test-minio-root-0123456789"
	testGrafana = "test-grafana-0123"
)

// required are the variables every load needs besides the JWT secret; a test's own env
// comes after them and wins.
var required = []string{"BEIANSCAN_ENCRYPTION_KEYS=" + testKeys, "BEIANSCAN_S3_SECRET_KEY=" + testS3,
	"BEIANSCAN_MINIO_ROOT_PASSWORD=" + testRoot, "BEIANSCAN_GRAFANA_PASSWORD=" + testGrafana}

var instances = []string{"beianscan1", "beianscan2"}

var sentinels = []string{"sentinel1", "sentinel2", "sentinel3"}

// sentinelURL is the instances' Redis: the master named beianscan, through all three Sentinels.
const sentinelURL = "redis://sentinel1:26379/0?master_name=beianscan&addr=sentinel2:26379&addr=sentinel3:26379"

// loadProject loads the compose file as `docker compose` would, with env as the whole
// environment (not the test process's, so the result does not depend on who runs it).
func loadProject(t *testing.T, env ...string) (*types.Project, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	abs, err := filepath.Abs(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithEnv(append(slices.Clone(required), env...)),
		cli.WithName("beianscan"),
	)
	if err != nil {
		t.Fatalf("NewProjectOptions: %v", err)
	}
	return opts.LoadProject(ctx)
}

func mustLoad(t *testing.T, env ...string) *types.Project {
	t.Helper()
	p, err := loadProject(t, env...)
	if err != nil {
		t.Fatalf("loading %s: %v", composeFile, err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return s
}

func env(s types.ServiceConfig, key string) string {
	v, ok := s.Environment[key]
	if !ok || v == nil {
		return ""
	}
	return *v
}

// redisServer is the Redis 7 service name, which must run redis-server durably (AOF,
// fsync on every write) with the extra arguments too.
func redisServer(t *testing.T, p *types.Project, name string, extra ...string) types.ServiceConfig {
	t.Helper()
	r := service(t, p, name)
	if !strings.HasPrefix(r.Image, "redis:7") {
		t.Errorf("%s image = %q, want redis:7*", name, r.Image)
	}
	wantCommand(t, r, append([]string{"redis-server", "--appendonly yes", "--appendfsync always"}, extra...)...)
	return r
}

// wantCommand checks that the service's command holds each of want.
func wantCommand(t *testing.T, s types.ServiceConfig, want ...string) {
	t.Helper()
	cmd := strings.Join(s.Command, " ")
	for _, w := range want {
		if !strings.Contains(cmd, w) {
			t.Errorf("%s command %q lacks %q", s.Name, cmd, w)
		}
	}
}

func TestRedis(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	r := redisServer(t, p, "redis")
	if !hasVolumeAt(r, "/data") {
		t.Errorf("redis keeps /data in no named volume: %+v", r.Volumes)
	}
	if r.HealthCheck == nil || !strings.Contains(strings.Join(r.HealthCheck.Test, " "), "redis-cli ping") {
		t.Errorf("redis healthcheck = %+v, want redis-cli ping", r.HealthCheck)
	}
}

func TestInstances(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	first := service(t, p, instances[0])
	for _, name := range instances {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			if s.Build == nil {
				t.Fatal("not built from the repository")
			}
			if s.Build.Context != first.Build.Context || s.Build.Dockerfile != first.Build.Dockerfile || s.Image != first.Image {
				t.Errorf("build %+v image %q differ from %s's %+v %q", s.Build, s.Image, instances[0], first.Build, first.Image)
			}
			if ctx, _ := filepath.Abs(".."); filepath.Clean(s.Build.Context) != ctx {
				t.Errorf("build context = %q, want the repository root %q", s.Build.Context, ctx)
			}
			for key, want := range map[string]string{
				"BEIANSCAN_JWT_SECRET": testSecret,
				"BEIANSCAN_REDIS_URL":  sentinelURL,
				// Every acknowledged change waits for the replica (docs/operations.md).
				"BEIANSCAN_REDIS_MIN_REPLICAS": "1",
				"BEIANSCAN_ADDR":               ":8080",
				"BEIANSCAN_DATA_DIR":           "/data",
				// Defaults when the operator sets nothing.
				"BEIANSCAN_PUBLIC_URL":      "https://localhost",
				"BEIANSCAN_ALLOWED_ORIGINS": "https://localhost",
				"BEIANSCAN_TRUSTED_PROXIES": composeSubnet,
			} {
				if got := env(s, key); got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
			if _, ok := s.Environment["BEIANSCAN_OPERATOR_KEY"]; !ok {
				t.Error("BEIANSCAN_OPERATOR_KEY is not passed through")
			}
			// Images are in the bucket, encrypted: the instances share no volume.
			for key, want := range map[string]string{
				"BEIANSCAN_BLOB_URL":        "s3://beianscan/blobs?endpoint=http://minio:9000&region=us-east-1",
				"AWS_ACCESS_KEY_ID":         "beianscan",
				"AWS_SECRET_ACCESS_KEY":     testS3,
				"BEIANSCAN_ENCRYPTION_KEYS": testKeys,
			} {
				if got := env(s, key); got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
			if len(s.Volumes) != 0 {
				t.Errorf("instance mounts %+v; it should share nothing but Redis and the bucket", s.Volumes)
			}
			for _, dep := range []string{"redis", "redis-replica"} {
				if d, ok := s.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
					t.Errorf("depends_on %s = %+v, want service_healthy", dep, s.DependsOn)
				}
			}
			for _, dep := range sentinels {
				if _, ok := s.DependsOn[dep]; !ok {
					t.Errorf("does not depend on %s", dep)
				}
			}
			if d, ok := s.DependsOn["minio-bucket"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("depends_on minio-bucket = %+v, want service_completed_successfully", s.DependsOn)
			}
			if len(s.Ports) != 0 {
				t.Errorf("instance publishes ports %+v; only nginx should", s.Ports)
			}
		})
	}
}

// TestMinIO: the object store keeps its data in a volume; the bucket the instances use is
// created, versioned, before they start, with a user of its own for them: the instances
// never hold MinIO's root credentials.
func TestMinIO(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret, "BEIANSCAN_S3_ACCESS_KEY=acc", "BEIANSCAN_MINIO_ROOT_USER=root")
	m := service(t, p, "minio")
	if !strings.HasPrefix(m.Image, "minio/minio:") || !hasVolumeAt(m, "/data") || m.HealthCheck == nil {
		t.Errorf("minio: image %q, volumes %+v, healthcheck %+v", m.Image, m.Volumes, m.HealthCheck)
	}
	if env(m, "MINIO_ROOT_USER") != "root" || env(m, "MINIO_ROOT_PASSWORD") != testRoot {
		t.Errorf("minio credentials %q / %q", env(m, "MINIO_ROOT_USER"), env(m, "MINIO_ROOT_PASSWORD"))
	}
	if len(m.Ports) != 0 {
		t.Errorf("minio publishes ports %+v", m.Ports)
	}
	b := service(t, p, "minio-bucket")
	cmd := strings.Join(b.Command, " ")
	for _, want := range []string{
		"mc mb --ignore-existing store/beianscan",
		"mc version enable store/beianscan",
		"mc admin policy create store beianscan-bucket /etc/beianscan/policy.json",
		`mc admin user add store "$S3_USER" "$S3_PASSWORD"`,
		`mc admin policy attach store beianscan-bucket --user "$S3_USER"`,
	} {
		if !strings.Contains(cmd, want) {
			t.Errorf("minio-bucket command lacks %q:\n%s", want, cmd)
		}
	}
	if env(b, "S3_USER") != "acc" || env(b, "S3_PASSWORD") != testS3 || env(b, "MINIO_ROOT_PASSWORD") != testRoot {
		t.Errorf("minio-bucket env %v", b.Environment)
	}
	policy, _ := filepath.Abs("minio/beianscan-policy.json")
	if !slices.ContainsFunc(b.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Source == policy && v.Target == "/etc/beianscan/policy.json" && v.ReadOnly
	}) {
		t.Errorf("minio-bucket does not mount %s: %+v", policy, b.Volumes)
	}
	checkBucketPolicy(t, policy, "beianscan")
	if d, ok := b.DependsOn["minio"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("minio-bucket depends_on %+v", b.DependsOn)
	}
	for _, name := range instances {
		s := service(t, p, name)
		if got := env(s, "AWS_ACCESS_KEY_ID"); got != "acc" {
			t.Errorf("%s: AWS_ACCESS_KEY_ID = %q, want the bucket's user", name, got)
		}
		for k, v := range s.Environment {
			if v != nil && (*v == testRoot || strings.HasPrefix(k, "MINIO_ROOT")) {
				t.Errorf("%s gets MinIO's root credentials in %s", name, k)
			}
		}
	}
}

// TestKeysRequired: the project does not load without encryption keys or the object
// store's secret, as without the signing secret.
func TestKeysRequired(t *testing.T) {
	for _, v := range []string{"BEIANSCAN_ENCRYPTION_KEYS", "BEIANSCAN_S3_SECRET_KEY", "BEIANSCAN_MINIO_ROOT_PASSWORD", "BEIANSCAN_GRAFANA_PASSWORD"} {
		_, err := loadProject(t, "BEIANSCAN_JWT_SECRET="+testSecret, v+"=")
		if err == nil || !strings.Contains(err.Error(), v) && !strings.Contains(err.Error(), "set ") {
			t.Errorf("%s empty: err %v, want a refusal", v, err)
		}
	}
}

// TestInstancesFollowPublicURL checks that the allowed origin follows the public URL, so a
// deployment on a real domain does not refuse its own page's websocket.
func TestInstancesFollowPublicURL(t *testing.T) {
	const url = "https://beian.example.com"
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret, "BEIANSCAN_PUBLIC_URL="+url, "BEIANSCAN_OPERATOR_KEY=op")
	for _, name := range instances {
		s := service(t, p, name)
		for key, want := range map[string]string{
			"BEIANSCAN_PUBLIC_URL": url, "BEIANSCAN_ALLOWED_ORIGINS": url, "BEIANSCAN_OPERATOR_KEY": "op",
		} {
			if got := env(s, key); got != want {
				t.Errorf("%s: %s = %q, want %q", name, key, got, want)
			}
		}
	}
}

// composeSubnet is the project network's subnet: nginx has its address there, so the
// instances trust X-Forwarded-For from it and from nowhere else.
const composeSubnet = "172.28.0.0/24"

// TestNetwork checks that the project's network has the fixed subnet the instances trust,
// that it is private (no outside peer falls in it), and that nginx and the instances are on
// it and on no other network.
func TestNetwork(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	n, ok := p.Networks["default"]
	if !ok || len(n.Ipam.Config) != 1 {
		t.Fatalf("default network = %+v, want one fixed subnet", n)
	}
	subnet := n.Ipam.Config[0].Subnet
	if subnet != composeSubnet {
		t.Errorf("subnet %q, want %q", subnet, composeSubnet)
	}
	pf, err := netip.ParsePrefix(subnet)
	if err != nil || !pf.Addr().IsPrivate() || pf.Bits() < 16 {
		t.Errorf("subnet %q is not a private network of at most /16 (%v)", subnet, err)
	}
	for _, name := range append([]string{"nginx"}, instances...) {
		s := service(t, p, name)
		if _, ok := s.Networks["default"]; !ok || len(s.Networks) != 1 {
			t.Errorf("%s is on networks %v, want default only", name, maps.Keys(s.Networks))
		}
	}
	for _, name := range instances {
		if got := env(service(t, p, name), "BEIANSCAN_TRUSTED_PROXIES"); got != subnet {
			t.Errorf("%s trusts %q, want the network's subnet %q", name, got, subnet)
		}
	}
}

func TestSecretRequired(t *testing.T) {
	tests := []struct {
		name string
		env  []string
	}{
		{"unset", nil},
		{"empty", []string{"BEIANSCAN_JWT_SECRET="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadProject(t, tt.env...)
			if err == nil {
				t.Fatal("the project loaded without a signing secret")
			}
			if !strings.Contains(err.Error(), "set a shared secret") {
				t.Errorf("error %q does not carry the compose file's message", err)
			}
		})
	}
}

func TestNginx(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	n := service(t, p, "nginx")
	if !strings.HasPrefix(n.Image, "nginx:") {
		t.Errorf("nginx image = %q", n.Image)
	}
	for _, port := range []uint32{80, 443} {
		if !slices.ContainsFunc(n.Ports, func(pc types.ServicePortConfig) bool {
			return pc.Published == strconv.Itoa(int(port)) && pc.Target == port
		}) {
			t.Errorf("nginx ports = %+v, want %d:%d", n.Ports, port, port)
		}
	}
	want, err := filepath.Abs(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(n.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeBind && v.Source == want && strings.HasPrefix(v.Target, "/etc/nginx/") && v.ReadOnly
	}) {
		t.Errorf("nginx does not mount %s read-only under /etc/nginx: %+v", want, n.Volumes)
	}
	for _, name := range instances {
		if _, ok := n.DependsOn[name]; !ok {
			t.Errorf("nginx does not depend on %s", name)
		}
	}
}

func TestNginxConf(t *testing.T) {
	b, err := os.ReadFile(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	// Comments are dropped, so a commented-out directive does not count.
	conf := regexp.MustCompile(`(?m)#.*$`).ReplaceAllString(string(b), "")

	upstream := regexp.MustCompile(`upstream\s+(\w+)\s*\{([^}]*)\}`).FindStringSubmatch(conf)
	if upstream == nil {
		t.Fatal("no upstream block")
	}
	for _, name := range instances {
		if !regexp.MustCompile(`(?m)^\s*server\s+` + name + `:8080\b`).MatchString(upstream[2]) {
			t.Errorf("upstream %s does not name %s:8080", upstream[1], name)
		}
	}
	if !strings.Contains(conf, "proxy_pass http://"+upstream[1]+";") {
		t.Errorf("nothing is proxied to upstream %s", upstream[1])
	}

	ws := regexp.MustCompile(`location\s+~\s+(\S+)\s*\{([^}]*)\}`).FindStringSubmatch(conf)
	if ws == nil {
		t.Fatal("no regex location for the websocket")
	}
	re, err := regexp.Compile(ws[1])
	if err != nil {
		t.Fatalf("websocket location %q: %v", ws[1], err)
	}
	for path, want := range map[string]bool{
		"/api/v1/orders/ord_1/events":    true,
		"/api/v1/orders/ord_1/materials": false,
		"/api/v1/orders/a/b/events":      false,
	} {
		if re.MatchString(path) != want {
			t.Errorf("websocket location %q matches %s: %v, want %v", ws[1], path, !want, want)
		}
	}
	for _, line := range []string{
		"proxy_pass http://" + upstream[1] + ";",
		"proxy_http_version 1.1;",
		"proxy_set_header Upgrade $http_upgrade;",
		"proxy_set_header Connection $connection_upgrade;",
		"proxy_read_timeout 3600s;",
		// proxy_set_header in a location replaces all inherited ones, so the forwarding
		// headers must be repeated there.
		"proxy_set_header X-Forwarded-For",
		"proxy_set_header X-Real-IP $remote_addr;",
	} {
		if !strings.Contains(ws[2], line) {
			t.Errorf("websocket location lacks %q", line)
		}
	}
	for _, line := range []string{
		"map $http_upgrade $connection_upgrade",
		"client_max_body_size 25m;",
		"proxy_set_header X-Forwarded-For",
		"proxy_set_header X-Real-IP $remote_addr;",
	} {
		if !strings.Contains(conf, line) {
			t.Errorf("nginx.conf lacks %q", line)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, re := range []string{
		`(?m)^FROM golang:1\.26\S* AS build`,
		`CGO_ENABLED=0`,
		`go build .*\./cmd/beianscan\s*$`,
		`(?m)^USER (65532|nonroot)`,
		`(?m)^EXPOSE 8080$`,
		`(?m)^VOLUME /data$`,
	} {
		if !regexp.MustCompile(`(?m)` + re).MatchString(df) {
			t.Errorf("Dockerfile does not match %s", re)
		}
	}
	if froms := regexp.MustCompile(`(?m)^FROM `).FindAllString(df, -1); len(froms) < 2 {
		t.Errorf("%d FROM lines, want a multi-stage build", len(froms))
	}
}

func hasVolumeAt(s types.ServiceConfig, target string) bool {
	return slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeVolume && v.Target == target
	})
}

// TestReplication: a replica of the master with the same durability, and three Sentinels
// monitoring the master under the name the instances ask for, with a quorum of two.
func TestReplication(t *testing.T) {
	p := mustLoad(t, "BEIANSCAN_JWT_SECRET="+testSecret)
	r := redisServer(t, p, "redis-replica", "--replicaof redis 6379")
	if !hasVolumeAt(r, "/data") {
		t.Errorf("replica keeps /data in no named volume: %+v", r.Volumes)
	}
	if r.HealthCheck == nil {
		t.Error("replica has no healthcheck, which the instances wait for")
	}
	for _, name := range sentinels {
		wantCommand(t, service(t, p, name), "--sentinel", "sentinel monitor beianscan redis 6379 2", "port 26379")
	}
	sentinelVolumes(t, p)
	u, err := url.Parse(sentinelURL)
	if err != nil {
		t.Fatal(err)
	}
	addrs := append([]string{u.Host}, u.Query()["addr"]...)
	for i, name := range sentinels {
		if i >= len(addrs) || addrs[i] != name+":26379" {
			t.Errorf("the instances' URL does not name %s:26379 (%v)", name, addrs)
		}
	}
}
