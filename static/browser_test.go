package static_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/chromedp/chromedp"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

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

// TestBrowserAppUpload is a Guangdong individual's whole app path: the form as a person
// fills it (with a server validation error shown beside its field), the app chosen, the
// QR read off the page and claimed by a simulated phone, every material appearing as it
// arrives, upload complete, review, submit, then a rejection and withdraw back to the
// choice of method.
func TestBrowserAppUpload(t *testing.T) {
	b := newBrowser(t, "app")
	m := startServer(t, server.Config{OperatorKey: "operator-key-for-the-browser-tests-0123456789"})
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
	base, code, err := appsim.ParseScanURL(scanURL)
	if err != nil {
		t.Fatal(err)
	}
	client := &appsim.Client{DeviceID: "browser-test-phone", AppVersion: "3.17.1"}
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
		img := appsim.SampleImage(req.Slot, int64(i))
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
	if s := b.text("#tl-waiting"); strings.Contains(s, "扫描") {
		t.Errorf("the first step still says %q after the phone connected", s)
	}
	// The phone is done: the page moves on to 核对已上传资料 by itself.
	b.waitVisible("#view-review")
	b.waitText("#review-title", "核对已上传资料")
	if !strings.Contains(eval[string](b, `location.search`), "step=review") {
		t.Error("after upload_complete the URL does not keep the review step")
	}
	b.shot("app-complete")

	// Review: large previews of every material.
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
	b.waitText("#order-state", "服务商初审中")
	b.shot("submitted")

	// The reviewer rejects; the page shows the reason, and withdraw leads back to the choice
	// of method (the FAQ's last question).
	reason := "核验单签字不清晰，请重新签字后上传。"
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/api/v1/orders/"+orderID+"/review-result",
		strings.NewReader(fmt.Sprintf(`{"approved":false,"reason":%q}`, reason)))
	req.Header.Set("X-Api-Key", "operator-key-for-the-browser-tests-0123456789")
	req.Header.Set("Content-Type", "application/json")
	mustDo(t, "review-result", req, http.StatusOK)
	b.waitText("#status-title", "初审未通过")
	b.waitText("#reject-reason", reason)
	b.shot("rejected")

	// 撤回 asks first, saying what it does; cancelling changes nothing.
	b.run(chromedp.Click(chromedp.CSS("#withdraw")))
	// A modal dialog sits in the top layer, where offsetParent is null: waitText does not apply.
	b.waitFor("the withdraw dialog", `(() => { const d = document.querySelector('#withdraw-dialog'); return d.open && d.innerText.includes('已上传的资料会保留') && d.innerText.includes('上传方式需要重新选择'); })()`, 5*time.Second)
	b.axe("withdraw dialog")
	b.run(chromedp.Click(chromedp.CSS("#withdraw-cancel")))
	b.waitFor("the dialog closed", `!document.querySelector('#withdraw-dialog').open`, 5*time.Second)
	b.waitText("#status-title", "初审未通过")
	b.run(chromedp.Click(chromedp.CSS("#withdraw")))
	b.run(chromedp.Click(chromedp.CSS("#withdraw-confirm")))
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
	b.waitText(`.slot-card[data-slot="organization_certificate"] .slot-error`, "为 4.2 MB") // its size beside the limit
	b.waitText(`.slot-card[data-slot="organization_certificate"] .slot-error`, "自动压缩后上传")
	// A PDF renamed .jpg: told it is a PDF, and how to make an image of it.
	b.run(chromedp.SetUploadFiles(chromedp.CSS("#file-website_leader_id_front"), []string{write("身份证.jpg", []byte("%PDF-1.7 not an image"))}))
	b.waitText(`.slot-card[data-slot="website_leader_id_front"] .slot-error`, "是 PDF 文件，不是图片")
	b.waitText(`.slot-card[data-slot="website_leader_id_front"] .slot-error`, "导出")
	b.run(chromedp.SetUploadFiles(chromedp.CSS("#file-website_leader_id_front"), []string{write("身份证.txt", []byte("not an image at all"))}))
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
		b.pickFile(slot, write(slot+".jpg", appsim.SampleImage(slot, int64(100+i))))
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

	client := &appsim.Client{DeviceID: "renew-test-phone"}
	base, code1, err := appsim.ParseScanURL(url1)
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
		_, code, _ := appsim.ParseScanURL(u)
		_, err = client.Claim(ctx, base, code)
		switch c := appsim.ErrorCode(err); {
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
		bytes.NewReader(appsim.SampleImage("verification_form", 7)))
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
