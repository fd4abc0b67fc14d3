package filing_test

import (
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

func TestReasonTargets(t *testing.T) {
	tests := []struct {
		code   filing.ReasonCode
		target string
		want   bool
	}{
		{filing.ReasonImageUnclear, string(filing.SlotSupplementary), true},
		{filing.ReasonImageUnclear, filing.TargetField, false},
		{filing.ReasonEdgesIncomplete, string(filing.SlotWebsiteLeaderIDBack), true},
		{filing.ReasonEdgesIncomplete, string(filing.SlotDomainCertificate), true},
		{filing.ReasonEdgesIncomplete, string(filing.SlotVerificationForm), false},
		{filing.ReasonFormSealMissing, string(filing.SlotVerificationForm), true},
		{filing.ReasonFormSealMissing, string(filing.SlotFacePhoto), false},
		{filing.ReasonFaceBackground, string(filing.SlotFacePhoto), true},
		{filing.ReasonFaceBackground, string(filing.SlotSubjectLeaderIDFront), false},
		{filing.ReasonFieldInvalid, filing.TargetField, true},
		{filing.ReasonFieldInvalid, string(filing.SlotFacePhoto), false},
		{filing.ReasonOther, filing.TargetField, true},
		{filing.ReasonOther, string(filing.SlotSupplementary), true},
	}
	for _, tt := range tests {
		r, ok := filing.LookupReason(tt.code)
		if !ok {
			t.Fatalf("%s not in the catalogue", tt.code)
		}
		if got := r.Allows(tt.target); got != tt.want {
			t.Errorf("%s on %s: %v, want %v", tt.code, tt.target, got, tt.want)
		}
	}
	if _, ok := filing.LookupReason("no_such_reason"); ok {
		t.Error("an unknown code was found")
	}
}

func TestReasonCatalogue(t *testing.T) {
	seen := map[filing.ReasonCode]bool{}
	for _, r := range filing.Reasons() {
		if seen[r.Code] {
			t.Errorf("%s listed twice", r.Code)
		}
		seen[r.Code] = true
		if r.Message == "" || r.MessageZh == "" || r.SuggestZh == "" || len(r.Targets) == 0 {
			t.Errorf("%s is incomplete: %+v", r.Code, r)
		}
		for _, tg := range r.Targets {
			if tg != filing.TargetField && !filing.Slot(tg).Valid() {
				t.Errorf("%s targets %q, no slot", r.Code, tg)
			}
		}
	}
	if len(seen) != 17 {
		t.Errorf("%d reasons, want the contract's 17", len(seen))
	}
}
