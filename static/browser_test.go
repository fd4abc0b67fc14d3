package static_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/beianscan/beianscan/internal/phone"
	"github.com/beianscan/beianscan/internal/server"
)

// The browser tests drive the real page in headless Chromium against the real server,
// started in-process. They wait on the DOM (polling with timeouts), never on sleeps.

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
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
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
				if text, err = phone.DecodeQR(png); err == nil {
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

// grayscale re-encodes a sample as a black-and-white JPEG, which the server flags with the
// grayscale warning.
func grayscale(t *testing.T, jpg []byte) []byte {
	t.Helper()
	src, _, err := image.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	// A JPEG decodes to YCbCr: neutral chroma planes leave only the grey.
	g, ok := src.(*image.YCbCr)
	if !ok {
		t.Fatalf("sample decodes to %T, want *image.YCbCr", src)
	}
	for i := range g.Cb {
		g.Cb[i], g.Cr[i] = 128, 128
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, g, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
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

// TestBrowserAppUpload is a Guangdong individual's whole app path: the form as a person
// fills it (with a server validation error shown beside its field), the app chosen, the
// QR read off the page and claimed by a simulated phone, every material appearing as it
// arrives, upload complete, review, submit, then a rejection and withdraw back to the
// choice of method.
func TestBrowserAppUpload(t *testing.T) {
	b := newBrowser(t, "app")
	m := startServer(t, server.Config{OperatorKey: "operator-key-for-tests"})
	ctx := testCtx(t)

	b.run(chromedp.Navigate(m.URL + "/"))
	b.waitVisible("#view-form")
	b.shot("form")

	// The form, as a person fills it; the ID number has a wrong check digit first.
	b.run(
		chromedp.Click(chromedp.CSS(`input[name=subject_type][value=individual]`)),
		chromedp.SetValue(chromedp.CSS("#f-province"), "CN-GD"),
		chromedp.SendKeys(chromedp.CSS("#f-subject-name"), "张晓明"),
		chromedp.SendKeys(chromedp.CSS("#f-subject_leader-name"), "张晓明"),
		chromedp.SetValue(chromedp.CSS("#f-subject_leader-id-type"), "resident_id"),
		chromedp.SendKeys(chromedp.CSS("#f-subject_leader-id-number"), "110105194912310021"),
		chromedp.SetValue(chromedp.CSS("#f-subject_leader-valid"), "2036-05-01"),
		chromedp.SendKeys(chromedp.CSS("#f-domains"), "zhangxiaoming.cn"),
		chromedp.Click(chromedp.CSS("#create-order")),
	)
	b.waitText(`[data-field="subject_leader.id_number"] .field-error`, "证件号码不正确")
	b.shot("form-error")
	if s := b.text(`[data-field="domains"] .field-error`); s != "" {
		t.Errorf("an error beside the domains field too: %q", s)
	}

	// The person selects the wrong number and types it again.
	eval[bool](b, `(() => { const i = document.querySelector('#f-subject_leader-id-number'); i.focus(); i.select(); return document.execCommand('delete'); })()`)
	b.run(
		chromedp.SendKeys(chromedp.CSS("#f-subject_leader-id-number"), "11010519491231002X"),
		chromedp.Click(chromedp.CSS("#create-order")),
	)
	b.waitVisible("#view-method")
	orderID := eval[string](b, `new URLSearchParams(location.search).get('order')`)
	if orderID == "" {
		t.Fatal("the page URL does not hold the order id")
	}
	appDisabled := eval[bool](b, `document.querySelector('#choose-app').disabled`)
	if appDisabled {
		t.Fatal("the app option is disabled for Guangdong")
	}
	b.shot("method")

	// The app: a QR code with its countdown.
	b.run(chromedp.Click(chromedp.CSS("#choose-app")))
	b.waitVisible("#view-app")
	b.waitFor("QR shown", qrLive, 10*time.Second)
	b.waitText("#qr-countdown", "后失效")
	b.waitText(".howto", "3.16.0")
	b.waitText(".howto", "扫描订单二维码")
	// The form comes first on the app path: printed and signed before scanning, since the
	// phone photographs it.
	b.waitText(".howto li:first-child", "核验单")
	b.waitText("#view-app .vform", "第一步")
	if !eval[bool](b, `!!(document.querySelector('#view-app .vform').compareDocumentPosition(document.querySelector('.qr-card')) & Node.DOCUMENT_POSITION_FOLLOWING)`) {
		t.Error("the verification form comes after the QR on the app path")
	}
	if s := b.text("#view-app"); strings.Contains(s, "请在电脑端") {
		t.Error("the app page says 请在电脑端 to someone at the computer")
	}
	b.axe("app waiting")
	b.shot("app-waiting")
	b.mobile()
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the app page is %d px wide on a 390 px screen", w)
	}
	b.axe("app waiting 390")
	b.shot("app-waiting-390")
	b.desktop()

	scanURL, _ := b.scanQR()
	base, code, err := phone.ParseScanURL(scanURL)
	if err != nil {
		t.Fatal(err)
	}
	client := &phone.Client{DeviceID: "browser-test-phone", AppVersion: "3.17.1"}
	sess, err := client.Claim(ctx, base, code)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	b.waitFor("phone connected", `document.querySelector('#timeline').dataset.stage === 'connected'`, 10*time.Second)
	// Without a device name the ID is shown shortened, never wrapped onto a lone digit.
	b.waitText("#tl-connected", "browser-…hone")
	b.waitText("#tl-connected", "3.17.1")
	b.waitText("#tl-waiting", "已扫码")
	b.waitText("#qr-overlay", "手机已连接")
	b.shot("app-connected")

	// The phone uploads each required material; each fills in on the page as it arrives.
	var uploaded []string
	for i, req := range sess.Materials {
		if !req.Required {
			continue
		}
		img := phone.SampleImage(req.Slot, int64(i))
		if req.Slot == "verification_form" {
			img = grayscale(t, img)
		}
		if _, err := sess.Upload(ctx, req.Slot, img, "image/jpeg", ""); err != nil {
			t.Fatalf("upload %s: %v", req.Slot, err)
		}
		uploaded = append(uploaded, req.Slot)
		row := fmt.Sprintf(`#checklist li[data-slot=%q]`, req.Slot)
		b.waitFor(req.Slot+" in the checklist", fmt.Sprintf(`document.querySelector(%q).classList.contains('done')`, row)+" && "+imgLoaded(row+" img"), 10*time.Second)
		if len(uploaded) == 2 {
			b.waitFor("uploading stage", `document.querySelector('#timeline').dataset.stage === 'uploading'`, 5*time.Second)
			b.shot("app-uploading")
		}
	}
	if len(uploaded) < 4 {
		t.Fatalf("a Guangdong individual with a resident ID should need at least 4 app materials, the claim listed %v", sess.Materials)
	}
	b.waitText(`#checklist li[data-slot="verification_form"] .warnings`, "非彩色（黑白）图片，请上传原件彩色扫描件或照片")

	if err := sess.Complete(ctx); err != nil {
		t.Fatalf("complete: %v", err)
	}
	b.waitFor("upload complete", `document.querySelector('#timeline').dataset.stage === 'complete'`, 10*time.Second)
	b.waitText("#tl-complete", "核对已上传资料")
	if s := b.text("#tl-waiting"); strings.Contains(s, "扫描") {
		t.Errorf("the first step still says %q after the phone connected", s)
	}
	b.axe("app complete")
	b.shot("app-complete")

	// Review: large previews of every material.
	b.run(chromedp.Click(chromedp.CSS("#go-review")))
	b.waitVisible("#view-review")
	for _, slot := range uploaded {
		b.waitFor(slot+" preview", imgLoaded(fmt.Sprintf(`.slot-card[data-slot=%q] img.preview`, slot)), 10*time.Second)
	}
	b.waitText("#submit-summary", "资料已齐全")
	b.waitText(`.slot-card[data-slot="face_photo"]`, "来自 app")
	facePick := eval[bool](b, `document.querySelector('.slot-card[data-slot="face_photo"] .pick').offsetParent !== null`)
	if facePick {
		t.Error("the face photo offers a PC upload; it is taken live in the app")
	}
	b.waitVisible(`.slot-card[data-slot="supplementary"]`)
	// The review compares: the face photo beside the website leader's name, the ID beside
	// the masked number; the face photo's samples include a coloured background.
	b.waitText(`.slot-card[data-slot="face_photo"] .compare`, "张晓明")
	b.waitText(`.slot-card[data-slot="subject_leader_id_front"] .compare`, "110***********002X")
	b.waitText(`.slot-card[data-slot="face_photo"] .samples`, "彩色背景")
	if title, brand := eval[string](b, `document.title`), b.text(".brand"); title != brand {
		t.Errorf("tab title %q, header %q", title, brand)
	}
	b.axe("app review")
	b.shot("review")

	b.run(chromedp.Click(chromedp.CSS("#submit-order")))
	b.waitVisible("#view-status")
	b.waitText("#status-title", "已提交审核")
	b.waitText("#order-state", "已提交审核")
	b.shot("submitted")

	// The reviewer rejects; the page shows the reason, and withdraw leads back to the choice
	// of method (the FAQ's last question).
	reason := "核验单签字不清晰，请重新签字后上传。"
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/api/v1/orders/"+orderID+"/review-result",
		strings.NewReader(fmt.Sprintf(`{"approved":false,"reason":%q}`, reason)))
	req.Header.Set("X-Api-Key", "operator-key-for-tests")
	req.Header.Set("Content-Type", "application/json")
	mustDo(t, "review-result", req, http.StatusOK)
	b.waitText("#status-title", "审核未通过")
	b.waitText("#reject-reason", reason)
	b.shot("rejected")

	b.run(chromedp.Click(chromedp.CSS("#withdraw")))
	b.waitVisible("#view-method")
	b.waitText("#order-state", "草稿")
	appDisabled = eval[bool](b, `document.querySelector('#choose-app').disabled`)
	if appDisabled {
		t.Error("after withdraw the app option is disabled")
	}
	b.shot("withdrawn")
	b.noTokenInURLs("")
}

// TestBrowserPCUpload is a Beijing organization: the app shown disabled with its reason,
// the PC upload through the file inputs with the page's own checks first (an oversized
// file and a file that is no image refused before any upload), submit refused with the
// missing materials named, then completed and submitted.
func TestBrowserPCUpload(t *testing.T) {
	b := newBrowser(t, "pc")
	m := startServer(t, server.Config{})
	ctx := testCtx(t)

	id, token := b.startOrder(m, beijingOrganization)
	b.waitText("#method-app-reason", "其他省份 app 核验开放时间待定")
	appDisabled := eval[bool](b, `document.querySelector('#choose-app').disabled`)
	if !appDisabled {
		t.Fatal("the app option is enabled for Beijing")
	}
	b.shot("method-beijing")

	b.run(chromedp.Click(chromedp.CSS("#choose-pc")))
	b.waitVisible("#view-review")
	b.waitText("#review-title", "上传资料")
	// The supplementary slot says plainly what belongs there, and what goes on a certificate.
	b.waitText(`.slot-card[data-slot="supplementary"]`, "添加一页")
	faceCard := eval[bool](b, `!!document.querySelector('.slot-card[data-slot="face_photo"]')`)
	if faceCard {
		t.Error("a PC upload lists the face photo, which only the app takes")
	}
	b.shot("pc-empty")

	write := tempFiles(t)
	// Over 4 MB: a JPEG header and padding; the page refuses it by its size alone.
	big := append([]byte{0xff, 0xd8, 0xff, 0xe0}, make([]byte, 4*1024*1024+200*1024)...)
	b.run(chromedp.SetUploadFiles(chromedp.CSS("#file-organization_certificate"), []string{write("营业执照-大图.jpg", big)}))
	b.waitText(`.slot-card[data-slot="organization_certificate"] .slot-error`, "图片大小应小于 4 MB")
	b.waitText(`.slot-card[data-slot="organization_certificate"] .slot-error`, "自动压缩后上传")
	b.run(chromedp.SetUploadFiles(chromedp.CSS("#file-website_leader_id_front"), []string{write("身份证.pdf", []byte("%PDF-1.7 not an image"))}))
	b.waitText(`.slot-card[data-slot="website_leader_id_front"] .slot-error`, "不是 jpg、jpeg、png 或 gif 格式的图片")
	b.shot("pc-refused")
	snap, err := m.Service.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Materials) != 0 {
		t.Fatalf("refused files reached the server: %v", snap.Materials)
	}

	// Submit while incomplete: the missing materials are named.
	b.run(chromedp.Click(chromedp.CSS("#submit-order")))
	b.waitText("#submit-summary", "还缺少")
	b.waitText("#submit-summary", "真实性核验单")
	b.waitText("#submit-summary", "单位证件")
	// The missing list is said once, not in grey and again in red.
	if n := eval[int](b, `(document.body.innerText.match(/还缺少|还需上传/g) || []).length`); n != 1 {
		t.Errorf("the missing materials are listed %d times", n)
	}

	slots := []string{"organization_certificate", "subject_leader_id_front", "website_leader_id_front", "website_leader_id_back", "verification_form"}
	for i, slot := range slots {
		b.pickFile(slot, write(slot+".jpg", phone.SampleImage(slot, int64(100+i))))
		b.waitText(fmt.Sprintf(`.slot-card[data-slot=%q] .slot-status`, slot), "来自电脑")
	}
	b.waitText("#submit-summary", "资料已齐全")
	b.waitText("#order-state", "资料已齐全")
	b.waitFor("errors cleared", `![...document.querySelectorAll('.slot-error')].some(e => e.offsetParent !== null)`, 5*time.Second)
	// The refused submit's list of missing materials goes once nothing is missing.
	b.waitFor("submit error cleared", `document.querySelector('#submit-error').hidden`, 5*time.Second)
	b.shot("pc-complete")

	b.run(chromedp.Click(chromedp.CSS("#submit-order")))
	b.waitVisible("#view-status")
	b.waitText("#status-title", "已提交审核")
	b.waitFor("thumbnails", imgLoaded(`#status-thumbs figure[data-slot="verification_form"] img`), 10*time.Second)
	b.shot("pc-submitted")
	b.noTokenInURLs(token)
}

// TestBrowserQRRenews shows a QR that lapses (a 2-second pairing) being replaced by the
// page on its own; the old code no longer claims, the new one does.
func TestBrowserQRRenews(t *testing.T) {
	b := newBrowser(t, "qr")
	m := startServer(t, server.Config{PairingTTL: 2 * time.Second})
	ctx := testCtx(t)

	b.startOrder(m, individualOrder("CN-GD", "王芳", "wangfang.cn"))
	b.run(chromedp.Click(chromedp.CSS("#choose-app")))
	b.waitFor("first QR", qrLive, 10*time.Second)
	url1, p1 := b.scanQR()

	b.waitFor("a new QR", fmt.Sprintf(`document.querySelector('#qr-img').dataset.pairing !== %q && `, p1)+
		qrLive, 15*time.Second)
	b.shot("renewed")

	client := &phone.Client{DeviceID: "renew-test-phone"}
	base, code1, err := phone.ParseScanURL(url1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Claim(ctx, base, code1); err == nil {
		t.Fatal("the lapsed QR could still be claimed")
	}
	// The new code lives two seconds and the page keeps renewing; read and claim the
	// current one, and read again if it lapsed in between.
	var claimed bool
	for attempt := 0; attempt < 5 && !claimed; attempt++ {
		b.waitFor("a live QR", qrLive, 10*time.Second)
		u, _ := b.scanQR()
		if u == url1 {
			t.Fatal("the page still shows the lapsed QR")
		}
		_, code, _ := phone.ParseScanURL(u)
		_, err = client.Claim(ctx, base, code)
		switch c := phone.ErrorCode(err); {
		case err == nil:
			claimed = true
		case c == "pairing_expired" || c == "pairing_not_found":
			continue
		default:
			t.Fatalf("claim the renewed QR: %v", err)
		}
	}
	if !claimed {
		t.Fatal("could not claim a renewed QR in 5 attempts")
	}
	b.waitFor("phone connected", `document.querySelector('#timeline').dataset.stage === 'connected'`, 10*time.Second)
	b.waitText("#tl-connected", "renew-te…hone")
	b.shot("connected")

	// What a phone's ordinary camera opens: a page saying to use the app, made for phones.
	b.run(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile), chromedp.Navigate(url1))
	b.waitText("h1", "请使用阿里云 app 扫描此二维码")
	b.waitText("main", "3.16.0 及以上版本")
	b.waitText("main", "扫描订单二维码")
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the scan page is %d px wide on a 390 px phone", w)
	}
	b.shot("m-scan")
}

// TestBrowserReconnects takes the server away under an open page: the page says it is
// reconnecting, a material stored meanwhile (through another instance on the same Redis
// and blobs) is on the page once it is back, from the snapshot.
func TestBrowserReconnects(t *testing.T) {
	b := newBrowser(t, "reconnect")
	mr := miniredis.RunT(t)
	data := t.TempDir()
	cfg := server.Config{RedisURL: "redis://" + mr.Addr(), JWTSecret: strings.Repeat("k", 32), DataDir: data,
		EncryptionKeys: "test:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("e", 32)))}
	m := startServer(t, cfg)
	ctx := testCtx(t)

	id, token := b.startOrder(m, individualOrder("CN-SH", "赵磊", "zhaolei.cn"))
	b.run(chromedp.Click(chromedp.CSS("#choose-pc")))
	b.waitVisible("#view-review")

	addr := strings.TrimPrefix(m.URL, "http://")
	m.Close()
	b.waitText("#conn-banner", "正在重新连接")
	b.shot("reconnecting")

	// Another instance stores a material while the page cannot hear about it.
	other := startServer(t, server.Config{RedisURL: cfg.RedisURL, JWTSecret: cfg.JWTSecret, DataDir: data, EncryptionKeys: cfg.EncryptionKeys})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, other.URL+"/api/v1/orders/"+id+"/materials/verification_form",
		bytes.NewReader(phone.SampleImage("verification_form", 7)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "image/jpeg")
	mustDo(t, "upload through the other instance", req, http.StatusCreated)

	// The first instance comes back on its address; the page reconnects and resyncs.
	back := cfg
	back.Addr = addr
	startServer(t, back)
	b.waitFor("material after resync", imgLoaded(`.slot-card[data-slot="verification_form"] img.preview`), 30*time.Second)
	b.waitFor("banner gone", `(() => { const e = document.querySelector('#conn-banner'); return e.hidden || !e.innerText.includes('正在重新连接'); })()`, 10*time.Second)
	b.shot("resynced")
}
