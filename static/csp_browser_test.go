package static_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/beianscan/beianscan/internal/server"
)

// TestBrowserPagesObeyCSP opens every HTML page under its Content-Security-Policy: none
// may need anything the policy blocks (newBrowser fails the test on a violation). A
// deliberate inline script first shows that a violation is seen at all.
func TestBrowserPagesObeyCSP(t *testing.T) {
	b := newBrowser(t, "csp")
	m := startServer(t, server.Config{})

	b.run(chromedp.Navigate(m.URL + "/"))
	b.waitVisible("#view-form")
	b.expectViolation(`(() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1'; document.body.append(s); })()`)
	if eval[bool](b, `window.injected === 1`) {
		t.Error("an injected inline script ran")
	}

	id, _ := b.createOrderInPage(individualOrder("CN-GD", "张三", "example.com"))
	b.run(chromedp.Navigate(m.URL + "/m/scan?code=abc"))
	b.waitText("h1", "阿里云 app")
	b.waitFor("the scan page's styles applied", `getComputedStyle(document.querySelector('main')).maxWidth !== 'none'`, 5*time.Second)
	b.shot("scan-page")

	// The verification form needs the desktop cookie, which the page's order creation set.
	b.run(chromedp.Navigate(m.URL + "/api/v1/orders/" + id + "/verification-form"))
	b.waitText("h1", "真实性核验单")
	b.waitFor("the form's styles applied", `getComputedStyle(document.querySelector('h1')).textAlign === 'center'`, 5*time.Second)
	b.waitFor("print.js loaded", `performance.getEntriesByType('resource').some(e => e.name.endsWith('/assets/print.js'))`, 5*time.Second)
	b.shot("verification-form")

	// The workbench: its modules and styles load under the same policy; without a session
	// it asks for the reviewer's name and key.
	b.run(chromedp.Navigate(m.URL + "/review"))
	b.waitVisible("#wb-login")
	b.waitFor("the workbench's styles applied", `getComputedStyle(document.querySelector('.wb-login-card')).maxWidth === '440px'`, 5*time.Second)
	b.axe("workbench login")
	b.shot("workbench-login")
}
