package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/server"
)

// TestTamperedBlobIsUnavailable: an image whose stored ciphertext was altered is not served
// and not a 500: the blob store failed this read (503 unavailable), and the log says which
// blob failed authentication, with nothing of the image or the order's people.
func TestTamperedBlobIsUnavailable(t *testing.T) {
	var sink lockedBuffer
	dataDir := t.TempDir()
	m := start(t, func(c *server.Config) {
		c.DataDir = dataDir
		c.Logger = slog.New(slog.NewTextHandler(&sink, nil))
	})
	in := gdIndividual()
	in["province"] = "CN-BJ"
	o := createOrder(t, m, in)
	r := must(t, do(t, req{method: "PUT", url: o.url("/materials/subject_leader_id_front"), token: o.Token, body: appsim.SampleImage("x", 7)}), http.StatusCreated)
	sha := r.Body["material"].(map[string]any)["sha256"].(string)
	path := filepath.Join(dataDir, "blobs", o.ID, sha)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	got := do(t, req{method: "GET", url: o.url("/materials/subject_leader_id_front"), token: o.Token})
	wantError(t, got, http.StatusServiceUnavailable, "unavailable")
	line := ""
	for _, l := range strings.Split(sink.String(), "\n") {
		if strings.Contains(l, "failed authentication") {
			line = l
		}
	}
	if !strings.Contains(line, sha) || !strings.Contains(line, "level=WARN") {
		t.Fatalf("no warning naming the blob that failed authentication; log:\n%s", sink.String())
	}
	if strings.Contains(line, "张三") {
		t.Fatalf("the log line holds a name: %s", line)
	}
}

// TestRefusedAuditWriteIsUnavailable: when the audit entry of a read cannot be written (here
// the audit stream is a key of the wrong type, as a Redis refusing XADD), the read is not
// served, with 503 unavailable, not 500.
func TestRefusedAuditWriteIsUnavailable(t *testing.T) {
	m := start(t, nil)
	in := gdIndividual()
	in["province"] = "CN-BJ"
	o := createOrder(t, m, in)
	must(t, do(t, req{method: "PUT", url: o.url("/materials/subject_leader_id_front"), token: o.Token, body: appsim.SampleImage("x", 8)}), http.StatusCreated)
	ctx := context.Background()
	key := rediskeys.Audit(o.ID)
	if err := m.Redis.Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if err := m.Redis.Set(ctx, key, "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/materials/subject_leader_id_front", "/verification-form"} {
		got := do(t, req{method: "GET", url: o.url(path), token: o.Token})
		wantError(t, got, http.StatusServiceUnavailable, "unavailable")
	}
}
