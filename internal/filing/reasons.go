package filing

import "slices"

// ReasonCode names why a reviewer flagged a material or a field (the reason catalogue of
// the first review, 初审). The codes are contract; the wording is ours to better.
type ReasonCode string

const (
	ReasonImageUnclear           ReasonCode = "image_unclear"
	ReasonEdgesIncomplete        ReasonCode = "edges_incomplete"
	ReasonNotColorOriginal       ReasonCode = "not_color_original"
	ReasonDocumentExpired        ReasonCode = "document_expired"
	ReasonInfoMismatch           ReasonCode = "info_mismatch"
	ReasonWrongDocument          ReasonCode = "wrong_document"
	ReasonFormUnsigned           ReasonCode = "form_unsigned"
	ReasonFormFingerprintMissing ReasonCode = "form_fingerprint_missing"
	ReasonFormSealMissing        ReasonCode = "form_seal_missing"
	ReasonFormCommitmentMissing  ReasonCode = "form_commitment_missing"
	ReasonFormWrongTemplate      ReasonCode = "form_wrong_template"
	ReasonFormInfoMismatch       ReasonCode = "form_info_mismatch"
	ReasonFaceBackground         ReasonCode = "face_background"
	ReasonFaceAttire             ReasonCode = "face_attire"
	ReasonFaceUnclear            ReasonCode = "face_unclear"
	ReasonFieldInvalid           ReasonCode = "field_invalid"
	ReasonOther                  ReasonCode = "other"
)

// TargetField is the target name, beside slot names, of a reason that may flag an order's
// field.
const TargetField = "field"

// Reason is one entry of the catalogue: the code, where it may be used, and what the owner
// is told (the message and what to do about it).
type Reason struct {
	Code ReasonCode `json:"code"`
	// Targets are the slot names the reason may flag, and "field" when it may flag a field.
	Targets   []string `json:"targets"`
	Message   string   `json:"message"`
	MessageZh string   `json:"message_zh"`
	SuggestZh string   `json:"suggest_zh"`
	// NeedsNote is set where the reason says nothing by itself: the reviewer must write
	// what is wrong.
	NeedsNote bool `json:"-"`
}

// Target groups, as the catalogue names them.
var (
	idSlots = []Slot{SlotSubjectLeaderIDFront, SlotSubjectLeaderIDBack,
		SlotWebsiteLeaderIDFront, SlotWebsiteLeaderIDBack}
	certificateSlots = []Slot{SlotOrganizationCertificate, SlotDomainCertificate}
	documentSlots    = slices.Concat(idSlots, certificateSlots)
	formSlots        = []Slot{SlotVerificationForm}
	faceSlots        = []Slot{SlotFacePhoto}
)

// reasons is the catalogue, in the order a reviewer's list shows it.
var reasons = []Reason{
	{Code: ReasonImageUnclear, Targets: targets(AllSlots()),
		Message: "The image is not clear (blurred, glare or too dark).", MessageZh: "图片不清晰（模糊、反光或过暗）",
		SuggestZh: "请在光线充足处重新拍摄，保证文字清晰可辨、无反光。"},
	{Code: ReasonEdgesIncomplete, Targets: targets(documentSlots),
		Message: "The document's four edges are not all in the picture.", MessageZh: "证件四边不完整",
		SuggestZh: "请将证件完整放入画面，四角都要拍到。"},
	{Code: ReasonNotColorOriginal, Targets: targets(documentSlots),
		Message: "It must be a colour scan or photo of the original, not black and white or a photocopy.", MessageZh: "须为原件的彩色扫描件或照片，不接受黑白件或复印件",
		SuggestZh: "请拍摄或彩色扫描证件原件后重新上传。"},
	{Code: ReasonDocumentExpired, Targets: targets(documentSlots),
		Message: "The document has expired.", MessageZh: "证件已过期",
		SuggestZh: "请提供有效期内的证件。"},
	{Code: ReasonInfoMismatch, Targets: targets(documentSlots),
		Message: "The document does not match the information entered.", MessageZh: "证件信息与填写的信息不一致",
		SuggestZh: "请核对姓名、证件号码和有效期，修改填写的信息或上传正确的证件。"},
	{Code: ReasonWrongDocument, Targets: targets(documentSlots),
		Message: "The wrong document, or the wrong side of it, was uploaded.", MessageZh: "上传的证件类型或证件面不正确",
		SuggestZh: "请按提示上传对应证件的对应一面（正面为人像面，反面为国徽面）。"},
	{Code: ReasonFormUnsigned, Targets: targets(formSlots),
		Message: "The verification form is not signed in black ink.", MessageZh: "核验单未用黑色签字笔签字",
		SuggestZh: "请用黑色签字笔在核验单签字处签字后重新拍照上传。"},
	{Code: ReasonFormFingerprintMissing, Targets: targets(formSlots),
		Message: "The website leader's fingerprint is missing by the signature (Jiangxi and Xinjiang individual filings).", MessageZh: "核验单网站负责人签字处未按手印（江西、新疆个人备案）",
		SuggestZh: "请网站负责人在签字处按手印后重新拍照上传。"},
	{Code: ReasonFormSealMissing, Targets: targets(formSlots),
		Message: "The verification form does not carry the organization's official seal.", MessageZh: "核验单未加盖单位公章",
		SuggestZh: "请在核验单上加盖单位公章后重新拍照上传。"},
	{Code: ReasonFormCommitmentMissing, Targets: targets(formSlots),
		Message: "The Guangdong individual form lacks the handwritten commitment.", MessageZh: "广东个人核验单未手写承诺内容",
		SuggestZh: "请在核验单上手写承诺内容（见核验单上的说明）后重新拍照上传。"},
	{Code: ReasonFormWrongTemplate, Targets: targets(formSlots),
		Message: "The verification form is not the right version.", MessageZh: "核验单版本不正确",
		SuggestZh: "请重新下载本订单的核验单，打印填写后上传。"},
	{Code: ReasonFormInfoMismatch, Targets: targets(formSlots),
		Message: "What is written on the form does not match the filing.", MessageZh: "核验单填写内容与备案信息不一致",
		SuggestZh: "请按备案信息重新填写核验单后上传。"},
	{Code: ReasonFaceBackground, Targets: targets(faceSlots),
		Message: "The face photo's background must be white.", MessageZh: "人脸照片背景须为白色",
		SuggestZh: "请以白墙或白色物体为背景重新拍摄。"},
	{Code: ReasonFaceAttire, Targets: targets(faceSlots),
		Message: "Dress neatly; no hat, headphones or mask.", MessageZh: "请着装整齐，勿戴帽子、耳机、口罩",
		SuggestZh: "请着装整齐、露出面部后重新拍摄。"},
	{Code: ReasonFaceUnclear, Targets: targets(faceSlots),
		Message: "The face is not clear or not facing the camera.", MessageZh: "人脸不清晰或未正对镜头",
		SuggestZh: "请正对镜头、在光线充足处重新拍摄。"},
	{Code: ReasonFieldInvalid, Targets: []string{TargetField},
		Message: "The information entered is wrong (see the note).", MessageZh: "信息填写有误（见说明）",
		SuggestZh: "请按说明修改后重新提交。", NeedsNote: true},
	{Code: ReasonOther, Targets: append(targets(AllSlots()), TargetField),
		Message: "Other (see the note).", MessageZh: "其他（见说明）",
		SuggestZh: "请按说明处理后重新提交。", NeedsNote: true},
}

func targets(slots []Slot) []string {
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = string(s)
	}
	return out
}

// AllSlots lists every slot of the contract, in the order the pages show them.
func AllSlots() []Slot {
	return []Slot{SlotOrganizationCertificate, SlotSubjectLeaderIDFront, SlotSubjectLeaderIDBack,
		SlotWebsiteLeaderIDFront, SlotWebsiteLeaderIDBack, SlotVerificationForm, SlotFacePhoto,
		SlotDomainCertificate, SlotSupplementary}
}

// Reasons returns the reason catalogue. The caller must not change it.
func Reasons() []Reason { return reasons }

// LookupReason returns the catalogue's entry for code.
func LookupReason(code ReasonCode) (Reason, bool) {
	i := slices.IndexFunc(reasons, func(r Reason) bool { return r.Code == code })
	if i < 0 {
		return Reason{}, false
	}
	return reasons[i], true
}

// Allows reports whether the reason may be used on target: a slot name, or "field".
func (r Reason) Allows(target string) bool { return slices.Contains(r.Targets, target) }
