// The pages' Content-Security-Policy: no page may be framed, and no script runs but the
// site's own files, so an injected <script> or on* attribute does nothing.

package httpx

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
)

// Header is the response header the policy goes in.
const CSPHeader = "Content-Security-Policy"

// styleElement finds the text of each <style> element; a page's inline styles are allowed
// by their hashes rather than by 'unsafe-inline'.
var styleElement = regexp.MustCompile(`(?is)<style(?:\s[^>]*)?>(.*?)</style\s*>`)

// Policy returns the policy of an HTML page. page is the page's source: each of its
// <style> elements is allowed by the SHA-256 of its text, which must therefore be static
// (html/template passes text outside actions through unchanged, so a template's source
// hashes as the page it renders). Style attributes stay refused: they cannot be hashed
// without 'unsafe-hashes'. connect lists further sources for fetch and websockets
// (e.g. "wss://beian.example.com"); 'self' is always there.
func CSP(page string, connect ...string) string {
	style := []string{"'self'"}
	for _, m := range styleElement.FindAllStringSubmatch(page, -1) {
		sum := sha256.Sum256([]byte(m[1]))
		h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !slices.Contains(style, h) {
			style = append(style, h)
		}
	}
	conn := []string{"'self'"}
	for _, c := range connect {
		if c != "" && !slices.Contains(conn, c) {
			conn = append(conn, c)
		}
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src " + strings.Join(style, " "),
		"img-src 'self' data: blob:",
		"connect-src " + strings.Join(conn, " "),
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// Directives splits a policy into its directives' sources, by directive name.
func CSPDirectives(policy string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		name := strings.ToLower(f[0])
		if _, dup := out[name]; !dup { // a browser takes the first of a repeated directive
			out[name] = f[1:]
		}
	}
	return out
}
