package filing_test

import (
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

func TestFaceCheck(t *testing.T) {
	order := func(subject, website filing.IDType) *filing.Order {
		return &filing.Order{SubjectLeader: filing.Person{IDType: subject}, WebsiteLeader: filing.Person{IDType: website}}
	}
	tests := []struct {
		name string
		o    *filing.Order
		slot filing.Slot
		want filing.FaceCheck
	}{
		{"face photo", order(filing.ResidentID, filing.ResidentID), filing.SlotFacePhoto, filing.FaceCheckPhoto},
		{"resident ID front", order(filing.ResidentID, filing.ResidentID), filing.SlotSubjectLeaderIDFront, filing.FaceCheckPortraitSide},
		{"passport photo page", order(filing.Passport, filing.Passport), filing.SlotWebsiteLeaderIDFront, filing.FaceCheckPortraitSide},
		{"travel permit front", order(filing.HKMacauTravelPermit, filing.ResidentID), filing.SlotSubjectLeaderIDFront, filing.FaceCheckPortraitSide},
		{"resident ID back", order(filing.ResidentID, filing.Passport), filing.SlotSubjectLeaderIDBack, filing.FaceCheckEmblemSide},
		{"HK/Macau residence permit back", order(filing.Passport, filing.HKMacauResidencePermit), filing.SlotWebsiteLeaderIDBack, filing.FaceCheckEmblemSide},
		{"Taiwan residence permit back", order(filing.TaiwanResidencePermit, filing.Passport), filing.SlotSubjectLeaderIDBack, filing.FaceCheckEmblemSide},
		{"HK/Macau travel permit back", order(filing.HKMacauTravelPermit, filing.ResidentID), filing.SlotSubjectLeaderIDBack, filing.FaceCheckNone},
		{"Taiwan travel permit back", order(filing.ResidentID, filing.TaiwanTravelPermit), filing.SlotWebsiteLeaderIDBack, filing.FaceCheckNone},
		{"the website leader's type decides", order(filing.ResidentID, filing.TaiwanTravelPermit), filing.SlotSubjectLeaderIDBack, filing.FaceCheckEmblemSide},
		{"verification form", order(filing.ResidentID, filing.ResidentID), filing.SlotVerificationForm, filing.FaceCheckNone},
		{"organization certificate", order(filing.ResidentID, filing.ResidentID), filing.SlotOrganizationCertificate, filing.FaceCheckNone},
	}
	for _, tt := range tests {
		if got := tt.o.FaceCheck(tt.slot); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
