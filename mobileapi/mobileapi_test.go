package mobileapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/auth"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx/httpxtest"
	"github.com/beianscan/beianscan/internal/orders"
)

// fakeService: function fields for what a test stages; anything else panics through the
// embedded nil interface, so a handler that calls the service too early fails the test.
type fakeService struct {
	Service
	claim     func(in orders.ClaimInput) (*orders.ClaimResult, error)
	authorize func(token string) (*orders.PhoneSession, error)
	upload    func(u orders.Upload) (*filing.Material, error)
	complete  func(p auth.Phone) (*orders.Snapshot, error)
	now       time.Time
}

func (f *fakeService) Complete(_ context.Context, p auth.Phone) (*orders.Snapshot, error) {
	return f.complete(p)
}
func (f *fakeService) Now() time.Time { return f.now }

func (f *fakeService) Claim(_ context.Context, in orders.ClaimInput) (*orders.ClaimResult, error) {
	return f.claim(in)
}
func (f *fakeService) AuthorizePhone(_ context.Context, token string) (*orders.PhoneSession, error) {
	return f.authorize(token)
}
func (f *fakeService) Upload(_ context.Context, u orders.Upload) (*filing.Material, error) {
	return f.upload(u)
}
func (f *fakeService) ReadLimit(bool) int64                        { return 1 << 20 }
func (f *fakeService) CheckAppVersion(v string) error              { return orders.CheckAppVersion(v, "3.16.0") }
func (f *fakeService) MinAppVersion() string                       { return "3.16.0" }
func (f *fakeService) ViewOrder(*orders.Snapshot) orders.OrderView { return orders.OrderView{} }

var errStop = errors.New("stop")

func serve(t *testing.T, svc Service) *httptest.Server {
	t.Helper()
	return httpxtest.Serve(t, New(svc, Config{}).Register)
}

func call(t *testing.T, srv *httptest.Server, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	r, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return httpxtest.Send(t, r)
}

// TestRefusedBeforeTheService: what the edge can refuse on its own (app version, body,
// token) never reaches the service.
func TestRefusedBeforeTheService(t *testing.T) {
	never := &fakeService{
		claim: func(orders.ClaimInput) (*orders.ClaimResult, error) {
			t.Error("claim reached the service")
			return nil, errStop
		},
		authorize: func(string) (*orders.PhoneSession, error) {
			return nil, filing.ErrTokenRevoked
		},
		upload: func(orders.Upload) (*filing.Material, error) {
			t.Error("upload reached the service")
			return nil, errStop
		},
	}
	srv := serve(t, never)
	v := map[string]string{"X-App-Version": "3.16.0", "X-Device-Id": "d1"}
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		wantStatus               int
		wantCode                 string
	}{
		{"claim without an app version", "POST", "/m/v1/pairings/claim", `{"code":"x"}`, map[string]string{}, 400, "missing_app_version"},
		{"claim from an old app", "POST", "/m/v1/pairings/claim", `{"code":"x"}`, map[string]string{"X-App-Version": "3.15.9"}, 426, "app_version_too_old"},
		{"claim without a code", "POST", "/m/v1/pairings/claim", `{}`, v, 422, "invalid_request"},
		{"claim with a body that is not JSON", "POST", "/m/v1/pairings/claim", `code=x`, v, 422, "invalid_request"},
		{"upload without a token", "PUT", "/m/v1/materials/verification_form", "img", v, 401, "unauthorized"},
		{"upload with a revoked token", "PUT", "/m/v1/materials/verification_form", "img", map[string]string{"X-App-Version": "3.16.0", "Authorization": "Bearer old"}, 401, "token_revoked"},
		{"order without a token", "GET", "/m/v1/order", "", v, 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := call(t, srv, tt.method, tt.path, tt.body, tt.header)
			if status != tt.wantStatus || code != tt.wantCode {
				t.Fatalf("status %d %q, want %d %q", status, code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

// TestUploadIsThePhones: an app upload goes to the order and pairing of the phone's
// token, whatever the URL says, as an app upload with its idempotency key and the snapshot
// AuthorizePhone read (so the service does not read the order again).
func TestUploadIsThePhones(t *testing.T) {
	phone := auth.Phone{OrderID: "bbbbbbbbbbbbbbbbbbbbbbbbbb", PairingID: "p1", DeviceID: "d1"}
	var got orders.Upload
	authed := &orders.Snapshot{Order: &filing.Order{ID: phone.OrderID}}
	svc := &fakeService{
		authorize: func(token string) (*orders.PhoneSession, error) {
			if token != "good" {
				return nil, filing.ErrUnauthorized
			}
			return &orders.PhoneSession{Phone: phone, Snapshot: authed}, nil
		},
		upload: func(u orders.Upload) (*filing.Material, error) {
			got = u
			io.Copy(io.Discard, u.Body)
			return &filing.Material{Slot: u.Slot}, nil
		},
	}
	srv := serve(t, svc)
	status, _ := call(t, srv, "PUT", "/m/v1/materials/face_photo?fit=1", "img", map[string]string{
		"X-App-Version": "3.16.0", "Authorization": "Bearer good", "Idempotency-Key": "k1",
	})
	if status != 201 {
		t.Fatalf("status %d", status)
	}
	if got.OrderID != phone.OrderID || got.Via != filing.ViaApp || got.Slot != filing.SlotFacePhoto ||
		got.Phone == nil || got.Phone.Phone != phone || got.IdempotencyKey != "k1" || !got.Fit ||
		got.Phone.Snapshot != authed {
		t.Fatalf("upload %+v", got)
	}
}

// TestCompleteIsTheServicesTime: completed_at comes from the service's clock, not the
// machine's, so a test's injected clock (and one clock per instance) decides it.
func TestCompleteIsTheServicesTime(t *testing.T) {
	phone := auth.Phone{OrderID: "bbbbbbbbbbbbbbbbbbbbbbbbbb", PairingID: "p1", DeviceID: "d1"}
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	var completed auth.Phone
	svc := &fakeService{
		authorize: func(string) (*orders.PhoneSession, error) {
			return &orders.PhoneSession{Phone: phone, Snapshot: &orders.Snapshot{Order: &filing.Order{ID: phone.OrderID}}}, nil
		},
		complete: func(p auth.Phone) (*orders.Snapshot, error) {
			completed = p
			return &orders.Snapshot{Order: &filing.Order{ID: p.OrderID}}, nil
		},
		now: at,
	}
	srv := serve(t, svc)
	r, _ := http.NewRequest("POST", srv.URL+"/m/v1/complete", nil)
	r.Header.Set("X-App-Version", "3.16.0")
	r.Header.Set("Authorization", "Bearer good")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		CompletedAt time.Time `json:"completed_at"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if completed != phone {
		t.Errorf("completed %+v, want the token's phone", completed)
	}
	if !body.CompletedAt.Equal(at) {
		t.Errorf("completed_at %v, want the service's clock %v", body.CompletedAt, at)
	}
}
