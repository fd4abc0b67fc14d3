package filing

import (
	"unicode"
	"unicode/utf8"
)

// MaxOwnerIDLen is the most characters an owner ID (the provider's user ID) may have.
const MaxOwnerIDLen = 64

// ValidateOwnerID checks an owner ID as the back office sends it: 1 to 64 printable
// characters. The characters no person can see (CheckText's rule) are refused as in every
// other field, so that two IDs that look alike in a log or on the console are never two
// owners; beyond that an ID is printable only (no private-use or unassigned characters).
func ValidateOwnerID(s string) error {
	if err := CheckText("owner_id", s); err != nil {
		return err
	}
	if s == "" || utf8.RuneCountInString(s) > MaxOwnerIDLen {
		return errOwnerID()
	}
	for _, r := range s {
		if unicode.Is(unicode.Co, r) || !unicode.IsGraphic(r) {
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
