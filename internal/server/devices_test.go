package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/rediskeys"
	"github.com/beianscan/beianscan/internal/server"
)

// deviceReq is a device call: the device token and the X-Device-Id it is bound to.
func deviceReq(m *server.Main, method, path, token, device string) req {
	h := map[string]string{"X-App-Version": appVersionOK}
	if device != "" {
		h["X-Device-Id"] = device
	}
	return req{method: method, url: m.URL + path, token: token, header: h}
}

// verifiedBy claims a new app order with device and uploads slot from the phone; it
// returns the order, the phone token and the device token.
func verifiedBy(t *testing.T, m *server.Main, device, slot string) (order, string, string) {
	t.Helper()
	o := orderWith(t, m, "app")
	r := must(t, do(t, claimReq(m, pair(t, o), device, appVersionOK, "")), http.StatusOK)
	phone := r.Body["phone_token"].(string)
	dev, _ := r.Body["device_token"].(string)
	if dev == "" {
		t.Fatalf("claim answered no device_token: %s", r.Raw)
	}
	must(t, do(t, phoneReq(m, "PUT", "/m/v1/materials/"+slot, phone, testJPEG(t, 400, 400))), http.StatusCreated)
	return o, phone, dev
}

func listOf(t *testing.T, m *server.Main, token, device string) ([]map[string]any, []byte) {
	t.Helper()
	r := must(t, do(t, deviceReq(m, "GET", "/m/v1/device/orders", token, device)), http.StatusOK)
	raw, _ := r.Body["orders"].([]any)
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out, r.Raw
}

func uniqueDevice(t *testing.T, name string) string {
	return fmt.Sprintf("%s-%s-%d", name, t.Name(), time.Now().UnixNano())
}

// TestDeviceList: what a phone uploaded to, newest first, with the slots and no ID number;
// another device's token, a phone or desktop token, the wrong X-Device-Id or none → 401.
func TestDeviceList(t *testing.T) {
	m := start(t, nil)
	devA, devB := uniqueDevice(t, "a"), uniqueDevice(t, "b")
	o1, _, _ := verifiedBy(t, m, devA, "subject_leader_id_front")
	o2, phone2, tokA := verifiedBy(t, m, devA, "subject_leader_id_back")
	_, _, tokB := verifiedBy(t, m, devB, "subject_leader_id_front")

	list, raw := listOf(t, m, tokA, devA)
	if len(list) != 2 || list[0]["id"] != o2.ID || list[1]["id"] != o1.ID {
		t.Fatalf("list %s, want %s then %s", raw, o2.ID, o1.ID)
	}
	if s := fmt.Sprint(list[1]["slots"]); s != "[subject_leader_id_front]" {
		t.Errorf("slots %s", s)
	}
	for _, k := range []string{"subject_name", "domains", "state", "verified_at"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("no %s in %s", k, raw)
		}
	}
	for _, id := range []string{"11010519491231002X", "110***********002X", "id_number"} {
		if strings.Contains(string(raw), id) {
			t.Errorf("the list carries %q: %s", id, raw)
		}
	}
	if !strings.Contains(auditTrail(t, o1), "read_list") {
		t.Error("the list's read is not in the order's audit trail")
	}

	for name, c := range map[string]struct{ token, device string }{
		"another device's token": {tokB, devA},
		"wrong X-Device-Id":      {tokA, devB},
		"no X-Device-Id":         {tokA, ""},
		"phone token":            {phone2, devA},
		"desktop token":          {o1.Token, devA},
		"no token":               {"", devA},
	} {
		wantError(t, do(t, deviceReq(m, "GET", "/m/v1/device/orders", c.token, c.device)), http.StatusUnauthorized, "unauthorized")
		wantError(t, do(t, deviceReq(m, "DELETE", "/m/v1/device", c.token, c.device)), http.StatusUnauthorized, "unauthorized")
		if got, _ := listOf(t, m, tokA, devA); len(got) != 2 {
			t.Fatalf("%s changed the list: %d entries", name, len(got))
		}
	}

	// An order that is gone leaves the list.
	ctx := context.Background()
	if err := m.Redis.Del(ctx, rediskeys.Order(o1.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	if got, raw := listOf(t, m, tokA, devA); len(got) != 1 || got[0]["id"] != o2.ID {
		t.Fatalf("after deleting %s: %s", o1.ID, raw)
	}
}

// TestDeviceForget: DELETE /m/v1/device forgets the list and the old token answers 401;
// a fresh claim gives a working token and a new list.
func TestDeviceForget(t *testing.T) {
	m := start(t, nil)
	dev := uniqueDevice(t, "a")
	verifiedBy(t, m, dev, "subject_leader_id_front")
	_, _, tok := verifiedBy(t, m, dev, "subject_leader_id_front")
	must(t, do(t, deviceReq(m, "DELETE", "/m/v1/device", tok, dev)), http.StatusNoContent)
	wantError(t, do(t, deviceReq(m, "GET", "/m/v1/device/orders", tok, dev)), http.StatusUnauthorized, "unauthorized")
	o3, _, fresh := verifiedBy(t, m, dev, "subject_leader_id_back")
	if list, raw := listOf(t, m, fresh, dev); len(list) != 1 || list[0]["id"] != o3.ID {
		t.Fatalf("after forgetting, the new list is %s", raw)
	}
	wantError(t, do(t, deviceReq(m, "GET", "/m/v1/device/orders", tok, dev)), http.StatusUnauthorized, "unauthorized")
}

// TestDeviceListCapAndRefused: the list shows at most 50 orders, the newest; an order the
// phone only tried to upload to (the image refused) is not among them.
func TestDeviceListCapAndRefused(t *testing.T) {
	m := start(t, nil)
	dev := uniqueDevice(t, "cap")
	var ids []string
	var tok string
	for i := 0; i < 52; i++ {
		o, _, tk := verifiedBy(t, m, dev, "subject_leader_id_front")
		ids, tok = append(ids, o.ID), tk
	}
	refused := orderWith(t, m, "app")
	r := must(t, do(t, claimReq(m, pair(t, refused), dev, appVersionOK, "")), http.StatusOK)
	wantError(t, do(t, phoneReq(m, "PUT", "/m/v1/materials/subject_leader_id_front", r.Body["phone_token"].(string), testJPEG(t, 299, 400))),
		http.StatusUnprocessableEntity, "image_too_small")

	list, raw := listOf(t, m, tok, dev)
	if len(list) != 50 {
		t.Fatalf("%d orders listed, want 50", len(list))
	}
	for i, o := range list {
		if want := ids[len(ids)-1-i]; o["id"] != want {
			t.Fatalf("entry %d is %v, want %s (newest first): %s", i, o["id"], want, raw)
		}
	}
	if strings.Contains(string(raw), refused.ID) {
		t.Errorf("the order whose upload was refused is listed: %s", raw)
	}
}
