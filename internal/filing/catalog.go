package filing

// The catalogue is the tables every client shows (the desktop page, the phone simulator, the
// reviewers' workbench), served as one answer so that none of them writes its own copy.

// Catalog is the answer of GET /api/v1/catalog.
type Catalog struct {
	Provinces []CatalogProvince `json:"provinces"`
	IDTypes   []CatalogIDType   `json:"id_types"`
	Slots     []CatalogSlot     `json:"slots"`
	Limits    Limits            `json:"limits"`
	Warnings  []Warning         `json:"warnings"`
	Reasons   []Reason          `json:"reasons"`
	// OrgCertificateTypes are the organization certificate types a form offers.
	OrgCertificateTypes []CatalogOrgCertificate `json:"organization_certificate_types"`
	// States are the order states with their names and the owner's way back (withdraw).
	States []CatalogState `json:"states"`
}

// CatalogOrgCertificate is an organization certificate type and its name.
type CatalogOrgCertificate struct {
	Type    OrgCertificateType `json:"type"`
	LabelZh string             `json:"label_zh"`
}

// CatalogState is an order state, its name, and whether the owner may withdraw from it.
type CatalogState struct {
	State        State  `json:"state"`
	LabelZh      string `json:"label_zh"`
	Withdrawable bool   `json:"withdrawable"`
}

// CatalogProvince is a province and whether the app may be used there.
type CatalogProvince struct {
	Code         string `json:"code"`
	NameZh       string `json:"name_zh"`
	AppAvailable bool   `json:"app_available"`
}

// CatalogIDType is an ID document type and how many sides of it are photographed.
type CatalogIDType struct {
	IDType  IDType `json:"id_type"`
	LabelZh string `json:"label_zh"`
	Sides   int    `json:"sides"`
}

// CatalogSlot is a material slot with its advice for any order; an order's own advice is in
// its required_materials.
type CatalogSlot struct {
	Slot       Slot   `json:"slot"`
	LabelZh    string `json:"label_zh"`
	GuidanceZh string `json:"guidance_zh"`
	AppAllowed bool   `json:"app_allowed"`
}

// Limits are the image limits in force, as a client checks them before sending a file.
type Limits struct {
	// MaxBytes: a stored image is smaller than this.
	MaxBytes int64 `json:"max_bytes"`
	// FitMaxBytes: with ?fit=1 (and for each page to stitch) at most this much is taken.
	FitMaxBytes int64 `json:"fit_max_bytes"`
	// StitchMaxParts: the most pages one stitch combines.
	StitchMaxParts int `json:"stitch_max_parts"`
	// MinShortSide: an image's short side in pixels is at least this.
	MinShortSide int `json:"min_short_side"`
}

// IDTypes lists the accepted ID document types in the order a form offers them.
func IDTypes() []IDType {
	return []IDType{ResidentID, HKMacauResidencePermit, HKMacauTravelPermit,
		TaiwanResidencePermit, TaiwanTravelPermit, Passport}
}

// Sides is how many sides of the document are photographed: 2, or 1 for a passport.
func (t IDType) Sides() int {
	if t.HasBack() {
		return 2
	}
	return 1
}

// NewCatalog builds the catalogue from the domain's tables; appAvailable says where the app
// is open (configuration), limits are those the image rules apply.
func NewCatalog(appAvailable func(province string) bool, limits Limits) Catalog {
	c := Catalog{Limits: limits, Warnings: Warnings(), Reasons: Reasons()}
	for _, p := range Provinces {
		c.Provinces = append(c.Provinces, CatalogProvince{Code: p.Code, NameZh: p.NameZh, AppAvailable: appAvailable(p.Code)})
	}
	for _, t := range IDTypes() {
		c.IDTypes = append(c.IDTypes, CatalogIDType{IDType: t, LabelZh: t.LabelZh(), Sides: t.Sides()})
	}
	for _, s := range AllSlots() {
		c.Slots = append(c.Slots, CatalogSlot{Slot: s, LabelZh: s.LabelZh(), GuidanceZh: s.GuidanceZh(), AppAllowed: s.AppAllowed()})
	}
	for _, t := range OrgCertificateTypes() {
		c.OrgCertificateTypes = append(c.OrgCertificateTypes, CatalogOrgCertificate{Type: t, LabelZh: t.LabelZh()})
	}
	for _, s := range States() {
		c.States = append(c.States, CatalogState{State: s, LabelZh: s.LabelZh(), Withdrawable: s.Withdrawable()})
	}
	return c
}
