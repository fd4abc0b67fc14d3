package static_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/limits"
	"github.com/beianscan/beianscan/internal/orders"
	"github.com/beianscan/beianscan/internal/server"
)

// The harness of the browser tests: they drive the real page in headless Chromium against
// the real server, started in-process. They wait on the DOM (polling with timeouts), never
// on sleeps.

// findChromium returns a Chromium (or Chrome) binary, or skips the test.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BEIANSCAN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (looked for chromium, chromium-browser, google-chrome in PATH and $BEIANSCAN_CHROMIUM); install Debian's chromium package to run the browser tests")
	return ""
}

type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
	name  string
	start time.Time

	mu         sync.Mutex
	violations []string // of the Content-Security-Policy, as the browser logged them
}

// newBrowser starts headless Chromium with a fresh profile, sized 1366x900 (a common
// laptop); phone stages switch to 390x844 with mobile(). The
// background-networking flags matter: without them Chromium reaches out to the internet,
// which this machine's closed network refuses.
func newBrowser(t *testing.T, name string) *browser {
	t.Helper()
	return newBrowserFor(t, name, 90*time.Second)
}

// newBrowserFor is newBrowser for a test that needs the browser longer than 90 seconds.
func newBrowserFor(t *testing.T, name string, timeout time.Duration) *browser {
	t.Helper()
	exe := findChromium(t)
	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1366, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, timeout)
	// Registered after TempDir, so it runs first: Chromium has exited before its profile
	// directory is removed.
	t.Cleanup(func() {
		tcancel()
		cancel()
		acancel()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatalf("start Chromium (%s): %v", exe, err)
	}
	// Any uncaught exception in the page, and any Content-Security-Policy violation (what
	// the policy blocked, reported by the browser's log), fails the test; other console
	// output is logged.
	b := &browser{t: t, ctx: ctx, name: name, start: time.Now()}
	var exceptions []string
	messages := chromedp.Console(ctx)
	go func() {
		for msg, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			if msg.IsException() {
				exceptions = append(exceptions, msg.String())
			}
			if strings.Contains(msg.Text, "Content Security Policy") {
				b.violations = append(b.violations, msg.Text)
			}
			b.mu.Unlock()
			t.Logf("console: %s", msg)
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range exceptions {
			t.Errorf("uncaught exception in the page: %s", e)
		}
		for _, v := range b.violations {
			t.Errorf("Content-Security-Policy violation: %s", v)
		}
	})
	dir := os.Getenv("BEIANSCAN_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.shots = dir
	return b
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v\npage: %s", err, b.bodyText())
	}
}

func (b *browser) bodyText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
	return s
}

// eval evaluates a JavaScript expression into a T; promises are awaited.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %.80q: %v\npage: %s", expr, err, b.bodyText())
	}
	return v
}

// waitFor polls a JavaScript condition until it is true.
func (b *browser) waitFor(what, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		if err != nil {
			b.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.shot("timeout-" + strings.ReplaceAll(what, " ", "-"))
			b.t.Fatalf("timed out after %v waiting for %s (%s)\npage: %s", timeout, what, cond, b.bodyText())
		}
		b.pause("waiting for " + what)
	}
}

// pause waits one polling interval of a DOM wait (not a synchronisation sleep); doing is
// what the test was waiting for, should the browser's time run out meanwhile.
func (b *browser) pause(doing string) {
	b.t.Helper()
	select {
	case <-b.ctx.Done():
		b.t.Fatalf("%s: %v", doing, b.ctx.Err())
	case <-time.After(40 * time.Millisecond):
	}
}

// waitText waits until the element's text contains want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%q in %s", want, sel),
		fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e && e.offsetParent !== null && e.innerText.includes(%q); })()`, sel, want),
		10*time.Second)
}

func (b *browser) waitVisible(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.shot("timeout-visible")
		b.t.Fatalf("waiting for %s to be visible: %v\npage: %s", sel, err, b.bodyText())
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : ""; })()`, sel))
}

// shot writes a full-page screenshot, numbered in the order taken.
func (b *browser) shot(name string) {
	b.t.Helper()
	b.n++
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	// The mouse rests where the last click was; moved aside, no hover state shows.
	_ = chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1))
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(b.shots, fmt.Sprintf("%s-%02d-%s.png", b.name, b.n, name))
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("%5.1fs screenshot %s", time.Since(b.start).Seconds(), p)
}

// imgLoaded is a JS condition: the image matched by sel has loaded with real pixels.
func imgLoaded(sel string) string {
	return fmt.Sprintf(`(() => { const i = document.querySelector(%q); return i && i.complete && i.naturalWidth > 0; })()`, sel)
}

// qrLive is a JS condition: the page shows a loaded QR of a pairing that has not lapsed.
var qrLive = imgLoaded("#qr-img") + ` && document.querySelector('#qr-box').dataset.state === 'live'`

// scanQR draws the page's QR <img> to a canvas and decodes it, so the code is what the
// person sees. The page swaps the image when a QR lapses, so the drawing is taken only of a
// loaded image of a live QR, and taken again (polling the page) until one decodes.
func (b *browser) scanQR() (text, pairingID string) {
	b.t.Helper()
	type qr struct {
		OK      bool   `json:"ok"`
		URL     string `json:"url"`
		Pairing string `json:"pairing"`
	}
	deadline := time.Now().Add(15 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		out := eval[qr](b, `(() => {
			const img = document.querySelector('#qr-img');
			const live = document.querySelector('#qr-box').dataset.state === 'live';
			if (!img || !live || !img.complete || img.naturalWidth === 0) return {ok: false};
			const c = document.createElement('canvas');
			c.width = img.naturalWidth + 40; c.height = img.naturalHeight + 40;
			const g = c.getContext('2d');
			g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
			g.drawImage(img, 20, 20);
			return {ok: true, url: c.toDataURL('image/png'), pairing: img.dataset.pairing};
		})()`)
		if out.OK {
			data, _ := strings.CutPrefix(out.URL, "data:image/png;base64,")
			png, err := base64.StdEncoding.DecodeString(data)
			if err == nil {
				if text, err = appsim.DecodeQR(png); err == nil {
					return text, out.Pairing
				}
			}
			lastErr = err
		}
		b.pause("reading the QR")
	}
	b.t.Fatalf("no decodable live QR on the page within 15s: %v", lastErr)
	return "", ""
}

// createOrderInPage creates an order the way the page does (so the browser holds the
// desktop cookie) and returns its id and the desktop token from the answer.
func (b *browser) createOrderInPage(body string) (id, token string) {
	b.t.Helper()
	type created struct {
		ID    string `json:"id"`
		Token string `json:"token"`
		Err   string `json:"err"`
	}
	out := eval[created](b, `fetch('/api/v1/orders', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(`+body+`)})
		.then(r => r.json()).then(j => j.order ? {id: j.order.id, token: j.desktop_token} : {err: JSON.stringify(j)})`)
	if out.ID == "" {
		b.t.Fatalf("create order: %s", out.Err)
	}
	return out.ID, out.Token
}

// startOrder opens the page, creates an order from it (createOrderInPage) and opens that
// order's page, which waits at the choice of method.
func (b *browser) startOrder(m *server.Main, body string) (id, token string) {
	b.t.Helper()
	b.run(chromedp.Navigate(m.URL + "/"))
	b.waitVisible("#view-form")
	id, token = b.createOrderInPage(body)
	b.run(chromedp.Navigate(m.URL + "/?order=" + id))
	b.waitVisible("#view-method")
	return id, token
}

// beijingOrganization is an order body for createOrderInPage: a company in Beijing (no app
// path there) whose legal representative holds a passport and whose website leader is
// another person.
const beijingOrganization = `{
	"subject_type": "organization", "province": "CN-BJ", "subject_name": "北京示例科技有限公司",
	"organization_certificate_type": "business_license",
	"subject_leader": {"name": "John Smith", "id_type": "passport", "id_number": "E12345678", "id_valid_until": "2031-08-31"},
	"website_leader": {"name": "李华", "id_type": "resident_id", "id_number": "11010519491231002X", "id_valid_until": "long_term"},
	"domains": ["example-bj.com.cn"]}`

// individualOrder is an order body for createOrderInPage: a person filing for their own
// domain with a resident ID, and their own website leader.
func individualOrder(province, name, domain string) string {
	return fmt.Sprintf(`{
	"subject_type": "individual", "province": %q, "subject_name": %q,
	"subject_leader": {"name": %q, "id_type": "resident_id", "id_number": "11010519491231002X", "id_valid_until": "long_term"},
	"website_leader_same_as_subject_leader": true, "domains": [%q]}`, province, name, name, domain)
}

// tempFiles returns a function that writes a file into a fresh directory and returns its
// path, for a file input to pick.
func tempFiles(t *testing.T) func(name string, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	return func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// pickFile chooses the file at path in the slot's file input and waits until the page
// shows the uploaded material's preview.
func (b *browser) pickFile(slot, path string) {
	b.t.Helper()
	b.run(chromedp.SetUploadFiles(chromedp.CSS("#file-"+slot), []string{path}))
	b.waitFor(slot+" preview", imgLoaded(fmt.Sprintf(`.slot-card[data-slot=%q] img.preview`, slot)), 10*time.Second)
}

func startServer(t *testing.T, cfg server.Config) *server.Main {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// The abuse limits and the metrics listener are off unless a test sets them: the
	// browser tests are one client, and one port could serve only one server.
	cfg.ClaimGuessLimit = cmp.Or(cfg.ClaimGuessLimit, orders.GuessLimitOff)
	cfg.OrderRate = cmp.Or(cfg.OrderRate, limits.RateOff)
	cfg.PairingRate = cmp.Or(cfg.PairingRate, limits.RateOff)
	cfg.WebsocketsPerOrder = cmp.Or(cfg.WebsocketsPerOrder, limits.Off)
	cfg.MetricsAddr = cmp.Or(cfg.MetricsAddr, server.MetricsOff)
	if cfg.EncryptionKeys == "" && cfg.RedisURL != "" {
		// Production mode needs keys shared by every instance, like the JWT secret.
		cfg.EncryptionKeys = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	}
	m, err := server.Open(cfg)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// mustDo sends a request from outside the browser (what an operator or a phone would send)
// and fails the test unless the server answers with the status want.
func mustDo(t *testing.T, what string, req *http.Request, want int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s: %s", what, resp.Status)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// noTokenInURLs fails if any URL the page loaded carries a token: the desktop token lives
// in an HttpOnly cookie, the page URL holds only the order id.
func (b *browser) noTokenInURLs(token string) {
	b.t.Helper()
	urls := eval[[]string](b, `[location.href, ...performance.getEntriesByType('resource').map(e => e.name)]`)
	for _, u := range urls {
		if strings.Contains(strings.ToLower(u), "token") || (token != "" && strings.Contains(u, token)) || strings.Contains(u, "eyJ") {
			b.t.Errorf("a URL carries a token: %s", u)
		}
	}
}

// axePath finds axe-core's axe.min.js: $BEIANSCAN_AXE, or where .ci/run installs it
// (npm install axe-core in testoutput/axe, which git ignores).
func axePath() string {
	if p := os.Getenv("BEIANSCAN_AXE"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testoutput", "axe", "node_modules", "axe-core", "axe.min.js")
}

// axe injects axe-core into the page and fails the test on any serious or critical
// accessibility violation (contrast, names, labels, …). Without axe-core it logs how to get
// it and checks nothing.
func (b *browser) axe(stage string) {
	b.t.Helper()
	src, err := os.ReadFile(axePath())
	if err != nil {
		b.t.Logf("axe-core not found at %s: accessibility check of %q skipped (mkdir -p testoutput/axe && cd testoutput/axe && npm install axe-core, or set BEIANSCAN_AXE)", axePath(), stage)
		return
	}
	// Evaluated through the DevTools protocol, which the page's Content-Security-Policy does
	// not govern: the page itself never loads it.
	eval[bool](b, `(() => { if (!window.axe) { `+string(src)+` } return true; })()`)
	type result struct {
		Bad    []string `json:"bad"`
		Passes int      `json:"passes"`
	}
	out := eval[result](b, `axe.run(document).then(r => ({passes: r.passes.length, bad: r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 4).map(n => n.target.join(' ') + (n.any[0] ? ' (' + n.any[0].message + ')' : '')).join('; '))}))`)
	if out.Passes == 0 {
		b.t.Errorf("axe, %s: no rule passed; did axe-core run?", stage)
	}
	for _, v := range out.Bad {
		b.t.Errorf("axe, %s: %s", stage, v)
	}
	b.t.Logf("axe, %s: %d rules pass, %d serious or critical violations", stage, out.Passes, len(out.Bad))
}

// mobile switches to a 390×844 phone screen; desktop back to 1366×900.
func (b *browser) mobile() {
	b.t.Helper()
	// Scale 1 keeps the full-page screenshots readable; the layout is the same.
	b.run(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
}

func (b *browser) desktop() {
	b.t.Helper()
	b.run(chromedp.EmulateViewport(1366, 900))
}

// expectViolation runs a script that the policy must block and waits for the browser to
// report it; that one violation is then not counted against the test.
func (b *browser) expectViolation(script string) {
	b.t.Helper()
	b.mu.Lock()
	n := len(b.violations)
	b.mu.Unlock()
	eval[bool](b, script+`, true`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		if len(b.violations) > n {
			b.t.Logf("expected violation seen: %s", b.violations[n])
			b.violations = append(b.violations[:n], b.violations[n+1:]...)
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		if time.Now().After(deadline) {
			b.t.Fatal("a blocked inline script raised no Content-Security-Policy violation: is the policy there, and is the browser log read?")
		}
		b.pause("waiting for the violation") // polling the console reader
	}
}
