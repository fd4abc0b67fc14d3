package filing

// FaceCheck is what the machine pre-review looks for with the face detector in one slot's
// image (api/openapi.json, MATERIAL warnings; the README, "Faces").
type FaceCheck int

const (
	// FaceCheckNone: no face check (certificates, the form, other materials).
	FaceCheckNone FaceCheck = iota
	// FaceCheckPhoto: the face photo; exactly one clear, centred face on white
	// (no_face, multiple_faces, face_too_small, face_not_centered, background_not_white).
	FaceCheckPhoto
	// FaceCheckPortraitSide: the front (portrait side) of an ID; all six types have a
	// portrait there (no_face).
	FaceCheckPortraitSide
	// FaceCheckEmblemSide: the back of a document whose back has no portrait, the national
	// emblem side (wrong_side when a face is found).
	FaceCheckEmblemSide
)

// FaceCheck returns the face check of slot s on this order: which person's ID the slot
// holds decides whether its back may show a face.
func (o *Order) FaceCheck(s Slot) FaceCheck {
	switch s {
	case SlotFacePhoto:
		return FaceCheckPhoto
	case SlotSubjectLeaderIDFront, SlotWebsiteLeaderIDFront:
		return FaceCheckPortraitSide
	case SlotSubjectLeaderIDBack:
		return emblemBack(o.SubjectLeader.IDType)
	case SlotWebsiteLeaderIDBack:
		return emblemBack(o.WebsiteLeader.IDType)
	}
	return FaceCheckNone
}

// emblemBack: the resident ID and the two residence permits carry the portrait on the
// front and the national emblem on the back; the travel permits' backs carry other data
// (and sometimes a small photo), so a face there says nothing.
func emblemBack(t IDType) FaceCheck {
	switch t {
	case ResidentID, HKMacauResidencePermit, TaiwanResidencePermit:
		return FaceCheckEmblemSide
	}
	return FaceCheckNone
}

// WarningText is one machine warning of a MATERIAL as people read it: what is wrong and
// what to do about it, in Chinese. The codes are the contract's (api/openapi.json,
// MATERIAL warnings); WarningTexts is the one table of their texts, which the pages get
// from the server.
type WarningText struct {
	Code string `json:"code"`
	Zh   string `json:"zh"`
	// FacePhotoZh, when set, is the text on the face photo, where the same code means
	// something else than on an ID side (no_face).
	FacePhotoZh string `json:"face_photo_zh,omitempty"`
}

// WarningTexts lists every warning code a MATERIAL can carry, in the order the server lists
// them on a material.
var WarningTexts = []WarningText{
	{Code: "grayscale", Zh: "非彩色（黑白）图片：请上传原件的彩色扫描件或彩色照片。"},
	{Code: "blurry", Zh: "图片模糊：请对焦后重新拍摄，保证文字清晰可辨。"},
	{Code: "too_dark", Zh: "图片过暗：请在光线充足处重新拍摄。"},
	{Code: "overexposed", Zh: "图片过亮或反光：请避开强光直射，调整角度后重新拍摄。"},
	{Code: "background_not_white", Zh: "背景不是白色：请以白墙或白色物体为背景重新拍摄。"},
	{Code: "no_face", Zh: "这一面没有人像：请上传人像面。",
		FacePhotoZh: "没有检测到人脸：请正对镜头、露出完整面部（勿遮挡、勿侧脸）后重新拍摄。"},
	{Code: "multiple_faces", Zh: "检测到多张人脸：照片中只能有网站负责人本人，请单独拍摄。"},
	{Code: "face_too_small", Zh: "人脸太小：请靠近镜头，使头部和肩部占满画面的大部分。"},
	{Code: "face_not_centered", Zh: "人脸不在画面中央：请正对镜头，把脸放在画面正中后重新拍摄。"},
	{Code: "wrong_side", Zh: "这一面有人像，可能传成了人像面：此处请上传证件的国徽面。"},
}

// WarningZh is the text of a warning code on slot s; "" for a code not in WarningTexts.
func WarningZh(code string, s Slot) string {
	for _, w := range WarningTexts {
		if w.Code == code {
			if s == SlotFacePhoto && w.FacePhotoZh != "" {
				return w.FacePhotoZh
			}
			return w.Zh
		}
	}
	return ""
}
