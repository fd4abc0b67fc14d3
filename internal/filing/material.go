package filing

import (
	"slices"
	"time"
)

// Slot names one material of an order; each slot holds one image.
type Slot string

const (
	SlotOrganizationCertificate Slot = "organization_certificate"
	SlotSubjectLeaderIDFront    Slot = "subject_leader_id_front"
	SlotSubjectLeaderIDBack     Slot = "subject_leader_id_back"
	SlotWebsiteLeaderIDFront    Slot = "website_leader_id_front"
	SlotWebsiteLeaderIDBack     Slot = "website_leader_id_back"
	SlotVerificationForm        Slot = "verification_form"
	SlotFacePhoto               Slot = "face_photo"
	SlotDomainCertificate       Slot = "domain_certificate"
	SlotSupplementary           Slot = "supplementary"
)

type slotInfo struct {
	labelZh    string
	appAllowed bool
	// appOnly slots are taken live by the app; the desktop may not supply them, or the
	// face check would be a file chosen from a disk.
	appOnly bool
	// guidanceZh is the slot's advice for any order (the catalogue's); Guidance makes it
	// specific to an order where the order changes it.
	guidanceZh string
}

var slots = map[Slot]slotInfo{
	SlotOrganizationCertificate: {"单位证件", true, false,
		"请上传与备案信息中单位信息一致的单位证件原件彩色扫描件或照片，清晰完整，有效期内。如有变更证明等资料，请使用电脑端上传：在单位证件上单击“添加一页”，与证件拼成一张图片。"},
	SlotSubjectLeaderIDFront: {"主体负责人证件（正面/人像页）", true, false, "主体负责人证件正面（护照为人像页）：" + idAdvice},
	SlotSubjectLeaderIDBack:  {"主体负责人证件（反面）", true, false, "主体负责人证件反面：" + idAdvice},
	SlotWebsiteLeaderIDFront: {"网站负责人证件（正面/人像页）", true, false, "网站负责人证件正面（护照为人像页）：" + idAdvice},
	SlotWebsiteLeaderIDBack:  {"网站负责人证件（反面）", true, false, "网站负责人证件反面：" + idAdvice},
	SlotVerificationForm: {"真实性核验单", true, false,
		"请在电脑端下载真实性核验单，打印后用黑色签字笔填写、签字（单位备案另须加盖单位公章，部分省份的个人备案须加盖手印），填写完成后拍照或扫描上传，保证整页完整清晰。"},
	SlotFacePhoto: {"网站负责人人脸核验照片", true, true,
		"请网站负责人本人在 app 中现场拍摄人脸核验照片：穿戴整齐，以白色物体为背景，正对镜头，光线充足，面部无遮挡。"},
	SlotDomainCertificate: {"域名证书", true, false,
		"本平台注册的域名：登录域名控制台，单击域名名称进入域名详情页面，再单击“域名证书打印”下载域名证书后上传；其他注册商的域名请向注册商获取域名证书（证书持有者应与备案主体一致）。"},
	SlotSupplementary: {"变更证明、授权书等其他资料", false, false,
		"只放不属于任何证件的其他资料（如前置审批文件）。授权书、变更证明等请使用电脑端上传：在对应证件上单击“添加一页”，与证件拼成一张图片（个人与身份证，单位与单位证件）。"},
}

// idAdvice is how any ID document is photographed.
const idAdvice = "请拍摄或扫描证件原件（彩色），保证四角完整、文字清晰、无反光遮挡，证件需在有效期内。"

// Valid reports whether s is a slot of the contract.
func (s Slot) Valid() bool { _, ok := slots[s]; return ok }

// LabelZh is the slot's Chinese label.
func (s Slot) LabelZh() string { return slots[s].labelZh }

// AppAllowed reports whether the phone app may upload this slot; special materials such as
// change proofs are desktop-only (the source document's advice).
func (s Slot) AppAllowed() bool { return slots[s].appAllowed }

// GuidanceZh is the slot's advice for taking its picture whatever the order; Guidance gives
// the order's own.
func (s Slot) GuidanceZh() string { return slots[s].guidanceZh }

// Via says where a material was uploaded from.
type Via string

const (
	ViaApp Via = "app"
	ViaPC  Via = "pc"
)

// Material is the metadata of a stored image (the contract's MATERIAL).
type Material struct {
	Slot         Slot      `json:"slot"`
	Format       string    `json:"format"`
	Size         int64     `json:"size"`
	SHA256       string    `json:"sha256"`
	Width        int       `json:"width"`
	Height       int       `json:"height"`
	Via          Via       `json:"via"`
	UploadedAt   time.Time `json:"uploaded_at"`
	Warnings     []string  `json:"warnings"`
	Fitted       bool      `json:"fitted"`
	OriginalSize int64     `json:"original_size"`
}

// Requirement is one entry of an order's required_materials.
type Requirement struct {
	Slot       Slot   `json:"slot"`
	LabelZh    string `json:"label_zh"`
	Required   bool   `json:"required"`
	AppAllowed bool   `json:"app_allowed"`
	Uploaded   bool   `json:"uploaded"`
	// Flagged is set while changes are requested for the slot's material.
	Flagged bool `json:"flagged"`
	// GuidanceZh says how to photograph or prepare the material, for this order.
	GuidanceZh string `json:"guidance_zh"`
}

// Requirements lists the slots this order uses, required ones first in the order people
// photograph them, then the optional ones. uploaded tells which slots hold a material.
//
// The count follows the order (docs/rules.md, "the five standard images"): an individual's
// sponsor certificate is the subject leader's ID itself, a two-sided ID takes two slots, a
// website leader who is the subject leader needs no second copy, and the face photo exists
// only when the app is the upload method.
func (o *Order) Requirements(uploaded func(Slot) bool) []Requirement {
	var rs []Requirement
	flagged := o.FlaggedSlots()
	add := func(s Slot, required bool) {
		up := uploaded != nil && uploaded(s)
		rs = append(rs, Requirement{Slot: s, LabelZh: s.LabelZh(), Required: required, AppAllowed: s.AppAllowed(),
			Uploaded: up, Flagged: slices.Contains(flagged, s), GuidanceZh: Guidance(o, s)})
	}
	if o.SubjectType == Organization {
		add(SlotOrganizationCertificate, true)
	}
	add(SlotSubjectLeaderIDFront, true)
	if o.SubjectLeader.IDType.HasBack() {
		add(SlotSubjectLeaderIDBack, true)
	}
	if !o.WebsiteLeaderSame {
		add(SlotWebsiteLeaderIDFront, true)
		if o.WebsiteLeader.IDType.HasBack() {
			add(SlotWebsiteLeaderIDBack, true)
		}
	}
	add(SlotVerificationForm, true)
	if o.UploadMethod == MethodApp {
		add(SlotFacePhoto, true)
	}
	add(SlotDomainCertificate, false)
	add(SlotSupplementary, false)
	return rs
}

// Missing returns the required slots that hold no material.
func (o *Order) Missing(uploaded func(Slot) bool) []Slot {
	missing := []Slot{}
	for _, r := range o.Requirements(uploaded) {
		if r.Required && !r.Uploaded {
			missing = append(missing, r.Slot)
		}
	}
	return missing
}

// uses reports whether the slot belongs to this order at all.
func (o *Order) uses(s Slot) bool {
	for _, r := range o.Requirements(nil) {
		if r.Slot == s {
			return true
		}
	}
	return false
}

// CheckUpload decides whether a material may be put in slot s from via, before any byte of
// the image is read.
func (o *Order) CheckUpload(s Slot, via Via) error {
	if !s.Valid() {
		return ErrUnknownSlot
	}
	if via == ViaApp && !s.AppAllowed() {
		return ErrSlotNotAllowedInApp
	}
	if o.State == StateChangesRequested {
		// Only a flagged slot takes a new material; the rest is what the reviewer passed.
		if flagged := o.FlaggedSlots(); !slices.Contains(flagged, s) {
			return ErrSlotLocked.WithDetails(map[string]any{"slot": string(s), "flagged": flagged})
		}
	} else if err := o.checkOpen(); err != nil {
		return err
	}
	if via == ViaApp && o.UploadMethod != MethodApp {
		return ErrUploadMethodNotApp
	}
	if via == ViaPC && slots[s].appOnly {
		return ErrInvalidRequest.WithMessage(
			"The face photo is taken live in the app; it cannot be uploaded from the PC.",
			"人脸核验照片需在阿里云 app 中现场拍摄，不能从电脑端上传。").WithDetails(map[string]any{"slot": string(s)})
	}
	if !o.uses(s) {
		return ErrUnknownSlot.WithMessage(
			"This filing order does not use that material slot.",
			"该备案订单不需要此项资料。").WithDetails(map[string]any{"slot": string(s)})
	}
	return nil
}

// CheckRemove decides whether the material in slot s may be removed.
func (o *Order) CheckRemove(s Slot) error {
	if !s.Valid() {
		return ErrUnknownSlot
	}
	if o.State == StateChangesRequested {
		// A flagged slot is replaced, never emptied: the next round needs its material.
		return ErrSlotLocked.WithDetails(map[string]any{"slot": string(s), "flagged": o.FlaggedSlots()})
	}
	return o.checkOpen()
}
