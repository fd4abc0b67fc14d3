package static_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestBrowserDomainsShownBothWays: an order with an internationalised domain shows it on
// the owner's page, in the workbench's queue and in the reviewer's fields as typed and,
// in an element of its own beside it, in punycode; an ASCII domain beside it shows no
// second form.
func TestBrowserDomainsShownBothWays(t *testing.T) {
	file, key := reviewerFile(t, "alice")
	m := startServer(t, server.Config{Reviewers: file})
	owner := newBrowser(t, "domains-both")
	body := strings.Replace(individualOrder("CN-GD", "张三", "example.com"), `["example.com"]`, `["例子.中国", "example.com"]`, 1)
	id, token := owner.startOrder(m, body)

	type shown struct {
		Domains []string `json:"domains"`
		ASCII   []string `json:"ascii"`
	}
	read := func(b *browser, sel string) shown {
		return eval[shown](b, fmt.Sprintf(`(() => {
			const root = document.querySelector(%q);
			const texts = (s) => root ? [...root.querySelectorAll(s)].map((e) => e.textContent) : [];
			return {domains: texts('.domain'), ascii: texts('.domain-ascii')};
		})()`, sel))
	}
	want := shown{Domains: []string{"例子.中国", "example.com"}, ASCII: []string{"(xn--fsqu00a.xn--fiqs8s)"}}
	check := func(where string, got shown) {
		t.Helper()
		if !slices.Equal(got.Domains, want.Domains) || !slices.Equal(got.ASCII, want.ASCII) {
			t.Errorf("%s shows %+v, want %+v", where, got, want)
		}
	}
	owner.waitFor("the order's domains", `document.querySelectorAll('#order-chip .domain').length === 2`, 10*time.Second)
	check("the owner's page", read(owner, "#order-chip"))
	owner.shot("chip")

	// Every required material from outside, then submitted, so that the order is queued.
	ctx := testCtx(t)
	call := func(method, path string, body []byte, ctype string, want int) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, m.URL+"/api/v1/orders/"+id+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if resp.StatusCode != want {
			resp.Body.Close()
			t.Fatalf("%s %s: %s", method, path, resp.Status)
		}
		return resp
	}
	call("PUT", "/upload-method", []byte(`{"method":"pc"}`), "application/json", http.StatusOK).Body.Close()
	resp := call("GET", "", nil, "", http.StatusOK)
	var got struct {
		Order struct {
			Required []struct {
				Slot     string `json:"slot"`
				Required bool   `json:"required"`
			} `json:"required_materials"`
		} `json:"order"`
	}
	err := json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	img := solidJPEG(t, 900, 600, color.RGBA{240, 240, 240, 255})
	for _, r := range got.Order.Required {
		if r.Required {
			call("PUT", "/materials/"+r.Slot, img, "image/jpeg", http.StatusCreated).Body.Close()
		}
	}
	call("POST", "/submit", nil, "", http.StatusOK).Body.Close()

	rv := owner.tab("domains-both-reviewer")
	rv.run(chromedp.Navigate(m.URL + "/review"))
	rv.waitVisible("#wb-login")
	rv.run(chromedp.SendKeys(chromedp.CSS("#wb-name"), "alice"), chromedp.SendKeys(chromedp.CSS("#wb-key"), key), chromedp.Click(chromedp.CSS("#wb-login-go")))
	row := fmt.Sprintf(`#wb-queue-body tr[data-order=%q]`, id)
	rv.waitText(row, "张三")
	check("the queue", read(rv, row))
	rv.shot("queue")
	rv.run(chromedp.Click(chromedp.CSS(row + " button[data-open]")))
	rv.waitVisible("#wb-work")
	field := `.wb-field[data-field="domains"]`
	rv.waitFor("the domains field", fmt.Sprintf(`!!document.querySelector(%q)`, field+" .domain"), 10*time.Second)
	check("the reviewer's fields", read(rv, field))
	rv.shot("fields")
}
