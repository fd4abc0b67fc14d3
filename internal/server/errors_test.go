package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/server"
)

// contractCase is one refused request of api/openapi.json. setup builds what the request needs
// and returns the order whose stored state must not change (zero: none, as for a refused
// order creation) and the request itself.
type contractCase struct {
	name   string
	setup  func(t *testing.T) (order, req)
	status int
	code   string
	// check makes further assertions on the reply (details).
	check func(t *testing.T, r reply)
	// watch also checks over the order's websocket that the refusal raised no event.
	watch bool
}

const (
	appVersionOK = "3.16.0"
	minVersion   = "3.16.0"
)

// TestContractErrors covers every error code that api/openapi.json lists for every call, over
// real HTTP, and checks that a refused request leaves the stored order as it was.
func TestContractErrors(t *testing.T) {
	m := start(t, nil)
	// The limiter server counts guesses per client IP; the TTL server lets pairings lapse
	// almost at once; the keyless server has no operator key (review-result disabled).
	limited := start(t, func(c *server.Config) { c.ClaimGuessLimit = 3 })
	shortTTL := start(t, func(c *server.Config) { c.PairingTTL = 50 * time.Millisecond })
	keyless := start(t, func(c *server.Config) { c.OperatorKey = "" })

	jpegBody := testJPEG(t, 400, 400)
	pngBody := testPNG(t, 400, 400)
	exactly4MiB := paddedPNG(t, 4<<20)
	over4MiB := append(append([]byte{}, jpegBody[:2000]...), bytes.Repeat([]byte{0x55}, 4<<20+1-2000)...)
	truncatedJPEG := jpegBody[:len(jpegBody)/2]
	tooSmall := testPNG(t, 299, 400)
	hugeHeader := pngHeader(10000, 10000)
	animated := animatedGIF(t)

	// uploadCases are the image refusals, sent both from the desktop and from the app.
	uploadCases := []struct {
		name   string
		slot   string
		ctype  string
		body   []byte
		status int
		code   string
	}{
		{"too_large: valid PNG of exactly 4 MiB", "verification_form", "image/png", exactly4MiB, 413, "too_large"},
		{"too_large: 4 MiB + 1 byte", "verification_form", "image/jpeg", over4MiB, 413, "too_large"},
		{"unsupported_format: BMP", "verification_form", "image/bmp", bmpBytes(), 415, "unsupported_format"},
		{"unsupported_format: text", "verification_form", "image/png", []byte("this is not an image, just some text\n"), 415, "unsupported_format"},
		{"corrupt_image: truncated JPEG", "verification_form", "image/jpeg", truncatedJPEG, 422, "corrupt_image"},
		{"image_too_small: 299x400", "verification_form", "image/png", tooSmall, 422, "image_too_small"},
		{"image_too_large_dimensions: IHDR 10000x10000", "verification_form", "image/png", hugeHeader, 422, "image_too_large_dimensions"},
		{"animated_gif: two frames", "verification_form", "image/gif", animated, 422, "animated_gif"},
		{"unknown_slot: passport_photo", "passport_photo", "image/jpeg", jpegBody, 404, "unknown_slot"},
	}

	var cases []contractCase
	add := func(c ...contractCase) { cases = append(cases, c...) }

	// POST /api/v1/orders
	createWith := func(mutate func(map[string]any)) func(t *testing.T) (order, req) {
		return func(t *testing.T) (order, req) {
			in := gdIndividual()
			mutate(in)
			return order{}, req{method: "POST", url: m.URL + "/api/v1/orders", body: in}
		}
	}
	leader := func(in map[string]any) map[string]any { return in["subject_leader"].(map[string]any) }
	yesterday := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -1).Format(time.DateOnly)
	add(
		contractCase{name: "create/invalid_request: bad JSON", status: 422, code: "invalid_request",
			setup: func(t *testing.T) (order, req) {
				return order{}, req{method: "POST", url: m.URL + "/api/v1/orders", body: []byte(`{"subject_type": "individual",`),
					header: map[string]string{"Content-Type": "application/json"}}
			}},
		contractCase{name: "create/invalid_request: unknown subject_type", status: 422, code: "invalid_request",
			setup: createWith(func(in map[string]any) { in["subject_type"] = "company" }), check: wantField("subject_type")},
		contractCase{name: "create/invalid_request: missing website leader", status: 422, code: "invalid_request",
			setup: createWith(func(in map[string]any) { delete(in, "website_leader_same_as_subject_leader") }),
			check: wantField("website_leader")},
		contractCase{name: "create/invalid_province: CN-TW", status: 422, code: "invalid_province",
			setup: createWith(func(in map[string]any) { in["province"] = "CN-TW" }), check: wantField("province")},
		contractCase{name: "create/invalid_id_type", status: 422, code: "invalid_id_type",
			setup: createWith(func(in map[string]any) { leader(in)["id_type"] = "driving_licence" }),
			check: wantField("subject_leader.id_type")},
		contractCase{name: "create/invalid_id_number: wrong check digit", status: 422, code: "invalid_id_number",
			setup: createWith(func(in map[string]any) { leader(in)["id_number"] = "110105194912310021" }),
			check: wantField("subject_leader.id_number")},
		contractCase{name: "create/id_expired: valid until yesterday", status: 422, code: "id_expired",
			setup: createWith(func(in map[string]any) { leader(in)["id_valid_until"] = yesterday }),
			check: wantField("subject_leader.id_valid_until")},
	)

	// GET /api/v1/orders/{id}
	add(
		contractCase{name: "get order/unauthorized: no token", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o := createOrder(t, m, gdIndividual())
				return o, req{method: "GET", url: o.url("")}
			}},
		contractCase{name: "get order/unauthorized: garbage token", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o := createOrder(t, m, gdIndividual())
				return o, req{method: "GET", url: o.url(""), token: "not.a.jwt"}
			}},
		contractCase{name: "get order/unauthorized: phone token as desktop token", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o, phone := claimedApp(t, m)
				return o, req{method: "GET", url: o.url(""), token: phone}
			}},
		contractCase{name: "get order/order_not_found: another order's token", status: 404, code: "order_not_found",
			setup: func(t *testing.T) (order, req) {
				o := createOrder(t, m, gdIndividual())
				other := createOrder(t, m, gdIndividual())
				return o, req{method: "GET", url: o.url(""), token: other.Token}
			}},
	)

	// PUT /api/v1/orders/{id}/upload-method
	add(
		contractCase{name: "upload-method/province_not_supported: CN-BJ app", status: 403, code: "province_not_supported",
			setup: func(t *testing.T) (order, req) {
				in := gdIndividual()
				in["province"] = "CN-BJ"
				o := createOrder(t, m, in)
				return o, methodReq(o, "app")
			}},
		contractCase{name: "upload-method/invalid_state: after submit", status: 409, code: "invalid_state",
			setup: func(t *testing.T) (order, req) {
				o := submittedPC(t, m)
				return o, methodReq(o, "app")
			}},
		contractCase{name: "upload-method/invalid_request: fax", status: 422, code: "invalid_request",
			setup: func(t *testing.T) (order, req) {
				o := createOrder(t, m, gdIndividual())
				return o, methodReq(o, "fax")
			}},
	)

	// POST /api/v1/orders/{id}/pairing and GET …/pairing/qr.png
	add(
		contractCase{name: "pairing/upload_method_not_app: pc", status: 409, code: "upload_method_not_app",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "pc")
				return o, req{method: "POST", url: o.url("/pairing"), token: o.Token}
			}},
		contractCase{name: "pairing/upload_method_not_app: unset", status: 409, code: "upload_method_not_app",
			setup: func(t *testing.T) (order, req) {
				o := createOrder(t, m, gdIndividual())
				return o, req{method: "POST", url: o.url("/pairing"), token: o.Token}
			}},
		contractCase{name: "pairing/invalid_state: submitted", status: 409, code: "invalid_state",
			setup: func(t *testing.T) (order, req) {
				o, _ := submittedApp(t, m)
				return o, req{method: "POST", url: o.url("/pairing"), token: o.Token}
			}},
		contractCase{name: "qr.png/pairing_not_found: no pairing", status: 404, code: "pairing_not_found",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "app")
				return o, qrReq(o)
			}},
		contractCase{name: "qr.png/pairing_not_found: after revoke", status: 404, code: "pairing_not_found",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "app")
				pair(t, o)
				must(t, do(t, req{method: "DELETE", url: o.url("/pairing"), token: o.Token}), http.StatusNoContent)
				return o, qrReq(o)
			}},
		contractCase{name: "qr.png/pairing_not_found: after claim", status: 404, code: "pairing_not_found",
			setup: func(t *testing.T) (order, req) {
				o, _ := claimedApp(t, m)
				return o, qrReq(o)
			}},
		contractCase{name: "delete pairing: 204, then the phone gets token_revoked", status: 401, code: "token_revoked",
			setup: func(t *testing.T) (order, req) {
				o, phone := claimedApp(t, m)
				must(t, do(t, req{method: "DELETE", url: o.url("/pairing"), token: o.Token}), http.StatusNoContent)
				return o, phoneReq(m, "GET", "/m/v1/order", phone, nil)
			}},
	)

	// GET and DELETE /api/v1/orders/{id}/materials/{slot}
	add(
		contractCase{name: "get material/material_not_found: nothing uploaded", status: 404, code: "material_not_found",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "pc")
				return o, req{method: "GET", url: o.url("/materials/verification_form"), token: o.Token}
			}},
		contractCase{name: "get material/material_not_found: unknown slot", status: 404, code: "material_not_found",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "pc")
				putPC(t, o, "verification_form", pngBody)
				return o, req{method: "GET", url: o.url("/materials/passport_photo"), token: o.Token}
			}},
		contractCase{name: "delete material/invalid_state: after submit", status: 409, code: "invalid_state",
			setup: func(t *testing.T) (order, req) {
				o := submittedPC(t, m)
				return o, req{method: "DELETE", url: o.url("/materials/verification_form"), token: o.Token}
			}},
	)

	// PUT /api/v1/orders/{id}/materials/{slot} (desktop) and PUT /m/v1/materials/{slot} (app)
	for _, u := range uploadCases {
		add(contractCase{name: "desktop upload/" + u.name, status: u.status, code: u.code,
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "pc")
				putPC(t, o, "subject_leader_id_front", jpegBody) // so that there is something to keep
				return o, req{method: "PUT", url: o.url("/materials/" + u.slot), token: o.Token, body: u.body,
					header: map[string]string{"Content-Type": u.ctype}}
			}})
		add(contractCase{name: "app upload/" + u.name, status: u.status, code: u.code, watch: true,
			setup: func(t *testing.T) (order, req) {
				o, phone := claimedApp(t, m)
				putPC(t, o, "subject_leader_id_front", jpegBody)
				r := phoneReq(m, "PUT", "/m/v1/materials/"+u.slot, phone, u.body)
				r.header["Content-Type"] = u.ctype
				return o, r
			}})
	}
	add(
		contractCase{name: "app upload/slot_not_allowed_in_app: supplementary", status: 403, code: "slot_not_allowed_in_app", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, phone := claimedApp(t, m)
				return o, phoneReq(m, "PUT", "/m/v1/materials/supplementary", phone, jpegBody)
			}},
		contractCase{name: "app upload/invalid_state: after submit", status: 409, code: "invalid_state",
			setup: func(t *testing.T) (order, req) {
				o, phone := submittedApp(t, m)
				return o, phoneReq(m, "PUT", "/m/v1/materials/verification_form", phone, jpegBody)
			}},
		contractCase{name: "desktop upload/invalid_state: after submit", status: 409, code: "invalid_state",
			setup: func(t *testing.T) (order, req) {
				o := submittedPC(t, m)
				return o, req{method: "PUT", url: o.url("/materials/verification_form"), token: o.Token, body: jpegBody,
					header: map[string]string{"Content-Type": "image/jpeg"}}
			}},
		contractCase{name: "desktop upload/invalid_request: face_photo", status: 422, code: "invalid_request",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "app")
				return o, req{method: "PUT", url: o.url("/materials/face_photo"), token: o.Token, body: jpegBody,
					header: map[string]string{"Content-Type": "image/jpeg"}}
			}},
		contractCase{name: "desktop upload/invalid_request: multipart without file", status: 422, code: "invalid_request",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "pc")
				ctype, body := multipartFiles(t, "image", jpegBody)
				return o, req{method: "PUT", url: o.url("/materials/verification_form"), token: o.Token, body: body,
					header: map[string]string{"Content-Type": ctype}}
			}},
	)

	// POST submit, withdraw, review-result
	pcMissing := []string{"subject_leader_id_back", "subject_leader_id_front"}
	add(
		contractCase{name: "submit/materials_incomplete", status: 422, code: "materials_incomplete",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "pc")
				putPC(t, o, "verification_form", pngBody)
				return o, req{method: "POST", url: o.url("/submit"), token: o.Token}
			}, check: wantMissing(pcMissing...)},
		contractCase{name: "submit/materials_incomplete: app order without face photo", status: 422, code: "materials_incomplete",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "app")
				putStd(t, o, jpegBody)
				return o, req{method: "POST", url: o.url("/submit"), token: o.Token}
			}, check: wantMissing("face_photo")},
		contractCase{name: "submit/invalid_state: already submitted", status: 409, code: "invalid_state",
			setup: func(t *testing.T) (order, req) {
				o := submittedPC(t, m)
				return o, req{method: "POST", url: o.url("/submit"), token: o.Token}
			}},
		contractCase{name: "submit/invalid_state: all present but no method chosen", status: 409, code: "invalid_state",
			setup: func(t *testing.T) (order, req) {
				o := createOrder(t, m, gdIndividual())
				putStd(t, o, jpegBody)
				return o, req{method: "POST", url: o.url("/submit"), token: o.Token}
			}},
		contractCase{name: "withdraw/invalid_state: from draft", status: 409, code: "invalid_state",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "pc")
				return o, req{method: "POST", url: o.url("/withdraw"), token: o.Token}
			}},
		contractCase{name: "review-result/unauthorized: no key", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o := submittedPC(t, m)
				return o, reviewReq(o, "")
			}},
		contractCase{name: "review-result/unauthorized: wrong key", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o := submittedPC(t, m)
				return o, reviewReq(o, "operator-key-wrong")
			}},
		contractCase{name: "review-result/unauthorized: desktop token instead of key", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o := submittedPC(t, m)
				r := reviewReq(o, "")
				r.token = o.Token
				return o, r
			}},
		contractCase{name: "review-result/invalid_state: not submitted", status: 409, code: "invalid_state",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, m, "pc")
				return o, reviewReq(o, testOperatorKey)
			}},
		contractCase{name: "review-result/unauthorized: server without operator key", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o := submittedPC(t, keyless)
				// With no key configured the endpoint is closed to every key.
				return o, reviewReq(o, testOperatorKey)
			}},
	)

	// GET /api/v1/orders/{id}/events
	add(
		contractCase{name: "events/unauthorized: no token", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o := createOrder(t, m, gdIndividual())
				return o, upgradeReq(o, "", "")
			}},
		contractCase{name: "events/origin_not_allowed: evil origin", status: 403, code: "origin_not_allowed",
			setup: func(t *testing.T) (order, req) {
				o := createOrder(t, m, gdIndividual())
				return o, upgradeReq(o, o.Token, "http://evil.example")
			}},
		contractCase{name: "events/origin_not_allowed: same host, other port", status: 403, code: "origin_not_allowed",
			setup: func(t *testing.T) (order, req) {
				o := createOrder(t, m, gdIndividual())
				return o, upgradeReq(o, o.Token, "http://127.0.0.1:1")
			}},
	)

	// POST /m/v1/pairings/claim
	appPaired := func(t *testing.T) (order, string) {
		o := orderWith(t, m, "app")
		return o, pair(t, o)
	}
	for _, v := range []struct{ name, version string }{
		{"no header", ""}, {"garbage", "garbage"}, {"300 characters", strings.Repeat("3", 300)},
	} {
		add(contractCase{name: "claim/missing_app_version: " + v.name, status: 400, code: "missing_app_version", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, code := appPaired(t)
				return o, claimReq(m, code, "device-1", v.version, "")
			}})
	}
	for _, v := range []string{"3.9.0", "3.15.9", "3.16.0-beta.1"} {
		add(contractCase{name: "claim/app_version_too_old: " + v, status: 426, code: "app_version_too_old", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, code := appPaired(t)
				return o, claimReq(m, code, "device-1", v, "")
			},
			check: func(t *testing.T, r reply) {
				if got := details(r)["min_version"]; got != minVersion {
					t.Errorf("details.min_version = %v, want %s", got, minVersion)
				}
			}})
	}
	add(
		contractCase{name: "claim/pairing_not_found: made-up code", status: 404, code: "pairing_not_found", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, _ := appPaired(t)
				return o, claimReq(m, "nosuchorder.c2VjcmV0LWNvZGUtbm90LWlzc3VlZA", "device-1", appVersionOK, "")
			}},
		contractCase{name: "claim/pairing_not_found: right order, wrong code", status: 404, code: "pairing_not_found", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, code := appPaired(t)
				return o, claimReq(m, code[:len(code)-1]+flip(code[len(code)-1]), "device-1", appVersionOK, "")
			}},
		contractCase{name: "claim/pairing_not_found: abc.def", status: 404, code: "pairing_not_found",
			setup: func(t *testing.T) (order, req) {
				return order{}, claimReq(m, "abc.def", "device-1", appVersionOK, "")
			}},
		contractCase{name: "claim/pairing_not_found: no dot", status: 404, code: "pairing_not_found",
			setup: func(t *testing.T) (order, req) {
				return order{}, claimReq(m, "abcdef", "device-1", appVersionOK, "")
			}},
		contractCase{name: "claim/invalid_request: empty code", status: 422, code: "invalid_request",
			setup: func(t *testing.T) (order, req) {
				return order{}, claimReq(m, "", "device-1", appVersionOK, "")
			}},
		contractCase{name: "claim/pairing_expired", status: 410, code: "pairing_expired",
			setup: func(t *testing.T) (order, req) {
				o := orderWith(t, shortTTL, "app")
				code := pair(t, o)
				// The QR stops being served the moment the pairing lapses: wait for that
				// rather than for a guessed duration.
				deadline := time.Now().Add(10 * time.Second)
				for do(t, qrReq(o)).Status != http.StatusNotFound {
					if time.Now().After(deadline) {
						t.Fatal("pairing did not lapse within 10s")
					}
				}
				return o, claimReq(shortTTL, code, "device-1", appVersionOK, "")
			}},
		contractCase{name: "claim/pairing_already_claimed: second device", status: 409, code: "pairing_already_claimed", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, code := appPaired(t)
				must(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), http.StatusOK)
				return o, claimReq(m, code, "device-2", appVersionOK, "")
			}},
		contractCase{name: "claim/invalid_request: no device id", status: 422, code: "invalid_request", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, code := appPaired(t)
				r := claimReq(m, code, "device-1", appVersionOK, "")
				delete(r.header, "X-Device-Id")
				return o, r
			}},
		contractCase{name: "claim/province_not_supported: claimed on a server without the province", status: 403, code: "province_not_supported", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, code := appPaired(t)
				// A second instance on the same Redis (the real one, or the first server's
				// embedded miniredis reached over the network) where app verification is
				// open only in Fujian.
				u := redisURL()
				if u == "" {
					u = "redis://" + m.Mini.Addr()
				}
				fj := start(t, func(c *server.Config) { c.RedisURL = u; c.AppProvinces = []string{"CN-FJ"} })
				return o, claimReq(fj, code, "device-1", appVersionOK, "")
			}},
		// upload_method_not_app cannot be reached by a claim: moving an order off the app
		// (PUT upload-method pc, or withdraw) revokes its pairing in the same update, so the
		// code is a retired one and the claim is answered 410 pairing_expired (api/openapi.json: a
		// code this server issued whose pairing is gone). The code stays in the contract for
		// a pairing that survives such a change.
		contractCase{name: "claim/upload_method_not_app: method switched to pc (pairing revoked: 410)", status: 410, code: "pairing_expired", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, code := appPaired(t)
				must(t, do(t, methodReq(o, "pc")), http.StatusOK)
				return o, claimReq(m, code, "device-1", appVersionOK, "")
			}},
	)
	// rate_limited: three guesses are allowed, then codes this server never issued are
	// refused; a genuine code from the same address still claims (TestGuessLimitSparesGenuineCodes).
	guess3 := func(t *testing.T, ip string) {
		for i := 0; i < 3; i++ {
			wantError(t, do(t, claimReq(limited, fmt.Sprintf("nosuchorder.guess%d", i), "device-1", appVersionOK, ip)),
				http.StatusNotFound, "pairing_not_found")
		}
	}
	add(
		contractCase{name: "claim/rate_limited: fourth guess", status: 429, code: "rate_limited", check: wantRetryAfter,
			setup: func(t *testing.T) (order, req) {
				ip := freshIP(t, limited)
				guess3(t, ip)
				return order{}, claimReq(limited, "nosuchorder.guess4", "device-1", appVersionOK, ip)
			}},
		contractCase{name: "claim/rate_limited: wrong code for a real order after three guesses", status: 429, code: "rate_limited", check: wantRetryAfter, watch: true,
			setup: func(t *testing.T) (order, req) {
				ip := freshIP(t, limited)
				o := orderWith(t, limited, "app")
				code := pair(t, o)
				guess3(t, ip)
				return o, claimReq(limited, code[:len(code)-1]+flip(code[len(code)-1]), "device-1", appVersionOK, ip)
			}},
	)

	// GET /m/v1/order and POST /m/v1/complete
	add(
		contractCase{name: "app order/unauthorized: no token", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o, _ := claimedApp(t, m)
				return o, phoneReq(m, "GET", "/m/v1/order", "", nil)
			}},
		contractCase{name: "app order/unauthorized: desktop token", status: 401, code: "unauthorized",
			setup: func(t *testing.T) (order, req) {
				o, _ := claimedApp(t, m)
				return o, phoneReq(m, "GET", "/m/v1/order", o.Token, nil)
			}},
		contractCase{name: "app order/missing_app_version", status: 400, code: "missing_app_version",
			setup: func(t *testing.T) (order, req) {
				o, phone := claimedApp(t, m)
				r := phoneReq(m, "GET", "/m/v1/order", phone, nil)
				delete(r.header, "X-App-Version")
				return o, r
			}},
		contractCase{name: "app order/token_revoked: replaced by a new pairing", status: 401, code: "token_revoked",
			setup: func(t *testing.T) (order, req) {
				o, phone := claimedApp(t, m)
				pair(t, o)
				return o, phoneReq(m, "GET", "/m/v1/order", phone, nil)
			}},
		contractCase{name: "app complete/materials_incomplete", status: 422, code: "materials_incomplete", watch: true,
			setup: func(t *testing.T) (order, req) {
				o, phone := claimedApp(t, m)
				putPC(t, o, "verification_form", pngBody)
				return o, phoneReq(m, "POST", "/m/v1/complete", phone, nil)
			}, check: wantMissing("face_photo", "subject_leader_id_back", "subject_leader_id_front")},
	)

	// Unknown routes
	add(
		contractCase{name: "route/not_found: unknown API path", status: 404, code: "not_found",
			setup: func(t *testing.T) (order, req) {
				return order{}, req{method: "GET", url: m.URL + "/api/v1/no-such-thing"}
			}},
		contractCase{name: "route/not_found: unknown app path", status: 404, code: "not_found",
			setup: func(t *testing.T) (order, req) {
				return order{}, req{method: "GET", url: m.URL + "/m/v2/order"}
			}},
	)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, rq := tc.setup(t)
			var conn *websocket.Conn
			var v0 int64
			if tc.watch {
				var snap map[string]any
				conn, snap = dial(t, o.Base, o)
				v0 = version(snap)
			}
			var before string
			if o.ID != "" {
				before = stored(t, o)
			}
			r := do(t, rq)
			// The stored state is compared before the reply is judged, so that a wrong
			// answer and a changed order are both reported.
			if o.ID != "" {
				if after := stored(t, o); after != before {
					t.Errorf("refused request changed the order:\nbefore %s\nafter  %s", before, after)
				}
			}
			wantError(t, r, tc.status, tc.code)
			if tc.check != nil {
				tc.check(t, r)
			}
			if tc.watch {
				noEventBefore(t, conn, o, v0)
			}
		})
	}

	t.Run("events/origin_not_allowed: websocket dialer sees the JSON refusal", func(t *testing.T) {
		o := createOrder(t, m, gdIndividual())
		h := http.Header{"Authorization": {"Bearer " + o.Token}, "Origin": {"http://evil.example"}}
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL(o), h)
		if err == nil {
			conn.Close()
			t.Fatal("websocket with Origin http://evil.example was accepted")
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("dial: %v, response %v; want 403", err, resp)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if !strings.Contains(b.String(), `"origin_not_allowed"`) {
			t.Errorf("403 body %q lacks origin_not_allowed", b.String())
		}
	})

	accepted(t, m, limited, jpegBody, pngBody)
}

// accepted are the requests next to the refusals that must go through: the boundaries of
// each rule.
func accepted(t *testing.T, m, limited *server.Main, jpegBody, pngBody []byte) {
	for _, v := range []string{"3.16.0", "3.16.1", "4.0.0"} {
		t.Run("accepted/claim with app version "+v, func(t *testing.T) {
			o := orderWith(t, m, "app")
			r := must(t, do(t, claimReq(m, pair(t, o), "device-1", v, "")), http.StatusOK)
			if tok, _ := r.Body["phone_token"].(string); tok == "" {
				t.Fatalf("no phone_token: %s", r.Raw)
			}
		})
	}
	t.Run("accepted/same device claims again and gets a fresh token", func(t *testing.T) {
		o := orderWith(t, m, "app")
		code := pair(t, o)
		first := must(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), http.StatusOK)
		second := must(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), http.StatusOK)
		t1, t2 := first.Body["phone_token"].(string), second.Body["phone_token"].(string)
		if t1 == t2 {
			t.Error("the second claim returned the same token")
		}
		must(t, do(t, phoneReq(m, "GET", "/m/v1/order", t2, nil)), http.StatusOK)
	})
	t.Run("accepted/successful claims never count as guesses", func(t *testing.T) {
		ip := freshIP(t, limited)
		for i := 0; i < 10; i++ {
			o := orderWith(t, limited, "app")
			r := do(t, claimReq(limited, pair(t, o), fmt.Sprintf("device-%d", i), appVersionOK, ip))
			if r.Status != http.StatusOK {
				t.Fatalf("claim %d from one IP with limit 3: %d %s", i+1, r.Status, r.Raw)
			}
		}
	})
	t.Run("accepted/events without Origin, token only", func(t *testing.T) {
		o := createOrder(t, m, gdIndividual())
		dial(t, m.URL, o)
	})
	t.Run("accepted/events with Origin of the server's own host", func(t *testing.T) {
		o := createOrder(t, m, gdIndividual())
		h := http.Header{"Authorization": {"Bearer " + o.Token}, "Origin": {m.URL}}
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL(o), h)
		if err != nil {
			t.Fatalf("dial with Origin %s: %v (%v)", m.URL, err, resp)
		}
		defer conn.Close()
		if f := next(t, conn); f["type"] != "snapshot" {
			t.Fatalf("first frame %v, want snapshot", f["type"])
		}
	})
	t.Run("accepted/desktop multipart upload", func(t *testing.T) {
		o := orderWith(t, m, "pc")
		ctype, body := multipartFiles(t, "file", jpegBody)
		r := do(t, req{method: "PUT", url: o.url("/materials/verification_form"), token: o.Token, body: body,
			header: map[string]string{"Content-Type": ctype}})
		must(t, r, http.StatusCreated)
		got := must(t, do(t, req{method: "GET", url: o.url("/materials/verification_form"), token: o.Token}), http.StatusOK)
		if !bytes.Equal(got.Raw, jpegBody) {
			t.Errorf("stored image (%d bytes) differs from the uploaded one (%d bytes)", len(got.Raw), len(jpegBody))
		}
	})
	t.Run("accepted/valid PNG of 4 MiB - 1 byte", func(t *testing.T) {
		o := orderWith(t, m, "pc")
		r := do(t, req{method: "PUT", url: o.url("/materials/verification_form"), token: o.Token,
			body: paddedPNG(t, 4<<20-1), header: map[string]string{"Content-Type": "image/png"}})
		must(t, r, http.StatusCreated)
	})
	t.Run("accepted/app upload of a still GIF", func(t *testing.T) {
		_, phone := claimedApp(t, m)
		must(t, do(t, phoneReq(m, "PUT", "/m/v1/materials/verification_form", phone, stillGIF(t))), http.StatusCreated)
	})
}

// Helpers of the contract tests.

var ipSeq atomic.Int64

// freshIP is a client address for X-Forwarded-For that no other test shares; its guess
// counter is cleared first, since a real Redis keeps it between runs.
func freshIP(t testing.TB, m *server.Main) string {
	t.Helper()
	n := ipSeq.Add(1)
	ip := fmt.Sprintf("198.51.100.%d", n%250+1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Redis.Del(ctx, rediskeys.Guesses(ip), rediskeys.ResumeGuesses(ip)).Err(); err != nil {
		t.Fatalf("clear guess counter: %v", err)
	}
	return ip
}

// orderWith creates a Guangdong individual order and chooses the upload method.
func orderWith(t testing.TB, m *server.Main, method string) order {
	t.Helper()
	return createWith(t, m, gdIndividual(), method)
}

// createWith creates the order in and chooses the upload method.
func createWith(t testing.TB, m *server.Main, in map[string]any, method string) order {
	t.Helper()
	o := createOrder(t, m, in)
	must(t, do(t, methodReq(o, method)), http.StatusOK)
	return o
}

func methodReq(o order, method string) req {
	return req{method: "PUT", url: o.url("/upload-method"), token: o.Token, body: map[string]string{"method": method}}
}

func qrReq(o order) req { return req{method: "GET", url: o.url("/pairing/qr.png"), token: o.Token} }

func reviewReq(o order, key string) req {
	r := req{method: "POST", url: o.url("/review-result"), body: map[string]any{"approved": true},
		header: map[string]string{}}
	if key != "" {
		r.header["X-Api-Key"] = key
	}
	return r
}

// pair creates a pairing for an app order and returns the code its QR code carries.
func pair(t testing.TB, o order) string {
	t.Helper()
	return codeOf(t, createPairing(t, o))
}

// claimReq is the app's claim; an empty version leaves the header out, an empty ip sends
// no X-Forwarded-For.
func claimReq(m *server.Main, code, device, version, ip string) req {
	h := map[string]string{"X-Device-Id": device}
	if version != "" {
		h["X-App-Version"] = version
	}
	if ip != "" {
		h["X-Forwarded-For"] = ip
	}
	return req{method: "POST", url: m.URL + "/m/v1/pairings/claim", body: map[string]string{"code": code}, header: h}
}

// phoneReq is an app call with the current app version.
func phoneReq(m *server.Main, method, path, token string, body any) req {
	h := map[string]string{"X-App-Version": appVersionOK}
	if b, ok := body.([]byte); ok {
		h["Content-Type"] = "image/" + sniff(b)
	}
	return req{method: method, url: m.URL + path, token: token, body: body, header: h}
}

func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\xff\xd8")):
		return "jpeg"
	case bytes.HasPrefix(b, []byte(pngSig)):
		return "png"
	case bytes.HasPrefix(b, []byte("GIF8")):
		return "gif"
	}
	return "octet-stream"
}

// claimedApp is an app order whose pairing a phone has claimed; it returns the phone token.
func claimedApp(t testing.TB, m *server.Main) (order, string) {
	t.Helper()
	o := orderWith(t, m, "app")
	r := must(t, do(t, claimReq(m, pair(t, o), "device-1", appVersionOK, "")), http.StatusOK)
	return o, r.Body["phone_token"].(string)
}

// putPC uploads an image from the desktop.
func putPC(t testing.TB, o order, slot string, body []byte) {
	t.Helper()
	must(t, do(t, req{method: "PUT", url: o.url("/materials/" + slot), token: o.Token, body: body,
		header: map[string]string{"Content-Type": "image/" + sniff(body)}}), http.StatusCreated)
}

var stdSlots = []string{"subject_leader_id_front", "subject_leader_id_back", "verification_form"}

// putStd uploads img from the desktop to each of stdSlots: every material a Guangdong
// individual order needs, but the app's face photo.
func putStd(t testing.TB, o order, img []byte) {
	t.Helper()
	for _, s := range stdSlots {
		putPC(t, o, s, img)
	}
}

// submittedPC is a PC order with every material, submitted.
func submittedPC(t testing.TB, m *server.Main) order {
	t.Helper()
	o := orderWith(t, m, "pc")
	putStd(t, o, testJPEG(t, 400, 400))
	must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	return o
}

// submittedApp is an app order whose phone uploaded every material, submitted; the phone
// token still stands.
func submittedApp(t testing.TB, m *server.Main) (order, string) {
	t.Helper()
	o, phone := claimedApp(t, m)
	img := testJPEG(t, 400, 400)
	for _, s := range append(slices.Clone(stdSlots), "face_photo") {
		must(t, do(t, phoneReq(m, "PUT", "/m/v1/materials/"+s, phone, img)), http.StatusCreated)
	}
	must(t, do(t, req{method: "POST", url: o.url("/submit"), token: o.Token}), http.StatusOK)
	return o, phone
}

func wsURL(o order) string {
	return "ws" + strings.TrimPrefix(o.Base, "http") + "/api/v1/orders/" + o.ID + "/events"
}

// upgradeReq is a websocket handshake sent as a plain request, so that a refusal can be
// read as the contract's JSON.
func upgradeReq(o order, token, origin string) req {
	h := map[string]string{
		"Connection": "Upgrade", "Upgrade": "websocket",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
	}
	if origin != "" {
		h["Origin"] = origin
	}
	return req{method: "GET", url: o.url("/events"), token: token, header: h}
}

// noEventBefore checks that the websocket got nothing since the snapshot of version v0:
// it makes one change of its own (a desktop upload) and expects that change's event to be
// the very next frame, one version on.
func noEventBefore(t testing.TB, conn *websocket.Conn, o order, v0 int64) {
	t.Helper()
	putPC(t, o, "verification_form", testPNG(t, 320, 320))
	f := next(t, conn)
	if f["type"] != "material_uploaded" || version(f) != v0+1 {
		t.Errorf("after the refused request the websocket got %v (version %d), want material_uploaded version %d",
			f["type"], version(f), v0+1)
	}
}

func details(r reply) map[string]any {
	e, _ := r.Body["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	return d
}

// wantField checks that details.field names the offending field.
func wantField(field string) func(t *testing.T, r reply) {
	return func(t *testing.T, r reply) {
		t.Helper()
		if got := details(r)["field"]; got != field {
			t.Errorf("details.field = %v, want %s", got, field)
		}
	}
}

// wantMissing checks that details.missing lists exactly the given slots.
func wantMissing(slots ...string) func(t *testing.T, r reply) {
	return func(t *testing.T, r reply) {
		t.Helper()
		list, _ := details(r)["missing"].([]any)
		var got []string
		for _, s := range list {
			got = append(got, fmt.Sprint(s))
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(slots))
		if !slices.Equal(got, want) {
			t.Errorf("details.missing = %v, want %v", got, want)
		}
	}
}

func wantRetryAfter(t *testing.T, r reply) {
	t.Helper()
	s, _ := details(r)["retry_after_seconds"].(float64)
	if s < 1 || s > 600 {
		t.Errorf("details.retry_after_seconds = %v, want 1..600", details(r)["retry_after_seconds"])
	}
}

// flip changes a base64url character into another one.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
