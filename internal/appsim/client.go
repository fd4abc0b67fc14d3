// Package appsim simulates the provider's phone app, as a client of the app API (/m): it
// does what the real app does — decode the desktop's QR code, claim the pairing, list the
// order's materials, upload images and report completion. cmd/phone wraps it as a
// command-line simulator; tests and load runs use it directly.
//
// The package imports nothing of ours on purpose: it speaks the HTTP contract only, so it
// checks the server from the outside the way a real app would.
package appsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultAppVersion is the app version sent when Client.AppVersion is empty: the oldest
// version the contract lets upload (docs/rules.md "App verification").
const DefaultAppVersion = "3.16.0"

// maxResponseBytes bounds how much of a JSON answer is read. Answers are small (an order
// and a list of materials); the limit keeps a misbehaving server from filling memory.
const maxResponseBytes = 4 << 20

// Client calls the app API. The zero value is usable. A Client holds no per-session state,
// so one Client may claim many pairings at once (load runs do).
type Client struct {
	// HTTP sends the requests. Nil means http.DefaultClient; deadlines come from the
	// contexts passed to each call.
	HTTP *http.Client
	// AppVersion is sent as X-App-Version on every call. Empty means DefaultAppVersion.
	AppVersion string
	// DeviceID is sent as X-Device-Id. Empty means a random "phone-sim-…" id chosen per
	// claim and kept in Session.DeviceID (a retried claim needs the same id, so reuse a
	// Client with DeviceID set when retrying).
	DeviceID string
	// DeviceName is sent as X-Device-Name on the claim (e.g. "iPhone 15"), for the desktop
	// to show; empty sends none.
	DeviceName string
	// Log, when set, is called with one line per step (Walk uses it). Nil means silent.
	Log func(format string, args ...any)
}

// Session is one claimed pairing: the phone token and what the claim answered.
type Session struct {
	// Base is the server's base URL (scheme://host[:port][/prefix]) without a trailing slash.
	Base string
	// Token is the phone token, sent as Authorization: Bearer on every later call.
	Token string
	// ExpiresAt is when the phone token stops working.
	ExpiresAt time.Time
	// DeviceID is the X-Device-Id this session claimed with.
	DeviceID string
	// DeviceToken lists what this device verified (DeviceOrders), long after Token has
	// lapsed; it works only with DeviceID.
	DeviceToken string
	// Order is the ORDER object of the claim answer, as received.
	Order json.RawMessage
	// Materials is the claim answer's list of materials for this order.
	Materials []Requirement
	// Desktop says which desktop showed the QR code, so a person tricked into scanning a
	// stranger's code can stop.
	Desktop DesktopInfo

	c *Client
}

// Requirement is one entry of the order's materials list as the app sees it.
type Requirement struct {
	Slot       string `json:"slot"`
	LabelZh    string `json:"label_zh"`
	Required   bool   `json:"required"`
	GuidanceZh string `json:"guidance_zh"`
	Uploaded   bool   `json:"uploaded"`
	// AppAllowed is whether the app may upload this slot; nil when the server did not say
	// (the claim's materials list does not carry it; ORDER.required_materials does).
	AppAllowed *bool `json:"app_allowed,omitempty"`
	// Flagged is set in a re-upload pairing (the order's changes_requested): the reviewer
	// flagged the slot's material, and the phone replaces it.
	Flagged bool `json:"flagged,omitempty"`
}

// DesktopInfo describes the desktop that created the pairing.
type DesktopInfo struct {
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
}

// Material is the MATERIAL object of the contract: what the server stored for a slot.
type Material struct {
	Slot         string    `json:"slot"`
	Format       string    `json:"format"`
	Size         int64     `json:"size"`
	SHA256       string    `json:"sha256"`
	Width        int       `json:"width"`
	Height       int       `json:"height"`
	Via          string    `json:"via"`
	UploadedAt   time.Time `json:"uploaded_at"`
	Warnings     []string  `json:"warnings"`
	Fitted       bool      `json:"fitted"`
	OriginalSize int64     `json:"original_size"`
}

// OrderSummary is the part of an ORDER the app shows before uploading: whose filing it is,
// for which domains, and where it stands.
type OrderSummary struct {
	ID                string        `json:"id"`
	State             string        `json:"state"`
	Version           int64         `json:"version"`
	SubjectType       string        `json:"subject_type"`
	Province          string        `json:"province"`
	SubjectName       string        `json:"subject_name"`
	UploadMethod      string        `json:"upload_method"`
	Domains           []string      `json:"domains"`
	RequiredMaterials []Requirement `json:"required_materials"`
}

// ParseOrder decodes the fields of an ORDER that OrderSummary names.
func ParseOrder(order json.RawMessage) (OrderSummary, error) {
	var o OrderSummary
	if len(order) == 0 {
		return o, errors.New("phone: empty order")
	}
	if err := json.Unmarshal(order, &o); err != nil {
		return o, fmt.Errorf("phone: decode order: %w", err)
	}
	return o, nil
}

// APIError is an error answer of the server: a non-2xx status with the contract's
// {"error": {"code", "message", "message_zh", "details"}} envelope. When the body is not
// that envelope (a proxy's error page, say), Code is empty and Message holds the status
// and the start of the body.
type APIError struct {
	Status    int
	Code      string
	Message   string
	MessageZh string
	Details   map[string]any
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server answered %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.MessageZh != "" {
		b.WriteString(" (" + e.MessageZh + ")")
	}
	return b.String()
}

// ErrorCode returns the contract code of err if it is (or wraps) an *APIError, else "".
func ErrorCode(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) appVersion() string {
	if c.AppVersion != "" {
		return c.AppVersion
	}
	return DefaultAppVersion
}

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// RandomDeviceID returns a fresh "phone-sim-…" device id.
func RandomDeviceID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return "phone-sim-" + hex.EncodeToString(b[:])
}

// request describes one call of the app API.
type request struct {
	method      string
	url         string
	token       string
	deviceID    string
	body        io.Reader
	contentType string
	header      map[string]string
}

// do sends r and decodes a 2xx JSON answer into out (when out is not nil). A non-2xx
// answer becomes an *APIError.
func (c *Client) do(ctx context.Context, r request, out any) error {
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, r.body)
	if err != nil {
		return fmt.Errorf("phone: %w", err)
	}
	req.Header.Set("X-App-Version", c.appVersion())
	req.Header.Set("Accept", "application/json")
	if r.deviceID != "" {
		req.Header.Set("X-Device-Id", r.deviceID)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("phone: %s %s: %w", r.method, redact(r.url), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("phone: %s %s: read answer: %w", r.method, redact(r.url), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseAPIError(resp.StatusCode, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("phone: %s %s: decode answer: %w", r.method, redact(r.url), err)
	}
	return nil
}

// parseAPIError turns an error answer into an *APIError.
func parseAPIError(status int, body []byte) *APIError {
	var env struct {
		Error *struct {
			Code      string         `json:"code"`
			Message   string         `json:"message"`
			MessageZh string         `json:"message_zh"`
			Details   map[string]any `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil && env.Error.Code != "" {
		return &APIError{Status: status, Code: env.Error.Code, Message: env.Error.Message,
			MessageZh: env.Error.MessageZh, Details: env.Error.Details}
	}
	msg := http.StatusText(status)
	if s := strings.TrimSpace(string(body)); s != "" {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		msg += ": " + s
	}
	return &APIError{Status: status, Message: msg}
}

// redact drops the query of a URL for error messages: a scan URL's query is the pairing
// code, which must not end up in logs.
func redact(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?…"
	}
	return raw
}

// claimResponse is the answer of POST /m/v1/pairings/claim.
type claimResponse struct {
	PhoneToken  string          `json:"phone_token"`
	DeviceToken string          `json:"device_token"`
	ExpiresAt   time.Time       `json:"expires_at"`
	Order       json.RawMessage `json:"order"`
	Materials   []Requirement   `json:"materials"`
	Desktop     DesktopInfo     `json:"desktop"`
}

// Claim claims the pairing of code on the server at base (as ParseScanURL returns it) and
// returns the session. Claiming again with the same DeviceID gets a fresh token.
func (c *Client) Claim(ctx context.Context, base, code string) (*Session, error) {
	base = strings.TrimRight(base, "/")
	deviceID := c.DeviceID
	if deviceID == "" {
		deviceID = RandomDeviceID()
	}
	body, err := json.Marshal(map[string]string{"code": code})
	if err != nil {
		return nil, fmt.Errorf("phone: %w", err)
	}
	var cr claimResponse
	var header map[string]string
	if c.DeviceName != "" {
		header = map[string]string{"X-Device-Name": c.DeviceName}
	}
	err = c.do(ctx, request{
		method: http.MethodPost, url: base + "/m/v1/pairings/claim", deviceID: deviceID,
		body: bytes.NewReader(body), contentType: "application/json", header: header,
	}, &cr)
	if err != nil {
		return nil, err
	}
	if cr.PhoneToken == "" {
		return nil, errors.New("phone: claim answer has no phone_token")
	}
	return &Session{
		Base: base, Token: cr.PhoneToken, ExpiresAt: cr.ExpiresAt, DeviceID: deviceID, DeviceToken: cr.DeviceToken,
		Order: cr.Order, Materials: cr.Materials, Desktop: cr.Desktop, c: c,
	}, nil
}

// client returns the session's client, or a zero Client for a Session built by hand.
func (s *Session) client() *Client {
	if s.c != nil {
		return s.c
	}
	return &Client{}
}

// GetOrder fetches the paired order and its materials (GET /m/v1/order). It does not
// change the Session; callers that want the fresh order keep what it returns.
//
// (The method cannot be called Order: that is the field holding the claim's order.)
func (s *Session) GetOrder(ctx context.Context) (json.RawMessage, []Requirement, error) {
	var out struct {
		Order     json.RawMessage `json:"order"`
		Materials []Requirement   `json:"materials"`
	}
	c := s.client()
	err := c.do(ctx, request{method: http.MethodGet, url: s.Base + "/m/v1/order",
		token: s.Token, deviceID: s.DeviceID}, &out)
	if err != nil {
		return nil, nil, err
	}
	return out.Order, out.Materials, nil
}

// Upload stores img in slot (PUT /m/v1/materials/{slot}) and returns the server's
// "material" object. An empty contentType is sniffed from the bytes. A non-empty
// idempotencyKey is sent as Idempotency-Key, so that repeating the call after a lost
// answer returns the first answer instead of storing twice.
func (s *Session) Upload(ctx context.Context, slot string, img []byte, contentType, idempotencyKey string) (json.RawMessage, error) {
	if contentType == "" {
		contentType = http.DetectContentType(img)
	}
	var h map[string]string
	if idempotencyKey != "" {
		h = map[string]string{"Idempotency-Key": idempotencyKey}
	}
	var out struct {
		Material json.RawMessage `json:"material"`
	}
	c := s.client()
	err := c.do(ctx, request{
		method: http.MethodPut, url: s.Base + "/m/v1/materials/" + url.PathEscape(slot),
		token: s.Token, deviceID: s.DeviceID, body: bytes.NewReader(img),
		contentType: contentType, header: h,
	}, &out)
	if err != nil {
		return nil, err
	}
	if len(out.Material) == 0 {
		return nil, errors.New("phone: upload answer has no material")
	}
	return out.Material, nil
}

// Complete tells the server the phone is done (POST /m/v1/complete); the desktop then
// gets upload_complete.
func (s *Session) Complete(ctx context.Context) error {
	c := s.client()
	return c.do(ctx, request{method: http.MethodPost, url: s.Base + "/m/v1/complete",
		token: s.Token, deviceID: s.DeviceID}, nil)
}

// DeviceOrder is one order of the device's list (GET /m/v1/device/orders): what the app
// shows as verified through this phone. It carries no ID numbers.
type DeviceOrder struct {
	ID          string          `json:"id"`
	SubjectName string          `json:"subject_name"`
	Domains     []string        `json:"domains"`
	State       string          `json:"state"`
	Review      json.RawMessage `json:"review"`
	Authority   json.RawMessage `json:"authority"`
	VerifiedAt  time.Time       `json:"verified_at"`
	Slots       []string        `json:"slots"`
}

// DeviceOrders lists the orders this device (c.DeviceID, which the token is bound to)
// uploaded to on the server at base, newest first.
func (c *Client) DeviceOrders(ctx context.Context, base, deviceToken string) ([]DeviceOrder, error) {
	var out struct {
		Orders []DeviceOrder `json:"orders"`
	}
	err := c.do(ctx, request{
		method: http.MethodGet, url: strings.TrimRight(base, "/") + "/m/v1/device/orders",
		token: deviceToken, deviceID: c.DeviceID,
	}, &out)
	return out.Orders, err
}
