package filing_test

import (
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

// A web address typed as a domain is refused, saying what to drop and which domain was
// meant (details.suggest); other bad domains get no suggestion.
func TestNewOrderDomainAsAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, domain, suggest, says string
	}{
		{"http with slash", "http://www.example.com/", "www.example.com", "http://"},
		{"https", "https://example.com", "example.com", "https://"},
		{"path", "example.com/index.html", "example.com", "路径"},
		{"scheme and path", "http://example.com/a?b=1", "example.com", "路径"},
		{"no host inside", "http:///", "", ""},
		{"not an address", "exa_mple.com", "", ""},
		{"another scheme is not named", "javascript://example.com", "example.com", "前缀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := individualInput()
			in.Domains = []string{tt.domain}
			_, err := filing.NewOrder("ord_1", in, now)
			e := checkErr(t, err, filing.CodeInvalidRequest)
			checkDetail(t, e, "field", "domains")
			got, _ := e.Details["suggest"].(string)
			if got != tt.suggest {
				t.Errorf("details.suggest = %q, want %q", got, tt.suggest)
			}
			if tt.says != "" && !strings.Contains(e.MessageZh, tt.says) {
				t.Errorf("message_zh %q does not say to drop %q", e.MessageZh, tt.says)
			}
			// What was typed, and the domain made of it, stay out of the messages: the
			// suggestion is in details.suggest, the place in details.index.
			checkDetail(t, e, "index", 0)
			for _, msg := range []string{e.Message, e.MessageZh} {
				if strings.Contains(msg, "example") || strings.Contains(msg, "exa_mple") || strings.Contains(msg, "index.html") {
					t.Errorf("the message repeats what was typed: %q", msg)
				}
			}
		})
	}
}
