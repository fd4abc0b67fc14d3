package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/beianscan/beianscan/api"
	"github.com/beianscan/beianscan/internal/httpx"
)

// The OpenAPI document is checked against the server from both sides: every request the
// tests make through do() and its answer are validated against it (validateExchange), and
// the routes registered in echo must be exactly the document's paths (TestOpenAPIRoutes).

var (
	docOnce   sync.Once
	docLoaded *openapi3.T
	docRouter routers.Router
	docErr    error
)

func apiDoc(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	docOnce.Do(func() {
		for _, ct := range []string{"image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp", "text/html"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		l := openapi3.NewLoader()
		docLoaded, docErr = l.LoadFromData(api.OpenAPI)
		if docErr != nil {
			return
		}
		if docErr = docLoaded.Validate(l.Context, strict...); docErr != nil {
			return
		}
		docRouter, docErr = gorillamux.NewRouter(docLoaded)
	})
	if docErr != nil {
		t.Fatalf("api/openapi.json: %v", docErr)
	}
	return docLoaded, docRouter
}

// strict are the lint's options: formats, patterns, defaults and examples checked too
// (unknown keywords are refused by default).
var strict = []openapi3.ValidationOption{
	openapi3.EnableSchemaFormatValidation(), openapi3.EnableSchemaPatternValidation(),
	openapi3.EnableSchemaDefaultsValidation(), openapi3.EnableExamplesValidation(),
}

// validateExchange checks one request and its answer against the document: the answer must
// be documented for its route and status, and match its schema (response schemas forbid
// fields they do not list). A request the document calls invalid (the tests send many on
// purpose) must be refused with a 4xx, never accepted. Websocket upgrades (101) are checked
// for their status only.
func validateExchange(t testing.TB, hr *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	doc, router := apiDoc(t)
	ctx := context.Background()
	r := hr.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(r)
	if err != nil {
		// Not a route of the document: the server must say so, in the envelope.
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("openapi: %s %s is not in the document (%v) but answered %d", hr.Method, hr.URL.Path, err, resp.StatusCode)
			return
		}
		validateErrorBody(t, doc, hr, respBody)
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true},
	}
	if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && resp.StatusCode < 400 {
		t.Errorf("openapi: %s %s: the document calls the request invalid (%v), yet the server answered %d", hr.Method, hr.URL.Path, reqErr, resp.StatusCode)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if route.Operation.Responses.Status(101) == nil {
			t.Errorf("openapi: %s %s: 101 not documented", hr.Method, hr.URL.Path)
		}
		return
	}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: in.Options,
	}
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		t.Errorf("openapi: %s %s → %d: the answer does not match the document: %v\nbody: %.600s", hr.Method, hr.URL.Path, resp.StatusCode, err, respBody)
	}
}

// validateFrame checks a websocket frame against the document's SnapshotFrame or EventFrame.
func validateFrame(t testing.TB, f map[string]any) {
	t.Helper()
	doc, _ := apiDoc(t)
	name := "EventFrame"
	if f["type"] == "snapshot" {
		name = "SnapshotFrame"
	}
	// The schema validator wants JSON's own types (float64 numbers, []any), which a
	// decoded map already has.
	if err := doc.Components.Schemas[name].Value.VisitJSON(f, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("openapi: websocket frame is not a %s: %v", name, err)
	}
}

func validateErrorBody(t testing.TB, doc *openapi3.T, hr *http.Request, body []byte) {
	t.Helper()
	if hr.Method == http.MethodHead {
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("openapi: %s %s: error answer is not JSON: %q", hr.Method, hr.URL.Path, body)
		return
	}
	if err := doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("openapi: %s %s: error answer is not the envelope: %v", hr.Method, hr.URL.Path, err)
	}
}

// TestOpenAPIDocument lints the document: it loads strictly, validates as OpenAPI 3.1, every
// error code the server knows is in ErrorCode, and every error response lists codes whose
// status is the response's.
func TestOpenAPIDocument(t *testing.T) {
	doc, _ := apiDoc(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	// The lint is strict: an unknown keyword (a typo such as "requried") fails it.
	typo := bytes.Replace(api.OpenAPI, []byte(`"additionalProperties": false`), []byte(`"additionalProperties": false, "requried": ["x"]`), 1)
	l := openapi3.NewLoader()
	bad, err := l.LoadFromData(typo)
	if err == nil {
		err = bad.Validate(l.Context, strict...)
	}
	if err == nil {
		t.Error("a misspelt keyword passes the lint")
	}
	codes := map[string]bool{}
	for _, c := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		codes[c.(string)] = true
	}
	for _, c := range serverCodes {
		if !codes[c] {
			t.Errorf("error code %s is missing from ErrorCode", c)
		}
	}
	// Every response made of the envelope names its codes in its description, each of
	// that status.
	code := regexp.MustCompile("`([a-z_]+)`")
	for name, r := range doc.Components.Responses {
		for _, m := range code.FindAllStringSubmatch(*r.Value.Description, -1) {
			if !codes[m[1]] {
				t.Errorf("response %s names unknown code %s", name, m[1])
			}
			if st := statusOf(m[1]); !strings.HasPrefix(name, "E"+st) {
				t.Errorf("response %s lists %s, whose status is %s", name, m[1], st)
			}
		}
	}
	// Every route touching Redis documents 503 with Retry-After.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/m/v1") {
				r := op.Responses.Status(503)
				if r == nil || r.Value.Headers["Retry-After"] == nil {
					t.Errorf("%s %s: no 503 with Retry-After", method, path)
				}
			}
		}
	}
}

// TestOpenAPIRoutes: every route echo serves is in the document, and every path of the
// document is served.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := apiDoc(t)
	m := start(t, nil)
	param := regexp.MustCompile(`:([a-z_]+)`)
	served := map[string]bool{}
	for _, r := range m.Echo().Routes() {
		if strings.HasPrefix(r.Method, "echo_route_") || strings.HasSuffix(r.Name, "NotFoundHandler") || strings.HasSuffix(r.Name, "MethodNotAllowedHandler") {
			continue
		}
		p := param.ReplaceAllString(r.Path, "{$1}")
		p = strings.Replace(p, "/*", "/{path}", 1)
		served[r.Method+" "+p] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("served but not documented: %s", k)
		}
	}
	var missing []string
	for k := range documented {
		if !served[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	for _, k := range missing {
		t.Errorf("documented but not served: %s", k)
	}
	// The document is served as it is embedded.
	r := must(t, do(t, req{method: "GET", url: m.URL + "/openapi.json"}), http.StatusOK)
	if !bytes.Equal(r.Raw, api.OpenAPI) {
		t.Error("GET /openapi.json differs from api/openapi.json")
	}
}

// serverCodes are the contract's codes, as filing declares them; httperr gives each its status.
var serverCodes = []string{
	"invalid_request", "invalid_province", "invalid_id_type", "invalid_id_number", "id_expired", "unauthorized",
	"token_revoked", "order_not_found", "province_not_supported", "invalid_state", "upload_method_not_app",
	"pairing_not_found", "pairing_expired", "pairing_already_claimed", "material_not_found", "materials_incomplete",
	"origin_not_allowed", "missing_app_version", "app_version_too_old", "rate_limited", "too_large",
	"unsupported_format", "corrupt_image", "image_too_small", "image_too_large_dimensions", "animated_gif",
	"unknown_slot", "slot_not_allowed_in_app", "not_found", "unavailable", "request_timeout", "internal",
}

func statusOf(code string) string { return strconv.Itoa(httpx.Status(code)) }
