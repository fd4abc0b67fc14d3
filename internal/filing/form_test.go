package filing_test

import (
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

func TestVerificationForm(t *testing.T) {
	order := func(st filing.SubjectType, prov string) *filing.Order {
		return &filing.Order{SubjectType: st, Province: prov}
	}
	tests := []struct {
		name                            string
		o                               *filing.Order
		province                        string
		guangdong, seal, fingerprint    bool
		commitment                      bool
		sample                          filing.FormSample
		requirementHas, requirementLack string
	}{
		{"guangdong individual", order(filing.Individual, "CN-GD"), "广东省", true, false, false, true, filing.SampleGDIndividual, "手写承诺", "公章"},
		{"guangdong organization", order(filing.Organization, "CN-GD"), "广东省", true, true, false, false, filing.SampleGDOrg, "公章", "承诺"},
		{"jiangxi individual", order(filing.Individual, "CN-JX"), "江西省", false, false, true, false, filing.SampleIndividual, "手印", "公章"},
		{"xinjiang organization", order(filing.Organization, "CN-XJ"), "新疆维吾尔自治区", false, true, false, false, filing.SampleOrganization, "公章", "手印"},
		{"beijing individual", order(filing.Individual, "CN-BJ"), "北京市", false, false, false, false, filing.SampleIndividual, "清晰签字", "手印"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filing.VerificationForm(tt.o)
			if f.ProvinceNameZh != tt.province || f.Guangdong != tt.guangdong || f.Seal != tt.seal ||
				f.Fingerprint != tt.fingerprint || (f.Commitment != "") != tt.commitment || f.Sample != tt.sample {
				t.Fatalf("form %+v", f)
			}
			if f.Requirement != filing.FormRequirement(tt.o) || !strings.Contains(f.Requirement, tt.requirementHas) ||
				strings.Contains(f.Requirement, tt.requirementLack) {
				t.Fatalf("requirement %q", f.Requirement)
			}
			if !strings.HasPrefix(f.Sample.URL, "http://gtms0") || !strings.HasSuffix(f.Sample.URL, ".jpg") {
				t.Fatalf("sample URL %q is not one the source document gives", f.Sample.URL)
			}
		})
	}
}

// TestProvinceFullName: every province has a full name of the right kind, distinct.
func TestProvinceFullName(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range filing.Provinces {
		n := p.FullNameZh()
		if !strings.HasPrefix(n, p.NameZh) || !(strings.HasSuffix(n, "省") || strings.HasSuffix(n, "市") || strings.HasSuffix(n, "自治区")) {
			t.Errorf("%s: full name %q", p.Code, n)
		}
		if seen[n] {
			t.Errorf("%s: full name %q twice", p.Code, n)
		}
		seen[n] = true
	}
	for code, want := range map[string]string{"CN-GD": "广东省", "CN-CQ": "重庆市", "CN-NM": "内蒙古自治区", "CN-GX": "广西壮族自治区", "CN-NX": "宁夏回族自治区", "CN-XZ": "西藏自治区"} {
		p, _ := filing.LookupProvince(code)
		if got := p.FullNameZh(); got != want {
			t.Errorf("%s: %q, want %q", code, got, want)
		}
	}
}
