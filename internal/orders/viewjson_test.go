package orders_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
)

// odd is a string that needs every kind of escape encoding/json makes.
const odd = "张三 \"q\" \\ \n\r\t\b\f\x01\x1f <script>&amp; \u2028\u2029 \xff\xfe end"

// claimableOrders are orders as phones claim them: each subject type, ID types with and
// without a back, a separate website leader, changes requested with a review, an owner.
func claimableOrders() []*orders.Snapshot {
	at := time.Date(2026, 12, 4, 2, 4, 10, 576000000, time.UTC)
	person := func(t filing.IDType, n string) filing.Person {
		return filing.Person{Name: "张三", IDType: t, IDNumber: n, IDValidUntil: filing.LongTerm}
	}
	gd := &filing.Order{ID: "o1", State: filing.StateDraft, Version: 4, SubjectType: filing.Individual, Province: "CN-GD",
		SubjectName: "张三", SubjectLeader: person(filing.ResidentID, "11010519491231002X"), WebsiteLeaderSame: true,
		Domains: []string{"example.com"}, UploadMethod: filing.MethodApp, CreatedAt: at, UpdatedAt: at.Add(time.Second)}
	org := &filing.Order{ID: "o2", State: filing.StateUploaded, Version: 9, SubjectType: filing.Organization, Province: "CN-BJ",
		SubjectName: "北京<某>公司 & Co", OrganizationCertificateType: filing.BusinessLicense,
		SubjectLeader: person(filing.Passport, "E12345678"), WebsiteLeader: person(filing.HKMacauTravelPermit, "H1234567890"),
		Domains: []string{"a.example.com", "b.example.cn"}, DomainRegisteredHere: true, UploadMethod: filing.MethodApp,
		OwnerID: "owner-1", CreatedAt: at, UpdatedAt: at}
	fix := &filing.Order{ID: "o3", State: filing.StateChangesRequested, Version: 20, SubjectType: filing.Individual, Province: "CN-ZJ",
		SubjectName: odd, SubjectLeader: person(filing.TaiwanResidencePermit, "83000019900101001X"), WebsiteLeaderSame: true,
		Domains: []string{odd}, UploadMethod: filing.MethodApp, Round: 2, RejectReason: "x",
		Reviews: []filing.Review{{Round: 2, Outcome: filing.Outcome("changes_requested"), Reason: odd, DecidedAt: at,
			Issues: []filing.Issue{{Target: filing.IssueMaterial, Slot: filing.SlotFacePhoto, Code: filing.ReasonCode("face_unclear"), Note: odd}}}},
		CreatedAt: at, UpdatedAt: at.In(time.FixedZone("x", 8*3600))}
	mats := map[filing.Slot]filing.Material{filing.SlotFacePhoto: {Slot: filing.SlotFacePhoto}, filing.SlotSubjectLeaderIDFront: {Slot: filing.SlotSubjectLeaderIDFront}}
	return []*orders.Snapshot{
		{Order: gd, Materials: map[filing.Slot]filing.Material{}},
		{Order: org, Materials: mats},
		{Order: fix, Materials: mats},
	}
}

// TestAppendOrderView holds the hand-written encoding of an order's view to encoding/json's,
// on the orders phones claim and on a view with every field set (a field added to the view
// and not to AppendOrderView fails here).
func TestAppendOrderView(t *testing.T) {
	var views []orders.OrderView
	for _, s := range claimableOrders() {
		views = append(views, orders.ViewOrder(s, true), orders.ViewOrder(s, false))
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("y", -3600))
	full := orders.OrderView{
		ID: odd, State: filing.State(odd), Version: -3, SubjectType: filing.SubjectType(odd), Province: odd, ProvinceNameZh: odd,
		SubjectName: odd, OrganizationCertificateType: filing.OrgCertificateType(odd), UploadMethod: filing.UploadMethod(odd),
		AppUploadAvailable: true, Domains: []string{}, DomainsASCII: []string{odd}, DomainRegisteredHere: true,
		SubjectLeader:     orders.PersonView{Name: odd, IDType: filing.IDType(odd), IDNumberMasked: odd, IDValidUntil: odd, IDNumber: odd},
		WebsiteLeader:     orders.PersonView{Name: "b", IDType: filing.Passport, IDNumberMasked: "c", IDValidUntil: "d", IDNumber: "e"},
		WebsiteLeaderSame: true,
		RequiredMaterials: []filing.Requirement{{Slot: filing.Slot(odd), LabelZh: odd, Required: true, AppAllowed: true, Uploaded: true, Flagged: true, GuidanceZh: odd}},
		RejectReason:      odd, Review: &filing.Review{Reason: odd, Issues: []filing.Issue{}}, Authority: &filing.Authority{ICPNumber: odd, SMSDeadline: &at},
		Round: 7, OwnerID: odd, CreatedAt: at, UpdatedAt: at.UTC(),
	}
	for _, v := range []any{full, full.SubjectLeader, full.RequiredMaterials[0]} {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			if rv.Field(i).IsZero() {
				t.Fatalf("%s.%s is not set in the test's full view", rv.Type().Name(), rv.Type().Field(i).Name)
			}
		}
	}
	empty := orders.OrderView{}
	views = append(views, full, empty)
	for i, v := range views {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		// Twice: the second time the requirements come from the cache.
		for range 2 {
			got, err := orders.AppendOrderView(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("view %d:\n got %s\nwant %s", i, got, want)
			}
		}
	}
}
