package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestDomainsShownBothWays: every view a person reads an order's domains from carries
// their ASCII forms beside them (domains_ascii, one per domain, in the same order: the
// punycode of an IDN, an ASCII domain itself), and the printed verification form shows
// the punycode beside the Unicode form, in its own element, only where the two differ.
func TestDomainsShownBothWays(t *testing.T) {
	w := startWorkbench(t, nil)
	in := gdIndividual()
	// Typed in capitals and as punycode: both are stored, and shown, in their Unicode form.
	in["domains"] = []string{"例子.中国", "EXAMPLE.com", "xn--e1afmkfd.xn--p1ai"}
	o := createWith(t, w.m, in, "pc")
	unicode := []string{"例子.中国", "example.com", "пример.рф"}
	ascii := []string{"xn--fsqu00a.xn--fiqs8s", "example.com", "xn--e1afmkfd.xn--p1ai"}
	both := func(t *testing.T, what string, v any) {
		t.Helper()
		m, _ := v.(map[string]any)
		if got := strs(m["domains"]); !slices.Equal(got, unicode) {
			t.Errorf("%s: domains %q, want %q", what, got, unicode)
		}
		if got := strs(m["domains_ascii"]); !slices.Equal(got, ascii) {
			t.Errorf("%s: domains_ascii %q, want %q", what, got, ascii)
		}
	}

	both(t, "the desktop's order", orderOf(must(t, do(t, req{method: "GET", url: o.url(""), token: o.Token}), http.StatusOK)))
	putStd(t, o, testJPEG(t, 400, 400))
	both(t, "the submitted order", orderOf(must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)))

	q := must(t, do(t, req{method: "GET", url: w.url("/queue"), token: w.as("alice")}), http.StatusOK)
	found := false
	for _, e := range q.Body["orders"].([]any) {
		if e.(map[string]any)["id"] == o.ID {
			found = true
			both(t, "the queue entry", e)
		}
	}
	if !found {
		t.Errorf("the submitted order is not in the queue: %s", q.Raw)
	}
	both(t, "the reviewer's view", orderOf(must(t, do(t, req{method: "POST", url: w.url("/orders/" + o.ID + "/hold"), token: w.as("alice")}), http.StatusOK)))

	form := string(must(t, do(t, req{method: "GET", url: o.url("/verification-form"), token: o.Token}), http.StatusOK).Raw)
	for _, want := range []string{
		`<span class="domain">例子.中国</span> <span class="domain-ascii">(xn--fsqu00a.xn--fiqs8s)</span>`,
		`<span class="domain">example.com</span>、`,
		`<span class="domain">пример.рф</span> <span class="domain-ascii">(xn--e1afmkfd.xn--p1ai)</span>`,
	} {
		if !strings.Contains(form, want) {
			t.Errorf("the printed form lacks %s", want)
		}
	}
	if strings.Contains(form, "(example.com)") {
		t.Errorf("the printed form repeats an ASCII domain as its own punycode")
	}
}

// strs is a JSON array of strings; nil when v is not one.
func strs(v any) []string {
	a, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, len(a))
	for i, s := range a {
		out[i], _ = s.(string)
	}
	return out
}
