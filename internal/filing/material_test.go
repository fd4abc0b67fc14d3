package filing_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

const (
	orgCert = filing.SlotOrganizationCertificate
	slFront = filing.SlotSubjectLeaderIDFront
	slBack  = filing.SlotSubjectLeaderIDBack
	wlFront = filing.SlotWebsiteLeaderIDFront
	wlBack  = filing.SlotWebsiteLeaderIDBack
	form    = filing.SlotVerificationForm
	face    = filing.SlotFacePhoto
	domCert = filing.SlotDomainCertificate
	suppl   = filing.SlotSupplementary
)

// TestSlots pins the contract's slot table (docs/rules.md, materials).
func TestSlots(t *testing.T) {
	t.Parallel()
	tests := []struct {
		slot       filing.Slot
		labelZh    string
		appAllowed bool
	}{
		{orgCert, "单位证件", true},
		{slFront, "主体负责人证件（正面/人像页）", true},
		{slBack, "主体负责人证件（反面）", true},
		{wlFront, "网站负责人证件（正面/人像页）", true},
		{wlBack, "网站负责人证件（反面）", true},
		{form, "真实性核验单", true},
		{face, "网站负责人人脸核验照片", true},
		{domCert, "域名证书", true},
		{suppl, "变更证明、授权书等其他资料", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.slot), func(t *testing.T) {
			if !tt.slot.Valid() {
				t.Errorf("Valid() = false")
			}
			if got := tt.slot.LabelZh(); got != tt.labelZh {
				t.Errorf("LabelZh() = %q, want %q", got, tt.labelZh)
			}
			if got := tt.slot.AppAllowed(); got != tt.appAllowed {
				t.Errorf("AppAllowed() = %v, want %v", got, tt.appAllowed)
			}
		})
	}
	for _, s := range []filing.Slot{"", "id_front", "Face_Photo", "supplementary "} {
		if s.Valid() {
			t.Errorf("Slot(%q).Valid() = true", s)
		}
	}
}

// websiteLeaderCase is the website leader of a requirements case: the subject leader
// himself, or someone else with a given document.
type websiteLeaderCase struct {
	name   string
	same   bool
	idType filing.IDType
}

// orderFor builds an order through NewOrder and ChooseMethod, as the service does.
func orderFor(tb testing.TB, st filing.SubjectType, sl filing.IDType, wl websiteLeaderCase, m filing.UploadMethod) *filing.Order {
	tb.Helper()
	person := func(name string, typ filing.IDType) filing.Person {
		n := "E12345678"
		if typ == filing.ResidentID {
			n = sampleID
		}
		return filing.Person{Name: name, IDType: typ, IDNumber: n, IDValidUntil: filing.LongTerm}
	}
	in := filing.NewOrderInput{
		SubjectType: st, Province: "CN-GD", SubjectName: "主体",
		SubjectLeader:     person("主体负责人", sl),
		WebsiteLeaderSame: wl.same,
		Domains:           []string{"example.com"},
	}
	if st == filing.Organization {
		in.OrganizationCertificateType = "business_license"
	}
	if !wl.same {
		p := person("网站负责人", wl.idType)
		in.WebsiteLeader = &p
	}
	o := newOrder(tb, in)
	if m != filing.MethodNone {
		checkErr(tb, o.ChooseMethod(m, true, now), "")
	}
	return o
}

// TestRequirements walks the whole table (subject type × subject leader's document ×
// website leader × upload method). The expected list is assembled from docs/rules.md's slot
// table, one dimension at a time.
func TestRequirements(t *testing.T) {
	t.Parallel()
	subjects := []struct {
		st    filing.SubjectType
		slots []filing.Slot
	}{
		{filing.Individual, nil},
		{filing.Organization, []filing.Slot{orgCert}},
	}
	subjectLeaders := []struct {
		typ   filing.IDType
		slots []filing.Slot
	}{
		{filing.ResidentID, []filing.Slot{slFront, slBack}},
		{filing.Passport, []filing.Slot{slFront}},
	}
	websiteLeaders := []struct {
		wl    websiteLeaderCase
		slots []filing.Slot
	}{
		{websiteLeaderCase{"same", true, ""}, nil},
		{websiteLeaderCase{"other_resident_id", false, filing.ResidentID}, []filing.Slot{wlFront, wlBack}},
		{websiteLeaderCase{"other_passport", false, filing.Passport}, []filing.Slot{wlFront}},
	}
	methods := []struct {
		m     filing.UploadMethod
		name  string
		slots []filing.Slot
	}{
		{filing.MethodNone, "none", nil},
		{filing.MethodPC, "pc", nil},
		{filing.MethodApp, "app", []filing.Slot{face}},
	}
	for _, s := range subjects {
		for _, sl := range subjectLeaders {
			for _, wl := range websiteLeaders {
				for _, m := range methods {
					name := fmt.Sprintf("%s/%s/%s/%s", s.st, sl.typ, wl.wl.name, m.name)
					var want []filing.Slot
					want = append(want, s.slots...)
					want = append(want, sl.slots...)
					want = append(want, wl.slots...)
					want = append(want, form)
					want = append(want, m.slots...)
					t.Run(name, func(t *testing.T) {
						o := orderFor(t, s.st, sl.typ, wl.wl, m.m)
						checkRequirements(t, o, want)
					})
				}
			}
		}
	}
}

// TestRequirementsExamples spells out a few orders in full.
func TestRequirementsExamples(t *testing.T) {
	t.Parallel()
	same := websiteLeaderCase{"same", true, ""}
	otherResident := websiteLeaderCase{"other", false, filing.ResidentID}
	otherPassport := websiteLeaderCase{"other", false, filing.Passport}
	tests := []struct {
		name string
		st   filing.SubjectType
		sl   filing.IDType
		wl   websiteLeaderCase
		m    filing.UploadMethod
		want []filing.Slot
	}{
		{"individual, resident ID, same person, pc: 3 images", filing.Individual, filing.ResidentID, same, filing.MethodPC,
			[]filing.Slot{slFront, slBack, form}},
		{"individual, resident ID, same person, app: 4 images", filing.Individual, filing.ResidentID, same, filing.MethodApp,
			[]filing.Slot{slFront, slBack, form, face}},
		{"individual, passport, same person, pc: 2 images", filing.Individual, filing.Passport, same, filing.MethodPC,
			[]filing.Slot{slFront, form}},
		{"organization, resident IDs, different people, app: 7 images", filing.Organization, filing.ResidentID, otherResident, filing.MethodApp,
			[]filing.Slot{orgCert, slFront, slBack, wlFront, wlBack, form, face}},
		{"organization, resident IDs, different people, pc: 6 images", filing.Organization, filing.ResidentID, otherResident, filing.MethodPC,
			[]filing.Slot{orgCert, slFront, slBack, wlFront, wlBack, form}},
		{"organization, passports, different people, none: 4 images", filing.Organization, filing.Passport, otherPassport, filing.MethodNone,
			[]filing.Slot{orgCert, slFront, wlFront, form}},
		{"organization, resident ID, same person, pc: 4 images", filing.Organization, filing.ResidentID, same, filing.MethodPC,
			[]filing.Slot{orgCert, slFront, slBack, form}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRequirements(t, orderFor(t, tt.st, tt.sl, tt.wl, tt.m), tt.want)
		})
	}
}

// checkRequirements asserts the required slots in order, followed by the two optional
// ones, with their labels and app flags, and that Missing lists every required slot of an
// order that holds nothing.
func checkRequirements(tb testing.TB, o *filing.Order, wantRequired []filing.Slot) {
	tb.Helper()
	rs := o.Requirements(nil)
	var required, optional []filing.Slot
	seen := map[filing.Slot]bool{}
	for i, r := range rs {
		if seen[r.Slot] {
			tb.Errorf("slot %s listed twice", r.Slot)
		}
		seen[r.Slot] = true
		if r.Required {
			if len(optional) > 0 {
				tb.Errorf("required slot %s at %d comes after an optional one", r.Slot, i)
			}
			required = append(required, r.Slot)
		} else {
			optional = append(optional, r.Slot)
		}
		if r.LabelZh == "" || r.LabelZh != r.Slot.LabelZh() {
			tb.Errorf("slot %s label_zh = %q, want %q", r.Slot, r.LabelZh, r.Slot.LabelZh())
		}
		if want := r.Slot != suppl; r.AppAllowed != want {
			tb.Errorf("slot %s app_allowed = %v, want %v", r.Slot, r.AppAllowed, want)
		}
		if r.Uploaded {
			tb.Errorf("slot %s uploaded with nothing uploaded", r.Slot)
		}
	}
	if !slices.Equal(required, wantRequired) {
		tb.Errorf("required = %v (%d)\nwant       %v (%d)", required, len(required), wantRequired, len(wantRequired))
	}
	if want := []filing.Slot{domCert, suppl}; !slices.Equal(optional, want) {
		tb.Errorf("optional = %v, want %v", optional, want)
	}
	if got := o.Missing(nil); !slices.Equal(got, wantRequired) {
		tb.Errorf("Missing(nil) = %v, want %v", got, wantRequired)
	}
	if got := o.Missing(func(filing.Slot) bool { return false }); !slices.Equal(got, wantRequired) {
		tb.Errorf("Missing(nothing) = %v, want %v", got, wantRequired)
	}
}

func TestRequirementsUploadedAndMissing(t *testing.T) {
	t.Parallel()
	o := orderFor(t, filing.Organization, filing.ResidentID, websiteLeaderCase{"other", false, filing.ResidentID}, filing.MethodApp)
	all := []filing.Slot{orgCert, slFront, slBack, wlFront, wlBack, form, face}
	tests := []struct {
		name     string
		uploaded []filing.Slot
		missing  []filing.Slot
	}{
		{"nothing", nil, all},
		{"some, with an optional one", []filing.Slot{orgCert, slFront, form, suppl}, []filing.Slot{slBack, wlFront, wlBack, face}},
		{"all but the face photo", all[:6], []filing.Slot{face}},
		{"all required", all, []filing.Slot{}},
		{"all required and optional", append(slices.Clone(all), domCert, suppl), []filing.Slot{}},
		{"only optional ones", []filing.Slot{domCert, suppl}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := has(tt.uploaded...)
			if got := o.Missing(up); !slices.Equal(got, tt.missing) {
				t.Errorf("Missing = %v, want %v", got, tt.missing)
			}
			rs := o.Requirements(up)
			if len(rs) != len(all)+2 {
				t.Fatalf("%d requirements, want %d", len(rs), len(all)+2)
			}
			for _, r := range rs {
				if want := slices.Contains(tt.uploaded, r.Slot); r.Uploaded != want {
					t.Errorf("slot %s uploaded = %v, want %v", r.Slot, r.Uploaded, want)
				}
			}
		})
	}
}

// TestMissingIgnoresSlotsTheOrderDoesNotUse: a face photo left from an app upload does not
// count for, or against, an order that is now uploaded from the PC.
func TestMissingIgnoresSlotsTheOrderDoesNotUse(t *testing.T) {
	t.Parallel()
	o := orderFor(t, filing.Individual, filing.ResidentID, websiteLeaderCase{"same", true, ""}, filing.MethodPC)
	got := o.Missing(has(face, orgCert, wlFront, slFront))
	if want := []filing.Slot{slBack, form}; !slices.Equal(got, want) {
		t.Errorf("Missing = %v, want %v", got, want)
	}
}

func TestCheckUpload(t *testing.T) {
	t.Parallel()
	individual := func(m filing.UploadMethod, st filing.State) func(testing.TB) *filing.Order {
		return func(tb testing.TB) *filing.Order {
			o := orderFor(tb, filing.Individual, filing.ResidentID, websiteLeaderCase{"same", true, ""}, m)
			o.State = st
			return o
		}
	}
	passportOther := func(tb testing.TB) *filing.Order {
		return orderFor(tb, filing.Organization, filing.Passport, websiteLeaderCase{"other", false, filing.Passport}, filing.MethodApp)
	}
	tests := []struct {
		name  string
		order func(testing.TB) *filing.Order
		slot  filing.Slot
		via   filing.Via
		code  string
		slotD bool // details.slot names the slot
	}{
		{"unknown slot from pc", individual(filing.MethodPC, filing.StateDraft), "passport_photo", filing.ViaPC, filing.CodeUnknownSlot, false},
		{"unknown slot from app", individual(filing.MethodApp, filing.StateDraft), "passport_photo", filing.ViaApp, filing.CodeUnknownSlot, false},
		{"empty slot", individual(filing.MethodPC, filing.StateDraft), "", filing.ViaPC, filing.CodeUnknownSlot, false},
		{"supplementary via app", individual(filing.MethodApp, filing.StateDraft), suppl, filing.ViaApp, filing.CodeSlotNotAllowedInApp, false},
		{"face photo via pc, method app", individual(filing.MethodApp, filing.StateDraft), face, filing.ViaPC, filing.CodeInvalidRequest, true},
		{"face photo via pc, method pc", individual(filing.MethodPC, filing.StateDraft), face, filing.ViaPC, filing.CodeInvalidRequest, true},
		{"app upload, method pc", individual(filing.MethodPC, filing.StateDraft), form, filing.ViaApp, filing.CodeUploadMethodNotApp, false},
		{"app upload, method not chosen", individual(filing.MethodNone, filing.StateDraft), slFront, filing.ViaApp, filing.CodeUploadMethodNotApp, false},
		{"face photo via app, method pc", individual(filing.MethodPC, filing.StateDraft), face, filing.ViaApp, filing.CodeUploadMethodNotApp, false},
		{"organization certificate on an individual, pc", individual(filing.MethodPC, filing.StateDraft), orgCert, filing.ViaPC, filing.CodeUnknownSlot, true},
		{"organization certificate on an individual, app", individual(filing.MethodApp, filing.StateDraft), orgCert, filing.ViaApp, filing.CodeUnknownSlot, true},
		{"website leader ID when same person", individual(filing.MethodPC, filing.StateDraft), wlFront, filing.ViaPC, filing.CodeUnknownSlot, true},
		{"subject leader back of a passport", passportOther, slBack, filing.ViaApp, filing.CodeUnknownSlot, true},
		{"website leader back of a passport", passportOther, wlBack, filing.ViaPC, filing.CodeUnknownSlot, true},
		{"submitted, pc", individual(filing.MethodPC, filing.StateSubmitted), form, filing.ViaPC, filing.CodeInvalidState, false},
		{"submitted, app", individual(filing.MethodApp, filing.StateSubmitted), face, filing.ViaApp, filing.CodeInvalidState, false},
		{"approved", individual(filing.MethodPC, filing.StateApproved), slFront, filing.ViaPC, filing.CodeInvalidState, false},
		{"rejected", individual(filing.MethodApp, filing.StateRejected), slFront, filing.ViaApp, filing.CodeInvalidState, false},
		{"rejected, supplementary from pc", individual(filing.MethodPC, filing.StateRejected), suppl, filing.ViaPC, filing.CodeInvalidState, false},

		{"pc upload, method pc", individual(filing.MethodPC, filing.StateDraft), slFront, filing.ViaPC, "", false},
		{"pc upload, method not chosen", individual(filing.MethodNone, filing.StateDraft), form, filing.ViaPC, "", false},
		{"pc upload, method app", individual(filing.MethodApp, filing.StateDraft), slBack, filing.ViaPC, "", false},
		{"pc upload in uploaded state", individual(filing.MethodPC, filing.StateUploaded), form, filing.ViaPC, "", false},
		{"app upload, method app", individual(filing.MethodApp, filing.StateDraft), slFront, filing.ViaApp, "", false},
		{"face photo via app", individual(filing.MethodApp, filing.StateDraft), face, filing.ViaApp, "", false},
		{"face photo via app in uploaded state", individual(filing.MethodApp, filing.StateUploaded), face, filing.ViaApp, "", false},
		{"domain certificate via app", individual(filing.MethodApp, filing.StateDraft), domCert, filing.ViaApp, "", false},
		{"domain certificate via pc", individual(filing.MethodPC, filing.StateDraft), domCert, filing.ViaPC, "", false},
		{"supplementary via pc", individual(filing.MethodApp, filing.StateDraft), suppl, filing.ViaPC, "", false},
		{"organization certificate on an organization", passportOther, orgCert, filing.ViaApp, "", false},
		{"website leader front of another person", passportOther, wlFront, filing.ViaPC, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.order(t)
			before := cloneOrder(o)
			// Checking never changes the order, whether it allows the upload or not.
			e := checkOutcome(t, before, o, nil, o.CheckUpload(tt.slot, tt.via), tt.code)
			if e == nil {
				assertUnchanged(t, before, o)
				return
			}
			if tt.slotD {
				checkDetail(t, e, "slot", string(tt.slot))
			}
		})
	}
}

func TestCheckRemove(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state filing.State
		slot  filing.Slot
		code  string
	}{
		{"draft", filing.StateDraft, form, ""},
		{"uploaded", filing.StateUploaded, slFront, ""},
		{"supplementary", filing.StateDraft, suppl, ""},
		{"unknown slot", filing.StateDraft, "passport_photo", filing.CodeUnknownSlot},
		{"submitted", filing.StateSubmitted, form, filing.CodeInvalidState},
		{"approved", filing.StateApproved, form, filing.CodeInvalidState},
		{"rejected", filing.StateRejected, form, filing.CodeInvalidState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := orderFor(t, filing.Individual, filing.ResidentID, websiteLeaderCase{"same", true, ""}, filing.MethodPC)
			o.State = tt.state
			before := cloneOrder(o)
			// Checking never changes the order: the store removes the material.
			if checkOutcome(t, before, o, nil, o.CheckRemove(tt.slot), tt.code) == nil {
				assertUnchanged(t, before, o)
			}
		})
	}
}
