package filing

// The quality warnings an accepted image may carry (MATERIAL "warnings"). An image with a
// warning is stored all the same: the warning tells the owner what a reviewer would likely
// refuse, and what to do about it.
const (
	WarningGrayscale          = "grayscale"
	WarningBlurry             = "blurry"
	WarningTooDark            = "too_dark"
	WarningOverexposed        = "overexposed"
	WarningBackgroundNotWhite = "background_not_white"
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
}

// Warnings returns every warning with its text, in the order a material lists them. The
// caller must not change it.
func Warnings() []Warning { return warnings }
