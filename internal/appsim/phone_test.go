package appsim_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/appsim"
	"github.com/beianscan/beianscan/internal/appsim/appsimtest"
)

func TestDecodeQR(t *testing.T) {
	tests := []struct {
		name string
		text string
		size int
		// reframe, when set, re-encodes the QR PNG (e.g. inside a larger picture).
		reframe func(tb testing.TB, png []byte) []byte
		wantErr bool
	}{
		{name: "scan url", text: "http://localhost:8080/m/scan?code=Ab3dEf9hJk", size: 256},
		{name: "https with prefix", text: "https://beian.example.cn/app/m/scan?code=Q-7_zz", size: 320},
		{name: "inside a larger photo", text: "http://10.0.0.5:8080/m/scan?code=XYZ", size: 200, reframe: onCanvas},
		{name: "not a QR", text: "", size: 0, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var img []byte
			if tt.size == 0 {
				img = appsim.SampleImage("face_photo", 1)
			} else {
				img = appsimtest.QR(t, tt.text, tt.size)
			}
			if tt.reframe != nil {
				img = tt.reframe(t, img)
			}
			got, err := appsim.DecodeQR(img)
			if (err != nil) != tt.wantErr {
				t.Fatalf("DecodeQR error = %v, want error %t", err, tt.wantErr)
			}
			if got != tt.text {
				t.Errorf("DecodeQR = %q, want %q", got, tt.text)
			}
		})
	}
	if _, err := appsim.DecodeQR([]byte("not an image")); err == nil {
		t.Error("DecodeQR of garbage: want error")
	}
}

// onCanvas places a QR PNG off-centre on a larger grey picture, as a screenshot would.
func onCanvas(tb testing.TB, qr []byte) []byte {
	tb.Helper()
	m, err := png.Decode(bytes.NewReader(qr))
	if err != nil {
		tb.Fatal(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for i := range dst.Pix {
		dst.Pix[i] = 200
	}
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dst.Set(x+420, y+250, m.At(x, y))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseScanURL(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantBase string
		wantCode string
		wantErr  bool
	}{
		{name: "good", in: "http://host:8080/m/scan?code=XYZ", wantBase: "http://host:8080", wantCode: "XYZ"},
		{name: "https no port", in: "https://beian.example.cn/m/scan?code=a-b_c", wantBase: "https://beian.example.cn", wantCode: "a-b_c"},
		{name: "path prefix", in: "https://example.cn/beian/m/scan?code=K1", wantBase: "https://example.cn/beian", wantCode: "K1"},
		{name: "escaped code and spaces", in: "  http://h/m/scan?code=a%2Bb&x=1 ", wantBase: "http://h", wantCode: "a+b"},
		{name: "missing code", in: "http://host:8080/m/scan", wantErr: true},
		{name: "empty code", in: "http://host:8080/m/scan?code=", wantErr: true},
		{name: "not a URL", in: "hello world", wantErr: true},
		{name: "bad escape", in: "http://h/m/scan?code=%zz%", wantErr: true},
		{name: "not http", in: "ftp://host/m/scan?code=XYZ", wantErr: true},
		{name: "no host", in: "http:///m/scan?code=XYZ", wantErr: true},
		{name: "other path", in: "http://evil.example/collect?code=XYZ", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, code, err := appsim.ParseScanURL(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseScanURL(%q) error = %v, want error %t", tt.in, err, tt.wantErr)
			}
			if base != tt.wantBase || code != tt.wantCode {
				t.Errorf("ParseScanURL(%q) = %q, %q; want %q, %q", tt.in, base, code, tt.wantBase, tt.wantCode)
			}
		})
	}
}

func TestSampleImage(t *testing.T) {
	// One slot per drawing; the website leader's sides share the subject leader's drawing.
	slots := []string{
		"organization_certificate", "subject_leader_id_front", "website_leader_id_back",
		"verification_form", "face_photo", "domain_certificate", "anything_else",
	}
	for _, slot := range slots {
		t.Run(slot, func(t *testing.T) {
			t.Parallel()
			img := appsim.SampleImage(slot, 42)
			if len(img) >= 4<<20 {
				t.Errorf("size %d, want < 4 MiB", len(img))
			}
			m, err := jpeg.Decode(bytes.NewReader(img))
			if err != nil {
				t.Fatalf("not a JPEG: %v", err)
			}
			b := m.Bounds()
			if short := min(b.Dx(), b.Dy()); short < 600 {
				t.Errorf("short side %d, want >= 600 (server minimum is 300)", short)
			}
			if again := appsim.SampleImageUncached(slot, 42); !bytes.Equal(img, again) {
				t.Error("same slot and seed gave different bytes")
			}
			if cached := appsim.SampleImage(slot, 42); !bytes.Equal(img, cached) || &cached[0] == &img[0] {
				t.Error("cached sample differs or is shared")
			}
			st := stats(t, m)
			if st.meanChroma < 4 {
				t.Errorf("mean chroma %.2f: would look grayscale", st.meanChroma)
			}
			if st.meanLuma < 100 {
				t.Errorf("mean luma %.1f: would look too dark", st.meanLuma)
			}
			if st.clipped > 0.01 {
				t.Errorf("%.1f%% of pixels clipped white: would look overexposed", 100*st.clipped)
			}
			if st.lapVar < 50 {
				t.Errorf("laplacian variance %.1f: would look blurry", st.lapVar)
			}
			if slot == "face_photo" && st.borderLuma < 220 {
				t.Errorf("face photo border luma %.1f: background not white", st.borderLuma)
			}
		})
	}
	t.Run("seeds and slots differ", func(t *testing.T) {
		t.Parallel()
		a := appsim.SampleImage("subject_leader_id_front", 1)
		if bytes.Equal(a, appsim.SampleImage("subject_leader_id_front", 2)) {
			t.Error("another seed gave the same bytes")
		}
		if bytes.Equal(a, appsim.SampleImage("website_leader_id_front", 1)) {
			t.Error("another slot gave the same bytes")
		}
	})
}

type imageStats struct{ meanChroma, meanLuma, clipped, lapVar, borderLuma float64 }

// stats measures roughly what the server's quality warnings look at, so the samples are
// known not to trigger them whatever the server's exact thresholds. It reads the JPEG's
// own planes: luma from Y, colour from how far Cb and Cr stray from neutral.
func stats(tb testing.TB, m image.Image) imageStats {
	tb.Helper()
	yc, ok := m.(*image.YCbCr)
	if !ok {
		tb.Fatalf("decoded image is %T, want *image.YCbCr", m)
	}
	b := yc.Bounds()
	w, h := b.Dx(), b.Dy()
	luma := func(x, y int) float64 { return float64(yc.Y[yc.YOffset(b.Min.X+x, b.Min.Y+y)]) }
	var st imageStats
	var border, nBorder, n float64
	for y := 0; y < h; y += 2 {
		for x := 0; x < w; x += 2 {
			l := luma(x, y)
			ci := yc.COffset(b.Min.X+x, b.Min.Y+y)
			st.meanChroma += abs(float64(yc.Cb[ci])-128) + abs(float64(yc.Cr[ci])-128)
			st.meanLuma += l
			if l >= 254 {
				st.clipped++
			}
			if x < w/20 || x >= w-w/20 || y < h/20 {
				border += l
				nBorder++
			}
			n++
		}
	}
	st.meanLuma /= n
	st.meanChroma /= n
	st.clipped /= n
	st.borderLuma = border / nBorder
	var sum, sum2, cnt float64
	for y := 1; y < h-1; y += 2 {
		for x := 1; x < w-1; x += 2 {
			v := luma(x-1, y) + luma(x+1, y) + luma(x, y-1) + luma(x, y+1) - 4*luma(x, y)
			sum += v
			sum2 += v * v
			cnt++
		}
	}
	st.lapVar = sum2/cnt - (sum/cnt)*(sum/cnt)
	return st
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestClaim(t *testing.T) {
	tests := []struct {
		name       string
		client     appsim.Client
		code       string
		fail       map[string]*appsimtest.Error
		wantStatus int
		wantCode   string
		wantZh     string
		wantDetail map[string]any
	}{
		{name: "ok", client: appsim.Client{DeviceID: "dev-1"}, code: appsimtest.Code},
		{name: "ok random device", code: appsimtest.Code},
		{name: "wrong code", client: appsim.Client{DeviceID: "dev-1"}, code: "NOPE",
			wantStatus: 404, wantCode: "pairing_not_found", wantZh: "二维码无效"},
		{name: "old app", client: appsim.Client{DeviceID: "dev-1", AppVersion: "3.9.9"}, code: appsimtest.Code,
			wantStatus: 426, wantCode: "app_version_too_old", wantZh: "3.16.0",
			wantDetail: map[string]any{"min_version": "3.16.0"}},
		{name: "expired", client: appsim.Client{DeviceID: "dev-1"}, code: appsimtest.Code,
			fail: map[string]*appsimtest.Error{"POST /m/v1/pairings/claim": {Status: 410, Code: "pairing_expired",
				Message: "The QR code has expired.", MessageZh: "二维码已过期，请在电脑上刷新。"}},
			wantStatus: 410, wantCode: "pairing_expired", wantZh: "二维码已过期"},
		{name: "not json error body", client: appsim.Client{DeviceID: "dev-1"}, code: appsimtest.Code,
			fail: map[string]*appsimtest.Error{"POST /m/v1/pairings/claim": {Status: 502}}, wantStatus: 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := appsimtest.New(t)
			srv.Fail = tt.fail
			c := tt.client
			s, err := c.Claim(appsimtest.Context(t), srv.URL+"/", tt.code)
			if tt.wantStatus != 0 {
				var ae *appsim.APIError
				if !errors.As(err, &ae) {
					t.Fatalf("Claim error = %v (%T), want *APIError", err, err)
				}
				if ae.Status != tt.wantStatus || ae.Code != tt.wantCode {
					t.Errorf("APIError = %d %q, want %d %q", ae.Status, ae.Code, tt.wantStatus, tt.wantCode)
				}
				if !strings.Contains(ae.MessageZh, tt.wantZh) || (tt.wantCode != "" && ae.Message == "") {
					t.Errorf("APIError messages = %q / %q, want zh containing %q", ae.Message, ae.MessageZh, tt.wantZh)
				}
				for k, v := range tt.wantDetail {
					if ae.Details[k] != v {
						t.Errorf("details[%s] = %v, want %v", k, ae.Details[k], v)
					}
				}
				if !strings.Contains(ae.Error(), tt.wantCode) {
					t.Errorf("Error() = %q lacks the code", ae.Error())
				}
				if s != nil {
					t.Error("session returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Claim: %v", err)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != "/m/v1/pairings/claim" {
				t.Errorf("request %s %s", r.Method, r.Path)
			}
			if got := r.Header.Get("X-App-Version"); got != "3.16.0" {
				t.Errorf("X-App-Version = %q, want default 3.16.0", got)
			}
			wantDev := c.DeviceID
			if wantDev == "" {
				wantDev = s.DeviceID
				if !strings.HasPrefix(wantDev, "phone-sim-") {
					t.Errorf("random device id %q", wantDev)
				}
			}
			if got := r.Header.Get("X-Device-Id"); got != wantDev || s.DeviceID != wantDev {
				t.Errorf("X-Device-Id = %q, session %q, want %q", got, s.DeviceID, wantDev)
			}
			if got := r.Header.Get("Authorization"); got != "" {
				t.Errorf("claim sent Authorization %q", got)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if string(r.Body) != `{"code":"`+appsimtest.Code+`"}` {
				t.Errorf("body = %s", r.Body)
			}
			if s.Base != srv.URL || s.Token != appsimtest.PhoneToken {
				t.Errorf("session base %q token %q", s.Base, s.Token)
			}
			if want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC); !s.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt = %v", s.ExpiresAt)
			}
			if s.Desktop.IP != appsimtest.DesktopIP || s.Desktop.UserAgent != appsimtest.DesktopUA || s.Desktop.CreatedAt.IsZero() {
				t.Errorf("Desktop = %+v", s.Desktop)
			}
			o, err := appsim.ParseOrder(s.Order)
			if err != nil || o.ID != appsimtest.OrderID || o.SubjectName != "张三" || len(o.Domains) != 2 {
				t.Errorf("order = %+v, %v", o, err)
			}
			if len(s.Materials) != len(appsimtest.DefaultSlots) || s.Materials[0].Slot != "subject_leader_id_front" ||
				!s.Materials[0].Required || s.Materials[0].GuidanceZh == "" || s.Materials[0].LabelZh == "" {
				t.Errorf("materials = %+v", s.Materials)
			}
		})
	}
}

func TestSessionCalls(t *testing.T) {
	jpg := appsim.SampleImage("face_photo", 7)
	tests := []struct {
		name string
		// call runs one session call and returns its error.
		call       func(ctx context.Context, s *appsim.Session) error
		token      string // replaces the session's token when set
		wantPath   string
		wantStatus int
		wantCode   string
	}{
		{name: "order", wantPath: "GET /m/v1/order", call: func(ctx context.Context, s *appsim.Session) error {
			o, mats, err := s.GetOrder(ctx)
			if err == nil && (len(o) == 0 || len(mats) != len(appsimtest.DefaultSlots)) {
				return errors.New("empty order or materials")
			}
			return err
		}},
		{name: "upload", wantPath: "PUT /m/v1/materials/face_photo", call: func(ctx context.Context, s *appsim.Session) error {
			raw, err := s.Upload(ctx, "face_photo", jpg, "", "idem-1")
			if err != nil {
				return err
			}
			if !bytes.Contains(raw, []byte(`"sha256"`)) || !bytes.Contains(raw, []byte(`"format":"jpeg"`)) {
				return errors.New("material lacks sha256/format: " + string(raw))
			}
			return nil
		}},
		{name: "upload not allowed", wantPath: "PUT /m/v1/materials/supplementary", wantStatus: 403, wantCode: "slot_not_allowed_in_app",
			call: func(ctx context.Context, s *appsim.Session) error {
				_, err := s.Upload(ctx, "supplementary", jpg, "image/jpeg", "")
				return err
			}},
		{name: "upload not an image", wantPath: "PUT /m/v1/materials/face_photo", wantStatus: 415, wantCode: "unsupported_format",
			call: func(ctx context.Context, s *appsim.Session) error {
				_, err := s.Upload(ctx, "face_photo", []byte("%PDF-1.4"), "", "")
				return err
			}},
		{name: "complete incomplete", wantPath: "POST /m/v1/complete", wantStatus: 422, wantCode: "materials_incomplete",
			call: func(ctx context.Context, s *appsim.Session) error { return s.Complete(ctx) }},
		{name: "bad token", token: "forged", wantPath: "GET /m/v1/order", wantStatus: 401, wantCode: "unauthorized",
			call: func(ctx context.Context, s *appsim.Session) error { _, _, err := s.GetOrder(ctx); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := appsimtest.New(t)
			ctx := appsimtest.Context(t)
			c := &appsim.Client{DeviceID: "dev-9", AppVersion: "3.17.2"}
			s, err := c.Claim(ctx, srv.URL, appsimtest.Code)
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				s.Token = tt.token
			}
			err = tt.call(ctx, s)
			if tt.wantCode == "" && err != nil {
				t.Fatalf("call: %v", err)
			}
			if tt.wantCode != "" {
				var ae *appsim.APIError
				if !errors.As(err, &ae) || ae.Status != tt.wantStatus || ae.Code != tt.wantCode || ae.MessageZh == "" {
					t.Fatalf("error = %#v, want %d %s with messages", err, tt.wantStatus, tt.wantCode)
				}
				if appsim.ErrorCode(err) != tt.wantCode {
					t.Errorf("ErrorCode = %q", appsim.ErrorCode(err))
				}
			}
			reqs := srv.Requests()
			r := reqs[len(reqs)-1]
			if got := r.Method + " " + r.Path; got != tt.wantPath {
				t.Errorf("request %q, want %q", got, tt.wantPath)
			}
			if got := r.Header.Get("X-App-Version"); got != "3.17.2" {
				t.Errorf("X-App-Version = %q", got)
			}
			if got, want := r.Header.Get("Authorization"), "Bearer "+s.Token; got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			if r.Method == http.MethodPut {
				if ct := r.Header.Get("Content-Type"); ct != "image/jpeg" && tt.wantCode != "unsupported_format" {
					t.Errorf("Content-Type = %q, want image/jpeg", ct)
				}
				if tt.name == "upload" {
					if k := r.Header.Get("Idempotency-Key"); k != "idem-1" {
						t.Errorf("Idempotency-Key = %q", k)
					}
					if !bytes.Equal(r.Body, jpg) {
						t.Error("upload body is not the raw image")
					}
				}
			}
		})
	}
}

func TestWalk(t *testing.T) {
	custom := appsim.SampleImage("generic", 99)
	tests := []struct {
		name        string
		images      map[string][]byte
		skip        bool
		slots       []appsimtest.Slot
		wantUploads []string
		wantDone    bool
		wantCode    string
	}{
		{name: "samples", wantDone: true,
			wantUploads: []string{"face_photo", "subject_leader_id_back", "subject_leader_id_front", "verification_form"}},
		{name: "override and optional", wantDone: true,
			images: map[string][]byte{"face_photo": custom, "domain_certificate": custom, "supplementary": custom, "nope": custom},
			wantUploads: []string{"domain_certificate", "face_photo", "subject_leader_id_back",
				"subject_leader_id_front", "verification_form"}},
		{name: "no complete", skip: true,
			wantUploads: []string{"face_photo", "subject_leader_id_back", "subject_leader_id_front", "verification_form"}},
		{name: "desktop-only required slot", wantCode: "materials_incomplete",
			slots: []appsimtest.Slot{
				{Slot: "verification_form", LabelZh: "真实性核验单", Required: true, AppAllowed: true},
				{Slot: "supplementary", LabelZh: "其他资料", Required: true, AppAllowed: false},
			},
			wantUploads: []string{"verification_form"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := appsimtest.New(t)
			srv.Slots = tt.slots
			var log []string
			c := &appsim.Client{Log: func(f string, a ...any) { log = append(log, f) }}
			s, err := appsim.WalkWith(appsimtest.Context(t), c, srv.ScanURL(), appsim.WalkOptions{Images: tt.images, SkipComplete: tt.skip})
			if tt.wantCode != "" {
				if appsim.ErrorCode(err) != tt.wantCode || s == nil {
					t.Fatalf("Walk error = %v, session %v; want %s and a session", err, s, tt.wantCode)
				}
			} else if err != nil {
				t.Fatalf("Walk: %v", err)
			}
			ups := srv.Uploads()
			var got []string
			for slot := range ups {
				got = append(got, slot)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.wantUploads) {
				t.Errorf("uploaded %v, want %v", got, tt.wantUploads)
			}
			for slot, img := range tt.images {
				if up, ok := ups[slot]; ok && !bytes.Equal(up, img) {
					t.Errorf("%s: override image not used", slot)
				}
			}
			if srv.Completed() != tt.wantDone {
				t.Errorf("completed = %t, want %t", srv.Completed(), tt.wantDone)
			}
			if len(log) == 0 {
				t.Error("nothing logged")
			}
		})
	}
}

func TestWalkBadURL(t *testing.T) {
	if _, err := appsim.Walk(appsimtest.Context(t), &appsim.Client{}, "http://x/other?code=1", nil); err == nil {
		t.Fatal("want error for a URL that is not a scan URL")
	}
}

func TestFetchQR(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		wantCode string
	}{
		{name: "with desktop token", token: appsimtest.DesktopToken},
		{name: "without token", wantCode: "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := appsimtest.New(t)
			png, err := (&appsim.Client{}).FetchQR(appsimtest.Context(t), srv.QRURL(), tt.token)
			if tt.wantCode != "" {
				if appsim.ErrorCode(err) != tt.wantCode {
					t.Fatalf("error = %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			text, err := appsim.DecodeQR(png)
			if err != nil || text != srv.ScanURL() {
				t.Fatalf("QR text %q, %v; want %q", text, err, srv.ScanURL())
			}
		})
	}
}

func TestPlan(t *testing.T) {
	yes, no := true, false
	mats := []appsim.Requirement{
		{Slot: "a", Required: true},
		{Slot: "b", Required: true, Uploaded: true},
		{Slot: "c", Required: false},
		{Slot: "d", Required: true},
		{Slot: "e", Required: true, AppAllowed: &no},
	}
	tests := []struct {
		name      string
		allowed   []appsim.Requirement
		overrides map[string][]byte
		want      []string
	}{
		{name: "required not uploaded", want: []string{"a", "d"}},
		{name: "order says d desktop only", allowed: []appsim.Requirement{{Slot: "d", AppAllowed: &no}, {Slot: "a", AppAllowed: &yes}}, want: []string{"a"}},
		{name: "overrides add optional and re-upload", overrides: map[string][]byte{"b": nil, "c": nil, "e": nil}, want: []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := appsim.Plan(mats, tt.allowed, tt.overrides); !slices.Equal(got, tt.want) {
				t.Errorf("Plan = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("re-upload pairing: the flagged slots, uploaded or not", func(t *testing.T) {
		flagged := []appsim.Requirement{{Slot: "b", Required: true, Uploaded: true, Flagged: true}, {Slot: "f", Required: true, Uploaded: true, Flagged: true}}
		if got := appsim.Plan(flagged, nil, nil); !slices.Equal(got, []string{"b", "f"}) {
			t.Errorf("Plan = %v, want [b f]", got)
		}
	})
}
