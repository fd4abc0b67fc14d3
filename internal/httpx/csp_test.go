package httpx_test

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"testing"

	"github.com/beianscan/beianscan/internal/httpx"
)

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func TestPolicy(t *testing.T) {
	const style1 = "\n  body { margin: 0; }\n"
	const style2 = "h1{color:red}"
	tests := []struct {
		name        string
		page        string
		connect     []string
		wantStyle   []string
		wantConnect []string
	}{
		{"no page", "", nil, []string{"'self'"}, []string{"'self'"}},
		{"no inline style", `<link rel="stylesheet" href="/a.css"><p style="x">`, nil, []string{"'self'"}, []string{"'self'"}},
		{"two style elements, one repeated, attributes and case",
			"<style>" + style1 + "</style><STYLE media=\"print\">" + style2 + "</style ><style>" + style1 + "</style>",
			nil, []string{"'self'", hash(style1), hash(style2)}, []string{"'self'"}},
		{"connect sources", "", []string{"wss://beian.example.com", "", "wss://beian.example.com", "ws://localhost:8080"},
			[]string{"'self'"}, []string{"'self'", "wss://beian.example.com", "ws://localhost:8080"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := httpx.CSP(tt.page, tt.connect...)
			d := httpx.CSPDirectives(p)
			for name, want := range map[string][]string{
				"default-src":     {"'self'"},
				"script-src":      {"'self'"},
				"style-src":       tt.wantStyle,
				"img-src":         {"'self'", "data:", "blob:"},
				"connect-src":     tt.wantConnect,
				"object-src":      {"'none'"},
				"base-uri":        {"'none'"},
				"form-action":     {"'self'"},
				"frame-ancestors": {"'none'"},
			} {
				if !slices.Equal(d[name], want) {
					t.Errorf("%s = %q, want %q\npolicy: %s", name, d[name], want, p)
				}
			}
			if len(d) != 9 {
				t.Errorf("%d directives, want 9: %s", len(d), p)
			}
		})
	}
}

func TestDirectives(t *testing.T) {
	d := httpx.CSPDirectives(" Default-Src 'self' ;; script-src a b; script-src c ")
	if !slices.Equal(d["default-src"], []string{"'self'"}) || !slices.Equal(d["script-src"], []string{"a", "b"}) || len(d) != 2 {
		t.Errorf("Directives = %q", d)
	}
}
