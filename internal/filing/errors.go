package filing

import "errors"

// Error codes of the contract (api/openapi.json). The HTTP status of each is decided at the
// edge (internal/httpx); here a code is only a name with its two messages.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidProvince         = "invalid_province"
	CodeInvalidIDType           = "invalid_id_type"
	CodeInvalidIDNumber         = "invalid_id_number"
	CodeIDExpired               = "id_expired"
	CodeUnauthorized            = "unauthorized"
	CodeTokenRevoked            = "token_revoked"
	CodeOrderNotFound           = "order_not_found"
	CodeProvinceNotSupported    = "province_not_supported"
	CodeInvalidState            = "invalid_state"
	CodeUploadMethodNotApp      = "upload_method_not_app"
	CodePairingNotFound         = "pairing_not_found"
	CodePairingExpired          = "pairing_expired"
	CodePairingAlreadyClaimed   = "pairing_already_claimed"
	CodeMaterialNotFound        = "material_not_found"
	CodeMaterialsIncomplete     = "materials_incomplete"
	CodeOriginNotAllowed        = "origin_not_allowed"
	CodeMissingAppVersion       = "missing_app_version"
	CodeAppVersionTooOld        = "app_version_too_old"
	CodeRateLimited             = "rate_limited"
	CodeTooLarge                = "too_large"
	CodeUnsupportedFormat       = "unsupported_format"
	CodeCorruptImage            = "corrupt_image"
	CodeImageTooSmall           = "image_too_small"
	CodeImageTooLargeDimensions = "image_too_large_dimensions"
	CodeAnimatedGIF             = "animated_gif"
	CodeUnknownSlot             = "unknown_slot"
	CodeSlotNotAllowedInApp     = "slot_not_allowed_in_app"
	CodeNotFound                = "not_found"
	CodeUnavailable             = "unavailable"
	CodeRequestTimeout          = "request_timeout"
	CodeInternal                = "internal"
	CodeChangesIncomplete       = "changes_incomplete"
	CodeSlotLocked              = "slot_locked"
	CodeFieldLocked             = "field_locked"
	CodeInvalidICPNumber        = "invalid_icp_number"
	CodeHeldByOther             = "held_by_other"
	CodeNotHeld                 = "not_held"
)

// DetailRetryAfter is the details key of the whole seconds to wait before retrying; the
// edge also sends it as the Retry-After header.
const DetailRetryAfter = "retry_after_seconds"

// Error is a failure a client can act on: a contract code, a message in English and in
// Chinese, and optional details (for example the missing slots).
type Error struct {
	Code      string
	Message   string
	MessageZh string
	Details   map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is(err, ErrXxx) compare by code, so a sentinel matches an error that
// carries its own message or details.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(details map[string]any) *Error {
	c := *e
	c.Details = details
	return &c
}

// WithMessage returns a copy of e with more specific messages.
func (e *Error) WithMessage(en, zh string) *Error {
	c := *e
	c.Message, c.MessageZh = en, zh
	return &c
}

// ErrorCode returns the code of a coded error, or CodeInternal for anything else.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinel errors, one per code, with the default messages users see.
var (
	ErrInvalidRequest = &Error{Code: CodeInvalidRequest,
		Message: "The request is not valid.", MessageZh: "请求内容不正确。"}
	ErrInvalidProvince = &Error{Code: CodeInvalidProvince,
		Message:   "Unknown province: use the ISO 3166-2:CN code of a mainland province, e.g. CN-GD.",
		MessageZh: "省份不正确：请选择中国大陆 31 个省级行政区之一。"}
	ErrInvalidIDType = &Error{Code: CodeInvalidIDType,
		Message:   "Unknown ID document type.",
		MessageZh: "证件类型不正确：请选择居民身份证、港澳居民居住证、港澳居民来往内地通行证、台湾居民居住证、台湾居民来往大陆通行证或护照。"}
	ErrInvalidIDNumber = &Error{Code: CodeInvalidIDNumber,
		Message:   "The ID number is not valid; check every digit against the document.",
		MessageZh: "证件号码不正确，请对照证件逐位核对。"}
	ErrIDExpired = &Error{Code: CodeIDExpired,
		Message:   "The ID document has expired; provide a document within its validity period.",
		MessageZh: "证件已过有效期，请提供有效期内的证件。"}
	ErrUnauthorized = &Error{Code: CodeUnauthorized,
		Message: "Sign-in required, or the token is not valid.", MessageZh: "未登录或凭证无效，请重新打开页面。"}
	ErrTokenRevoked = &Error{Code: CodeTokenRevoked,
		Message:   "This phone's pairing was revoked or replaced; scan the new QR code.",
		MessageZh: "本手机的配对已失效或已被新的二维码取代，请重新扫描电脑上的二维码。"}
	ErrOrderNotFound = &Error{Code: CodeOrderNotFound,
		Message: "Filing order not found.", MessageZh: "备案订单不存在。"}
	ErrProvinceNotSupported = &Error{Code: CodeProvinceNotSupported,
		Message:   "App verification is not open in this province yet; upload from the PC.",
		MessageZh: "该省份暂未开放 app 核验（其他省份 app 核验开放时间待定），请使用电脑端上传。"}
	ErrInvalidState = &Error{Code: CodeInvalidState,
		Message:   "The filing order cannot be changed in its current state.",
		MessageZh: "备案订单当前状态不允许此操作。"}
	ErrUploadMethodNotApp = &Error{Code: CodeUploadMethodNotApp,
		Message:   "The order's upload method is not the app; choose \"upload with the app\" first.",
		MessageZh: "该订单未选择“使用阿里云 APP 上传”，请先在电脑端选择 app 上传。"}
	ErrPairingNotFound = &Error{Code: CodePairingNotFound,
		Message:   "This QR code is not valid; scan the QR code shown on the computer.",
		MessageZh: "二维码无效，请扫描电脑端上传资料页面显示的二维码。"}
	ErrPairingExpired = &Error{Code: CodePairingExpired,
		Message:   "This QR code has expired; refresh it on the computer and scan again.",
		MessageZh: "二维码已过期，请在电脑端刷新二维码后重新扫描。"}
	ErrPairingAlreadyClaimed = &Error{Code: CodePairingAlreadyClaimed,
		Message:   "This QR code was already scanned by another phone.",
		MessageZh: "该二维码已被其他手机扫描，如非本人操作，请在电脑端刷新二维码。"}
	ErrMaterialNotFound = &Error{Code: CodeMaterialNotFound,
		Message: "No material has been uploaded in this slot.", MessageZh: "该项资料尚未上传。"}
	ErrMaterialsIncomplete = &Error{Code: CodeMaterialsIncomplete,
		Message:   "Some required materials are missing.",
		MessageZh: "备案资料不完整，请上传所有必需的资料。"}
	ErrOriginNotAllowed = &Error{Code: CodeOriginNotAllowed,
		Message: "This page's origin is not allowed.", MessageZh: "不允许从该来源访问。"}
	ErrMissingAppVersion = &Error{Code: CodeMissingAppVersion,
		Message:   "The X-App-Version header is missing or not a version number such as 3.16.0.",
		MessageZh: "缺少 app 版本号（X-App-Version），或版本号格式不正确（例如 3.16.0）。"}
	ErrAppVersionTooOld = &Error{Code: CodeAppVersionTooOld,
		Message:   "This app version is too old; update the app to 3.16.0 or later.",
		MessageZh: "app 版本过低，请升级到 3.16.0 及以上版本后重新扫描。"}
	ErrRateLimited = &Error{Code: CodeRateLimited,
		Message:   "Too many requests; try again later.",
		MessageZh: "请求过于频繁，请稍后再试。"}
	ErrTooLarge = &Error{Code: CodeTooLarge,
		Message:   "The image must be under 4 MB.",
		MessageZh: "图片大小应小于 4 MB，请压缩后重新上传。"}
	ErrUnsupportedFormat = &Error{Code: CodeUnsupportedFormat,
		Message:   "Unsupported image format: upload a JPG, JPEG, PNG or GIF image.",
		MessageZh: "图片格式不支持，请上传 jpg、jpeg、png 或 gif 格式的图片。"}
	ErrCorruptImage = &Error{Code: CodeCorruptImage,
		Message:   "The image is damaged or incomplete and cannot be opened.",
		MessageZh: "图片已损坏或不完整，无法打开，请重新拍摄或扫描后上传。"}
	ErrImageTooSmall = &Error{Code: CodeImageTooSmall,
		Message:   "The image is too small to read: its short side must be at least 300 pixels.",
		MessageZh: "图片尺寸过小，无法看清，短边应不少于 300 像素。"}
	ErrImageTooLargeDimensions = &Error{Code: CodeImageTooLargeDimensions,
		Message:   "The image has too many pixels (over 40 megapixels).",
		MessageZh: "图片像素过大（超过 4000 万像素），请缩小后上传。"}
	ErrAnimatedGIF = &Error{Code: CodeAnimatedGIF,
		Message:   "Animated GIFs are not accepted; upload a single still image.",
		MessageZh: "不支持动态 GIF 图片，请上传静态图片。"}
	ErrUnknownSlot = &Error{Code: CodeUnknownSlot,
		Message: "Unknown material slot.", MessageZh: "资料类型不存在。"}
	ErrSlotNotAllowedInApp = &Error{Code: CodeSlotNotAllowedInApp,
		Message:   "This material can only be uploaded from the PC.",
		MessageZh: "该资料（如变更证明、授权书等特殊资料）请使用电脑端上传。"}
	ErrNotFound = &Error{Code: CodeNotFound,
		Message: "Not found.", MessageZh: "请求的资源不存在。"}
	// ErrUnavailable is a dependency failing (Redis, blob storage, replicas, the decode
	// budget): the client's retry is safe (docs/operations.md).
	ErrUnavailable = &Error{Code: CodeUnavailable,
		Message:   "Service temporarily unavailable, please retry.",
		MessageZh: "服务暂时不可用，请稍后重试。"}
	ErrChangesIncomplete = &Error{Code: CodeChangesIncomplete,
		Message:   "Fix every item the reviewer flagged before submitting again.",
		MessageZh: "请先修改初审人员指出的全部问题，再重新提交。"}
	ErrSlotLocked = &Error{Code: CodeSlotLocked,
		Message:   "Only the materials the reviewer flagged may be replaced now.",
		MessageZh: "当前只能重新上传初审人员指出问题的资料。"}
	ErrFieldLocked = &Error{Code: CodeFieldLocked,
		Message:   "Only the fields the reviewer flagged may be changed now.",
		MessageZh: "当前只能修改初审人员指出问题的信息。"}
	ErrInvalidICPNumber = &Error{Code: CodeInvalidICPNumber,
		Message:   "Not an ICP filing number of the order's province, such as 粤ICP备2026012345号.",
		MessageZh: "备案号格式不正确或与订单省份不符（例如 粤ICP备2026012345号）。"}
	ErrHeldByOther = &Error{Code: CodeHeldByOther,
		Message:   "Another reviewer is reviewing this order.",
		MessageZh: "该订单正由其他初审人员审核。"}
	ErrNotHeld = &Error{Code: CodeNotHeld,
		Message:   "Take the order (hold it) before deciding; your hold may have lapsed.",
		MessageZh: "请先领取该订单再做审核结论（领取可能已超时失效）。"}
	ErrRequestTimeout = &Error{Code: CodeRequestTimeout,
		Message:   "The upload took too long to arrive; check the network and try again.",
		MessageZh: "上传超时，请检查网络后重试。"}
)
