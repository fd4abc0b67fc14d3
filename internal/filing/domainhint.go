package filing

import (
	"net/url"
	"strconv"
	"strings"
)

// domainAsAddress recognises the commonest wrong domain: a web address
// ("http://www.example.com/", "example.com/index.html") instead of a host name. It returns
// the host name meant, when taking it out of the address leaves a valid domain.
func domainAsAddress(d string) (host string, ok bool) {
	rest := d
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if rest == d || !validDomain(rest) {
		return "", false
	}
	return rest, true
}

// invalidDomain is the answer for the domain at index i: for a web address it says what to
// drop and which domain to write instead (details.suggest), so that a page can offer it.
// The messages never repeat what was typed (a message is text the page shows as it is,
// and an error's text should not carry a sender's words back): they name the domain by
// its place in the list, details.index, and a suggestion lives in details.suggest alone.
func invalidDomain(d string, i int) error {
	details := map[string]any{"field": "domains", "index": i}
	n := strconv.Itoa(i + 1)
	host, ok := domainAsAddress(d)
	if !ok {
		return ErrInvalidRequest.WithMessage(
			"Domain "+n+" is not a valid domain name.",
			"第 "+n+" 个域名格式不正确。").WithDetails(details)
	}
	details["suggest"] = host
	drop := "http:// 等前缀和路径"
	if u, err := url.Parse(d); err == nil && (u.Path == "" || u.Path == "/") && u.RawQuery == "" {
		// Only the two schemes people paste are named; any other is "the prefix".
		switch strings.ToLower(u.Scheme) {
		case "http":
			drop = "http://"
		case "https":
			drop = "https://"
		}
	}
	return ErrInvalidRequest.WithMessage(
		"Domain "+n+" is a web address: give the domain name only, without http:// or a path.",
		"第 "+n+" 个域名是网址：请只填写域名，去掉 "+drop+"。").WithDetails(details)
}
