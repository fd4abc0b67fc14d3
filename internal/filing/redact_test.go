package filing_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

// TestOrderRedactedInLogs: an order logged or printed by mistake shows no name, ID number
// or domain.
func TestOrderRedactedInLogs(t *testing.T) {
	p := filing.Person{Name: "张三", IDType: filing.ResidentID, IDNumber: "11010519491231002X", IDValidUntil: filing.LongTerm}
	o := &filing.Order{ID: "abc", State: filing.StateDraft, SubjectName: "示例公司", SubjectLeader: p, WebsiteLeader: p, Domains: []string{"example.com"}}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("x", "order", o, "person", p, "leader", o.SubjectLeader)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		fmt.Fprintf(&buf, verb+"\n", *o)
		fmt.Fprintf(&buf, verb+"\n", p)
	}
	out := buf.String()
	for _, secret := range []string{"张三", "11010519491231002X", "示例公司"} {
		if strings.Contains(out, secret) {
			t.Errorf("output holds %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "110***********002X") || !strings.Contains(out, "id=abc") {
		t.Errorf("output lost what may be shown:\n%s", out)
	}
}
