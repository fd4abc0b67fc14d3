package filing_test

import (
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

// TestSlotGuidanceOneSource: every slot has advice for any order, and where the order changes
// nothing the order's advice is that same text, so the catalogue and required_materials
// cannot disagree.
func TestSlotGuidanceOneSource(t *testing.T) {
	orderIndependent := map[filing.Slot]bool{
		filing.SlotOrganizationCertificate: true, filing.SlotFacePhoto: true, filing.SlotSupplementary: true,
	}
	person := filing.Person{Name: "张三", IDType: filing.ResidentID, IDNumber: "11010519491231002X", IDValidUntil: filing.LongTerm}
	orders := []*filing.Order{
		{SubjectType: filing.Individual, Province: "CN-GD", SubjectLeader: person, WebsiteLeader: person},
		{SubjectType: filing.Organization, Province: "CN-JX", SubjectLeader: person, WebsiteLeader: person, DomainRegisteredHere: true},
	}
	for _, s := range filing.AllSlots() {
		if s.GuidanceZh() == "" {
			t.Errorf("%s has no guidance", s)
		}
		for _, o := range orders {
			if g := filing.Guidance(o, s); orderIndependent[s] && g != s.GuidanceZh() {
				t.Errorf("%s: the order's guidance %q differs from the catalogue's %q", s, g, s.GuidanceZh())
			}
		}
	}
	// Change proofs and authorisations go onto their certificate, not into the
	// supplementary slot (the FAQ: 将资料与备案主体证件拼成一张图片).
	if g := filing.SlotSupplementary.GuidanceZh(); !strings.Contains(g, "添加一页") || !strings.Contains(g, "拼成一张图片") {
		t.Errorf("supplementary guidance %q does not send change proofs to their certificate", g)
	}
}

func TestCatalogTables(t *testing.T) {
	c := filing.NewCatalog(func(p string) bool { return p == "CN-GD" }, filing.Limits{MaxBytes: 1})
	if len(c.Provinces) != 31 || len(c.IDTypes) != 6 || len(c.Slots) != 9 || len(c.Reasons) != len(filing.Reasons()) {
		t.Fatalf("catalogue sizes: %d provinces, %d ID types, %d slots, %d reasons",
			len(c.Provinces), len(c.IDTypes), len(c.Slots), len(c.Reasons))
	}
	if len(c.OrgCertificateTypes) != 4 || len(c.States) != len(filing.States()) {
		t.Fatalf("catalogue sizes: %d certificate types, %d states", len(c.OrgCertificateTypes), len(c.States))
	}
	for _, ct := range c.OrgCertificateTypes {
		if ct.LabelZh == "" {
			t.Errorf("certificate type %s has no name", ct.Type)
		}
	}
	for _, st := range c.States {
		if st.LabelZh == "" || st.Withdrawable != st.State.Withdrawable() {
			t.Errorf("state %+v: want a name and withdrawable %t", st, st.State.Withdrawable())
		}
	}
	for _, p := range c.Provinces {
		if p.AppAvailable != (p.Code == "CN-GD") {
			t.Errorf("%s app_available = %t", p.Code, p.AppAvailable)
		}
	}
	for _, it := range c.IDTypes {
		if !it.IDType.Valid() || it.LabelZh == "" || (it.Sides == 2) != it.IDType.HasBack() {
			t.Errorf("ID type %+v", it)
		}
	}
	if c.Limits.MaxBytes != 1 {
		t.Errorf("limits = %+v", c.Limits)
	}
}
