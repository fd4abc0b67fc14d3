package webhook_test

import (
	"io"
	"log"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// receiverExample is the receiver shown in docs/operations.md, compiled here so the doc's
// snippet cannot drift from a library that builds; TestReceiverExampleMatchesDoc checks the
// doc still says the same.
func receiverExample() {
	wh, err := standardwebhooks.NewWebhook(os.Getenv("BEIANSCAN_WEBHOOK_SECRET")) // one whsec_ secret
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/hooks", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := wh.Verify(body, r.Header); err != nil { // signature and a 5-minute timestamp window
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		id := r.Header.Get("webhook-id") // seen before? answer 2xx and do nothing
		_ = id
		w.WriteHeader(http.StatusNoContent) // quickly: do the work after answering
	})
}

var _ = receiverExample

func TestReceiverExampleMatchesDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## A webhook receiver in Go.*?```go\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/operations.md has no Go receiver snippet")
	}
	src, err := os.ReadFile("receiver_example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	rest := string(src)
	for _, line := range strings.Split(string(m[1]), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "import ") {
			continue
		}
		i := strings.Index(rest, line)
		if i < 0 {
			t.Fatalf("doc line %q is not in receiverExample (in order)", line)
		}
		rest = rest[i+len(line):]
	}
}
