package filing

import (
	"unicode"
	"unicode/utf8"
)

// MaxOwnerIDLen is the most characters an owner ID (the provider's user ID) may have.
const MaxOwnerIDLen = 64

// ValidateOwnerID checks an owner ID as the back office sends it: 1 to 64 printable
// characters. Control and format characters (Cc, Cf: a zero-width joiner, a bidi override)
// and line or paragraph separators are refused, so that two IDs that look alike in a log or
// on the console are never two owners, and none can break a log line.
func ValidateOwnerID(s string) error {
	n := utf8.RuneCountInString(s)
	if s == "" || n > MaxOwnerIDLen || !utf8.ValidString(s) {
		return errOwnerID()
	}
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Zl, unicode.Zp) || !unicode.IsGraphic(r) {
			return errOwnerID()
		}
	}
	return nil
}

func errOwnerID() error {
	return fieldErr("owner_id", "owner_id must be 1 to 64 printable characters.", "owner_id 应为 1 至 64 个可打印字符。")
}

// ErrOwnerIDNeedsOperator refuses an owner_id sent without the operator key: only the back
// office may say whose an order is.
func ErrOwnerIDNeedsOperator() error {
	return fieldErr("owner_id", "owner_id may be sent by the back office only (X-Api-Key).", "只有服务商后台（X-Api-Key）可以指定 owner_id。")
}
