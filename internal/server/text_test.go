package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/server"
)

// storedOrders counts the orders an embedded store holds.
func storedOrders(t *testing.T, m *server.Main) int {
	t.Helper()
	n := 0
	for _, k := range m.Mini.Keys() {
		if strings.HasSuffix(k, "}:order") {
			n++
		}
	}
	return n
}

func rawJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHostileTextRefused sends the disguising characters and the loose JSON that a person
// deciding must never see (bidi overrides, zero-width characters, NUL, a Latin domain
// with a Cyrillic letter, a field name in capitals, data after the object, an unknown
// field) to order creation, to an edit and to the other JSON calls: each answers 422
// invalid_request naming the field, and nothing is stored or changed.
func TestHostileTextRefused(t *testing.T) {
	// The embedded store, so that the orders it holds can be counted without other
	// tests' orders on a shared Redis.
	m := start(t, func(c *server.Config) { c.RedisURL = "" })
	valid := rawJSON(t, gdIndividual())
	with := func(mutate func(map[string]any)) string {
		in := gdIndividual()
		mutate(in)
		return rawJSON(t, in)
	}
	leader := func(in map[string]any) map[string]any { return in["subject_leader"].(map[string]any) }
	notSame := func(in map[string]any, name string) {
		delete(in, "website_leader_same_as_subject_leader")
		in["website_leader"] = map[string]any{"name": name, "id_type": "passport", "id_number": "E12345678", "id_valid_until": "2099-01-01"}
	}

	t.Run("create", func(t *testing.T) {
		for _, tc := range []struct {
			name, body, field string
		}{
			{"subject_name with U+202E", with(func(in map[string]any) { in["subject_name"] = "张三\u202Eevil" }), "subject_name"},
			{"subject leader's name with U+200B", with(func(in map[string]any) { leader(in)["name"] = "张\u200B三" }), "subject_leader.name"},
			{"website leader's name with U+2066", with(func(in map[string]any) { notSame(in, "李\u2066四") }), "website_leader.name"},
			{"subject_name with NUL", with(func(in map[string]any) { in["subject_name"] = "张三\x00" }), "subject_name"},
			{"domain with a Cyrillic а", with(func(in map[string]any) { in["domains"] = []string{"\u0430pple.com"} }), "domains"},
			{"the same domain in punycode", with(func(in map[string]any) { in["domains"] = []string{"xn--pple-43d.com"} }), "domains"},
			{"SUBJECT_NAME beside subject_name", strings.Replace(valid, `{`, `{"SUBJECT_NAME":"李四",`, 1), "SUBJECT_NAME"},
			{"subject_name twice", strings.Replace(valid, `{`, `{"subject_name":"李四",`, 1), "subject_name"},
			{"data after the object", valid + `{"subject_name":"李四"}`, ""},
			{"unknown field", strings.Replace(valid, `{`, `{"nickname":"x",`, 1), "nickname"},
			{"unknown field inside a person", with(func(in map[string]any) { leader(in)["Name"] = "李四" }), "subject_leader.Name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := storedOrders(t, m)
				r := do(t, req{method: "POST", url: m.URL + "/api/v1/orders", body: []byte(tc.body),
					header: map[string]string{"Content-Type": "application/json"}})
				if after := storedOrders(t, m); after != before {
					t.Errorf("refused creation stored an order: %d orders, then %d", before, after)
				}
				wantError(t, r, http.StatusUnprocessableEntity, "invalid_request")
				if tc.field != "" {
					wantField(tc.field)(t, r)
				}
			})
		}
	})

	t.Run("edit", func(t *testing.T) {
		o := createOrder(t, m, gdIndividual())
		for _, tc := range []struct {
			name, body, field string
		}{
			{"subject_name with U+202E", `{"subject_name":"张三\u202Eevil"}`, "subject_name"},
			{"subject leader's name with U+200B", `{"subject_leader":{"name":"张\u200B三"}}`, "subject_leader.name"},
			{"subject leader's name with U+2066", `{"subject_leader":{"name":"\u2066张三"}}`, "subject_leader.name"},
			{"subject_name with NUL", `{"subject_name":"张\u0000三"}`, "subject_name"},
			{"domain with a Cyrillic а", `{"domains":["\u0430pple.com"]}`, "domains"},
			{"SUBJECT_NAME", `{"SUBJECT_NAME":"李四"}`, "SUBJECT_NAME"},
			{"data after the object", `{"subject_name":"李四"} {"subject_name":"王五"}`, ""},
			{"unknown field", `{"subject_name":"李四","nickname":"x"}`, "nickname"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := stored(t, o)
				r := do(t, req{method: "PATCH", url: o.url(""), token: o.Token, body: []byte(tc.body),
					header: map[string]string{"Content-Type": "application/json"}})
				if after := stored(t, o); after != before {
					t.Errorf("refused edit changed the order:\nbefore %s\nafter  %s", before, after)
				}
				wantError(t, r, http.StatusUnprocessableEntity, "invalid_request")
				if tc.field != "" {
					wantField(tc.field)(t, r)
				}
			})
		}
	})

	t.Run("upload method", func(t *testing.T) {
		o := createOrder(t, m, gdIndividual())
		for _, tc := range []struct {
			name, body, field string
		}{
			{"METHOD", `{"METHOD":"pc"}`, "METHOD"},
			{"data after the object", `{"method":"pc"}{"method":"app"}`, ""},
			{"unknown field", `{"method":"pc","force":true}`, "force"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := stored(t, o)
				r := do(t, req{method: "PUT", url: o.url("/upload-method"), token: o.Token, body: []byte(tc.body),
					header: map[string]string{"Content-Type": "application/json"}})
				if after := stored(t, o); after != before {
					t.Errorf("refused method changed the order:\nbefore %s\nafter  %s", before, after)
				}
				wantError(t, r, http.StatusUnprocessableEntity, "invalid_request")
				if tc.field != "" {
					wantField(tc.field)(t, r)
				}
			})
		}
	})

	t.Run("claim", func(t *testing.T) {
		o := orderWith(t, m, "app")
		code := pair(t, o)
		for _, tc := range []struct {
			name, body, field string
		}{
			{"CODE", `{"CODE":"` + code + `"}`, "CODE"},
			{"data after the object", `{"code":"` + code + `"} trailing`, ""},
			{"unknown field", `{"code":"` + code + `","device":"x"}`, "device"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := claimReq(m, code, "device-hostile", appVersionOK, "")
				r.body = []byte(tc.body)
				r.header["Content-Type"] = "application/json"
				got := do(t, r)
				wantError(t, got, http.StatusUnprocessableEntity, "invalid_request")
				if tc.field != "" {
					wantField(tc.field)(t, got)
				}
			})
		}
		// None of them claimed: another device still can.
		must(t, do(t, claimReq(m, code, "device-1", appVersionOK, "")), http.StatusOK)
	})
}
