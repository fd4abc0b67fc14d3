// Package desktoptest plays the desktop page against a whole server from outside, over
// HTTP only: create an order, choose the method, start a pairing, upload and read
// materials, read the audit trail, watch the websocket. It is for the tests that run real
// instances as processes or through a proxy (the restore test of `beianscan backup`, the
// rolling-upgrade test in deploy), where the server package's own test helpers do not
// reach. The phone's side is internal/appsim.
package desktoptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Client talks to one base URL (an instance, or the proxy in front of them).
type Client struct {
	Base string
	HTTP *http.Client // default http.DefaultClient
	// Dialer opens websockets; default websocket.DefaultDialer.
	Dialer *websocket.Dialer
}

// Order is a created order as the desktop holds it.
type Order struct {
	ID, Token string
}

// Answer is one answer: status, headers and body.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Code is the contract's error code of an error answer, or "".
func (a Answer) Code() string {
	var env struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(a.Body, &env)
	return env.Error.Code
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Do sends a request with the desktop token (when token is set); body is sent as it is
// when it is []byte, as JSON otherwise.
func (c *Client) Do(ctx context.Context, method, path, token string, body any, header map[string]string) (Answer, error) {
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		r, ctype = bytes.NewReader(b), http.DetectContentType(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return Answer{}, err
		}
		r, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, r)
	if err != nil {
		return Answer{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Answer{resp.StatusCode, resp.Header, b}, err
}

// must sends a request and wants the status.
func (c *Client) must(ctx context.Context, want int, method, path, token string, body any, out any) error {
	a, err := c.Do(ctx, method, path, token, body, nil)
	if err != nil {
		return err
	}
	if a.Status != want {
		return fmt.Errorf("%s %s: %d %s, want %d", method, path, a.Status, bytes.TrimSpace(a.Body), want)
	}
	if out != nil {
		return json.Unmarshal(a.Body, out)
	}
	return nil
}

// GDIndividual is an individual's Guangdong order, where both methods are allowed.
func GDIndividual() map[string]any {
	return map[string]any{
		"subject_type": "individual", "province": "CN-GD", "subject_name": "张三",
		"subject_leader": map[string]any{
			"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X", "id_valid_until": "long_term",
		},
		"website_leader_same_as_subject_leader": true,
		"domains":                               []string{"example.com"},
	}
}

// CreateOrder creates a GDIndividual order and chooses the upload method ("pc" or "app").
func (c *Client) CreateOrder(ctx context.Context, method string) (Order, error) {
	var out struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
		Token string `json:"desktop_token"`
	}
	if err := c.must(ctx, http.StatusCreated, "POST", "/api/v1/orders", "", GDIndividual(), &out); err != nil {
		return Order{}, err
	}
	o := Order{ID: out.Order.ID, Token: out.Token}
	return o, c.must(ctx, http.StatusOK, "PUT", o.path("/upload-method"), o.Token, map[string]string{"method": method}, nil)
}

func (o Order) path(rest string) string { return "/api/v1/orders/" + o.ID + rest }

// Pair starts a QR pairing and returns its scan URL (what the phone decodes).
func (c *Client) Pair(ctx context.Context, o Order) (string, error) {
	var out struct {
		Pairing struct {
			ScanURL string `json:"scan_url"`
		} `json:"pairing"`
	}
	err := c.must(ctx, http.StatusCreated, "POST", o.path("/pairing"), o.Token, nil, &out)
	return out.Pairing.ScanURL, err
}

// Material is a stored material as the API lists it.
type Material struct {
	Slot   string `json:"slot"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Put uploads an image for slot from the desktop (the PC path) and returns the material.
func (c *Client) Put(ctx context.Context, o Order, slot string, img []byte) (Material, error) {
	var out struct {
		Material Material `json:"material"`
	}
	err := c.must(ctx, http.StatusCreated, "PUT", o.path("/materials/"+url.PathEscape(slot)), o.Token, img, &out)
	return out.Material, err
}

// Materials lists the order's stored materials by slot.
func (c *Client) Materials(ctx context.Context, o Order) (map[string]Material, error) {
	var out struct {
		Materials []Material `json:"materials"`
	}
	if err := c.must(ctx, http.StatusOK, "GET", o.path("/materials"), o.Token, nil, &out); err != nil {
		return nil, err
	}
	m := map[string]Material{}
	for _, x := range out.Materials {
		m[x.Slot] = x
	}
	return m, nil
}

// Image reads a material's image.
func (c *Client) Image(ctx context.Context, o Order, slot string) ([]byte, error) {
	a, err := c.Do(ctx, "GET", o.path("/materials/"+url.PathEscape(slot)), o.Token, nil, nil)
	if err != nil {
		return nil, err
	}
	if a.Status != http.StatusOK {
		return nil, fmt.Errorf("GET image %s: %d %s", slot, a.Status, bytes.TrimSpace(a.Body))
	}
	return a.Body, nil
}

// AuditEntry is one entry of the audit trail.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Slot   string    `json:"slot"`
}

// Audit reads the order's audit trail, oldest first.
func (c *Client) Audit(ctx context.Context, o Order) ([]AuditEntry, error) {
	var out struct {
		Entries []AuditEntry `json:"entries"`
	}
	err := c.must(ctx, http.StatusOK, "GET", o.path("/audit"), o.Token, nil, &out)
	return out.Entries, err
}

// Watch opens the order's websocket with the given Origin and returns it once its first
// frame, the snapshot, has arrived (with that frame's version).
func (c *Client) Watch(ctx context.Context, o Order, origin string) (*websocket.Conn, int64, error) {
	d := c.Dialer
	if d == nil {
		d = websocket.DefaultDialer
	}
	u := "ws" + strings.TrimPrefix(c.Base, "http") + o.path("/events")
	h := http.Header{"Authorization": {"Bearer " + o.Token}, "Origin": {origin}}
	conn, resp, err := d.DialContext(ctx, u, h)
	if err != nil {
		if resp != nil {
			return nil, 0, fmt.Errorf("websocket: %w (status %d)", err, resp.StatusCode)
		}
		return nil, 0, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	var f struct {
		Type    string `json:"type"`
		Version int64  `json:"version"`
	}
	if err := conn.ReadJSON(&f); err != nil || f.Type != "snapshot" {
		conn.Close()
		return nil, 0, fmt.Errorf("websocket: first frame %q, %v; want the snapshot", f.Type, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return conn, f.Version, nil
}
