package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/redisstore"
	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/internal/sweep"
	"github.com/beianscan/beianscan/internal/testclock"
)

// TestProductionNeedsSecret: with a Redis URL the server refuses to start without a shared
// secret, or with one too short to be a key.
func TestProductionNeedsSecret(t *testing.T) {
	mr := miniredis.RunT(t)
	for _, secret := range []string{"", "short"} {
		_, err := server.Open(server.Config{
			Addr: "127.0.0.1:0", RedisURL: "redis://" + mr.Addr(), DataDir: t.TempDir(), JWTSecret: secret,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err == nil || !strings.Contains(err.Error(), "BEIANSCAN_JWT_SECRET") {
			t.Errorf("secret %q: err %v, want a refusal naming BEIANSCAN_JWT_SECRET", secret, err)
		}
	}
}

// TestReadiness: /readyz follows Redis; /healthz does not.
func TestReadiness(t *testing.T) {
	mr := miniredis.RunT(t)
	m := start(t, func(c *server.Config) { c.RedisURL = "redis://" + mr.Addr() })
	must(t, do(t, req{method: "GET", url: m.URL + "/readyz"}), http.StatusOK)
	mr.Close()
	must(t, do(t, req{method: "GET", url: m.URL + "/readyz"}), http.StatusServiceUnavailable)
	must(t, do(t, req{method: "GET", url: m.URL + "/healthz"}), http.StatusOK)
}

// TestIdempotentUpload: a retried upload with the same Idempotency-Key gets the first
// answer and changes nothing more.
func TestIdempotentUpload(t *testing.T) {
	m := start(t, nil)
	o := createOrder(t, m, gdIndividual())
	p := pairApp(t, o)
	_, code, _ := appsim.ParseScanURL(p["scan_url"].(string))
	ctx := context.Background()
	s, err := (&appsim.Client{DeviceID: "retry"}).Claim(ctx, m.URL, code)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Upload(ctx, "subject_leader_id_front", appsim.SampleImage("a", 1), "image/jpeg", "key-1")
	if err != nil {
		t.Fatal(err)
	}
	before := stored(t, o)
	// The retry carries other bytes, as a confused client might: the first answer stands.
	again, err := s.Upload(ctx, "subject_leader_id_front", appsim.SampleImage("b", 2), "image/jpeg", "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Fatalf("retry answered %s, first answer was %s", again, first)
	}
	if after := stored(t, o); after != before {
		t.Fatalf("retry changed the order:\n%s\n%s", before, after)
	}
	// Another key is another upload.
	third, err := s.Upload(ctx, "subject_leader_id_front", appsim.SampleImage("b", 2), "image/jpeg", "key-2")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, third) {
		t.Fatal("a new key returned the first answer")
	}
}

// multipartFiles is a multipart form with each file as a part of field.
func multipartFiles(t testing.TB, field string, files ...[]byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i, f := range files {
		fw, err := w.CreateFormFile(field, "part"+string(rune('0'+i))+".jpg")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(f)
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// TestDesktopUploads: a PC order takes raw and multipart uploads, a stitched image, and an
// oversized photo with ?fit=1; submit then succeeds.
func TestDesktopUploads(t *testing.T) {
	m := start(t, nil)
	in := gdIndividual()
	in["province"] = "CN-BJ"
	o := createWith(t, m, in, "pc")

	// Raw body.
	r := must(t, do(t, req{method: "PUT", url: o.url("/materials/subject_leader_id_front"), token: o.Token,
		body: appsim.SampleImage("subject_leader_id_front", 1), header: map[string]string{"Content-Type": "image/jpeg"}}), http.StatusCreated)
	if mat := r.Body["material"].(map[string]any); mat["via"] != "pc" || mat["fitted"] != false {
		t.Fatalf("raw upload material %v", mat)
	}
	// Multipart field "file".
	ct, body := multipartFiles(t, "file", appsim.SampleImage("subject_leader_id_back", 2))
	must(t, do(t, req{method: "PUT", url: o.url("/materials/subject_leader_id_back"), token: o.Token,
		body: body, header: map[string]string{"Content-Type": ct}}), http.StatusCreated)
	// Stitched: the verification form with an authorization letter, as the FAQ asks.
	ct, body = multipartFiles(t, "file", appsim.SampleImage("verification_form", 3), appsim.SampleImage("supplementary", 4))
	st := must(t, do(t, req{method: "POST", url: o.url("/materials/verification_form/stitch"), token: o.Token,
		body: body, header: map[string]string{"Content-Type": ct}}), http.StatusCreated)
	sm := st.Body["material"].(map[string]any)
	if sm["format"] != "jpeg" || sm["size"].(float64) >= 4<<20 || sm["height"].(float64) <= sm["width"].(float64) {
		t.Fatalf("stitched material %v: want a JPEG under 4 MiB, taller than wide", sm)
	}
	// Fit: a photo over 4 MiB is refused as it is and stored under 4 MiB with ?fit=1.
	big := photo35MB(t)
	over := append(append([]byte{}, big...), make([]byte, 4<<20-len(big)+1)...) // trailing bytes past 4 MiB
	wantError(t, do(t, req{method: "PUT", url: o.url("/materials/domain_certificate"), token: o.Token, body: over}),
		http.StatusRequestEntityTooLarge, "too_large")
	f := must(t, do(t, req{method: "PUT", url: o.url("/materials/domain_certificate?fit=1"), token: o.Token, body: over}), http.StatusCreated)
	fm := f.Body["material"].(map[string]any)
	if fm["fitted"] != true || fm["original_size"].(float64) != float64(len(over)) || fm["size"].(float64) >= 4<<20 {
		t.Fatalf("fitted material %v", fm)
	}

	sub := must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	if sub.Body["order"].(map[string]any)["state"] != "submitted" {
		t.Fatalf("submit: %s", sub.Raw)
	}
}

// TestVerificationForm: the printable form carries each province's rule.
func TestVerificationForm(t *testing.T) {
	m := start(t, nil)
	org := gdIndividual()
	org["subject_type"], org["organization_certificate_type"], org["province"] = "organization", "business_license", "CN-BJ"
	jx := gdIndividual()
	jx["province"] = "CN-JX"
	bj := gdIndividual()
	bj["province"] = "CN-BJ"
	tests := []struct {
		name    string
		in      map[string]any
		want    []string
		notWant []string
	}{
		{"guangdong individual writes the commitment", gdIndividual(), []string{"广东省", "本人已履行网站备案信息当面核验手续", "愿承担关闭网站并注销备案（列黑名单）等相应处理", "黑色签字笔"}, []string{"公章", "手印"}},
		{"organization needs the seal", org, []string{"加盖单位公章", "黑色签字笔"}, []string{"本人已履行"}},
		{"jiangxi individual adds a fingerprint", jx, []string{"手印", "江西"}, []string{"公章", "本人已履行"}},
		{"other individuals sign", bj, []string{"清晰签字"}, []string{"手印", "公章", "本人已履行"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := createOrder(t, m, tt.in)
			r := must(t, do(t, req{method: "GET", url: o.url("/verification-form"), token: o.Token}), http.StatusOK)
			page := string(r.Raw)
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("form lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(page, w) {
					t.Errorf("form has %q", w)
				}
			}
			// The printed form is signed by the owner: it shows the whole number (docs/operations.md, Privacy).
			if !strings.Contains(page, "11010519491231002X") {
				t.Error("form lacks the whole ID number")
			}
		})
	}
}

// TestScanPage: an ordinary camera's landing page says to use the app, and does not echo
// the code back.
func TestScanPage(t *testing.T) {
	m := start(t, nil)
	r := must(t, do(t, req{method: "GET", url: m.URL + "/m/scan?code=secret-code-value"}), http.StatusOK)
	page := string(r.Raw)
	for _, w := range []string{"阿里云 app", "3.16.0", "扫描订单二维码"} {
		if !strings.Contains(page, w) {
			t.Errorf("scan page lacks %q", w)
		}
	}
	if strings.Contains(page, "secret-code-value") {
		t.Error("scan page echoes the code")
	}
	if strings.Contains(page, "二维码已过期") || strings.Contains(page, "wechat-hint") || strings.Contains(page, "app-download") {
		t.Error("a code naming no order, outside WeChat, without a download URL: the page shows an expiry, the WeChat hint or a download link")
	}
}

// TestScanPageStates: the scan page links the configured download page, tells WeChat users
// to open it in a browser, and says a replaced QR has expired.
func TestScanPageStates(t *testing.T) {
	m := start(t, func(c *server.Config) { c.AppDownloadURL = "https://app.example.com/download?from=scan" })
	o := createOrder(t, m, gdIndividual())
	first := pairApp(t, o)
	renewed := must(t, do(t, req{method: "POST", url: o.url("/pairing"), token: o.Token}), http.StatusCreated)
	second := renewed.Body["pairing"].(map[string]any)["scan_url"].(string)

	page := func(url, ua string) string {
		t.Helper()
		r := must(t, do(t, req{method: "GET", url: url, header: map[string]string{"User-Agent": ua}}), http.StatusOK)
		return string(r.Raw)
	}
	safari := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
	wechat := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI"

	live := page(second, safari)
	if !strings.Contains(live, `href="https://app.example.com/download?from=scan"`) {
		t.Error("the scan page does not link the configured download page")
	}
	if strings.Contains(live, "二维码已过期") || strings.Contains(live, "wechat-hint") {
		t.Error("the live QR's page says it expired, or shows the WeChat hint to Safari")
	}
	if !strings.Contains(page(second, wechat), "在浏览器中打开") {
		t.Error("inside WeChat the page does not say to open it in a browser")
	}
	if old := page(first["scan_url"].(string), safari); !strings.Contains(old, "二维码已过期，请在电脑上刷新") {
		t.Error("the replaced QR's page does not say it expired")
	}
}

// TestGuessWindowPasses: an IP blocked for guessing is let through again once its
// 10-minute window has passed, by the server's clock rather than a Redis TTL.
func TestGuessWindowPasses(t *testing.T) {
	clk := testclock.New(time.Now())
	m := start(t, func(c *server.Config) { c.ClaimGuessLimit = 2; c.Now = clk.Now })
	ip := fmt.Sprintf("192.0.2.%d", time.Now().UnixNano()%250+1)
	m.Redis.Del(context.Background(), "beian:guess:{"+ip+"}")
	claim := func() reply {
		return do(t, req{method: "POST", url: m.URL + "/m/v1/pairings/claim", body: map[string]string{"code": "nope.nope"},
			header: map[string]string{"X-App-Version": "3.16.0", "X-Device-Id": "d", "X-Forwarded-For": ip}})
	}
	wantError(t, claim(), http.StatusNotFound, "pairing_not_found")
	wantError(t, claim(), http.StatusNotFound, "pairing_not_found")
	blocked := claim()
	wantError(t, blocked, http.StatusTooManyRequests, "rate_limited")
	if after := blocked.Body["error"].(map[string]any)["details"].(map[string]any)["retry_after_seconds"].(float64); after < 590 || after > 600 {
		t.Fatalf("retry_after_seconds %v, want about 600", after)
	}
	clk.Add(9 * time.Minute)
	wantError(t, claim(), http.StatusTooManyRequests, "rate_limited")
	clk.Add(time.Minute)
	wantError(t, claim(), http.StatusNotFound, "pairing_not_found")
}

// TestReplacedImagesLeaveTheDisk: identity documents are not kept once no slot refers to
// them: a replaced image and a removed one are deleted from the blob store by the next
// sweep past the age rule (the service itself deletes nothing: TestRemoveRacesUpload).
func TestReplacedImagesLeaveTheDisk(t *testing.T) {
	dataDir := t.TempDir()
	m := start(t, func(c *server.Config) { c.DataDir = dataDir })
	in := gdIndividual()
	in["province"] = "CN-BJ"
	o := createOrder(t, m, in)
	onDisk := func(sha string) bool {
		_, err := os.Stat(filepath.Join(dataDir, "blobs", o.ID, sha))
		return err == nil
	}
	put := func(img []byte) string {
		r := must(t, do(t, req{method: "PUT", url: o.url("/materials/subject_leader_id_front"), token: o.Token, body: img}), http.StatusCreated)
		return r.Body["material"].(map[string]any)["sha256"].(string)
	}
	first := put(appsim.SampleImage("x", 1))
	if !onDisk(first) {
		t.Fatal("uploaded image is not on disk")
	}
	later := time.Now().Add(5 * time.Minute)
	sweeper := sweep.New(sweep.Config{Store: m.Blobs.Raw(), StoreName: t.Name(), Refs: redisstore.New(m.Redis, 0), Redis: m.Redis,
		Now: func() time.Time { return later }})
	sweepNow := func() {
		t.Helper()
		if _, err := sweeper.Once(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	second := put(appsim.SampleImage("x", 2))
	sweepNow()
	if onDisk(first) || !onDisk(second) {
		t.Fatalf("after replacing: first on disk %v, second on disk %v", onDisk(first), onDisk(second))
	}
	must(t, do(t, req{method: "DELETE", url: o.url("/materials/subject_leader_id_front"), token: o.Token}), http.StatusNoContent)
	sweepNow()
	if onDisk(second) {
		t.Fatal("removed image is still on disk")
	}
}

// TestDiskFailureChangesNothing: when the image cannot be made durable (a failing disk, an
// S3 outage), the upload fails with 503 unavailable and Retry-After, the order is exactly
// as it was (no metadata without bytes), and once the store is back nothing is lost.
func TestDiskFailureChangesNothing(t *testing.T) { eachStore(t, diskFailure) }

func diskFailure(t *testing.T, st blobStore) {
	m := start(t, st.use)
	in := gdIndividual()
	in["province"] = "CN-BJ"
	o := createOrder(t, m, in)
	kept := appsim.SampleImage("x", 2)
	must(t, do(t, req{method: "PUT", url: o.url("/materials/subject_leader_id_back"), token: o.Token, body: kept}), http.StatusCreated)
	restore := st.fail(t, o.ID)
	before := stored(t, o)
	r := do(t, req{method: "PUT", url: o.url("/materials/subject_leader_id_front"), token: o.Token, body: appsim.SampleImage("x", 1)})
	wantError(t, r, http.StatusServiceUnavailable, "unavailable")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if after := stored(t, o); after != before {
		t.Fatalf("a failed upload changed the order:\n%s\n%s", before, after)
	}
	wantError(t, do(t, req{method: "GET", url: o.url("/materials/subject_leader_id_back"), token: o.Token}), http.StatusServiceUnavailable, "unavailable")
	restore()
	wantSameImage(t, o, "subject_leader_id_back", kept)
	must(t, do(t, req{method: "PUT", url: o.url("/materials/subject_leader_id_front"), token: o.Token, body: appsim.SampleImage("x", 1)}), http.StatusCreated)
}
