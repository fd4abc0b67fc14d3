package filing

// The quality and face warnings an accepted image may carry (MATERIAL "warnings"). An image
// with a warning is stored all the same: the warning tells the owner what a reviewer would
// likely refuse, and what to do about it. The face warnings are given as FaceCheck says.
const (
	WarningGrayscale          = "grayscale"
	WarningBlurry             = "blurry"
	WarningTooDark            = "too_dark"
	WarningOverexposed        = "overexposed"
	WarningBackgroundNotWhite = "background_not_white"
	WarningNoFace             = "no_face"
	WarningMultipleFaces      = "multiple_faces"
	WarningFaceTooSmall       = "face_too_small"
	WarningFaceNotCentered    = "face_not_centered"
	WarningWrongSide          = "wrong_side"
)

// Warning is a warning's code and what the owner reads: what is wrong and what to do.
type Warning struct {
	Code      string `json:"code"`
	MessageZh string `json:"message_zh"`
}

var warnings = []Warning{
	{WarningGrayscale, "非彩色（黑白）图片，请上传原件彩色扫描件或照片"},
	{WarningBlurry, "图片模糊，请对准焦点、拿稳后重新拍摄"},
	{WarningTooDark, "图片过暗，请在光线充足处重新拍摄"},
	{WarningOverexposed, "图片过亮/反光，请避开强光、调整角度后重新拍摄"},
	{WarningBackgroundNotWhite, "背景不是白色，请以白色墙面或白色物体为背景重新拍摄"},
	// One text for the ID's portrait side and the face photo, which share the code.
	{WarningNoFace, "没有检测到人像：证件请上传人像面（这一面没有人像）；人脸照片请正对镜头、露出完整面部后重新拍摄"},
	{WarningMultipleFaces, "检测到多张人脸：照片中只能有网站负责人本人，请单独拍摄"},
	{WarningFaceTooSmall, "人脸太小：请靠近镜头，让头部和肩部占满画面的大部分"},
	{WarningFaceNotCentered, "人脸不在画面中央：请正对镜头，把脸放在画面正中后重新拍摄"},
	{WarningWrongSide, "这一面有人像，可能传成了人像面：此处请上传证件的国徽面"},
}

// Warnings returns every warning with its text, in the order a material lists them. The
// caller must not change it.
func Warnings() []Warning { return warnings }
