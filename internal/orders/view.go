package orders

import (
	"sort"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// PersonView is a responsible person with the ID number masked.
type PersonView struct {
	Name           string        `json:"name"`
	IDType         filing.IDType `json:"id_type"`
	IDNumberMasked string        `json:"id_number_masked"`
	IDValidUntil   string        `json:"id_valid_until"`
	// IDNumber is the full number, only in the reviewer's view.
	IDNumber string `json:"id_number,omitempty"`
}

// OrderView is the contract's ORDER: what any client may see of an order. ID numbers
// appear only masked.
type OrderView struct {
	ID                          string                    `json:"id"`
	State                       filing.State              `json:"state"`
	Version                     int64                     `json:"version"`
	SubjectType                 filing.SubjectType        `json:"subject_type"`
	Province                    string                    `json:"province"`
	ProvinceNameZh              string                    `json:"province_name_zh"`
	SubjectName                 string                    `json:"subject_name"`
	OrganizationCertificateType filing.OrgCertificateType `json:"organization_certificate_type,omitempty"`
	UploadMethod                filing.UploadMethod       `json:"upload_method"`
	AppUploadAvailable          bool                      `json:"app_upload_available"`
	Domains                     []string                  `json:"domains"`
	// DomainsASCII is each domain's ASCII form (punycode), in the same order; an ASCII
	// domain is itself. Pages show it beside the Unicode form wherever the two differ.
	DomainsASCII         []string             `json:"domains_ascii"`
	DomainRegisteredHere bool                 `json:"domain_registered_here"`
	SubjectLeader        PersonView           `json:"subject_leader"`
	WebsiteLeader        PersonView           `json:"website_leader"`
	WebsiteLeaderSame    bool                 `json:"website_leader_same_as_subject_leader"`
	RequiredMaterials    []filing.Requirement `json:"required_materials"`
	RejectReason         string               `json:"reject_reason,omitempty"`
	Review               *filing.Review       `json:"review"`
	Authority            *filing.Authority    `json:"authority"`
	Round                int                  `json:"round"`
	// OwnerID is the provider's user the order is for; absent on a standalone order.
	OwnerID   string    `json:"owner_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewPerson(p filing.Person) PersonView {
	return PersonView{Name: p.Name, IDType: p.IDType, IDNumberMasked: p.MaskedIDNumber(), IDValidUntil: p.IDValidUntil}
}

// ViewOrder renders the snapshot's order; appAvailable is whether app verification is
// open in its province (Service.AppAvailable, as the catalogue serves it).
func ViewOrder(snap *Snapshot, appAvailable bool) OrderView {
	o := snap.Order
	prov, _ := filing.LookupProvince(o.Province)
	return OrderView{
		ID: o.ID, State: o.State, Version: o.Version, SubjectType: o.SubjectType,
		Province: o.Province, ProvinceNameZh: prov.NameZh, SubjectName: o.SubjectName,
		OrganizationCertificateType: o.OrganizationCertificateType,
		UploadMethod:                o.UploadMethod, AppUploadAvailable: appAvailable,
		Domains: o.Domains, DomainsASCII: filing.DomainsASCII(o.Domains), DomainRegisteredHere: o.DomainRegisteredHere,
		SubjectLeader: viewPerson(o.SubjectLeader), WebsiteLeader: viewPerson(o.WebsiteLeader),
		WebsiteLeaderSame: o.WebsiteLeaderSame,
		RequiredMaterials: o.Requirements(snap.has), RejectReason: o.RejectReason,
		Review: viewReview(o), Authority: o.Authority, Round: o.Round, OwnerID: o.OwnerID,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
}

// MaterialList returns the order's materials in the order of its requirements, then any
// others, so every client lists them alike.
func MaterialList(snap *Snapshot) []filing.Material {
	rank := map[filing.Slot]int{}
	for i, r := range snap.Order.Requirements(nil) {
		rank[r.Slot] = i + 1
	}
	list := make([]filing.Material, 0, len(snap.Materials))
	for _, m := range snap.Materials {
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool {
		ri, rj := rank[list[i].Slot], rank[list[j].Slot]
		if ri == 0 {
			ri = 1 << 20
		}
		if rj == 0 {
			rj = 1 << 20
		}
		if ri != rj {
			return ri < rj
		}
		return list[i].Slot < list[j].Slot
	})
	return list
}

// PhoneMaterials is the checklist the app shows: the slots the app may upload, each with
// its guidance for taking the picture.
func PhoneMaterials(snap *Snapshot) []filing.Requirement {
	return PhoneRequirements(snap.Order.State, snap.Order.Requirements(snap.has))
}

// PhoneRequirements is PhoneMaterials from the order's requirements as its view already
// holds them (OrderView.RequiredMaterials), for an order in state.
func PhoneRequirements(state filing.State, reqs []filing.Requirement) []filing.Requirement {
	var list []filing.Requirement
	flagged := state == filing.StateChangesRequested
	for _, r := range reqs {
		// While changes are requested the phone re-uploads the flagged slots only.
		if r.AppAllowed && (!flagged || r.Flagged) {
			list = append(list, r)
		}
	}
	return list
}

// Snapshot frame of the websocket (the contract's first frame).
type SnapshotFrame struct {
	Type      string            `json:"type"`
	Version   int64             `json:"version"`
	Order     OrderView         `json:"order"`
	Materials []filing.Material `json:"materials"`
	Pairing   *PairingView      `json:"pairing"`
}

// SnapshotFrame renders the websocket's snapshot frame.
func (s *Service) SnapshotFrame(snap *Snapshot) SnapshotFrame {
	return SnapshotFrame{
		Type: "snapshot", Version: snap.Order.Version, Order: ViewOrder(snap, s.AppAvailable(snap.Order.Province)),
		Materials: MaterialList(snap), Pairing: s.viewPairing(snap.Order.ID, snap.Pairing),
	}
}
