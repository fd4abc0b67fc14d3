package server_test

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/beianscan/beianscan/internal/redistest"
	"github.com/beianscan/beianscan/internal/server"
	"github.com/beianscan/beianscan/internal/webhook"
)

// backOffice is a webhook receiver that verifies each request with the Standard Webhooks
// library and records it. Until hold is closed it keeps each request waiting (a receiver
// that has not answered yet), tells held of it, and never counts it as delivered: those
// are the attempts of the instance the test kills.
type backOffice struct {
	t    testing.TB
	srv  *httptest.Server
	hook *standardwebhooks.Webhook
	mu   sync.Mutex
	got  map[string]int    // webhook-id → 2xx answers
	body map[string]string // webhook-id → type
	hold chan struct{}     // closed: answer
	held chan string
}

func newBackOffice(t testing.TB, secret string, holding bool) *backOffice {
	hook, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	b := &backOffice{t: t, hook: hook, got: map[string]int{}, body: map[string]string{}, hold: make(chan struct{}), held: make(chan string, 100)}
	if !holding {
		close(b.hold)
	}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backOffice) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	if err := b.hook.Verify(raw, r.Header); err != nil {
		b.t.Errorf("back office: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var body webhook.Body
	json.Unmarshal(raw, &body)
	id := r.Header.Get("webhook-id")
	select {
	case <-b.hold:
	default:
		b.held <- id
		select {
		case <-b.hold:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	b.mu.Lock()
	b.got[id]++
	b.body[id] = body.Type + " " + body.Data.OrderID
	b.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// deliveredFor returns the types delivered for an order.
func (b *backOffice) deliveredFor(orderID string) map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for id, n := range b.got {
		typ, oid, _ := strings.Cut(b.body[id], " ")
		if oid == orderID {
			out[typ] += n
		}
	}
	return out
}

func webhookSecret() string {
	k := make([]byte, 32)
	rand.Read(k)
	return "whsec_" + base64.StdEncoding.EncodeToString(k)
}

const webhookChildEnv = "BEIANSCAN_WEBHOOK_CRASH_CHILD"

// TestWebhookCrashChild is the instance TestWebhookKilledAfterAnswer kills: it runs only as
// that test's child process, a server on the Redis, receiver and scope it is given.
func TestWebhookCrashChild(t *testing.T) {
	spec := os.Getenv(webhookChildEnv)
	if spec == "" {
		t.Skip("runs only as the child of TestWebhookKilledAfterAnswer")
	}
	var c struct{ Redis, URL, Secret, Scope string }
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		t.Fatal(err)
	}
	m := start(t, func(cfg *server.Config) {
		cfg.RedisURL, cfg.WebhookURL, cfg.WebhookSecret, cfg.LimitScope = c.Redis, c.URL, c.Secret, c.Scope
		cfg.Webhooks.Lease = 2 * time.Second
	})
	fmt.Println("listening", m.URL)
	select {} // until SIGKILL
}

// TestWebhookKilledAfterAnswer: an instance answers a creation and a submission, starts
// delivering their webhooks and is killed (-9) before the receiver answers; another
// instance delivers both once the dead one's lease has ended.
func TestWebhookKilledAfterAnswer(t *testing.T) {
	rs := redistest.Start(t)
	secret := webhookSecret()
	office := newBackOffice(t, secret, true)
	scope := "wh-crash-" + fmt.Sprint(time.Now().UnixNano())
	spec, _ := json.Marshal(map[string]string{"Redis": "redis://" + rs.Addr, "URL": office.srv.URL, "Secret": secret, "Scope": scope})
	cmd := exec.Command(os.Args[0], "-test.run=^TestWebhookCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), webhookChildEnv+"="+string(spec))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("child said %q, %v", line, err)
	}
	child := &server.Main{URL: url}
	o := submittedPC(t, child) // answered: created, then submitted
	// The child's first attempt is under way and unanswered: then it dies.
	select {
	case <-office.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the child never tried to deliver")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(office.hold)

	// The other instance: it was not told of the change, it finds it in the outbox.
	start(t, func(cfg *server.Config) {
		cfg.RedisURL, cfg.WebhookURL, cfg.WebhookSecret, cfg.LimitScope = "redis://"+rs.Addr, office.srv.URL, secret, scope
		cfg.Webhooks.Poll = 50 * time.Millisecond
	})
	deadline := time.Now().Add(15 * time.Second)
	for got := office.deliveredFor(o.ID); got[webhook.OrderCreated] == 0 || got[webhook.OrderSubmitted] == 0; got = office.deliveredFor(o.ID) {
		if time.Now().After(deadline) {
			t.Fatalf("the killed instance's acknowledged changes: delivered %v, want order.created and order.submitted", got)
		}
		time.Sleep(20 * time.Millisecond) // polling the receiver with a deadline
	}
}

// TestWebhookDeliveriesAPI: the operator lists the deliveries a failing receiver leaves
// behind and may retry only a dead one; the answers are the OpenAPI document's (do checks).
func TestWebhookDeliveriesAPI(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	m := start(t, func(cfg *server.Config) {
		cfg.WebhookURL, cfg.WebhookSecret = failing.URL, webhookSecret()
		cfg.LimitScope = "wh-api-" + fmt.Sprint(time.Now().UnixNano())
	})
	o := createOrder(t, m, gdIndividual())
	list := func(status string) []any {
		r := must(t, do(t, req{method: "GET", url: m.URL + "/api/v1/webhooks/deliveries?status=" + status,
			header: map[string]string{"X-Api-Key": testOperatorKey}}), http.StatusOK)
		ds, _ := r.Body["deliveries"].([]any)
		return ds
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(list("failed")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no failed delivery listed")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	d := list("failed")[0].(map[string]any)
	if d["order_id"] != o.ID || d["type"] != webhook.OrderCreated || d["last_error"] != "status 500" {
		t.Fatalf("delivery %v", d)
	}
	if len(list("dead")) != 0 {
		t.Fatal("dead already")
	}
	wantError(t, do(t, req{method: "GET", url: m.URL + "/api/v1/webhooks/deliveries?status=failed"}), http.StatusUnauthorized, "unauthorized")
	wantError(t, do(t, req{method: "GET", url: m.URL + "/api/v1/webhooks/deliveries?status=lost",
		header: map[string]string{"X-Api-Key": testOperatorKey}}), http.StatusUnprocessableEntity, "invalid_request")
	retry := func(id string) reply {
		return do(t, req{method: "POST", url: m.URL + "/api/v1/webhooks/deliveries/" + id + "/retry",
			header: map[string]string{"X-Api-Key": testOperatorKey}})
	}
	wantError(t, retry(d["id"].(string)), http.StatusConflict, "invalid_state") // not dead: retried anyway
	wantError(t, retry("wh_nosuchorder_1_created"), http.StatusNotFound, "not_found")
	wantError(t, retry("nonsense"), http.StatusNotFound, "not_found")
}

// TestWebhookSentinelFailover: orders are created on two instances through three Sentinels
// with BEIANSCAN_REDIS_MIN_REPLICAS=1 while the master fails over; every creation that was
// acknowledged (201) has its order.created delivered. BEIANSCAN_FAULT_MIN_REPLICAS=0 shows
// what the replicas are for, as in TestSentinelFailover.
func TestWebhookSentinelFailover(t *testing.T) {
	minReplicas := 1
	if v := os.Getenv("BEIANSCAN_FAULT_MIN_REPLICAS"); v != "" {
		fmt.Sscan(v, &minReplicas)
	}
	set := redistest.StartSet(t)
	secret := webhookSecret()
	office := newBackOffice(t, secret, false)
	scope := "wh-failover-" + fmt.Sprint(time.Now().UnixNano())
	cfg := func(c *server.Config) {
		c.RedisURL, c.RedisMinReplicas, c.RedisWaitTimeout = set.URL(), minReplicas, 500*time.Millisecond
		c.WebhookURL, c.WebhookSecret, c.LimitScope = office.srv.URL, secret, scope
		c.Webhooks.Poll = 50 * time.Millisecond
	}
	a, b := start(t, cfg), start(t, cfg)
	body, _ := json.Marshal(gdIndividual())
	var (
		mu       sync.Mutex
		acked    []string
		refused  int
		switched bool
		afterAck int
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w, m := range []*server.Main{a, b} {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				hr, _ := http.NewRequest("POST", m.URL+"/api/v1/orders", strings.NewReader(string(body)))
				hr.Header.Set("Content-Type", "application/json")
				hr.Header.Set("X-Forwarded-For", fmt.Sprintf("10.9.%d.%d", w, n%250)) // no order rate limit
				resp, err := client.Do(hr)
				if err != nil {
					mu.Lock()
					refused++
					mu.Unlock()
					continue
				}
				var out struct {
					Order struct {
						ID string `json:"id"`
					} `json:"order"`
				}
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				mu.Lock()
				if resp.StatusCode == http.StatusCreated {
					acked = append(acked, out.Order.ID)
					if switched {
						afterAck++
					}
				} else {
					refused++
				}
				mu.Unlock()
			}
		})
	}
	count := func() (int, int) { mu.Lock(); defer mu.Unlock(); return len(acked), afterAck }
	for deadline := time.Now().Add(30 * time.Second); ; {
		if n, _ := count(); n >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fewer than 10 creations acknowledged before the failover")
		}
		time.Sleep(20 * time.Millisecond) // polling a counter with a deadline
	}
	set.Failover(t)
	mu.Lock()
	switched = true
	mu.Unlock()
	for deadline := time.Now().Add(60 * time.Second); ; {
		if _, n := count(); n >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fewer than 10 creations acknowledged in the 60 s after the failover")
		}
		time.Sleep(20 * time.Millisecond) // polling a counter with a deadline
	}
	close(stop)
	wg.Wait()
	t.Logf("acknowledged %d creations (%d after the switch), %d refused or failed", len(acked), afterAck, refused)
	var missing []string
	for deadline := time.Now().Add(30 * time.Second); ; {
		missing = missing[:0]
		for _, id := range acked {
			if office.deliveredFor(id)[webhook.OrderCreated] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged creations without their webhook", len(missing), len(acked))
		}
		time.Sleep(50 * time.Millisecond) // polling the receiver with a deadline
	}
}
