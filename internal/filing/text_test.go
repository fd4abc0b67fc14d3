package filing_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

// hostile are the characters that change how text looks without being seen, each with
// the code point the refusal must name.
var hostile = []struct {
	name, s, char string
}{
	{"NUL", "\x00", "U+0000"},
	{"tab", "\t", "U+0009"},
	{"line feed", "\n", "U+000A"},
	{"DEL", "\x7f", "U+007F"},
	{"C1 control", "\u0085", "U+0085"},
	{"right-to-left override", "\u202e", "U+202E"},
	{"left-to-right embedding", "\u202a", "U+202A"},
	{"first strong isolate", "\u2068", "U+2068"},
	{"left-to-right isolate", "\u2066", "U+2066"},
	{"right-to-left mark", "\u200f", "U+200F"},
	{"Arabic letter mark", "\u061c", "U+061C"},
	{"zero-width space", "\u200b", "U+200B"},
	{"zero-width joiner", "\u200d", "U+200D"},
	{"word joiner", "\u2060", "U+2060"},
	{"byte-order mark", "\ufeff", "U+FEFF"},
	{"soft hyphen", "\u00ad", "U+00AD"},
	{"tag letter", "\U000E0041", "U+E0041"},
	{"line separator", "\u2028", "U+2028"},
	{"paragraph separator", "\u2029", "U+2029"},
	{"Hangul filler", "\u3164", "U+3164"},
	{"combining grapheme joiner", "\u034f", "U+034F"},
	{"invalid UTF-8", "\xff", "U+FFFD"},
}

func TestCheckText(t *testing.T) {
	t.Parallel()
	for _, tc := range hostile {
		for _, at := range []string{"start", "middle", "end"} {
			t.Run(tc.name+" at the "+at, func(t *testing.T) {
				s := map[string]string{"start": tc.s + "张三", "middle": "张" + tc.s + "三", "end": "张三" + tc.s}[at]
				e := checkErr(t, filing.CheckText("subject_leader.name", s), filing.CodeInvalidRequest)
				checkDetail(t, e, "field", "subject_leader.name")
				checkDetail(t, e, "problem", "control_characters")
				checkDetail(t, e, "character", tc.char)
				if strings.Contains(e.Message+e.MessageZh, "张") {
					t.Errorf("the message echoes the refused text: %q / %q", e.Message, e.MessageZh)
				}
			})
		}
	}
	for _, s := range []string{"张三", "Zhang San", "O'Brien-Smith", "José Ñúñez", "Мария", "佐藤 花子", "محمد", "a\u00a0b", "\ufffd", "👩‍💻"[:4]} {
		t.Run("accepted "+s, func(t *testing.T) {
			checkErr(t, filing.CheckText("subject_name", s), "")
		})
	}
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	for _, tc := range hostile {
		if tc.s == "\n" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			_, err := filing.CleanText("照片\n"+tc.s+"模糊", 200, "issues[0].note")
			e := checkErr(t, err, filing.CodeInvalidRequest)
			checkDetail(t, e, "field", "issues[0].note")
			checkDetail(t, e, "character", tc.char)
		})
	}
	for _, tc := range []struct{ name, in, want string }{
		{"lines kept, ends trimmed", "  第一行\n第二行\n", "第一行\n第二行"},
		{"CR LF is a line feed", "第一行\r\n第二行", "第一行\n第二行"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := filing.CleanText(tc.in, 200, "reason")
			checkErr(t, err, "")
			if got != tc.want {
				t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	t.Run("a lone CR is refused", func(t *testing.T) {
		_, err := filing.CleanText("a\rb", 200, "reason")
		checkErr(t, err, filing.CodeInvalidRequest)
	})
}

func TestStripText(t *testing.T) {
	t.Parallel()
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			if got := filing.StripText("iPhone"+tc.s+" 15", 64); got != "iPhone 15" {
				t.Errorf("StripText = %q, want %q", got, "iPhone 15")
			}
		})
	}
	if got := filing.StripText(strings.Repeat("长", 70), 64); got != strings.Repeat("长", 64) {
		t.Errorf("not cut to 64 characters: %q", got)
	}
}

// TestNamesRefuseHiddenCharacters: every name of an order, at creation and in an edit,
// goes through the rule, and a refused edit leaves the order as it was.
func TestNamesRefuseHiddenCharacters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field  string
		mutate func(in *filing.NewOrderInput, bad string)
	}{
		{"subject_name", func(in *filing.NewOrderInput, bad string) { in.SubjectName = bad }},
		{"subject_leader.name", func(in *filing.NewOrderInput, bad string) { in.SubjectLeader.Name = bad }},
		{"website_leader.name", func(in *filing.NewOrderInput, bad string) {
			in.WebsiteLeaderSame = false
			in.WebsiteLeader = &filing.Person{Name: bad, IDType: filing.Passport, IDNumber: "E12345678", IDValidUntil: "2030-01-01"}
		}},
	} {
		for _, bad := range []string{"张\u202e三", "张\u200b三", "\u2066张三", "张三\x00"} {
			t.Run(tc.field+" "+bad, func(t *testing.T) {
				in := individualInput()
				tc.mutate(&in, bad)
				_, err := filing.NewOrder("ord_1", in, now)
				checkDetail(t, checkErr(t, err, filing.CodeInvalidRequest), "field", tc.field)
			})
		}
	}
	o := newOrder(t, individualInput())
	before := cloneOrder(o)
	for _, edit := range []filing.EditInput{
		{SubjectName: ptr("张\u202e三")},
		{SubjectLeader: &filing.PersonEdit{Name: ptr("张\u200b三")}},
	} {
		_, _, err := o.Edit(edit, later)
		checkErr(t, err, filing.CodeInvalidRequest)
		if o.SubjectName != before.SubjectName || o.SubjectLeader != before.SubjectLeader || o.UpdatedAt != before.UpdatedAt {
			t.Errorf("a refused edit changed the order: %+v", o)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestDomainScripts: a label of one script, or of the CJK mixes with Latin, is accepted
// whether typed in Unicode or in punycode, and stored as Unicode; a label that mixes
// Latin with Cyrillic or Greek is refused naming the scripts.
func TestDomainScripts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want, ascii string
	}{
		{"whole Cyrillic", "пример.рф", "пример.рф", "xn--e1afmkfd.xn--p1ai"},
		{"Cyrillic label under .com", "пример.com", "пример.com", "xn--e1afmkfd.com"},
		{"Cyrillic capitals", "ПРИМЕР.РФ", "пример.рф", "xn--e1afmkfd.xn--p1ai"},
		{"whole Cyrillic look-alike (shown with its punycode)", "аррӏе.com", "аррӏе.com", "xn--80ak6aa92e.com"},
		{"Chinese", "例子.中国", "例子.中国", "xn--fsqu00a.xn--fiqs8s"},
		{"Chinese in punycode", "xn--fsqu00a.xn--fiqs8s", "例子.中国", "xn--fsqu00a.xn--fiqs8s"},
		{"Latin with Han", "qq邮箱.com", "qq邮箱.com", "xn--qq-ii1f545e.com"},
		{"Japanese: Han, Katakana, Hiragana", "ドメイン名の例.jp", "ドメイン名の例.jp", ""},
		{"Korean: Hangul with Han", "한국韓國.kr", "한국韓國.kr", ""},
		{"Greek", "παράδειγμα.ελ", "παράδειγμα.ελ", ""},
		{"German ß stays (nontransitional)", "straße.de", "straße.de", "xn--strae-oqa.de"},
		{"decomposed é is composed", "cafe\u0301.fr", "café.fr", "xn--caf-dma.fr"},
		{"digits and hyphens mix with anything", "пример-2026.рф", "пример-2026.рф", ""},
		{"ASCII", "example.com", "example.com", "example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := individualInput()
			in.Domains = []string{tc.in}
			o := newOrder(t, in)
			if !slices.Equal(o.Domains, []string{tc.want}) {
				t.Errorf("Domains = %q, want %q", o.Domains, tc.want)
			}
			if tc.ascii != "" {
				if got := filing.DomainASCII(o.Domains[0]); got != tc.ascii {
					t.Errorf("DomainASCII = %q, want %q", got, tc.ascii)
				}
			}
		})
	}
	for _, tc := range []struct {
		name, in string
		scripts  []string
	}{
		{"Latin with a Cyrillic а", "\u0430pple.com", []string{"Cyrillic", "Latin"}},
		{"the same in punycode", "xn--pple-43d.com", []string{"Cyrillic", "Latin"}},
		{"Latin with a Greek ο", "g\u03bfogle.com", []string{"Greek", "Latin"}},
		{"Cyrillic with a Latin letter", "пpимер.рф", []string{"Cyrillic", "Latin"}},
		{"Cyrillic with Greek", "пρимер.com", []string{"Cyrillic", "Greek"}},
		{"Han with Cyrillic", "例子д.中国", []string{"Cyrillic", "Han"}},
		{"in a subdomain", "www.p\u0430ypal.com", []string{"Cyrillic", "Latin"}},
	} {
		t.Run("refused "+tc.name, func(t *testing.T) {
			in := individualInput()
			in.Domains = []string{"ok.example.com", tc.in}
			_, err := filing.NewOrder("ord_1", in, now)
			e := checkErr(t, err, filing.CodeInvalidRequest)
			checkDetail(t, e, "field", "domains")
			checkDetail(t, e, "index", 1)
			checkDetail(t, e, "problem", "mixed_scripts")
			checkDetail(t, e, "scripts", tc.scripts)
			if a, _ := e.Details["ascii"].(string); !strings.HasPrefix(a, "xn--") && !strings.Contains(a, ".xn--") {
				t.Errorf("details.ascii = %q, want the domain's punycode", a)
			}
			// The messages name the domain by its place and never repeat what was typed.
			for _, msg := range []string{e.Message, e.MessageZh} {
				if strings.Contains(msg, "xn--") || strings.Contains(msg, tc.in) || strings.Contains(msg, "pple") {
					t.Errorf("the message repeats the domain: %q", msg)
				}
			}
			if !strings.Contains(e.Message, "Domain 2") || !strings.Contains(e.MessageZh, "第 2 个域名") || !hasHan(e.MessageZh) {
				t.Errorf("the message does not say which domain: %q / %q", e.Message, e.MessageZh)
			}
		})
	}
}
