package deploy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/desktoptest"
	"github.com/beianscan/beianscan/internal/redistest"
)

// nginxBinary returns Debian's nginx, or skips the test saying how to get it.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	t.Skip("nginx not found: install it (Debian/Ubuntu: apt-get install nginx) to run the rolling-upgrade test")
	return ""
}

// renderNginx turns deploy/nginx.conf into a configuration Debian's nginx runs on loopback:
// the upstreams are the two instances' ports, the listeners are loopback ports, the TLS pair
// is the test's, and the Docker resolver (and "resolve", newer than Debian's nginx) go.
// Every replacement must apply exactly once, so that a change of nginx.conf's shape fails
// here rather than testing something else. It returns the path of the main file.
func renderNginx(t *testing.T, dir string, up [2]int, httpPort, httpsPort int, cert, key string) string {
	t.Helper()
	b, err := os.ReadFile(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	for _, r := range []struct{ old, new string }{
		{"resolver 127.0.0.11 valid=10s ipv6=off;", ""},
		{"server beianscan1:8080 resolve ", fmt.Sprintf("server 127.0.0.1:%d ", up[0])},
		{"server beianscan2:8080 resolve ", fmt.Sprintf("server 127.0.0.1:%d ", up[1])},
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", httpPort)},
		{"listen 443 ssl;", fmt.Sprintf("listen 127.0.0.1:%d ssl;", httpsPort)},
		{"/etc/nginx/tls/tls.crt", cert},
		{"/etc/nginx/tls/tls.key", key},
	} {
		if n := strings.Count(conf, r.old); n != 1 {
			t.Fatalf("nginx.conf has %q %d times, want once: update renderNginx", r.old, n)
		}
		conf = strings.Replace(conf, r.old, r.new, 1)
	}
	site := filepath.Join(dir, "beianscan.conf")
	if err := os.WriteFile(site, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers write the test's temporary folders
	}
	main := fmt.Sprintf(`daemon off;
%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[3]s;
}
`, user, dir, site)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a pool trusting it.
func selfSigned(t *testing.T, dir string) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

// buildBinary builds cmd/beianscan as the image does.
func buildBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "beianscan")
	// The build settings of `go build` (not the image's CGO_ENABLED=0), so that the build
	// cache of the test run serves it.
	began := time.Now()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: the test builds cmd/beianscan with it")
	}
	cmd := exec.Command(gobin, "build", "-o", out, "../cmd/beianscan")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	t.Logf("built cmd/beianscan in %v", time.Since(began).Round(time.Second))
	return out
}

// proc is one instance process on fixed ports, which the test stops and starts again.
type proc struct {
	t                  *testing.T
	bin, name, logPath string
	env                []string
	port, metrics      int
	cmd                *exec.Cmd
	done               chan error
}

func (p *proc) start() {
	p.t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(p.bin)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait(); logf.Close() }(p.cmd, p.done)
	waitFor(p.t, 30*time.Second, p.name+" ready", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", p.port))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Errorf("%s exited after SIGTERM: %v (log %s)", p.name, err, p.logPath)
		}
	case <-time.After(20 * time.Second):
		p.t.Fatalf("%s still running 20 s after SIGTERM", p.name)
	}
}

func (p *proc) kill() {
	if p.cmd != nil && p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// served is the instance's count of answered phone uploads (its metrics): requests that
// came through nginx, not the test's own readiness probes.
func (p *proc) served() float64 {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.metrics))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var n float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "beianscan_http_requests_total{") && strings.Contains(line, `route="/m/v1/materials/:slot"`) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			n += v
		}
	}
	return n
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond) // polling a process from outside
	}
}

func freePorts(t *testing.T, n int) []int {
	out := make([]int, n)
	var lns []net.Listener
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out[i] = ln.Addr().(*net.TCPAddr).Port
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// appSlots are the materials the app uploads on an individual's Guangdong order.
var appSlots = []string{"subject_leader_id_front", "subject_leader_id_back", "verification_form", "face_photo"}

// uploader plays one phone: it uploads the app slots in turn, each with a fresh
// Idempotency-Key that its retries keep, retrying after network errors and 5xx/408/429
// answers (after Retry-After) until an answer acknowledges the upload.
type uploader struct {
	http    *http.Client
	session *appsim.Session
	mu      sync.Mutex
	acked   map[string]string // slot → sha256 of the last acknowledged upload
	count   int               // acknowledged uploads
	bare5xx []string          // 5xx answers without Retry-After
	retries int
}

func (u *uploader) run(ctx context.Context, stop <-chan struct{}, seed int64) error {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		slot := appSlots[i%len(appSlots)]
		img := appsim.SampleImage(slot, seed+int64(i))
		sum := sha256.Sum256(img)
		key := fmt.Sprintf("roll-%d-%d", seed, i)
		for attempt := 0; ; attempt++ {
			if attempt == 100 {
				return fmt.Errorf("upload %s not acknowledged after 100 attempts", slot)
			}
			status, retryAfter, body, err := u.put(ctx, slot, img, key)
			if err == nil && status == http.StatusCreated {
				var ans struct {
					Material struct {
						SHA256 string `json:"sha256"`
					} `json:"material"`
				}
				if err := json.Unmarshal(body, &ans); err != nil || ans.Material.SHA256 != hex.EncodeToString(sum[:]) {
					return fmt.Errorf("upload %s acknowledged as %s (%v), want %x", slot, ans.Material.SHA256, err, sum)
				}
				u.mu.Lock()
				u.acked[slot] = ans.Material.SHA256
				u.count++
				u.mu.Unlock()
				break
			}
			wait := 100 * time.Millisecond
			switch {
			case err != nil:
				// The connection broke (nginx restarting it): retry.
			case status >= 500:
				if retryAfter == "" {
					u.mu.Lock()
					u.bare5xx = append(u.bare5xx, fmt.Sprintf("%d %s", status, bytes.TrimSpace(body)))
					u.mu.Unlock()
				} else if s, _ := strconv.Atoi(retryAfter); s > 0 {
					wait = min(time.Duration(s)*time.Second, time.Second) // capped: the test's time
				}
			case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
			default:
				return fmt.Errorf("upload %s answered %d %s", slot, status, bytes.TrimSpace(body))
			}
			u.mu.Lock()
			u.retries++
			u.mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait): // the client's backoff before a retry
			}
		}
	}
}

func (u *uploader) put(ctx context.Context, slot string, img []byte, key string) (int, string, []byte, error) {
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, "PUT", u.session.Base+"/m/v1/materials/"+slot, bytes.NewReader(img))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header.Set("Authorization", "Bearer "+u.session.Token)
	req.Header.Set("X-Device-Id", u.session.DeviceID)
	req.Header.Set("X-App-Version", appsim.DefaultAppVersion)
	req.Header.Set("Content-Type", "image/jpeg")
	req.Header.Set("Idempotency-Key", key)
	resp, err := u.http.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), b.Bytes(), err
}

// watcher plays one desktop's live view: it holds the websocket and, whenever it closes,
// opens it again at once and measures how long it was without a snapshot.
type watcher struct {
	mu         sync.Mutex
	reconnects int
	worst      time.Duration
	err        error
}

func (w *watcher) run(ctx context.Context, c *desktoptest.Client, o desktoptest.Order, origin string) {
	conn, _, err := c.Watch(ctx, o, origin)
	for {
		if err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			return
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		for err == nil {
			_, _, err = conn.ReadMessage()
		}
		stop()
		conn.Close()
		if ctx.Err() != nil {
			return
		}
		lost := time.Now()
		deadline := lost.Add(10 * time.Second)
		for {
			wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			conn, _, err = c.Watch(wctx, o, origin)
			cancel()
			if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond) // the page's reconnect delay
		}
		if err == nil {
			gap := time.Since(lost)
			w.mu.Lock()
			w.reconnects++
			w.worst = max(w.worst, gap)
			w.mu.Unlock()
		}
	}
}

// TestRollingUpgrade runs the rolling-upgrade procedure of docs/production.md on real
// processes: two instances of the built binary behind Debian's nginx running the repo's
// nginx.conf (TLS included), each stopped with SIGTERM and started again in turn, while
// desktops watch their orders' websockets and phones upload with Idempotency-Key retries.
// Nothing acknowledged is lost, no upload is answered 5xx without Retry-After, and every
// desktop has a snapshot again within 3 s of losing its websocket.
func TestRollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nginx, Redis and two instances: not in -short")
	}
	ngx := nginxBinary(t)
	redistest.Binary(t)
	bin := buildBinary(t)
	rds := redistest.Start(t, "--appendonly", "yes")
	dir := t.TempDir()
	ports := freePorts(t, 6)
	httpPort, httpsPort := ports[4], ports[5]
	public := fmt.Sprintf("https://127.0.0.1:%d", httpsPort)
	blobs := t.TempDir()

	procs := make([]*proc, 2)
	for i := range procs {
		p := &proc{t: t, bin: bin, name: fmt.Sprintf("beianscan%d", i+1), port: ports[i], metrics: ports[2+i],
			logPath: filepath.Join(dir, fmt.Sprintf("beianscan%d.log", i+1))}
		p.env = []string{
			"BEIANSCAN_ADDR=127.0.0.1:" + strconv.Itoa(p.port),
			"BEIANSCAN_METRICS_ADDR=127.0.0.1:" + strconv.Itoa(p.metrics),
			"BEIANSCAN_REDIS_URL=redis://" + rds.Addr + "/0",
			"BEIANSCAN_DATA_DIR=" + blobs,
			"BEIANSCAN_JWT_SECRET=rolling-test-secret-0123456789abcdef",
			"BEIANSCAN_ENCRYPTION_KEYS=" + testKeys,
			"BEIANSCAN_PUBLIC_URL=" + public,
			"BEIANSCAN_ALLOWED_ORIGINS=" + public,
			"BEIANSCAN_TRUSTED_PROXIES=127.0.0.1/32",
			"BEIANSCAN_ORDER_RATE=0", "BEIANSCAN_PAIRING_RATE=0",
			"BEIANSCAN_IMAGE_WORKERS=1", "BEIANSCAN_LOG_FORMAT=json",
		}
		p.start()
		t.Cleanup(p.kill)
		procs[i] = p
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				if b, err := os.ReadFile(p.logPath); err == nil && len(b) > 0 {
					t.Logf("%s log (last 3000 bytes):\n%s", p.name, b[max(0, len(b)-3000):])
				}
			}
			if b, err := os.ReadFile(filepath.Join(dir, "error.log")); err == nil {
				t.Logf("nginx error log:\n%s", b)
			}
		}
	})

	cert, key, pool := selfSigned(t, dir)
	conf := renderNginx(t, dir, [2]int{procs[0].port, procs[1].port}, httpPort, httpsPort, cert, key)
	if out, err := exec.Command(ngx, "-t", "-q", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t on the rendered nginx.conf: %v\n%s", err, out)
	}
	ncmd := exec.Command(ngx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf)
	if err := ncmd.Start(); err != nil {
		t.Fatal(err)
	}
	ndone := make(chan struct{})
	go func() { _ = ncmd.Wait(); close(ndone) }()
	t.Cleanup(func() { _ = ncmd.Process.Signal(syscall.SIGQUIT); <-ndone })

	tlsConf := &tls.Config{RootCAs: pool}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf, MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	waitFor(t, 10*time.Second, "nginx answering", func() bool {
		resp, err := client.Get(public + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	// The edge itself: HTTP redirects to HTTPS, HTTPS answers with HSTS, TLS 1.1 is refused.
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/orders", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "https://127.0.0.1") {
		t.Errorf("plain HTTP answered %d Location %q, want a redirect to https", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = client.Get(public + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("no HSTS header over HTTPS: %v", resp.Header)
	}
	old := &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}
	if c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), old); err == nil {
		c.Close()
		t.Error("nginx accepted TLS 1.1")
	}

	// The load: desktops watching, phones uploading, one order each.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	desk := &desktoptest.Client{Base: public, HTTP: client, Dialer: &websocket.Dialer{TLSClientConfig: tlsConf, HandshakeTimeout: 3 * time.Second}}
	const orders = 4
	var phones []*uploader
	var watchers []*watcher
	var watched []desktoptest.Order
	var phonesWG, watchersWG sync.WaitGroup
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	stop := make(chan struct{})
	errs := make(chan error, orders)
	for i := range orders {
		o, err := desk.CreateOrder(ctx, "app")
		if err != nil {
			t.Fatal(err)
		}
		scan, err := desk.Pair(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		base, code, err := appsim.ParseScanURL(scan)
		if err != nil {
			t.Fatal(err)
		}
		s, err := (&appsim.Client{HTTP: client}).Claim(ctx, base, code)
		if err != nil {
			t.Fatal(err)
		}
		u := &uploader{http: client, session: s, acked: map[string]string{}}
		w := &watcher{}
		phones, watchers, watched = append(phones, u), append(watchers, w), append(watched, o)
		watchersWG.Add(1)
		go func() { defer watchersWG.Done(); w.run(watchCtx, desk, o, public) }()
		phonesWG.Add(1)
		go func() {
			defer phonesWG.Done()
			if err := u.run(ctx, stop, int64(1000*i)); err != nil {
				errs <- err
			}
		}()
	}
	acked := func() int {
		n := 0
		for _, u := range phones {
			u.mu.Lock()
			n += u.count
			u.mu.Unlock()
		}
		return n
	}
	waitFor(t, 60*time.Second, "uploads before the upgrade", func() bool { return acked() >= 2*orders })

	// The procedure, one instance at a time: SIGTERM, start the new binary, wait until it
	// is ready and nginx sends it requests again, then the next.
	for _, p := range procs {
		before, began := acked(), time.Now()
		p.stop()
		p.start()
		waitFor(t, 30*time.Second, p.name+" receiving requests through nginx", func() bool { return p.served() >= 3 })
		waitFor(t, 60*time.Second, "uploads after restarting "+p.name, func() bool { return acked() >= before+orders })
		t.Logf("%s restarted and serving again in %v", p.name, time.Since(began).Round(100*time.Millisecond))
	}
	// The phones finish the upload in flight, then the desktops stop watching.
	close(stop)
	phonesWG.Wait()
	stopWatching()
	watchersWG.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	total, retries := 0, 0
	for i, u := range phones {
		total += u.count
		retries += u.retries
		for _, b := range u.bare5xx {
			t.Errorf("phone %d: upload answered %s without Retry-After", i, b)
		}
	}
	for i, w := range watchers {
		if w.err != nil {
			t.Errorf("desktop %d: %v", i, w.err)
		}
		if w.reconnects == 0 {
			t.Errorf("desktop %d never lost its websocket: the restarts did not reach it", i)
		}
		if w.worst > 3*time.Second {
			t.Errorf("desktop %d was %v without a snapshot, want at most 3 s", i, w.worst)
		}
		t.Logf("desktop %d: %d reconnects, longest without a snapshot %v", i, w.reconnects, w.worst.Round(time.Millisecond))
	}
	t.Logf("%d uploads acknowledged, %d retries", total, retries)

	// Everything acknowledged is stored, and served byte for byte.
	for i, o := range watched {
		u := phones[i]
		mats, err := desk.Materials(context.Background(), o)
		if err != nil {
			t.Errorf("order %d: %v", i, err)
			continue
		}
		for slot, sha := range u.acked {
			if mats[slot].SHA256 != sha {
				t.Errorf("order %d %s: stored %q, last acknowledged %s: an acknowledged upload was lost", i, slot, mats[slot].SHA256, sha)
				continue
			}
			img, err := desk.Image(context.Background(), o, slot)
			if sum := sha256.Sum256(img); err != nil || hex.EncodeToString(sum[:]) != sha {
				t.Errorf("order %d %s: image served %x (%v), want %s", i, slot, sum, err, sha)
			}
		}
	}

	// With no instance answering at all, nginx answers the API's 503 with Retry-After.
	for _, p := range procs {
		p.stop()
	}
	ans, err := desk.Do(context.Background(), "PUT", "/m/v1/materials/face_photo", phones[0].session.Token, []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Status != http.StatusServiceUnavailable || ans.Code() != "unavailable" || ans.Header.Get("Retry-After") == "" ||
		ans.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("with both instances down nginx answered %d %q, Retry-After %q, HSTS %q; want 503 unavailable with both",
			ans.Status, ans.Body, ans.Header.Get("Retry-After"), ans.Header.Get("Strict-Transport-Security"))
	}
}
