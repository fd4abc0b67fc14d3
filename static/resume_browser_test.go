package static_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/beianscan/beianscan/internal/server"
)

// TestBrowserResume: the page shows the new order's resume code once, with the advice to
// write it down; another browser, which holds no cookie, opening the order's URL is told
// its sign-in lapsed (no step of the order is claimed) and opens the order with 继续办理.
func TestBrowserResume(t *testing.T) {
	b := newBrowser(t, "resume")
	m := startServer(t, server.Config{})

	b.run(chromedp.Navigate(m.URL + "/"))
	b.waitVisible("#view-form")
	b.waitVisible("#resume-form") // 继续办理 at /, under the form
	b.run(
		chromedp.SetValue(chromedp.CSS("#f-province"), "CN-GD"),
		chromedp.SendKeys(chromedp.CSS("#f-subject-name"), "王芳"),
		chromedp.SendKeys(chromedp.CSS("#f-subject_leader-name"), "王芳"),
		chromedp.SetValue(chromedp.CSS("#f-subject_leader-id-type"), "resident_id"),
		chromedp.SendKeys(chromedp.CSS("#f-subject_leader-id-number"), "11010519491231002X"),
		chromedp.Click(chromedp.CSS("#f-subject_leader-long-term")),
		chromedp.SendKeys(chromedp.CSS("#f-domains"), "wangfang.cn"),
		chromedp.Click(chromedp.CSS("#create-order")),
	)
	b.waitVisible("#view-method")
	b.waitVisible("#resume-code-card")
	if s := b.text("#resume-code-card"); !strings.Contains(s, "请抄写并妥善保存续办码") {
		t.Errorf("the code's card gives no advice to write it down: %q", s)
	}
	code := b.text("#resume-code-value")
	id := b.text("#resume-code-order")
	if len(strings.ReplaceAll(code, "-", "")) != 16 || id == "" {
		t.Fatalf("resume code %q, order %q", code, id)
	}
	b.shot("code")
	b.run(chromedp.Click(chromedp.CSS("#resume-code-done")))
	b.waitFor("the code's card to close", `document.querySelector('#resume-code-card').hidden`, 5*time.Second)

	// Another browser: a fresh profile, no cookie.
	two := newBrowser(t, "resume-other")
	two.run(chromedp.Navigate(m.URL + "/?order=" + id))
	two.waitVisible("#resume-lapsed")
	two.waitVisible("#resume-form")
	if n := eval[int](two, `document.querySelectorAll('#stepper li.current').length`); n != 0 {
		t.Errorf("a lapsed order's page marks a step current")
	}
	if v := eval[string](two, `document.querySelector('#r-order').value`); v != id {
		t.Errorf("order number field %q, want %q", v, id)
	}
	two.shot("lapsed")
	// A wrong code first.
	two.run(chromedp.SendKeys(chromedp.CSS("#r-code"), "ZZZZ-ZZZZ-ZZZZ-ZZZZ"), chromedp.Click(chromedp.CSS("#resume-submit")))
	two.waitText("#resume-error", "续办码不正确")
	eval[bool](two, `(() => { document.querySelector('#r-code').value = ''; return true; })()`)
	two.run(chromedp.SendKeys(chromedp.CSS("#r-code"), strings.ToLower(code)), chromedp.Click(chromedp.CSS("#resume-submit")))
	two.waitVisible("#view-method")
	two.waitFor("the resumed order's chip", `document.querySelector('#order-chip').textContent.includes('王芳')`, 10*time.Second)
	two.shot("resumed")
}
