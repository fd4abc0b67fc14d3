package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/images"
	"github.com/beianscan/beianscan/internal/server"
)

// TestCatalog: GET /api/v1/catalog answers, without a token, the Go tables themselves (every
// province with the configured app availability, every ID type, slot, warning and reason, the
// image limits in force), validated against the OpenAPI document by do; its ETag answers 304.
func TestCatalog(t *testing.T) {
	m := start(t, func(c *server.Config) {
		c.AppProvinces = []string{"CN-BJ", "CN-GD"}
		c.Images.MaxBytes = 3 << 20
	})
	r := must(t, do(t, req{method: "GET", url: m.URL + "/api/v1/catalog"}), http.StatusOK)
	var got filing.Catalog
	if err := json.Unmarshal(r.Raw, &got); err != nil {
		t.Fatal(err)
	}

	if len(got.Provinces) != 31 || len(got.Provinces) != len(filing.Provinces) {
		t.Errorf("%d provinces, want 31", len(got.Provinces))
	}
	for i, p := range filing.Provinces {
		if i >= len(got.Provinces) {
			break
		}
		want := filing.CatalogProvince{Code: p.Code, NameZh: p.NameZh, AppAvailable: p.Code == "CN-BJ" || p.Code == "CN-GD"}
		if got.Provinces[i] != want {
			t.Errorf("province %d = %+v, want %+v", i, got.Provinces[i], want)
		}
	}

	if len(got.IDTypes) != 6 {
		t.Errorf("%d ID types, want 6", len(got.IDTypes))
	}
	for i, it := range filing.IDTypes() {
		want := filing.CatalogIDType{IDType: it, LabelZh: it.LabelZh(), Sides: 2}
		if it == filing.Passport {
			want.Sides = 1
		}
		if !it.Valid() || i >= len(got.IDTypes) || got.IDTypes[i] != want {
			t.Errorf("ID type %d: got %+v, want %+v", i, got.IDTypes, want)
		}
	}

	if len(got.Slots) != 9 {
		t.Errorf("%d slots, want 9", len(got.Slots))
	}
	for i, s := range filing.AllSlots() {
		want := filing.CatalogSlot{Slot: s, LabelZh: s.LabelZh(), GuidanceZh: s.GuidanceZh(), AppAllowed: s.AppAllowed()}
		if want.LabelZh == "" || want.GuidanceZh == "" || i >= len(got.Slots) || got.Slots[i] != want {
			t.Errorf("slot %d: got %+v, want %+v", i, got.Slots, want)
		}
	}

	wantLimits := filing.Limits{MaxBytes: 3 << 20, FitMaxBytes: images.DefaultFitMaxBytes,
		StitchMaxParts: images.StitchMaxParts, MinShortSide: images.DefaultMinShortSide}
	if got.Limits != wantLimits {
		t.Errorf("limits = %+v, want %+v", got.Limits, wantLimits)
	}

	// Every warning the image checks can give has its text.
	for _, w := range []string{images.WarnGrayscale, images.WarnBlurry, images.WarnTooDark, images.WarnOverexposed, images.WarnBackgroundNotWhite} {
		i := slices.IndexFunc(got.Warnings, func(x filing.Warning) bool { return x.Code == w })
		if i < 0 || got.Warnings[i].MessageZh == "" {
			t.Errorf("warning %s has no text in %+v", w, got.Warnings)
		}
	}
	if !slices.Equal(got.Warnings, filing.Warnings()) {
		t.Errorf("warnings = %+v, want filing.Warnings()", got.Warnings)
	}

	if len(got.Reasons) != len(filing.Reasons()) {
		t.Errorf("%d reasons, want %d", len(got.Reasons), len(filing.Reasons()))
	}
	for i, want := range filing.Reasons() {
		if i < len(got.Reasons) && (got.Reasons[i].Code != want.Code || got.Reasons[i].MessageZh != want.MessageZh ||
			got.Reasons[i].SuggestZh != want.SuggestZh || !slices.Equal(got.Reasons[i].Targets, want.Targets)) {
			t.Errorf("reason %d = %+v, want %+v", i, got.Reasons[i], want)
		}
	}

	// Cacheable: the ETag revalidates with 304 and no body; another tag gets the body.
	etag := r.Header.Get("ETag")
	if etag == "" || r.Header.Get("Cache-Control") == "" {
		t.Fatalf("no ETag or Cache-Control: %v", r.Header)
	}
	for _, tt := range []struct {
		inm  string
		want int
	}{
		{etag, http.StatusNotModified},
		{`"other", ` + etag, http.StatusNotModified},
		{"W/" + etag, http.StatusNotModified},
		{`"other"`, http.StatusOK},
	} {
		r2 := do(t, req{method: "GET", url: m.URL + "/api/v1/catalog", header: map[string]string{"If-None-Match": tt.inm}})
		if r2.Status != tt.want {
			t.Errorf("If-None-Match %s: %d, want %d", tt.inm, r2.Status, tt.want)
		}
		if r2.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: ETag %q, want %q", tt.inm, r2.Header.Get("ETag"), etag)
		}
		if tt.want == http.StatusNotModified && len(r2.Raw) != 0 {
			t.Errorf("304 with a body: %q", r2.Raw)
		}
	}

	// Another configuration is another catalogue, under another tag.
	m2 := start(t, func(c *server.Config) { c.AppProvinces = []string{} })
	r3 := must(t, do(t, req{method: "GET", url: m2.URL + "/api/v1/catalog", header: map[string]string{"If-None-Match": etag}}), http.StatusOK)
	if r3.Header.Get("ETag") == etag {
		t.Error("another configuration kept the ETag")
	}
}
