package static_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/internal/testclock"
)

const browserOperatorKey = "operator-key-of-the-browser-tests-0123"

// operatorPost sends what the provider's back office sends, from outside the browser, and
// returns the decoded answer.
func operatorPost(t *testing.T, m *server.Main, path, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(testCtx(t), "POST", m.URL+path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", browserOperatorKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != want {
		t.Fatalf("%s: %s %v", path, resp.Status, out)
	}
	return out
}

// TestBrowserOwnerOrders: a user of the provider's console whose session the back office
// opened sees 我的备案 at /: the owner's orders, newest first, each with its state in
// Chinese and no review or authority line while none happened; opening one shows that
// order as the page always does. Another owner's order is not listed.
func TestBrowserOwnerOrders(t *testing.T) {
	b := newBrowser(t, "owners")
	clk := testclock.New(time.Now())
	m := startServer(t, server.Config{OperatorKey: browserOperatorKey, Now: clk.Now})

	withOwner := func(owner, name, domain string) string {
		body := strings.Replace(individualOrder("CN-GD", name, domain), "{", `{"owner_id": "`+owner+`",`, 1)
		return operatorPost(t, m, "/api/v1/orders", body, http.StatusCreated)["order"].(map[string]any)["id"].(string)
	}
	older := withOwner("user-1", "王芳", "wangfang.cn")
	clk.Add(time.Second)
	newer := withOwner("user-1", "李雷", "lilei.cn")
	withOwner("user-2", "韩梅梅", "hanmeimei.cn")
	token := operatorPost(t, m, "/api/v1/owner-sessions", `{"owner_id": "user-1"}`, http.StatusCreated)["desktop_token"].(string)

	// The console's page hands the token to the page's origin, which makes it the cookie.
	b.run(chromedp.Navigate(m.URL + "/"))
	b.waitVisible("#view-form")
	if s := eval[int](b, `fetch('/api/v1/session', {method: 'POST', headers: {Authorization: 'Bearer `+token+`'}}).then(r => r.status)`); s != 204 {
		t.Fatalf("POST /api/v1/session: %d", s)
	}
	b.run(chromedp.Navigate(m.URL + "/"))
	b.waitVisible("#view-mine")
	if !eval[bool](b, `document.querySelector('#view-form').hidden`) {
		t.Errorf("the new order's form shows beside 我的备案")
	}
	ids := eval[[]string](b, `[...document.querySelectorAll('#mine-list li')].map(li => li.dataset.order)`)
	if strings.Join(ids, ",") != newer+","+older {
		t.Errorf("listed %v, want %s,%s (newest first, user-1's only)", ids, newer, older)
	}
	if s := b.text("#mine-list"); !strings.Contains(s, "草稿：待上传资料") || !strings.Contains(s, "lilei.cn") || strings.Contains(s, "韩梅梅") {
		t.Errorf("list text %q", s)
	}
	if n := eval[int](b, `document.querySelectorAll('.mine-review, .mine-authority').length`); n != 0 {
		t.Errorf("%d review or authority lines for orders nobody reviewed", n)
	}
	b.axe("我的备案")
	b.shot("mine")

	b.run(chromedp.Click(chromedp.CSS(`#mine-list li[data-order="` + older + `"] a.mine-open`)))
	b.waitVisible("#view-method")
	b.waitFor("the opened order's chip", `document.querySelector('#order-chip').textContent.includes('王芳')`, 10*time.Second)
	b.noTokenInURLs(token)
	b.shot("opened")
}
