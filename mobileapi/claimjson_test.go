package mobileapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx/httpxtest"
	"github.com/beianscan/beianscan/internal/orders"
)

// claimResults are claims of each subject type, with and without materials, a separate
// website leader, changes requested (the phone lists the flagged slots only) and strings
// that need every escape encoding/json makes.
func claimResults() []*orders.ClaimResult {
	odd := "张三 \"q\" \\ \n\r\t\b\f\x01\x1f <script>&amp; \u2028\u2029 \xff\xfe end"
	at := time.Date(2026, 12, 4, 2, 4, 10, 576000000, time.UTC)
	person := func(t filing.IDType, n string) filing.Person {
		return filing.Person{Name: "张三", IDType: t, IDNumber: n, IDValidUntil: filing.LongTerm}
	}
	pairing := &orders.Pairing{ID: "p1", Desktop: orders.DesktopInfo{IP: "127.0.0.1", UserAgent: "Go-http-client/1.1", CreatedAt: at}}
	gd := &filing.Order{ID: "o1", State: filing.StateDraft, Version: 4, SubjectType: filing.Individual, Province: "CN-GD",
		SubjectName: "张三", SubjectLeader: person(filing.ResidentID, "11010519491231002X"), WebsiteLeaderSame: true,
		Domains: []string{"example.com"}, UploadMethod: filing.MethodApp, CreatedAt: at, UpdatedAt: at}
	org := &filing.Order{ID: "o2", State: filing.StateUploaded, Version: 9, SubjectType: filing.Organization, Province: "CN-BJ",
		SubjectName: "北京某公司", OrganizationCertificateType: filing.BusinessLicense,
		SubjectLeader: person(filing.Passport, "E12345678"), WebsiteLeader: person(filing.HKMacauTravelPermit, "H1234567890"),
		Domains: []string{"a.example.com"}, DomainRegisteredHere: true, UploadMethod: filing.MethodApp, OwnerID: "owner-1",
		CreatedAt: at, UpdatedAt: at}
	fix := &filing.Order{ID: "o3", State: filing.StateChangesRequested, Version: 20, SubjectType: filing.Individual, Province: "CN-ZJ",
		SubjectName: odd, SubjectLeader: person(filing.ResidentID, "11010519491231002X"), WebsiteLeaderSame: true,
		UploadMethod: filing.MethodApp, Round: 2,
		Reviews: []filing.Review{{Round: 2, Outcome: filing.Outcome("changes_requested"), DecidedAt: at,
			Issues: []filing.Issue{{Target: filing.IssueMaterial, Slot: filing.SlotFacePhoto, Code: filing.ReasonCode("face_unclear"), Note: odd}}}},
		CreatedAt: at, UpdatedAt: at}
	mats := map[filing.Slot]filing.Material{filing.SlotFacePhoto: {Slot: filing.SlotFacePhoto}, filing.SlotSubjectLeaderIDFront: {Slot: filing.SlotSubjectLeaderIDFront}}
	oddPairing := &orders.Pairing{ID: "p2", Desktop: orders.DesktopInfo{IP: "::1", UserAgent: odd, CreatedAt: at.In(time.FixedZone("x", 8*3600))}}
	exp := at.Add(30 * time.Minute).Truncate(time.Second)
	return []*orders.ClaimResult{
		{Snapshot: &orders.Snapshot{Order: gd, Materials: map[filing.Slot]filing.Material{}, Pairing: pairing}, PhoneToken: "a.b.c", DeviceToken: "d.e.f", ExpiresAt: exp},
		{Snapshot: &orders.Snapshot{Order: org, Materials: mats, Pairing: pairing}, PhoneToken: "a.b.c", DeviceToken: "", ExpiresAt: exp},
		{Snapshot: &orders.Snapshot{Order: fix, Materials: mats, Pairing: oddPairing}, PhoneToken: odd, DeviceToken: odd, ExpiresAt: exp},
	}
}

// TestClaimAnswerJSON holds the claim's hand-written answer to what encoding/json made of
// it before (echo's c.JSON of the map), byte for byte, and checks the handler sends it with
// its Content-Length rather than chunked.
func TestClaimAnswerJSON(t *testing.T) {
	available := func(p string) bool { return p != "CN-BJ" }
	for i, res := range claimResults() {
		view := orders.ViewOrder(res.Snapshot, available(res.Snapshot.Order.Province))
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(map[string]any{
			"phone_token":  res.PhoneToken,
			"device_token": res.DeviceToken,
			"expires_at":   res.ExpiresAt,
			"order":        view,
			"materials":    orders.PhoneMaterials(res.Snapshot),
			"desktop":      res.Snapshot.Pairing.Desktop,
		}); err != nil {
			t.Fatal(err)
		}
		got, err := appendClaimAnswer(nil, res, view)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("claim %d:\n got %s\nwant %s", i, got, want.Bytes())
		}

		srv := httptestServe(t, res, available)
		r, _ := http.NewRequest("POST", srv+"/m/v1/pairings/claim", strings.NewReader(`{"code":"x"}`))
		r.Header.Set("X-App-Version", "3.16.0")
		r.Header.Set("X-Device-Id", "dev")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(body, want.Bytes()) {
			t.Errorf("claim %d over HTTP: %d\n got %s\nwant %s", i, resp.StatusCode, body, want.Bytes())
		}
		if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("claim %d: Content-Length %d (body %d), Transfer-Encoding %v, Content-Type %q", i, resp.ContentLength, len(body), resp.TransferEncoding, resp.Header.Get("Content-Type"))
		}
	}
}

// httptestServe serves the app API with a service whose claim answers res.
func httptestServe(t *testing.T, res *orders.ClaimResult, available func(string) bool) string {
	svc := &fakeService{claim: func(orders.ClaimInput) (*orders.ClaimResult, error) { return res, nil }}
	cfg := Config{ImageLimits: filing.Limits{MaxBytes: 1 << 20, FitMaxBytes: 1 << 20}, MinAppVersion: "3.16.0", AppAvailable: available}
	return httpxtest.Serve(t, New(svc, cfg).Register).URL
}

// BenchmarkClaimAnswer: the claim's answer for a Guangdong individual (6 KB) as echo's
// c.JSON encoded the map before, and by hand.
//
//	go test ./mobileapi -run '^$' -bench ClaimAnswer -benchmem -count 5
func BenchmarkClaimAnswer(b *testing.B) {
	res := claimResults()[0]
	b.Run("encoding/json", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			view := orders.ViewOrder(res.Snapshot, true)
			json.NewEncoder(&buf).Encode(map[string]any{
				"phone_token": res.PhoneToken, "device_token": res.DeviceToken, "expires_at": res.ExpiresAt,
				"order": view, "materials": orders.PhoneMaterials(res.Snapshot), "desktop": res.Snapshot.Pairing.Desktop,
			})
		}
		b.SetBytes(int64(buf.Len()))
	})
	b.Run("by-hand", func(b *testing.B) {
		var out []byte
		for b.Loop() {
			out, _ = appendClaimAnswer(out[:0], res, orders.ViewOrder(res.Snapshot, true))
		}
		b.SetBytes(int64(len(out)))
	})
}
