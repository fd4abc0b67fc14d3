package static_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

// solidJPEG is a plain colour page, so the stitched image shows the order of its parts.
func solidJPEG(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// noisyJPEG is a real photo-sized JPEG over 4 MB: noise does not compress.
func noisyJPEG(t *testing.T) []byte {
	t.Helper()
	r := rand.New(rand.NewSource(1))
	img := image.NewRGBA(image.Rect(0, 0, 2400, 1600))
	r.Read(img.Pix)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 4<<20 || buf.Len() > 20<<20 {
		t.Fatalf("noisy JPEG is %d bytes, want 4–20 MB", buf.Len())
	}
	return buf.Bytes()
}

// TestBrowserStitchReview is a Beijing organization on the PC path, walked with what was not
// exercised before: the keyboard focus ring, axe-core, the sticky submit bar, the compact
// optional slots, the samples, "add a page" (three pages picked, reordered with a button and
// by drag-and-drop, one removed, stitched by the server in that order), a file dropped onto
// a slot, a too-large photo compressed with ?fit=1, a material removed, the review comparing
// the entered data with each image, the audit list, and the status with both reviews — at
// 1366×900 and 390×844.
func TestBrowserStitchReview(t *testing.T) {
	b := newBrowser(t, "stitch")
	m := startServer(t, server.Config{})
	ctx := testCtx(t)

	b.run(chromedp.Navigate(m.URL + "/"))
	b.waitVisible("#view-form")
	b.axe("form")
	id, _ := b.startOrder(m, beijingOrganization)
	// The method card promises nothing the FAQ does not: no phone call, no durations.
	b.waitText("#method-pc", "不做 app 人脸核验")
	if s := b.text("#method-pc"); strings.Contains(s, "电话") {
		t.Errorf("the PC method promises a phone call: %q", s)
	}
	b.axe("method")
	b.run(chromedp.Click(chromedp.CSS("#choose-pc")))
	b.waitVisible("#view-review")
	b.waitVisible(`.slot-card[data-slot="organization_certificate"]`)

	// The PC path says how the website leader is verified without the app.
	b.waitText("#pc-verify", "网站负责人如何核验")
	b.waitText("#pc-verify", "在本页面逐项告知")

	// The submit bar stays in view at the top of a long page.
	if pos := eval[string](b, `getComputedStyle(document.querySelector('#submit-bar')).position`); pos != "sticky" {
		t.Errorf("submit bar position %q, want sticky", pos)
	}
	eval[bool](b, `window.scrollTo(0, 0), true`)
	if !eval[bool](b, `(() => { const r = document.querySelector('#submit-bar').getBoundingClientRect(); return r.bottom <= innerHeight + 1 && r.top < innerHeight; })()`) {
		t.Error("the submit bar is not in view at the top of the page")
	}

	// Empty optional slots are one line, not a drop zone.
	for _, slot := range []string{"supplementary", "domain_certificate"} {
		if h := eval[float64](b, fmt.Sprintf(`document.querySelector('.slot-card[data-slot=%q]').getBoundingClientRect().height`, slot)); h > 110 {
			t.Errorf("empty optional slot %s is %.0f px tall", slot, h)
		}
	}
	// Every slot has samples: one correct, at least one wrong.
	for _, slot := range []string{"organization_certificate", "subject_leader_id_front", "website_leader_id_front", "website_leader_id_back", "verification_form"} {
		sel := fmt.Sprintf(`.slot-card[data-slot=%q]`, slot)
		if n := eval[int](b, `document.querySelectorAll('`+strings.ReplaceAll(sel, `"`, `\"`)+` .sample-ok svg').length`); n != 1 {
			t.Errorf("%s: %d correct samples", slot, n)
		}
		if n := eval[int](b, `document.querySelectorAll('`+strings.ReplaceAll(sel, `"`, `\"`)+` .sample-bad svg').length`); n < 1 {
			t.Errorf("%s: no wrong sample", slot)
		}
	}
	faults := eval[string](b, `[...new Set([...document.querySelectorAll('.sample-bad figcaption')].map(f => f.innerText))].join(' ')`)
	for _, f := range []string{"模糊", "四角不全", "黑白复印件"} {
		if !strings.Contains(faults, f) {
			t.Errorf("no %q sample among %q", f, faults)
		}
	}

	// The keyboard reaches 选择文件 and its ring shows.
	reached := false
	for i := 0; i < 80 && !reached; i++ {
		b.run(chromedp.KeyEvent("\t"))
		reached = eval[bool](b, `document.activeElement && document.activeElement.id === 'file-organization_certificate'`)
	}
	if !reached {
		t.Fatal("Tab never reaches the certificate's file input")
	}
	ring := eval[string](b, `(() => { const s = getComputedStyle(document.querySelector('.slot-card[data-slot="organization_certificate"] .pick')); return s.outlineStyle + ' ' + s.outlineWidth; })()`)
	if !strings.HasPrefix(ring, "solid") || ring == "solid 0px" {
		t.Errorf("选择文件 focused by keyboard has outline %q, want a visible ring", ring)
	}
	b.shot("focus-ring")
	// A button too.
	b.run(chromedp.KeyEvent("\t"))
	btnRing := eval[string](b, `(() => { const e = document.activeElement; const s = getComputedStyle(e); return e.tagName + ' ' + s.outlineStyle + ' ' + s.outlineWidth; })()`)
	if !strings.Contains(btnRing, "solid") {
		t.Errorf("the next focused control has no ring: %s", btnRing)
	}
	// The page was 2,566 px tall before the cards put the image beside the data.
	if hgt := eval[int](b, `document.documentElement.scrollHeight`); hgt > 2000 {
		t.Errorf("the PC upload page is %d px tall at 1366×900", hgt)
	}
	b.axe("pc empty")
	b.shot("pc-empty")

	write := tempFiles(t)

	// Add a page: three pages, reordered, one removed, stitched.
	red, green, blue := color.RGBA{220, 30, 30, 255}, color.RGBA{30, 170, 60, 255}, color.RGBA{30, 60, 220, 255}
	pa := write("a-red.jpg", solidJPEG(t, 800, 500, red))
	pb := write("b-green.jpg", solidJPEG(t, 800, 500, green))
	pc := write("c-blue.jpg", solidJPEG(t, 800, 500, blue))
	org := `.slot-card[data-slot="organization_certificate"]`
	b.run(chromedp.Click(chromedp.CSS(org + " .add-page")))
	b.waitVisible(org + " .stitch")
	b.run(chromedp.SetUploadFiles(chromedp.CSS("#stitch-file-organization_certificate"), []string{pa, pb, pc}))
	pages := func() string {
		return eval[string](b, `[...document.querySelectorAll('`+strings.ReplaceAll(org, `"`, `\"`)+` .spage')].map(l => l.dataset.name).join(',')`)
	}
	b.waitFor("three pages", `document.querySelectorAll('.stitch .spage').length === 3`, 5*time.Second)
	if p := pages(); p != "a-red.jpg,b-green.jpg,c-blue.jpg" {
		t.Fatalf("pages %s", p)
	}
	b.shot("stitch-picked")
	// c up one: a, c, b.
	b.run(chromedp.Click(chromedp.CSS(`.stitch .spage[data-index="2"] .up`)))
	b.waitFor("c moved up", `document.querySelector('.stitch .spage[data-index="1"]').dataset.name === 'c-blue.jpg'`, 5*time.Second)
	// Drag the first page onto the last: c, b, a.
	eval[bool](b, `(() => {
		const from = document.querySelector('.stitch .spage[data-index="0"]');
		const to = document.querySelector('.stitch .spage[data-index="2"]');
		const dt = new DataTransfer();
		from.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: dt}));
		to.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
		to.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
		from.dispatchEvent(new DragEvent('dragend', {bubbles: true, dataTransfer: dt}));
		return true; })()`)
	b.waitFor("dragged", `[...document.querySelectorAll('.stitch .spage')].map(l => l.dataset.name).join(',') === 'c-blue.jpg,b-green.jpg,a-red.jpg'`, 5*time.Second)
	// Remove the green page: c, a.
	b.run(chromedp.Click(chromedp.CSS(`.stitch .spage[data-index="1"] .drop-page`)))
	b.waitFor("green removed", `[...document.querySelectorAll('.stitch .spage')].map(l => l.dataset.name).join(',') === 'c-blue.jpg,a-red.jpg'`, 5*time.Second)
	if n := eval[int](b, `document.querySelectorAll('.stitch-preview img').length`); n != 2 {
		t.Errorf("the preview shows %d pages, want 2", n)
	}
	b.shot("stitch-ordered")
	b.run(chromedp.Click(chromedp.CSS(org + " .stitch-go")))
	b.waitFor("stitched material", imgLoaded(org+" img.preview"), 20*time.Second)
	b.waitFor("panel closed", `document.querySelector('`+strings.ReplaceAll(org, `"`, `\"`)+` .stitch').hidden`, 5*time.Second)
	// The stored image is blue above red: the order the person chose.
	type px struct{ Top, Bottom []int }
	colours := eval[px](b, `(() => {
		const i = document.querySelector('`+strings.ReplaceAll(org, `"`, `\"`)+` img.preview');
		const c = document.createElement('canvas'); c.width = i.naturalWidth; c.height = i.naturalHeight;
		const g = c.getContext('2d'); g.drawImage(i, 0, 0);
		const at = (f) => Array.from(g.getImageData(Math.floor(c.width / 2), Math.floor(c.height * f), 1, 1).data.slice(0, 3));
		return {top: at(0.25), bottom: at(0.75)}; })()`)
	isBlue := func(c []int) bool { return len(c) == 3 && c[2] > 150 && c[0] < 100 }
	isRed := func(c []int) bool { return len(c) == 3 && c[0] > 150 && c[2] < 100 }
	if !isBlue(colours.Top) || !isRed(colours.Bottom) {
		t.Errorf("stitched image: top %v, bottom %v; want blue above red", colours.Top, colours.Bottom)
	}
	snap, err := m.Service.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if mat, ok := snap.Materials["organization_certificate"]; !ok || mat.Height <= 500 {
		t.Errorf("stitched material %+v, want one image taller than a page", mat)
	}
	b.shot("stitched")
	// Adding a page to a slot that holds an image starts from that image.
	b.run(chromedp.Click(chromedp.CSS(org + " .add-page")))
	b.waitFor("current image as page 1", `(() => { const l = document.querySelector('.stitch .spage[data-index="0"]'); return l && l.dataset.name.startsWith('当前已上传的图片'); })()`, 10*time.Second)
	b.run(chromedp.Click(chromedp.CSS(org + " .stitch-cancel")))
	b.waitFor("panel closed", `document.querySelector('`+strings.ReplaceAll(org, `"`, `\"`)+` .stitch').hidden`, 5*time.Second)

	// A file dropped onto a slot.
	front := base64.StdEncoding.EncodeToString(appsim.SampleImage("subject_leader_id_front", 3))
	eval[bool](b, `(() => {
		const bytes = Uint8Array.from(atob('`+front+`'), c => c.charCodeAt(0));
		const dt = new DataTransfer();
		dt.items.add(new File([bytes], '护照.jpg', {type: 'image/jpeg'}));
		const zone = document.querySelector('.slot-card[data-slot="subject_leader_id_front"] .slot-preview');
		zone.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: dt}));
		zone.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: dt}));
		return true; })()`)
	b.waitFor("dropped file uploaded", imgLoaded(`.slot-card[data-slot="subject_leader_id_front"] img.preview`), 15*time.Second)

	// Too large: the page offers to compress, and ?fit=1 stores it under 4 MB.
	big := write("大照片.jpg", noisyJPEG(t))
	wf := `.slot-card[data-slot="website_leader_id_front"]`
	b.run(chromedp.SetUploadFiles(chromedp.CSS("#file-website_leader_id_front"), []string{big}))
	b.waitText(wf+" .slot-error", "图片大小应小于 4 MB")
	b.shot("too-large")
	b.run(chromedp.Click(chromedp.CSS(wf + " .fit")))
	b.waitFor("fitted upload", imgLoaded(wf+" img.preview"), 40*time.Second)
	b.waitText(wf+" .slot-meta", "已自动压缩")
	snap, err = m.Service.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if mat := snap.Materials["website_leader_id_front"]; !mat.Fitted || mat.Size >= 4<<20 {
		t.Errorf("fitted material %+v", mat)
	}

	// Removed (two clicks: the second confirms).
	b.run(chromedp.Click(chromedp.CSS(wf + " .remove")))
	b.waitText(wf+" .remove", "确认删除")
	b.run(chromedp.Click(chromedp.CSS(wf + " .remove")))
	b.waitFor("removed", `!document.querySelector('`+strings.ReplaceAll(wf, `"`, `\"`)+` img.preview')`, 10*time.Second)
	snap, err = m.Service.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.Materials["website_leader_id_front"]; ok {
		t.Error("the removed material is still stored")
	}

	for i, slot := range []string{"website_leader_id_front", "website_leader_id_back", "verification_form"} {
		b.pickFile(slot, write(slot+".jpg", appsim.SampleImage(slot, int64(200+i))))
	}
	b.waitText("#submit-summary", "资料已齐全")
	b.waitText("#review-title", "核对已上传资料")

	// The review compares: what was entered beside each image, the ID numbers masked.
	for slot, wants := range map[string][]string{
		"organization_certificate": {"北京示例科技有限公司", "营业执照"},
		"subject_leader_id_front":  {"John Smith", "护照", "E12**5678", "2031-08-31"},
		"website_leader_id_front":  {"李华", "居民身份证", "110***********002X", "长期"},
		"website_leader_id_back":   {"李华", "长期"},
		"verification_form":        {"北京示例科技有限公司", "李华", "example-bj.com.cn", "北京"},
	} {
		got := b.text(fmt.Sprintf(`.slot-card[data-slot=%q] .compare`, slot))
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s compares %q, lacks %q", slot, got, w)
			}
		}
	}
	if s := eval[string](b, `document.body.innerText`); strings.Contains(s, "11010519491231002X") {
		t.Error("the full ID number is on the page")
	}
	b.waitText("#review-lead", "逐项对照")

	// Who has seen my materials: shown when the server has the audit log (docs/operations.md, Privacy), hidden
	// when it answers 404 (a server without it).
	status := eval[int](b, `fetch('/api/v1/orders/`+id+`/audit', {credentials: 'same-origin'}).then(r => r.status)`)
	switch status {
	case http.StatusNotFound:
		b.waitFor("audit list hidden", `document.querySelector('#audit').hidden`, 5*time.Second)
	case http.StatusOK:
		b.waitFor("audit list", `!document.querySelector('#audit').hidden && document.querySelectorAll('#audit-list li').length > 0`, 10*time.Second)
		// In the owner's words, not the API's action names (the list holds whichever entries
		// it last fetched: it is refreshed at most every 5 s).
		text := eval[string](b, `document.querySelector('#audit-list').innerText`)
		for _, en := range []string{"create", "read", "upload", "remove", "method", "pairing", "claim", "complete", "submit"} {
			if strings.Contains(text, en) {
				t.Errorf("audit list %q shows the action %q untranslated", text, en)
			}
		}
	default:
		t.Errorf("GET audit answered %d", status)
	}
	b.axe("review")
	b.shot("review")

	// The same review on a phone-sized screen.
	b.mobile()
	eval[bool](b, `window.scrollTo(0, 0), true`)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		wide := eval[string](b, `[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391 && e.offsetParent !== null).slice(0, 5).map(e => e.tagName + '.' + e.className).join(', ')`)
		t.Errorf("the review is %d px wide on a 390 px screen: %s", w, wide)
	}
	if !eval[bool](b, `(() => { const r = document.querySelector('#submit-bar').getBoundingClientRect(); return r.bottom <= innerHeight + 1 && r.top < innerHeight; })()`) {
		t.Error("the submit bar is not in view on a phone-sized screen")
	}
	b.axe("review 390")
	b.shot("review-390")
	b.desktop()

	b.run(chromedp.Click(chromedp.CSS("#submit-order")))
	b.waitVisible("#view-status")
	b.waitText("#review-stages", "服务商初审")
	b.waitText("#review-stages", "管局审核")
	b.waitText(`#review-stages li.current`, "服务商初审")
	if s := b.text("#view-status"); strings.Contains(s, "工作日") || strings.Contains(s, "电话") {
		t.Errorf("the status promises durations or a phone call: %q", s)
	}
	if n := eval[int](b, `document.querySelectorAll('#review-stages li.done').length`); n != 0 {
		t.Errorf("%d steps ticked while the provider's review has not happened", n)
	}
	b.waitText(`#stepper li.current`, "服务商初审")
	if n := eval[int](b, `document.querySelectorAll('#stepper li').length`); n != 6 {
		t.Errorf("stepper has %d steps, want 6 (初审 and 管局审核 apart)", n)
	}
	// Captions keep （正面/人像页） on one line.
	if !eval[bool](b, `[...document.querySelectorAll('#status-thumbs figcaption .nowrap')].some(e => e.innerText.includes('（正面/人像页）'))`) {
		t.Error("the thumbnail captions can break inside （正面/人像页）")
	}
	b.axe("submitted")
	b.shot("submitted")
}

// TestBrowserSecondTab: a second tab on the same order follows the method chosen in the
// first, live (method_changed), and both show the same QR.
func TestBrowserSecondTab(t *testing.T) {
	b := newBrowser(t, "tabs")
	m := startServer(t, server.Config{})

	id, _ := b.startOrder(m, individualOrder("CN-GD", "陈静", "chenjing.cn"))

	tabCtx, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	two := &browser{t: t, ctx: tabCtx, shots: b.shots, name: "tabs-second", start: b.start}
	two.run(chromedp.EmulateViewport(1366, 900), chromedp.Navigate(m.URL+"/?order="+id))
	two.waitVisible("#view-method")

	b.run(chromedp.Click(chromedp.CSS("#choose-pc")))
	b.waitVisible("#view-review")
	two.waitVisible("#view-review")
	two.waitFor("PC upload in the second tab", `document.querySelector('#change-method').offsetParent !== null && document.querySelector('#back-to-app').hidden`, 10*time.Second)
	two.shot("followed-pc")

	b.run(chromedp.Click(chromedp.CSS("#change-method")))
	b.waitVisible("#view-method")
	b.run(chromedp.Click(chromedp.CSS("#choose-app")))
	b.waitFor("QR in the first tab", qrLive, 10*time.Second)
	two.waitVisible("#view-app")
	two.waitFor("QR in the second tab", qrLive, 10*time.Second)
	// One QR for the order: the tabs do not replace each other's.
	deadline := time.Now().Add(8 * time.Second)
	for {
		p1 := eval[string](b, `document.querySelector('#qr-img').dataset.pairing`)
		p2 := eval[string](two, `document.querySelector('#qr-img').dataset.pairing`)
		if p1 == p2 && p1 != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tabs show different QRs: %s and %s", p1, p2)
		}
		b.pause("comparing the tabs' QRs")
	}
	two.shot("followed-app")
}

// TestBrowserScanPage is what a phone's camera or WeChat opens: the download button from
// the configuration, WeChat's hint to open a browser, and a replaced QR's "expired".
func TestBrowserScanPage(t *testing.T) {
	b := newBrowser(t, "scan")
	m := startServer(t, server.Config{AppDownloadURL: "https://app.example.com/download"})
	ctx := testCtx(t)

	b.startOrder(m, individualOrder("CN-GD", "周敏", "zhoumin.cn"))
	b.run(chromedp.Click(chromedp.CSS("#choose-app")))
	b.waitFor("QR", qrLive, 10*time.Second)
	old, p1 := b.scanQR()
	// While the new code is being made, and until its image has loaded, the old one is not
	// shown: it would only tell a phone that scans it that it expired.
	if st := eval[string](b, `(() => {
		window.qrShownStale = [];
		const img = document.querySelector('#qr-img'), box = document.querySelector('#qr-box');
		const watch = () => {
			if (box.dataset.state === 'live' && (img.dataset.pairing === `+strconv.Quote(p1)+` || !img.complete)) window.qrShownStale.push(img.dataset.pairing);
			if (img.dataset.pairing === `+strconv.Quote(p1)+` || !img.complete) requestAnimationFrame(watch);
		};
		document.querySelector('#qr-refresh').click();
		requestAnimationFrame(watch);
		return box.dataset.state;
	})()`); st != "loading" {
		t.Errorf("right after 刷新二维码 the QR box is %q, want loading", st)
	}
	b.waitFor("a new QR", fmt.Sprintf(`document.querySelector('#qr-img').dataset.pairing !== %q && `, p1)+qrLive, 10*time.Second)
	live, _ := b.scanQR()
	if stale := eval[[]string](b, `window.qrShownStale`); len(stale) > 0 {
		t.Errorf("the QR box showed a replaced or unloaded code as live: %v", stale)
	}

	// The old code answers 410 pairing_expired to a claim, and its page says so.
	base, code, err := appsim.ParseScanURL(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&appsim.Client{DeviceID: "scan-test"}).Claim(ctx, base, code); appsim.ErrorCode(err) != "pairing_expired" && appsim.ErrorCode(err) != "pairing_not_found" {
		t.Fatalf("claim of the replaced code: %v", err)
	}

	b.mobile()
	b.run(chromedp.Navigate(old))
	b.waitText("#expired", "二维码已过期，请在电脑上刷新")
	b.waitText("#app-download", "下载阿里云 app")
	if href := eval[string](b, `document.querySelector('#app-download').href`); href != "https://app.example.com/download" {
		t.Errorf("download link %q", href)
	}
	b.axe("scan expired")
	b.shot("m-scan-expired")

	b.run(chromedp.Navigate(live))
	b.waitText("h1", "请使用阿里云 app 扫描此二维码")
	if eval[bool](b, `!!document.querySelector('#expired') || !!document.querySelector('#wechat-hint')`) {
		t.Error("the live code's page says expired or shows the WeChat hint")
	}
	b.shot("m-scan-live")

	b.run(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI"})
		return err
	}))
	b.run(chromedp.Navigate(live))
	b.waitText("#wechat-hint", "在浏览器中打开")
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the scan page is %d px wide on a 390 px phone", w)
	}
	b.axe("scan wechat")
	b.shot("m-scan-wechat")
}
