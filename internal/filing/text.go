package filing

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rule for text that people read to decide (docs/rules.md, "Text people read"): names,
// notes, reasons, device names. What reaches a reviewer's or an owner's eyes must be what
// is there, so the characters that change how text looks without being seen are kept out:
//   - Cc, the control characters, NUL among them;
//   - Cf, the format characters: the bidi overrides, embeddings, isolates and marks
//     (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), the zero-width space,
//     joiners and word joiner (U+200B–U+200D, U+2060), the byte-order mark (U+FEFF), soft
//     hyphen (U+00AD) and the tag characters;
//   - Zl and Zp, the line and paragraph separators (U+2028, U+2029), which break a line
//     where no line break was typed;
//   - the other default-ignorable code points that render as nothing (the Hangul fillers
//     U+115F, U+1160, U+3164, U+FFA0, the combining grapheme joiner U+034F, …).
// Invalid UTF-8 is refused too: it cannot be shown as what was sent.

// hiddenRune reports whether r is a character the rule keeps out.
func hiddenRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point)
}

// firstHidden returns the first character of s that the rule keeps out (a line feed is
// let through when multiline), or -1; invalid UTF-8 is reported as U+FFFD.
func firstHidden(s string, multiline bool) rune {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return utf8.RuneError
			}
			continue // a real U+FFFD in the text is visible
		}
		if multiline && r == '\n' {
			continue
		}
		if hiddenRune(r) {
			return r
		}
	}
	return -1
}

// hiddenErr is the refusal of a field holding r. It names the character by its code point
// only: the text itself is not echoed back, so the message cannot carry what it refuses.
func hiddenErr(field string, r rune, details map[string]any) error {
	d := map[string]any{"field": field, "problem": "control_characters", "character": fmt.Sprintf("U+%04X", r)}
	for k, v := range details {
		d[k] = v
	}
	return ErrInvalidRequest.WithMessage(
		fmt.Sprintf("%s holds a control or invisible character (U+%04X): type it again without it.", field, r),
		fmt.Sprintf("%s 中含有控制字符或不可见字符（U+%04X），请删除后重新输入。", field, r)).WithDetails(d)
}

// CheckText refuses a single-line text field of a person's input (a name, an ID) that
// holds a character of the rule: 422 invalid_request with details.field and
// details.character. Every handler of human-visible text calls it (or CleanText).
func CheckText(field, s string) error {
	if r := firstHidden(s, false); r >= 0 {
		return hiddenErr(field, r, nil)
	}
	return nil
}

// CleanText trims a free text (a reviewer's note, a reason), refuses the characters of the
// rule (line feeds are allowed: a note may have lines; CR LF counts as a line feed) and
// text longer than max characters.
func CleanText(s string, max int, field string) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if r := firstHidden(s, true); r >= 0 {
		return "", hiddenErr(field, r, nil)
	}
	if utf8.RuneCountInString(s) > max {
		return "", ErrInvalidRequest.WithMessage(fmt.Sprintf("At most %d characters.", max), fmt.Sprintf("最多 %d 个字符。", max)).
			WithDetails(map[string]any{"field": field, "problem": "too_long", "max": max})
	}
	return s, nil
}

// StripText is the rule for display-only labels that a device sends on its own (a phone's
// X-Device-Name, a browser's User-Agent): nobody can retype them, so instead of refusing
// the request the characters of the rule and invalid UTF-8 are removed, and the rest is
// trimmed and cut to max characters.
func StripText(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if hiddenRune(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		s = strings.TrimSpace(string([]rune(s)[:max]))
	}
	return s
}
