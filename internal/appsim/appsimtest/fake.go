// Package appsimtest is a fake app API server (/m) for testing package appsim
// and cmd/phone without the real server: an httptest.Server that answers in the
// contract's shapes, checks the headers the contract asks for, and records what it got.
//
// It is deliberately small and strict. It is not the server: rules it does not need to
// exercise a client (state machine, image quality, rate limits) are left out; the real
// server's own tests and the integration tests cover those.
package appsimtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	_ "image/gif" // uploads are decoded to check them as the server would
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixed values of the fake, so tests can compare against them.
const (
	Code         = "TESTCODE123"
	PhoneToken   = "phone-token-abc"
	DeviceToken  = "device-token-def"
	DesktopToken = "desktop-token-xyz"
	OrderID      = "ord_test_1"
	MinVersion   = "3.16.0"
	DesktopIP    = "203.0.113.7"
	DesktopUA    = "Mozilla/5.0 (Windows NT 10.0) TestBrowser"
)

// Error is an error answer the fake sends: the contract's envelope with this status.
type Error struct {
	Status    int
	Code      string
	Message   string
	MessageZh string
	Details   map[string]any
}

// Request is what the fake recorded of one request.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Slot describes one material of the fake order.
type Slot struct {
	Slot, LabelZh string
	Required      bool
	AppAllowed    bool
}

// DefaultSlots are the materials of an individual's Guangdong order with the app chosen.
var DefaultSlots = []Slot{
	{"subject_leader_id_front", "主体负责人证件（正面/人像页）", true, true},
	{"subject_leader_id_back", "主体负责人证件（反面）", true, true},
	{"verification_form", "真实性核验单", true, true},
	{"face_photo", "网站负责人人脸核验照片", true, true},
	{"domain_certificate", "域名证书", false, true},
	{"supplementary", "变更证明、授权书等其他资料", false, false},
}

// Server is the fake. Set Fail and Slots before the first request: they are read while
// serving and not meant to change under it.
type Server struct {
	*httptest.Server

	// Fail forces an error answer for "METHOD /path" (e.g. "POST /m/v1/pairings/claim").
	Fail map[string]*Error
	// Slots are the order's materials; nil means DefaultSlots.
	Slots []Slot

	mu        sync.Mutex
	requests  []Request
	device    string // the device that claimed, "" before the claim
	uploads   map[string][]byte
	completed bool
}

// New starts a fake; it is closed when tb ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{uploads: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// ScanURL is the URL the fake's QR code holds.
func (s *Server) ScanURL() string { return s.URL + "/m/scan?code=" + Code }

// QRURL is the URL of the fake's QR PNG (it needs DesktopToken).
func (s *Server) QRURL() string { return s.URL + "/api/v1/orders/" + OrderID + "/pairing/qr.png" }

// Requests returns a copy of what the fake received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Uploads returns a copy of the stored images by slot.
func (s *Server) Uploads() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.uploads))
	for k, v := range s.uploads {
		out[k] = v
	}
	return out
}

// Completed reports whether POST /m/v1/complete succeeded.
func (s *Server) Completed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.completed
}

func (s *Server) slots() []Slot {
	if s.Slots != nil {
		return s.Slots
	}
	return DefaultSlots
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})

	if e := s.Fail[r.Method+" "+r.URL.Path]; e != nil {
		writeError(w, e)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/api/v1/orders/"+OrderID+"/pairing/qr.png" {
		if r.Header.Get("Authorization") != "Bearer "+DesktopToken {
			writeError(w, &Error{401, "unauthorized", "Sign-in required, or the token is not valid.", "未登录或凭证无效，请重新打开页面。", nil})
			return
		}
		png, err := encodeQR(s.ScanURL(), 256)
		if err != nil {
			writeError(w, &Error{Status: 500, Code: "internal", Message: "Internal error."})
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/m/v1/") {
		writeError(w, &Error{404, "not_found", "Not found.", "页面不存在。", nil})
		return
	}
	v := r.Header.Get("X-App-Version")
	if v == "" {
		writeError(w, &Error{400, "missing_app_version", "The app did not say its version.", "请升级到最新版 app 后重试。", nil})
		return
	}
	if versionLess(v, MinVersion) {
		writeError(w, &Error{426, "app_version_too_old", "Update the app to 3.16.0 or later.", "请将 app 升级到 3.16.0 或以上版本。",
			map[string]any{"min_version": MinVersion}})
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/m/v1/pairings/claim" {
		s.claim(w, r, body)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == "/m/v1/device/orders" {
		s.deviceOrders(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+PhoneToken || s.device == "" {
		writeError(w, &Error{401, "unauthorized", "Sign-in required, or the token is not valid.", "未登录或凭证无效，请重新打开页面。", nil})
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/m/v1/order":
		writeJSON(w, 200, map[string]any{"order": s.order(), "materials": s.materials()})
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/m/v1/materials/"):
		s.upload(w, r, strings.TrimPrefix(r.URL.Path, "/m/v1/materials/"), body)
	case r.Method == http.MethodPost && r.URL.Path == "/m/v1/complete":
		var missing []string
		for _, sl := range s.slots() {
			if _, ok := s.uploads[sl.Slot]; sl.Required && !ok {
				missing = append(missing, sl.Slot)
			}
		}
		if len(missing) > 0 {
			writeError(w, &Error{422, "materials_incomplete", "Some required materials are missing.", "还有必需的资料未上传。",
				map[string]any{"missing": missing}})
			return
		}
		s.completed = true
		writeJSON(w, 200, map[string]any{"order": s.order()})
	default:
		writeError(w, &Error{404, "not_found", "Not found.", "页面不存在。", nil})
	}
}

func (s *Server) claim(w http.ResponseWriter, r *http.Request, body []byte) {
	dev := r.Header.Get("X-Device-Id")
	var in struct {
		Code string `json:"code"`
	}
	if dev == "" || json.Unmarshal(body, &in) != nil || in.Code == "" {
		writeError(w, &Error{422, "invalid_request", "The request is not valid.", "请求内容不正确。", nil})
		return
	}
	if in.Code != Code {
		writeError(w, &Error{404, "pairing_not_found", "This QR code is not valid.", "二维码无效，请在电脑上刷新二维码后重新扫描。", nil})
		return
	}
	if s.device != "" && s.device != dev {
		writeError(w, &Error{409, "pairing_already_claimed", "This QR code was already scanned by another phone.", "该二维码已被其他手机扫描。", nil})
		return
	}
	s.device = dev
	writeJSON(w, 200, map[string]any{
		"phone_token":  PhoneToken,
		"device_token": DeviceToken,
		"expires_at":   time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		"order":        s.order(),
		"materials":    s.materials(),
		"desktop": map[string]any{
			"ip": DesktopIP, "user_agent": DesktopUA, "created_at": time.Date(2030, 1, 2, 2, 59, 0, 0, time.UTC),
		},
	})
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request, slot string, body []byte) {
	var sl *Slot
	for i := range s.slots() {
		if s.slots()[i].Slot == slot {
			sl = &s.slots()[i]
		}
	}
	switch {
	case sl == nil:
		writeError(w, &Error{404, "unknown_slot", "Unknown material slot.", "资料类型不存在。", nil})
		return
	case !sl.AppAllowed:
		writeError(w, &Error{403, "slot_not_allowed_in_app", "Upload this material from the PC.", "该资料请在电脑端上传。", nil})
		return
	case len(body) >= 4<<20:
		writeError(w, &Error{413, "too_large", "The image is 4 MB or larger.", "图片需小于 4 MB。", nil})
		return
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		writeError(w, &Error{415, "unsupported_format", "Use a JPEG, PNG or GIF image.", "请上传 jpg、jpeg、png 或 gif 格式的图片。", nil})
		return
	}
	s.uploads[slot] = body
	sum := sha256.Sum256(body)
	var warnings []string
	if r.Header.Get("Content-Type") != "image/"+format {
		// Not a contract rule (the server reads the format from the bytes); the fake
		// reports it so a test can see that the client sent the sniffed type.
		warnings = append(warnings, "content_type_mismatch")
	}
	writeJSON(w, 201, map[string]any{"material": map[string]any{
		"slot": slot, "format": format, "size": len(body), "sha256": hex.EncodeToString(sum[:]),
		"width": cfg.Width, "height": cfg.Height, "via": "app",
		"uploaded_at": time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC),
		"warnings":    append([]string{}, warnings...), "fitted": false, "original_size": len(body),
	}})
}

// order is the ORDER object; the caller holds s.mu.
func (s *Server) order() map[string]any {
	var req []map[string]any
	state := "uploaded"
	for _, sl := range s.slots() {
		_, up := s.uploads[sl.Slot]
		if sl.Required && !up {
			state = "draft"
		}
		req = append(req, map[string]any{"slot": sl.Slot, "label_zh": sl.LabelZh, "required": sl.Required,
			"app_allowed": sl.AppAllowed, "uploaded": up})
	}
	return map[string]any{
		"id": OrderID, "state": state, "version": 1 + len(s.uploads), "subject_type": "individual",
		"province": "CN-GD", "subject_name": "张三", "upload_method": "app", "app_upload_available": true,
		"domains":            []string{"example.cn", "www.example.cn"},
		"subject_leader":     map[string]any{"name": "张三", "id_type": "resident_id", "id_number_masked": "110***********1234", "id_valid_until": "long_term"},
		"required_materials": req,
	}
}

// materials is the app's materials list; the caller holds s.mu.
func (s *Server) materials() []map[string]any {
	var out []map[string]any
	for _, sl := range s.slots() {
		_, up := s.uploads[sl.Slot]
		out = append(out, map[string]any{"slot": sl.Slot, "label_zh": sl.LabelZh, "required": sl.Required,
			"guidance_zh": "请拍摄原件彩色照片，四角完整、清晰。", "uploaded": up})
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	inner := map[string]any{"code": e.Code, "message": e.Message, "message_zh": e.MessageZh}
	if e.Details != nil {
		inner["details"] = e.Details
	}
	writeJSON(w, e.Status, map[string]any{"error": inner})
}

// versionLess compares dotted numeric versions ("3.9.1" < "3.16.0").
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// deviceOrders is GET /m/v1/device/orders: the one order, once this device uploaded to it.
func (s *Server) deviceOrders(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+DeviceToken || s.device == "" || r.Header.Get("X-Device-Id") != s.device {
		writeError(w, &Error{401, "unauthorized", "Sign-in required, or the token is not valid.", "未登录或凭证无效，请重新打开页面。", nil})
		return
	}
	orders := []map[string]any{}
	if len(s.uploads) > 0 {
		slots := make([]string, 0, len(s.uploads))
		for slot := range s.uploads {
			slots = append(slots, slot)
		}
		sort.Strings(slots)
		o := s.order()
		orders = append(orders, map[string]any{
			"id": OrderID, "subject_name": o["subject_name"], "domains": o["domains"], "state": o["state"],
			"review": nil, "authority": nil, "verified_at": time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC), "slots": slots,
		})
	}
	writeJSON(w, 200, map[string]any{"orders": orders})
}
