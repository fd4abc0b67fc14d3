package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/server"
)

// lockedBuffer is a log sink for several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoPersonalDataInLogs runs the whole flow, its failures included, with debug logging
// in both formats and checks that no line holds an ID number, a name, a domain, a token, a
// pairing code or image bytes (docs/operations.md, Privacy).
func TestNoPersonalDataInLogs(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var sink lockedBuffer
			opts := &slog.HandlerOptions{Level: slog.LevelDebug}
			var log *slog.Logger
			if format == "json" {
				log = slog.New(slog.NewJSONHandler(&sink, opts))
			} else {
				log = slog.New(slog.NewTextHandler(&sink, opts))
			}
			// Whatever logs through the default logger is caught too.
			prev := slog.Default()
			slog.SetDefault(log)
			defer slog.SetDefault(prev)

			m := start(t, func(c *server.Config) { c.Logger = log })
			secrets := walkEverything(t, m)
			m.Close()

			out := sink.String()
			if testing.Verbose() {
				t.Log(out)
			}
			if !strings.Contains(out, "request") {
				t.Fatalf("nothing logged; the test would prove nothing:\n%s", out)
			}
			for _, line := range strings.Split(out, "\n") {
				for what, s := range secrets {
					if s != "" && strings.Contains(line, s) {
						t.Errorf("log line holds %s (%q): %s", what, s, line)
					}
				}
			}
		})
	}
}

// walkEverything drives an order through every endpoint, good requests and bad, and returns
// the personal data and secrets it used, by what they are.
func walkEverything(t *testing.T, m *server.Main) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	secrets := map[string]string{
		"subject ID number": subjectIDNumber, "website ID number": websiteIDNumber,
		"subject name": "广州示例科技有限公司", "subject leader": "张三", "website leader": "李四",
		"domain": "example.com", "second domain": "example.cn",
		"bad ID number": "110105194912310021", "bad domain": "bad_domain",
		"jpeg magic": "\xff\xd8\xff", "jpeg magic as numbers": "255 216 255",
	}
	// A refused order: its bad ID number must not be logged either.
	bad := gdOrganization()
	bad["subject_leader"].(map[string]any)["id_number"] = "110105194912310021"
	do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: bad})
	bad = gdOrganization()
	bad["domains"] = []string{"bad_domain"}
	do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: bad})

	o := createOrder(t, m, gdOrganization())
	secrets["desktop token"] = o.Token
	conn, _ := dial(t, m.URL, o)
	pairApp(t, o)
	scanURL := scanQR(t, o)
	_, code, err := appsim.ParseScanURL(scanURL)
	if err != nil {
		t.Fatal(err)
	}
	secrets["pairing code"] = code
	secrets["pairing code's secret part"] = code[strings.Index(code, ".")+1:]
	// A guessed code and a wrong device's second claim.
	(&appsim.Client{DeviceID: "guesser"}).Claim(ctx, m.URL, code+"x")
	s, err := appsim.Walk(ctx, &appsim.Client{DeviceID: "log-phone"}, scanURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets["phone token"] = s.Token
	(&appsim.Client{DeviceID: "another"}).Claim(ctx, m.URL, code)
	img := appsim.SampleImage("verification_form", 7)
	secrets["image bytes (hex)"] = hex.EncodeToString(img[20:40])
	secrets["image bytes (base64)"] = base64.StdEncoding.EncodeToString(img[21:45])
	if _, err := s.Upload(ctx, "verification_form", img, "image/jpeg", "idem-1"); err != nil {
		t.Fatal(err)
	}
	s.Upload(ctx, "supplementary", img, "image/jpeg", "")                  // not allowed in the app
	s.Upload(ctx, "verification_form", img[:len(img)/2], "image/jpeg", "") // corrupt
	do(t, req{method: "PUT", url: o.url("/materials/supplementary"), token: o.Token, body: img})
	do(t, req{method: "GET", url: o.url("/materials/supplementary"), token: o.Token})
	do(t, req{method: "GET", url: o.url("/materials/face_photo"), header: map[string]string{"X-Api-Key": testOperatorKey}})
	do(t, req{method: "GET", url: o.url("/verification-form"), token: o.Token})
	do(t, req{method: "GET", url: o.url("/audit"), token: o.Token})
	do(t, req{method: "DELETE", url: o.url("/materials/supplementary"), token: o.Token})
	do(t, req{method: "GET", url: o.url(""), token: "Bearer-of-nothing"})
	must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	do(t, req{method: "POST", url: o.url("/review-result"), header: map[string]string{"X-Api-Key": testOperatorKey},
		body: map[string]any{"approved": false, "reason": "核验单未加盖公章"}})
	do(t, req{method: "POST", url: o.url("/withdraw"), token: o.Token})
	conn.Close()
	return secrets
}
