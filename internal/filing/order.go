package filing

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SubjectType is who files: a person or an organization.
type SubjectType string

const (
	Individual   SubjectType = "individual"
	Organization SubjectType = "organization"
)

// OrgCertificateType is the kind of an organization's certificate.
type OrgCertificateType string

// The organization certificate types.
const (
	BusinessLicense    OrgCertificateType = "business_license"
	PublicInstitution  OrgCertificateType = "public_institution"
	SocialOrganization OrgCertificateType = "social_organization"
	OtherCertificate   OrgCertificateType = "other"
)

var orgCertificateLabels = map[OrgCertificateType]string{
	BusinessLicense: "营业执照", PublicInstitution: "事业单位法人证书",
	SocialOrganization: "社会团体法人登记证书", OtherCertificate: "其他",
}

// OrgCertificateTypes lists the organization certificate types in the order a form offers them.
func OrgCertificateTypes() []OrgCertificateType {
	return []OrgCertificateType{BusinessLicense, PublicInstitution, SocialOrganization, OtherCertificate}
}

// LabelZh is the certificate type's Chinese name, or "" for an unknown type.
func (t OrgCertificateType) LabelZh() string { return orgCertificateLabels[t] }

func (t OrgCertificateType) valid() bool { return orgCertificateLabels[t] != "" }

// UploadMethod is how the materials are uploaded; empty means not chosen yet.
type UploadMethod string

const (
	MethodNone UploadMethod = ""
	MethodPC   UploadMethod = "pc"
	MethodApp  UploadMethod = "app"
)

// State is the order's place in the state machine (docs/rules.md).
type State string

const (
	StateDraft     State = "draft"
	StateUploaded  State = "uploaded"
	StateSubmitted State = "submitted"
	StateApproved  State = "approved"
	StateRejected  State = "rejected"
	// StateChangesRequested (退回补正): the reviewer flagged materials or fields; only those
	// may change, then the owner submits the next round.
	StateChangesRequested State = "changes_requested"
	// StateAuthorityReview (报送管局): the provider passed the order on to the authority.
	StateAuthorityReview State = "authority_review"
	// StateFiled (备案成功): the authority filed it, with an ICP number.
	StateFiled State = "filed"
	// StateAuthorityRejected (管局退回): the authority sent it back; withdraw to fix it.
	StateAuthorityRejected State = "authority_rejected"
)

// States lists every state of the state machine, in the order an order passes them.
func States() []State {
	return []State{StateDraft, StateUploaded, StateSubmitted, StateChangesRequested, StateRejected,
		StateApproved, StateAuthorityReview, StateFiled, StateAuthorityRejected}
}

var stateLabels = map[State]string{
	StateDraft:             "草稿：待上传资料",
	StateUploaded:          "资料已齐全，待提交",
	StateSubmitted:         "服务商初审中",
	StateChangesRequested:  "需要补正",
	StateRejected:          "初审未通过",
	StateApproved:          "初审通过",
	StateAuthorityReview:   "管局审核中",
	StateFiled:             "备案成功",
	StateAuthorityRejected: "管局退回",
}

// LabelZh is the state as the pages name it. Each says only what has happened: 初审通过 is
// the provider's approval, never the authority's.
func (s State) LabelZh() string { return stateLabels[s] }

// Order is a filing order. ID numbers are kept whole here; every view outside the service
// masks them, except the printed verification form.
//
// Its JSON is also the Redis format (internal/redisstore, with each id_number sealed):
// claim.lua reads state, upload_method and province from it, so those stay plain and keep
// their names (redisstore.TestClaimScriptReadsTheStoredFormat fails if they do not).
type Order struct {
	ID                          string             `json:"id"`
	State                       State              `json:"state"`
	Version                     int64              `json:"version"`
	SubjectType                 SubjectType        `json:"subject_type"`
	Province                    string             `json:"province"`
	SubjectName                 string             `json:"subject_name"`
	OrganizationCertificateType OrgCertificateType `json:"organization_certificate_type,omitempty"`
	SubjectLeader               Person             `json:"subject_leader"`
	WebsiteLeader               Person             `json:"website_leader"`
	WebsiteLeaderSame           bool               `json:"website_leader_same_as_subject_leader"`
	Domains                     []string           `json:"domains"`
	DomainRegisteredHere        bool               `json:"domain_registered_here"`
	UploadMethod                UploadMethod       `json:"upload_method"`
	RejectReason                string             `json:"reject_reason,omitempty"`
	// Round is how many times the order has been submitted (0 before the first).
	Round int `json:"round,omitempty"`
	// SubmittedAt is when the current round was submitted: the review queue's order.
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	// Reviews are the review rounds' decisions, oldest first; the last one is the order's
	// review, and its Pending shrinks as the owner fixes what it flagged.
	Reviews []Review `json:"reviews,omitempty"`
	// Edited are the fields whose values changed since the last decision, for the
	// reviewer's "changed since the last round".
	Edited []string `json:"edited,omitempty"`
	// Authority is the authority's progress as the back office reports it.
	Authority *Authority `json:"authority,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// ResumeHash is the SHA-256 (hex) of the order's resume code, never the code itself,
	// so that a copy of Redis resumes nothing; kept in the order's record, it lives and
	// expires with the order. Empty: no code (an order older than resume codes).
	ResumeHash string `json:"resume_hash,omitempty"`
	// OwnerID is the provider's user the back office created the order for (empty: a
	// standalone order); it never changes. Every owner token of that user opens the order.
	OwnerID string `json:"owner_id,omitempty"`
}

// NewOrderInput is what a desktop sends to create an order.
type NewOrderInput struct {
	SubjectType                 SubjectType        `json:"subject_type"`
	Province                    string             `json:"province"`
	SubjectName                 string             `json:"subject_name"`
	OrganizationCertificateType OrgCertificateType `json:"organization_certificate_type"`
	SubjectLeader               Person             `json:"subject_leader"`
	WebsiteLeader               *Person            `json:"website_leader"`
	WebsiteLeaderSame           bool               `json:"website_leader_same_as_subject_leader"`
	Domains                     []string           `json:"domains"`
	DomainRegisteredHere        bool               `json:"domain_registered_here"`
	// OwnerID is the provider's user the order is for; only the back office may send it
	// (the handler checks the operator key), empty for a standalone order.
	OwnerID string `json:"owner_id,omitempty"`
}

func fieldErr(field, en, zh string) error {
	return ErrInvalidRequest.WithMessage(en, zh).WithDetails(map[string]any{"field": field})
}

// NewOrder validates in and returns a draft order with the given id, created at now.
func NewOrder(id string, in NewOrderInput, now time.Time) (*Order, error) {
	o := &Order{
		ID: id, State: StateDraft, Version: 1,
		SubjectType: in.SubjectType, Province: strings.TrimSpace(in.Province),
		SubjectName:                 strings.TrimSpace(in.SubjectName),
		OrganizationCertificateType: in.OrganizationCertificateType,
		SubjectLeader:               in.SubjectLeader,
		WebsiteLeaderSame:           in.WebsiteLeaderSame,
		DomainRegisteredHere:        in.DomainRegisteredHere,
		CreatedAt:                   now.UTC(), UpdatedAt: now.UTC(),
	}
	if in.OwnerID != "" {
		if err := ValidateOwnerID(in.OwnerID); err != nil {
			return nil, err
		}
		o.OwnerID = in.OwnerID
	}
	switch o.SubjectType {
	case Individual:
		o.OrganizationCertificateType = ""
	case Organization:
		if !o.OrganizationCertificateType.valid() {
			return nil, errOrgCertificateType()
		}
	default:
		return nil, fieldErr("subject_type", "subject_type must be \"individual\" or \"organization\".", "请选择主体性质：个人或单位。")
	}
	if _, ok := LookupProvince(o.Province); !ok {
		return nil, ErrInvalidProvince.WithDetails(map[string]any{"field": "province"})
	}
	if err := checkSubjectName(&o.SubjectName); err != nil {
		return nil, err
	}
	// Documents are valid through the last day printed on them, a day in China's time.
	today := now.In(chinaTime)
	if err := o.SubjectLeader.validate("subject_leader", today); err != nil {
		return nil, err
	}
	switch {
	case o.WebsiteLeaderSame:
		o.WebsiteLeader = o.SubjectLeader
	case in.WebsiteLeader == nil:
		return nil, fieldErr("website_leader",
			"website_leader is required unless website_leader_same_as_subject_leader is true.",
			"请填写网站负责人信息，或选择“与主体负责人相同”。")
	default:
		o.WebsiteLeader = *in.WebsiteLeader
		if err := o.WebsiteLeader.validate("website_leader", today); err != nil {
			return nil, err
		}
	}
	domains, err := normalizeDomains(in.Domains)
	if err != nil {
		return nil, err
	}
	o.Domains = domains
	return o, nil
}

func errOrgCertificateType() error {
	return fieldErr("organization_certificate_type",
		"organization_certificate_type must be business_license, public_institution, social_organization or other.",
		"请选择单位证件类型：营业执照、事业单位法人证书、社会团体法人登记证书或其他。")
}

// checkSubjectName trims the name and checks it as creation does.
func checkSubjectName(name *string) error {
	*name = strings.TrimSpace(*name)
	if err := CheckText("subject_name", *name); err != nil {
		return err
	}
	if *name == "" || utf8.RuneCountInString(*name) > 128 {
		return fieldErr("subject_name", "subject_name is required (at most 128 characters).", "请填写主办单位或个人名称（不超过 128 个字符）。")
	}
	return nil
}

// chinaTime is UTC+8, which China keeps all year; a fixed zone needs no tzdata.
var chinaTime = time.FixedZone("CST", 8*3600)

const maxDomains = 20

func normalizeDomains(in []string) ([]string, error) {
	if len(in) == 0 || len(in) > maxDomains {
		return nil, fieldErr("domains", "Give between 1 and 20 domain names.", "请填写 1 到 20 个网站域名。")
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for i, d := range in {
		d, err := canonicalDomain(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), "."), i)
		if err != nil {
			return nil, err
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}

// validDomain accepts host names of two or more labels; a label is letters (any script, so
// 中文.中国 passes, with the combining marks some scripts need), digits and inner hyphens.
// Anything else outside ASCII is refused too: spaces, punctuation, symbols and the invisible
// characters (no-break or zero-width space, soft hyphen) that pasting brings along.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			ok := r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' ||
				r > 0x7f && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc))
			if !ok {
				return false
			}
		}
	}
	// The top-level label is never all digits, which keeps IP addresses out.
	tld := labels[len(labels)-1]
	return strings.Trim(tld, "0123456789") != ""
}

// Valid reports whether s is a state of the state machine.
func (s State) Valid() bool {
	for _, v := range States() {
		if v == s {
			return true
		}
	}
	return false
}
