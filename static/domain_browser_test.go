package static_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/beianscan/beianscan/internal/server"
)

// TestBrowserDomainAsAddress: a web address typed as the domain is told to drop http://,
// by the page on leaving the field and on submit, and by the server (invalid_request with
// details.suggest) when the page's check is passed by.
func TestBrowserDomainAsAddress(t *testing.T) {
	b := newBrowser(t, "domain")
	m := startServer(t, server.Config{})

	b.run(chromedp.Navigate(m.URL + "/"))
	b.waitVisible("#view-form")
	b.run(chromedp.SendKeys(chromedp.CSS("#f-domains"), "http://www.example.com/"), chromedp.Click(chromedp.CSS("#f-subject-name")))
	b.waitText(`[data-field="domains"] .field-error`, "去掉 http://")
	b.waitText(`[data-field="domains"] .field-error`, "“www.example.com”")
	b.shot("domain-hint")

	type answer struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Suggest string `json:"suggest"`
	}
	body := strings.Replace(individualOrder("CN-GD", "张三", "example.com"), `"example.com"`, `"http://www.example.com/"`, 1)
	got := eval[answer](b, `fetch('/api/v1/orders', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(`+body+`)})
		.then(r => r.json()).then(j => ({code: j.error.code, message: j.error.message_zh, suggest: (j.error.details || {}).suggest || ''}))`)
	if got.Code != "invalid_request" || got.Suggest != "www.example.com" || !strings.Contains(got.Message, "http://") {
		t.Errorf("the server's answer to a web address as the domain: %+v", got)
	}
}
