package filing

import (
	"net/url"
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
func invalidDomain(d string, i int) error {
	details := map[string]any{"field": "domains", "index": i}
	host, ok := domainAsAddress(d)
	if !ok {
		return ErrInvalidRequest.WithMessage(
			"Not a valid domain name: "+truncate(d, 80)+".",
			"域名格式不正确："+truncate(d, 80)+"。").WithDetails(details)
	}
	details["suggest"] = host
	drop := "http:// 等前缀和路径"
	if u, err := url.Parse(d); err == nil && u.Scheme != "" && (u.Path == "" || u.Path == "/") && u.RawQuery == "" {
		drop = u.Scheme + "://"
	}
	return ErrInvalidRequest.WithMessage(
		"Give the domain name only, without http:// or a path: "+truncate(host, 80)+".",
		"请只填写域名，去掉 "+drop+"：例如填写 "+truncate(host, 80)+"。").WithDetails(details)
}
