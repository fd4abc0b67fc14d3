package webhook_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/beianscan/beianscan/internal/webhook"
)

// TestSignerRotation: with two secrets every request carries two signatures, and a
// receiver holding either secret accepts it (the library's verification).
func TestSignerRotation(t *testing.T) {
	old, next := newSecret(), newSecret()
	s, err := webhook.NewSigner(old + " " + next)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"order.created"}`)
	at := time.Now()
	sig, err := s.Sign("wh_x_1_created", at, body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(sig)); n != 2 {
		t.Fatalf("%d signatures, want 2: %q", n, sig)
	}
	h := http.Header{}
	h.Set("webhook-id", "wh_x_1_created")
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", sig)
	for _, secret := range []string{old, next} {
		wh, _ := standardwebhooks.NewWebhook(secret)
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("receiver with one of the secrets: %v", err)
		}
	}
	wh, _ := standardwebhooks.NewWebhook(newSecret())
	if wh.Verify(body, h) == nil {
		t.Error("a third secret verified it")
	}
}

func TestNewSignerRefuses(t *testing.T) {
	for _, tt := range []struct{ name, secrets string }{
		{"empty", ""},
		{"no prefix", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="},
		{"not base64", "whsec_!!!"},
		{"short", "whsec_c2hvcnQtc2VjcmV0"}, // 12 bytes
		{"second short", newSecret() + " whsec_c2hvcnQtc2VjcmV0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.NewSigner(tt.secrets)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.secrets != "" && strings.Contains(err.Error(), strings.Fields(tt.secrets)[0]) {
				t.Fatalf("the error repeats the secret: %v", err)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://backoffice.example.com/hooks", true},
		{"http://127.0.0.1:9000/hooks", true},
		{"http://[::1]:9000/hooks", true},
		{"http://localhost/hooks", true},
		{"http://backoffice.example.com/hooks", false},
		{"http://10.0.0.5/hooks", false},
		{"ftp://example.com/", false},
		{"/hooks", false},
	} {
		if err := webhook.CheckURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q) = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		attempts int
		j        float64
		want     time.Duration
	}{
		{1, 0.5, 5 * time.Second},
		{2, 0.5, 30 * time.Second},
		{3, 0.5, 2 * time.Minute},
		{6, 0.5, time.Hour},
		{40, 0.5, time.Hour},
		{1, 0, 4 * time.Second},
		{2, 0.999999, 36 * time.Second},
	} {
		if got := webhook.Backoff(tt.attempts, tt.j).Round(time.Second); got != tt.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.attempts, tt.j, got, tt.want)
		}
	}
}
