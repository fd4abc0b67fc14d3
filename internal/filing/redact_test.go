package filing_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestOrderRedactedInLogs: an order logged or printed by mistake shows no name, ID number
// or domain. The organization order has two different people, so both are checked.
func TestOrderRedactedInLogs(t *testing.T) {
	o := newOrder(t, organizationInput())
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("x", "order", o, "person", o.WebsiteLeader, "leader", o.SubjectLeader)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		fmt.Fprintf(&buf, verb+"\n", *o)
		fmt.Fprintf(&buf, verb+"\n", o.SubjectLeader)
		fmt.Fprintf(&buf, verb+"\n", o.WebsiteLeader)
	}
	out := buf.String()
	secrets := []string{o.SubjectName, o.SubjectLeader.Name, o.SubjectLeader.IDNumber, o.WebsiteLeader.Name, o.WebsiteLeader.IDNumber}
	for _, secret := range append(secrets, o.Domains...) {
		if strings.Contains(out, secret) {
			t.Errorf("output holds %q:\n%s", secret, out)
		}
	}
	for _, shown := range []string{o.SubjectLeader.MaskedIDNumber(), o.WebsiteLeader.MaskedIDNumber(), "id=" + o.ID} {
		if !strings.Contains(out, shown) {
			t.Errorf("output lost %q, which may be shown:\n%s", shown, out)
		}
	}
}
