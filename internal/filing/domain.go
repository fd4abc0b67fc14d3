package filing

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/idna"
)

// idnaProfile turns a domain into its ASCII form (punycode, A-labels) and back, as UTS #46
// defines it for lookup, with the checks of a name that can be registered: the Bidi rule,
// the label validity rules (no hyphens in places 3–4 but xn--, no leading combining mark,
// contextual joiners), DNS lengths, and nontransitional processing (ß and ς stay
// themselves, as registries and browsers treat them today). It is a pure table lookup: the
// one library outside the standard one that this package uses, because IDNA is the rule.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true), idna.Transitional(false))

// canonicalDomain checks one typed domain (already trimmed and lower-cased, without its
// final dot) and returns its stored form: the Unicode form (U-labels) of its IDNA ASCII
// form, so that 例子.中国 and xn--fsqu00a.xn--fiqs8s are one domain stored one way. i is the
// domain's index in the order's list, for the error's details.
func canonicalDomain(d string, i int) (string, error) {
	if r := firstHidden(d, false); r >= 0 {
		return "", hiddenErr("domains", r, map[string]any{"index": i})
	}
	if !validDomain(d) {
		return "", invalidDomain(d, i)
	}
	ascii, err := idnaProfile.ToASCII(d)
	if err != nil {
		return "", invalidDomain(d, i)
	}
	u, err := idnaProfile.ToUnicode(ascii)
	if err != nil || !validDomain(u) {
		// A punycode label that decodes to something no one could type (xn--…).
		return "", invalidDomain(d, i)
	}
	for _, label := range strings.Split(u, ".") {
		if scripts, ok := oneScript(label); !ok {
			return "", mixedScripts(ascii, i, scripts)
		}
	}
	return u, nil
}

// DomainASCII is a stored domain's ASCII form (punycode), what DNS and the authority's
// systems use; for an ASCII domain it is the domain itself. Pages show it beside the
// Unicode form whenever the two differ, so that a look-alike in one script (аррӏе.com, all
// Cyrillic) shows its xn-- form to the person who decides.
func DomainASCII(d string) string {
	if isASCII(d) {
		return d // a stored ASCII domain is already lower-case A-labels
	}
	a, err := idnaProfile.ToASCII(d)
	if err != nil {
		return d // not a stored form; shown as it is
	}
	return a
}

// DomainsASCII is DomainASCII of each domain, in the same order.
func DomainsASCII(ds []string) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = DomainASCII(d)
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Script sets that one label may mix, as UTS #39 "highly restrictive" allows: Chinese,
// Japanese and Korean writing mixes Han with its own scripts and with Latin letters
// (qq邮箱.com), and nothing else mixes. So Latin with Cyrillic or Greek — the look-alike
// letters of аpple.com — is refused.
var scriptSets = [][]string{
	{"Latin", "Han", "Hiragana", "Katakana"},
	{"Latin", "Han", "Bopomofo"},
	{"Latin", "Han", "Hangul"},
}

// oneScript reports whether the label's letters are of one script or of one allowed mix,
// and returns the scripts it found (sorted). Digits, hyphens and combining marks belong to
// no script of their own (Common, Inherited) and mix with any.
func oneScript(label string) ([]string, bool) {
	var found []string
	for _, r := range label {
		if r < 0x80 && !('a' <= r && r <= 'z') {
			continue
		}
		s := scriptOf(r)
		if s == "" || slices.Contains(found, s) {
			continue
		}
		found = append(found, s)
	}
	slices.Sort(found)
	if len(found) <= 1 {
		return found, true
	}
	for _, set := range scriptSets {
		if !slices.ContainsFunc(found, func(s string) bool { return !slices.Contains(set, s) }) {
			return found, true
		}
	}
	return found, false
}

// scriptOf names r's Unicode script, "" for Common and Inherited.
func scriptOf(r rune) string {
	if 'a' <= r && r <= 'z' {
		return "Latin"
	}
	if unicode.In(r, unicode.Common, unicode.Inherited) {
		return ""
	}
	for name, t := range unicode.Scripts {
		if unicode.Is(t, r) {
			return name
		}
	}
	return ""
}

var scriptZh = map[string]string{
	"Latin": "拉丁字母", "Cyrillic": "西里尔字母", "Greek": "希腊字母", "Han": "汉字",
	"Hiragana": "平假名", "Katakana": "片假名", "Hangul": "韩文", "Armenian": "亚美尼亚字母",
	"Arabic": "阿拉伯字母", "Hebrew": "希伯来字母",
}

func mixedScripts(ascii string, i int, scripts []string) error {
	zh := make([]string, len(scripts))
	for k, s := range scripts {
		zh[k] = scriptZh[s]
		if zh[k] == "" {
			zh[k] = s
		}
	}
	// The messages name the domain by its place, not by its text (invalidDomain says why);
	// its punycode, which shows the look-alike letters, is in details.ascii.
	n := strconv.Itoa(i + 1)
	return ErrInvalidRequest.WithMessage(
		"Domain "+n+" mixes "+strings.Join(scripts, " and ")+
			" letters in one part, as look-alike addresses do: type it again in one script.",
		"第 "+n+" 个域名的同一段中混用了"+strings.Join(zh, "和")+
			"，这是仿冒域名的常见手法：请只用一种文字重新输入。").
		WithDetails(map[string]any{"field": "domains", "index": i, "problem": "mixed_scripts",
			"scripts": scripts, "ascii": ascii})
}
