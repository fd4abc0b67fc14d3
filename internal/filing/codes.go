package filing

// codes are the contract's error codes, for those that must tell one from any other string
// (the metrics' labels take no value outside a closed set).
var codes = map[string]bool{
	CodeInvalidRequest: true, CodeInvalidProvince: true, CodeInvalidIDType: true, CodeInvalidIDNumber: true,
	CodeIDExpired: true, CodeUnauthorized: true, CodeTokenRevoked: true, CodeOrderNotFound: true,
	CodeProvinceNotSupported: true, CodeInvalidState: true, CodeUploadMethodNotApp: true,
	CodePairingNotFound: true, CodePairingExpired: true, CodePairingAlreadyClaimed: true,
	CodeMaterialNotFound: true, CodeMaterialsIncomplete: true, CodeOriginNotAllowed: true,
	CodeMissingAppVersion: true, CodeAppVersionTooOld: true, CodeRateLimited: true, CodeTooLarge: true,
	CodeUnsupportedFormat: true, CodeCorruptImage: true, CodeImageTooSmall: true,
	CodeImageTooLargeDimensions: true, CodeAnimatedGIF: true, CodeUnknownSlot: true,
	CodeSlotNotAllowedInApp: true, CodeNotFound: true, CodeUnavailable: true, CodeRequestTimeout: true,
	CodeInternal:    true,
	CodeFieldLocked: true, CodeNotHeld: true, CodeChangesIncomplete: true, CodeSlotLocked: true,
	CodeInvalidICPNumber: true, CodeHeldByOther: true,
}

// KnownCode reports whether c is one of the contract's error codes.
func KnownCode(c string) bool { return codes[c] }
