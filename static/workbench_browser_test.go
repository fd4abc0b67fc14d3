package static_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/reviewers"
	"github.com/beianscan/beianscan/internal/server"
)

// reviewerFile writes a reviewers' file with one reviewer and returns its path and the
// reviewer's key.
func reviewerFile(t *testing.T, name string) (path, key string) {
	t.Helper()
	key, line, err := reviewers.NewKey(name)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "reviewers")
	if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, key
}

// tab opens a second tab in the same browser (cookies shared, as in one person's browser):
// here the reviewer's workbench beside the owner's page.
func (b *browser) tab(name string) *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		b.t.Fatalf("new tab: %v", err)
	}
	return &browser{t: b.t, ctx: ctx, shots: b.shots, name: name, start: b.start}
}

// scanImg decodes the QR code shown by the loaded image sel.
func (b *browser) scanImg(sel string) string {
	b.t.Helper()
	b.waitFor("QR "+sel, imgLoaded(sel), 10*time.Second)
	data := eval[string](b, fmt.Sprintf(`(() => {
		const img = document.querySelector(%q);
		const c = document.createElement('canvas');
		c.width = img.naturalWidth + 40; c.height = img.naturalHeight + 40;
		const g = c.getContext('2d');
		g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
		g.drawImage(img, 20, 20);
		return c.toDataURL('image/png');
	})()`, sel))
	png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(data, "data:image/png;base64,"))
	if err != nil {
		b.t.Fatal(err)
	}
	text, err := appsim.DecodeQR(png)
	if err != nil {
		b.t.Fatalf("decode %s: %v", sel, err)
	}
	return text
}

// key presses a key on the workbench's viewer (where the shortcuts listen when nothing is
// being typed).
func (b *browser) key(k string) {
	b.t.Helper()
	eval[bool](b, `document.querySelector('#wb-viewer').focus(), true`)
	b.run(chromedp.KeyEvent(k))
}

// choose sets a select's value as a person picking an option does (a change event).
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	if !eval[bool](b, fmt.Sprintf(`(() => { const s = document.querySelector(%q); if (!s || ![...s.options].some(o => o.value === %q)) return false; s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, value, value)) {
		b.t.Fatalf("%s has no option %q", sel, value)
	}
}

// authority reports a stage as the provider's back office does.
func authority(t *testing.T, ctx context.Context, m *server.Main, id, body string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/api/v1/orders/"+id+"/authority", strings.NewReader(body))
	req.Header.Set("X-Api-Key", "operator-key-for-tests-0123456789abcdef")
	req.Header.Set("Content-Type", "application/json")
	mustDo(t, "authority "+body, req, http.StatusOK)
}

// TestBrowserWholeReview walks a filing through two review rounds with the owner's page and
// the workbench side by side: the owner uploads with a played phone and submits; the
// reviewer logs in, finds it in the queue, opens it (the full ID number beside the ID),
// passes materials with the keyboard, flags the verification form and the domain with
// catalogue reasons and asks for changes; the owner sees each issue with its suggestion
// beside its material or field, fixes the domain (PATCH) and re-uploads the form from the
// phone through a re-upload QR that offers the flagged slot only, and submits round 2; the
// reviewer sees what changed, approves; the back office reports the authority's stages and
// the owner's page ticks each step only when it happened, with the SMS deadline and the ICP
// number.
func TestBrowserWholeReview(t *testing.T) {
	file, key := reviewerFile(t, "alice")
	m := startServer(t, server.Config{OperatorKey: "operator-key-for-tests-0123456789abcdef", Reviewers: file})
	// Two review rounds, two phone sessions and the authority's stages take longer than the
	// other walks: the browser and the requests get four minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	owner := newBrowserFor(t, "whole-owner", 4*time.Minute)

	// The owner: a Guangdong individual on the app path.
	id, _ := owner.startOrder(m, individualOrder("CN-GD", "王小明", "wangxiaoming.cn"))
	owner.run(chromedp.Click(chromedp.CSS("#choose-app")))
	owner.waitFor("QR shown", qrLive, 10*time.Second)
	scanURL, _ := owner.scanQR()
	base, code, err := appsim.ParseScanURL(scanURL)
	if err != nil {
		t.Fatal(err)
	}
	phone := &appsim.Client{DeviceID: "whole-review-phone", DeviceName: "测试手机", AppVersion: "3.17.1"}
	sess, err := phone.Claim(ctx, base, code)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	for i, r := range sess.Materials {
		if !r.Required {
			continue
		}
		if _, err := sess.Upload(ctx, r.Slot, appsim.SampleImage(r.Slot, int64(i)), "image/jpeg", ""); err != nil {
			t.Fatalf("upload %s: %v", r.Slot, err)
		}
	}
	if err := sess.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	owner.waitVisible("#view-review")
	owner.waitText("#submit-summary", "资料已齐全")
	// Every image opens large.
	owner.waitFor("previews", imgLoaded(`.slot-card[data-slot="verification_form"] img.preview`), 10*time.Second)
	owner.run(chromedp.Click(chromedp.CSS(`.slot-card[data-slot="verification_form"] img.preview`)))
	owner.waitFor("the image opened large", `document.querySelector('#lightbox').open && document.querySelector('#lightbox img').naturalWidth > 0`, 5*time.Second)
	owner.shot("lightbox")
	owner.run(chromedp.Click(chromedp.CSS(".lightbox-close")))
	owner.waitFor("the large image closed", `!document.querySelector('#lightbox').open`, 5*time.Second)
	owner.run(chromedp.Click(chromedp.CSS("#submit-order")))
	owner.waitText("#status-title", "服务商初审中")
	if n := eval[int](owner, `document.querySelectorAll('#review-stages li.done').length`); n != 0 {
		t.Errorf("submitted: %d steps ticked", n)
	}
	// 撤回 asks first and says what it does; before any decision it promises no reasons.
	owner.run(chromedp.Click(chromedp.CSS("#withdraw")))
	owner.waitFor("the withdraw dialog", `document.querySelector('#withdraw-dialog').open`, 5*time.Second)
	owner.waitText("#withdraw-what", "退出服务商的初审队列")
	if eval[bool](owner, `!document.querySelector('#withdraw-keeps-review').hidden`) {
		t.Error("withdrawing an order nobody has reviewed promises that the review's reasons stay")
	}
	owner.run(chromedp.Click(chromedp.CSS("#withdraw-cancel")))
	owner.waitFor("the dialog closed", `!document.querySelector('#withdraw-dialog').open`, 5*time.Second)

	// The reviewer: log in, the queue, open the order.
	rv := owner.tab("whole-reviewer")
	rv.run(chromedp.Navigate(m.URL + "/review"))
	rv.waitVisible("#wb-login")
	rv.run(chromedp.SendKeys(chromedp.CSS("#wb-name"), "alice"), chromedp.SendKeys(chromedp.CSS("#wb-key"), "wrong-key"), chromedp.Click(chromedp.CSS("#wb-login-go")))
	rv.waitText("#wb-login-error", "不正确")
	rv.run(chromedp.SendKeys(chromedp.CSS("#wb-key"), key), chromedp.Click(chromedp.CSS("#wb-login-go")))
	rv.waitVisible("#wb-queue")
	row := fmt.Sprintf(`#wb-queue-body tr[data-order=%q]`, id)
	rv.waitText(row, "王小明")
	rv.waitText(row, "第 1 轮")
	rv.waitText(row, "无人处理")
	rv.waitText(row, "秒")
	rv.axe("workbench queue")
	rv.shot("queue")
	rv.run(chromedp.Click(chromedp.CSS(row + " button[data-open]")))
	rv.waitVisible("#wb-work")
	rv.waitText("#wb-hold", "由您锁定")
	rv.waitText("#wb-compare", "11010519491231002X") // the full number, beside the image
	rv.waitFor("the material large", imgLoaded("#wb-image"), 10*time.Second)
	rv.waitText(".wb-keys", "下一项资料")
	// Zoom and rotate.
	rv.run(chromedp.Click(chromedp.CSS("#wb-zoom-in")))
	rv.key("r")
	rv.waitFor("rotated", `document.querySelector('#wb-viewer').dataset.turn === '1'`, 5*time.Second)
	rv.key("0")
	rv.axe("workbench order")
	rv.shot("order-round1")

	// Pass the IDs with P, flag the form with F and a catalogue reason, pass the face photo.
	slots := eval[[]string](rv, `[...document.querySelectorAll('#wb-tab-list .wb-tab')].map(b => b.dataset.slot)`)
	for _, s := range slots {
		cur := eval[string](rv, `document.querySelector('#wb-image').dataset.slot`)
		if cur != s {
			t.Fatalf("the viewer shows %s, the tabs say %s is next", cur, s)
		}
		if s != "verification_form" {
			rv.key("p")
			continue
		}
		rv.key("f")
		rv.waitVisible("#wb-flag-form")
		// Only the reasons the catalogue allows on the form are offered.
		opts := eval[[]string](rv, `[...document.querySelectorAll('#wb-reason option')].map(o => o.value).filter(Boolean)`)
		if strings.Contains(strings.Join(opts, ","), "face_background") || !strings.Contains(strings.Join(opts, ","), "form_unsigned") {
			t.Errorf("reasons offered on the form: %v", opts)
		}
		rv.choose("#wb-reason", "form_unsigned")
		rv.run(chromedp.SendKeys(chromedp.CSS("#wb-note"), "签字处空白"))
		rv.key("j")
	}
	rv.waitText("#wb-decide-summary", fmt.Sprintf("资料已检查 %d/%d", len(slots), len(slots)))
	if !eval[bool](rv, `document.querySelector('#wb-approve').disabled`) {
		t.Error("approve is offered with a flagged material")
	}
	// The domain is flagged as a field.
	rv.run(chromedp.Click(chromedp.CSS("#wb-tab-fields")))
	rv.run(chromedp.Click(chromedp.CSS(`.wb-field[data-field="domains"] .wb-flag`)))
	rv.choose(`#wb-f-domains-reason`, "field_invalid")
	rv.run(chromedp.SendKeys(chromedp.CSS("#wb-f-domains-note"), "域名应为 wangxiaoming.com.cn"))
	rv.waitText("#wb-decide-summary", "2 项有问题")
	rv.shot("flagged")
	rv.run(chromedp.Click(chromedp.CSS("#wb-changes")))
	rv.waitVisible("#wb-queue")
	rv.waitText("#wb-banner", "退回补正")

	// The owner: each issue beside what it names, only those editable.
	owner.waitText("#review-title", "按初审意见补正")
	form := `.slot-card[data-slot="verification_form"]`
	owner.waitText(form+" .slot-issues", "核验单未用黑色签字笔签字")
	owner.waitText(form+" .slot-issues", "签字处空白")
	owner.waitText(form+" .slot-issues", "建议")
	owner.waitText(form+" .slot-status", "需要重新上传")
	owner.waitText(`.slot-card[data-slot="subject_leader_id_front"] .slot-status`, "已锁定")
	if eval[bool](owner, `document.querySelector('.slot-card[data-slot="subject_leader_id_front"] .pick').offsetParent !== null`) {
		t.Error("a material that was not flagged offers a new upload")
	}
	owner.waitText("#fix-fields", "域名应为 wangxiaoming.com.cn")
	owner.waitText("#submit-summary", "还需处理 2 项")
	owner.axe("owner fix")
	owner.shot("fix")
	// Withdrawing now keeps the reasons readable, and the dialog says so.
	owner.run(chromedp.Click(chromedp.CSS("#fix-withdraw")))
	owner.waitFor("the withdraw dialog", `document.querySelector('#withdraw-dialog').open`, 5*time.Second)
	if !eval[bool](owner, `!document.querySelector('#withdraw-keeps-review').hidden`) {
		t.Error("the withdraw dialog after a request for changes does not say the reasons stay")
	}
	owner.run(chromedp.Click(chromedp.CSS("#withdraw-cancel")))
	owner.waitFor("the dialog closed", `!document.querySelector('#withdraw-dialog').open`, 5*time.Second)

	// The domain, corrected (PATCH).
	eval[bool](owner, `(() => { const t = document.querySelector('#fix-domains'); t.value = 'wangxiaoming.com.cn'; t.dispatchEvent(new Event('input')); return true; })()`)
	owner.run(chromedp.Click(chromedp.CSS("#fix-save")))
	owner.waitText("#submit-summary", "还需处理 1 项")
	owner.waitText("#order-chip", "wangxiaoming.com.cn")

	// The form again, from the phone: the re-upload QR lists the flagged slot only. Until
	// one is made for the fix the panel shows none — not the first round's, whose URL the
	// browser would draw again from its memory of that image (it did once: a phone scanning
	// it was told 410 pairing_expired, the code having been replaced by the fix's).
	if eval[bool](owner, `(() => { const i = document.querySelector('#fix-qr'); return !i.hidden || !!i.getAttribute('src') || !!i.dataset.pairing; })()`) {
		t.Errorf("before a re-upload QR was made the panel has one: %s", eval[string](owner, `document.querySelector('#fix-qr').outerHTML`))
	}
	owner.run(chromedp.Click(chromedp.CSS("#fix-qr-go")))
	owner.waitFor("the re-upload QR shown", `!document.querySelector('#fix-qr').hidden`, 10*time.Second)
	reupload := &appsim.Client{DeviceID: "whole-review-phone", DeviceName: "测试手机", AppVersion: "3.17.1"}
	base, code, err = appsim.ParseScanURL(owner.scanImg("#fix-qr"))
	if err != nil {
		t.Fatal(err)
	}
	if sess, err = reupload.Claim(ctx, base, code); err != nil {
		t.Fatalf("claim the re-upload QR: %v", err)
	}
	if len(sess.Materials) != 1 || sess.Materials[0].Slot != "verification_form" {
		t.Errorf("the re-upload claim lists %v, want the verification form only", sess.Materials)
	}
	owner.waitText("#fix-phone-status", "手机已连接")
	if _, err := sess.Upload(ctx, "verification_form", appsim.SampleImage("verification_form", 99), "image/jpeg", ""); err != nil {
		t.Fatalf("re-upload: %v", err)
	}
	if err := sess.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	owner.waitText(form+" .slot-status", "已重新上传")
	owner.waitText("#submit-summary", "已全部处理")
	owner.run(chromedp.Click(chromedp.CSS("#submit-order")))
	owner.waitText("#status-title", "第 2 轮")

	// Round 2: what changed is marked; all passes; approve.
	rv.run(chromedp.Click(chromedp.CSS("#wb-queue-refresh")))
	rv.waitText(row, "第 2 轮")
	rv.run(chromedp.Click(chromedp.CSS(row + " button[data-open]")))
	rv.waitVisible("#wb-work")
	rv.waitFor("the re-uploaded form marked", `document.querySelector('.wb-tab[data-slot="verification_form"]').classList.contains('changed')`, 10*time.Second)
	rv.waitFor("the edited domain marked", `document.querySelector('.wb-field[data-field="domains"]').classList.contains('changed')`, 10*time.Second)
	rv.waitText("#wb-rounds", "第 1 轮：退回补正")
	for range slots {
		rv.key("p")
	}
	rv.waitFor("approve offered", `!document.querySelector('#wb-approve').disabled`, 5*time.Second)
	rv.shot("order-round2")
	rv.run(chromedp.Click(chromedp.CSS("#wb-approve")))
	rv.waitVisible("#wb-queue")
	rv.waitText("#wb-banner", "初审通过")

	// The authority's stages, each ticked only when it happened.
	stage := func(key string) string {
		return eval[string](owner, fmt.Sprintf(`(document.querySelector('#review-stages li[data-stage=%q]') || {dataset: {}}).dataset.status || ''`, key))
	}
	owner.waitText("#status-title", "服务商初审通过")
	if p, a, f := stage("provider"), stage("authority"), stage("filed"); p != "done" || a != "todo" || f != "todo" {
		t.Errorf("approved: provider %s, authority %s, filed %s", p, a, f)
	}
	owner.shot("approved")
	authority(t, ctx, m, id, `{"status":"submitted"}`)
	owner.waitText("#status-title", "管局审核中")
	if a := stage("authority"); a != "current" {
		t.Errorf("authority_review: authority step %s", a)
	}
	// No text message is said to be (or to be going to be) sent before the back office
	// reports it.
	if txt := eval[string](owner, `document.querySelector('#review-stages li[data-stage="authority"]').innerText`); strings.Contains(txt, "发送") {
		t.Errorf("before sms_sent the authority step says %q", txt)
	}
	authority(t, ctx, m, id, `{"status":"sms_sent"}`)
	owner.waitText(`#review-stages li[data-stage="authority"]`, "24 小时")
	owner.waitText(`#review-stages li[data-stage="authority"]`, "还剩 23 小时")
	owner.shot("sms")
	if f := stage("filed"); f != "todo" {
		t.Errorf("before filing the last step is %s", f)
	}
	authority(t, ctx, m, id, `{"status":"filed","icp_number":"粤ICP备2026012345号"}`)
	owner.waitText("#icp-number", "粤ICP备2026012345号")
	if p, a, f := stage("provider"), stage("authority"), stage("filed"); p != "done" || a != "done" || f != "done" {
		t.Errorf("filed: provider %s, authority %s, filed %s", p, a, f)
	}
	owner.axe("filed")
	owner.shot("filed")

	// Logging out ends the reviewer's session.
	rv.run(chromedp.Click(chromedp.CSS("#wb-logout")))
	rv.waitVisible("#wb-login")
	if st := eval[int](rv, `fetch('/api/v1/review/queue', {credentials: 'same-origin'}).then(r => r.status)`); st != http.StatusUnauthorized {
		t.Errorf("after logout the queue answers %d", st)
	}
}
