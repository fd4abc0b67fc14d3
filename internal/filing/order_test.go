package filing_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

func TestNewOrderIndividual(t *testing.T) {
	t.Parallel()
	in := individualInput()
	in.Province = "  CN-GD "
	in.SubjectName = "  张三 "
	in.OrganizationCertificateType = "business_license" // meaningless for an individual
	in.SubjectLeader.Name = " 张三\t"
	in.SubjectLeader.IDNumber = " 110105 19491231 002x " // lower-case x, spaces pasted in
	in.SubjectLeader.IDValidUntil = " 2030-01-01 "
	// Ignored: the website leader is the subject leader.
	in.WebsiteLeader = &filing.Person{Name: "王五", IDType: filing.Passport, IDNumber: "E1", IDValidUntil: "bad"}

	o, err := filing.NewOrder("ord_1", in, now.In(time.FixedZone("CST", 8*3600)))
	checkErr(t, err, "")

	wantLeader := filing.Person{Name: "张三", IDType: filing.ResidentID, IDNumber: sampleID, IDValidUntil: "2030-01-01"}
	want := &filing.Order{
		ID: "ord_1", State: filing.StateDraft, Version: 1,
		SubjectType: filing.Individual, Province: "CN-GD", SubjectName: "张三",
		SubjectLeader: wantLeader, WebsiteLeader: wantLeader, WebsiteLeaderSame: true,
		Domains:      []string{"example.com"},
		UploadMethod: filing.MethodNone,
		CreatedAt:    now, UpdatedAt: now,
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("NewOrder =\n%+v\nwant\n%+v", *o, *want)
	}
	if o.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", o.CreatedAt.Location())
	}
}

func TestNewOrderOrganization(t *testing.T) {
	t.Parallel()
	in := organizationInput()
	in.WebsiteLeader.IDNumber = "e1234 5678"
	o := newOrder(t, in)
	want := &filing.Order{
		ID: "ord_1", State: filing.StateDraft, Version: 1,
		SubjectType: filing.Organization, Province: "CN-BJ", SubjectName: "北京示例科技有限公司",
		OrganizationCertificateType: "business_license",
		SubjectLeader: filing.Person{
			Name: "李四", IDType: filing.ResidentID, IDNumber: "110105199003070017", IDValidUntil: filing.LongTerm,
		},
		WebsiteLeader: filing.Person{
			Name: "John Smith", IDType: filing.Passport, IDNumber: "E12345678", IDValidUntil: "2031-06-30",
		},
		Domains:              []string{"example.cn", "www.example.cn"},
		DomainRegisteredHere: true,
		CreatedAt:            now, UpdatedAt: now,
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("NewOrder =\n%+v\nwant\n%+v", *o, *want)
	}
	for _, ct := range []filing.OrgCertificateType{"business_license", "public_institution", "social_organization", "other"} {
		t.Run(string(ct), func(t *testing.T) {
			in := organizationInput()
			in.OrganizationCertificateType = ct
			if o := newOrder(t, in); o.OrganizationCertificateType != ct {
				t.Errorf("OrganizationCertificateType = %q, want %q", o.OrganizationCertificateType, ct)
			}
		})
	}
}

// TestNewOrderDoesNotModifyInput: normalization works on the order's copy, never on the
// caller's values.
func TestNewOrderDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	in := organizationInput()
	in.Domains = []string{"WWW.Example.CN.", "example.cn"}
	in.WebsiteLeader.IDNumber = "e12345678"
	wl := *in.WebsiteLeader
	domains := slices.Clone(in.Domains)
	sl := in.SubjectLeader
	newOrder(t, in)
	if *in.WebsiteLeader != wl || in.SubjectLeader != sl || !slices.Equal(in.Domains, domains) {
		t.Errorf("NewOrder changed its input: %+v %+v %v", in.SubjectLeader, *in.WebsiteLeader, in.Domains)
	}
}

func TestNewOrderErrors(t *testing.T) {
	t.Parallel()
	tooLong := func(n int) string { return strings.Repeat("测", n) }
	domains := func(n int) []string {
		ds := make([]string, n)
		for i := range ds {
			ds[i] = fmt.Sprintf("site%d.example.com", i)
		}
		return ds
	}
	tests := []struct {
		name   string
		base   func() filing.NewOrderInput
		mutate func(in *filing.NewOrderInput)
		code   string // "" means accepted
		field  string
	}{
		{"subject_type empty", individualInput, func(in *filing.NewOrderInput) { in.SubjectType = "" }, filing.CodeInvalidRequest, "subject_type"},
		{"subject_type company", individualInput, func(in *filing.NewOrderInput) { in.SubjectType = "company" }, filing.CodeInvalidRequest, "subject_type"},
		{"subject_type capitalized", individualInput, func(in *filing.NewOrderInput) { in.SubjectType = "Individual" }, filing.CodeInvalidRequest, "subject_type"},

		{"subject_name missing", individualInput, func(in *filing.NewOrderInput) { in.SubjectName = "" }, filing.CodeInvalidRequest, "subject_name"},
		{"subject_name blank", individualInput, func(in *filing.NewOrderInput) { in.SubjectName = " \t " }, filing.CodeInvalidRequest, "subject_name"},
		{"subject_name 129 characters", individualInput, func(in *filing.NewOrderInput) { in.SubjectName = tooLong(129) }, filing.CodeInvalidRequest, "subject_name"},
		{"subject_name 128 characters", individualInput, func(in *filing.NewOrderInput) { in.SubjectName = tooLong(128) }, "", ""},

		{"organization without certificate type", organizationInput, func(in *filing.NewOrderInput) { in.OrganizationCertificateType = "" }, filing.CodeInvalidRequest, "organization_certificate_type"},
		{"organization with bad certificate type", organizationInput, func(in *filing.NewOrderInput) { in.OrganizationCertificateType = "passport" }, filing.CodeInvalidRequest, "organization_certificate_type"},

		{"website leader missing when not same", organizationInput, func(in *filing.NewOrderInput) { in.WebsiteLeader = nil }, filing.CodeInvalidRequest, "website_leader"},
		{"website leader missing, individual not same", individualInput, func(in *filing.NewOrderInput) { in.WebsiteLeaderSame = false }, filing.CodeInvalidRequest, "website_leader"},
		{"website leader missing but same", individualInput, func(in *filing.NewOrderInput) { in.WebsiteLeader = nil }, "", ""},

		{"subject leader name missing", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.Name = " " }, filing.CodeInvalidRequest, "subject_leader.name"},
		{"subject leader name 65 characters", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.Name = tooLong(65) }, filing.CodeInvalidRequest, "subject_leader.name"},
		{"subject leader name 64 characters", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.Name = tooLong(64) }, "", ""},
		{"website leader name missing", organizationInput, func(in *filing.NewOrderInput) { in.WebsiteLeader.Name = "" }, filing.CodeInvalidRequest, "website_leader.name"},

		{"province CN-HK", individualInput, func(in *filing.NewOrderInput) { in.Province = "CN-HK" }, filing.CodeInvalidProvince, "province"},
		{"province CN-MO", individualInput, func(in *filing.NewOrderInput) { in.Province = "CN-MO" }, filing.CodeInvalidProvince, "province"},
		{"province CN-TW", individualInput, func(in *filing.NewOrderInput) { in.Province = "CN-TW" }, filing.CodeInvalidProvince, "province"},
		{"province empty", individualInput, func(in *filing.NewOrderInput) { in.Province = "" }, filing.CodeInvalidProvince, "province"},
		{"province GD without country", individualInput, func(in *filing.NewOrderInput) { in.Province = "GD" }, filing.CodeInvalidProvince, "province"},
		{"province unknown code", individualInput, func(in *filing.NewOrderInput) { in.Province = "CN-XX" }, filing.CodeInvalidProvince, "province"},
		{"province by name", individualInput, func(in *filing.NewOrderInput) { in.Province = "广东" }, filing.CodeInvalidProvince, "province"},

		{"subject leader id_type empty", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDType = "" }, filing.CodeInvalidIDType, "subject_leader.id_type"},
		{"subject leader id_type unknown", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDType = "id_card" }, filing.CodeInvalidIDType, "subject_leader.id_type"},
		{"website leader id_type unknown", organizationInput, func(in *filing.NewOrderInput) { in.WebsiteLeader.IDType = "driver_license" }, filing.CodeInvalidIDType, "website_leader.id_type"},

		{"subject leader wrong check digit", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDNumber = sampleID[:17] + "1" }, filing.CodeInvalidIDNumber, "subject_leader.id_number"},
		{"subject leader 17 digits", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDNumber = sampleID[:17] }, filing.CodeInvalidIDNumber, "subject_leader.id_number"},
		{"website leader passport too short", organizationInput, func(in *filing.NewOrderInput) { in.WebsiteLeader.IDNumber = "E123" }, filing.CodeInvalidIDNumber, "website_leader.id_number"},
		{"website leader passport punctuation", organizationInput, func(in *filing.NewOrderInput) { in.WebsiteLeader.IDNumber = "E-1234567" }, filing.CodeInvalidIDNumber, "website_leader.id_number"},

		{"subject leader expired yesterday", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = "2026-03-14" }, filing.CodeIDExpired, "subject_leader.id_valid_until"},
		{"subject leader expired years ago", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = "1999-12-31" }, filing.CodeIDExpired, "subject_leader.id_valid_until"},
		{"subject leader valid until today", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = "2026-03-15" }, "", ""},
		{"subject leader valid until tomorrow", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = "2026-03-16" }, "", ""},
		{"subject leader long_term", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = filing.LongTerm }, "", ""},
		{"website leader expired yesterday", organizationInput, func(in *filing.NewOrderInput) { in.WebsiteLeader.IDValidUntil = "2026-03-14" }, filing.CodeIDExpired, "website_leader.id_valid_until"},
		{"website leader valid until today", organizationInput, func(in *filing.NewOrderInput) { in.WebsiteLeader.IDValidUntil = "2026-03-15" }, "", ""},
		{"validity missing", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = "" }, filing.CodeInvalidRequest, "subject_leader.id_valid_until"},
		{"validity with slashes", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = "2030/01/01" }, filing.CodeInvalidRequest, "subject_leader.id_valid_until"},
		{"validity month 13", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = "2030-13-01" }, filing.CodeInvalidRequest, "subject_leader.id_valid_until"},
		{"validity February 30", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = "2030-02-30" }, filing.CodeInvalidRequest, "subject_leader.id_valid_until"},
		{"validity in Chinese", individualInput, func(in *filing.NewOrderInput) { in.SubjectLeader.IDValidUntil = "长期" }, filing.CodeInvalidRequest, "subject_leader.id_valid_until"},
		{"website leader validity malformed", organizationInput, func(in *filing.NewOrderInput) { in.WebsiteLeader.IDValidUntil = "20310630" }, filing.CodeInvalidRequest, "website_leader.id_valid_until"},

		{"no domains", individualInput, func(in *filing.NewOrderInput) { in.Domains = nil }, filing.CodeInvalidRequest, "domains"},
		{"empty domain list", individualInput, func(in *filing.NewOrderInput) { in.Domains = []string{} }, filing.CodeInvalidRequest, "domains"},
		{"21 domains", individualInput, func(in *filing.NewOrderInput) { in.Domains = domains(21) }, filing.CodeInvalidRequest, "domains"},
		{"20 domains", individualInput, func(in *filing.NewOrderInput) { in.Domains = domains(20) }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.base()
			tt.mutate(&in)
			o, err := filing.NewOrder("ord_1", in, now)
			e := checkErr(t, err, tt.code)
			if tt.code == "" {
				if o == nil {
					t.Fatal("NewOrder returned a nil order without an error")
				}
				return
			}
			if o != nil {
				t.Errorf("NewOrder returned an order with error %v", err)
			}
			checkDetail(t, e, "field", tt.field)
			if e.Message == "" || e.MessageZh == "" {
				t.Errorf("error %v has an empty message", e)
			}
		})
	}
}

// TestNewOrderExpiryUsesChinaDay: "today" is the calendar day in China (UTC+8) whatever
// the caller's location, so a document that expired yesterday in China is refused even
// while it is still its last day in UTC.
func TestNewOrderExpiryUsesChinaDay(t *testing.T) {
	t.Parallel()
	cst := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, time.March, 15, 4, 0, 0, 0, cst) // 2026-03-14 20:00 UTC
	in := individualInput()
	in.SubjectLeader.IDValidUntil = "2026-03-14"
	for _, now := range []time.Time{at, at.UTC()} {
		_, err := filing.NewOrder("ord_1", in, now)
		checkErr(t, err, filing.CodeIDExpired)
	}
	in.SubjectLeader.IDValidUntil = "2026-03-15"
	_, err := filing.NewOrder("ord_1", in, at.UTC())
	checkErr(t, err, "")
}

func TestNewOrderDomains(t *testing.T) {
	t.Parallel()
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"lower-cased", []string{"Example.COM"}, []string{"example.com"}},
		{"trailing dot removed", []string{"example.com."}, []string{"example.com"}},
		{"spaces trimmed", []string{"  www.Example.com.\t"}, []string{"www.example.com"}},
		{"de-duplicated, first order kept", []string{"b.example.com", "example.com", "EXAMPLE.com.", "B.example.com", "example.com"}, []string{"b.example.com", "example.com"}},
		{"Chinese IDN", []string{"中文.中国"}, []string{"中文.中国"}},
		{"Chinese label under .com", []string{"例子.COM"}, []string{"例子.com"}},
		{"Japanese with a prolonged sound mark", []string{"ドメイン名例.jp"}, []string{"ドメイン名例.jp"}},
		{"Thai with combining vowels", []string{"ตัวอย่าง.ไทย"}, []string{"ตัวอย่าง.ไทย"}},
		{"Devanagari with spacing marks", []string{"उदाहरण.भारत"}, []string{"उदाहरण.भारत"}},
		// One stored form: a domain typed in punycode is kept as its Unicode form.
		{"punycode IDN", []string{"xn--fiq228c.xn--fiqs8s"}, []string{"中文.中国"}},
		{"punycode and Unicode are one domain", []string{"中文.中国", "XN--fiq228c.xn--fiqs8s"}, []string{"中文.中国"}},
		{"inner hyphens and digits", []string{"my-site-2.example.com", "123.com"}, []string{"my-site-2.example.com", "123.com"}},
		{"63-character label", []string{label63 + ".com"}, []string{label63 + ".com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := individualInput()
			in.Domains = tt.in
			if o := newOrder(t, in); !slices.Equal(o.Domains, tt.want) {
				t.Errorf("Domains = %q, want %q", o.Domains, tt.want)
			}
		})
	}
}

func TestNewOrderBadDomains(t *testing.T) {
	t.Parallel()
	long := strings.Repeat(strings.Repeat("a", 60)+".", 5) + "com" // 308 characters
	tests := []struct {
		name   string
		domain string
	}{
		{"single label", "localhost"},
		{"IPv4 address", "1.2.3.4"},
		{"numeric top-level label", "example.123"},
		{"leading hyphen", "-a.com"},
		{"trailing hyphen in label", "a-.com"},
		{"hyphen before top-level label", "example.-com"},
		{"empty label", "a..com"},
		{"inner space", "a b.com"},
		{"empty", ""},
		{"blank", "   "},
		{"dot only", "."},
		{"leading dot", ".com"},
		{"two trailing dots", "example.com.."},
		{"underscore", "exa_mple.com"},
		{"wildcard", "*.example.com"},
		{"URL", "http://example.com"},
		{"path", "example.com/index.html"},
		{"port", "example.com:8080"},
		{"e-mail address", "user@example.com"},
		{"64-character label", strings.Repeat("a", 64) + ".com"},
		{"over 253 characters", long},
		{"ideographic full stop", "中文。中国"},
		{"ideographic comma", "中文，中国.com"},
		{"ideographic space", "a\u3000b.com"},
		// validDomain promises that a label is letters of any script, digits and inner
		// hyphens. Invisible characters pasted from web pages and office documents
		// (no-break space, zero-width space, soft hyphen, byte-order mark) and symbols are
		// none of these, and a domain holding one can never be filed.
		{"no-break space", "exa\u00a0mple.com"},
		{"zero-width space", "exa\u200bmple.com"},
		{"soft hyphen", "exa\u00admple.com"},
		{"byte-order mark", "\ufeffexample.com"},
		{"line separator", "exa\u2028mple.com"},
		{"emoji", "😀.com"},
		{"full-width at sign", "user＠example.com"},
		{"full-width full stop", "example．com.cn"},
		{"bullet", "a•b.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Alone, and after a valid domain: the details name the bad one's index.
			for i, domains := range [][]string{{tt.domain}, {"ok.example.com", tt.domain}} {
				in := individualInput()
				in.Domains = domains
				_, err := filing.NewOrder("ord_1", in, now)
				e := checkErr(t, err, filing.CodeInvalidRequest)
				checkDetail(t, e, "field", "domains")
				checkDetail(t, e, "index", i)
			}
		})
	}
}

var isoProvinces = []string{
	"CN-AH", "CN-BJ", "CN-CQ", "CN-FJ", "CN-GD", "CN-GS", "CN-GX", "CN-GZ", "CN-HA", "CN-HB",
	"CN-HE", "CN-HI", "CN-HL", "CN-HN", "CN-JL", "CN-JS", "CN-JX", "CN-LN", "CN-NM", "CN-NX",
	"CN-QH", "CN-SC", "CN-SD", "CN-SH", "CN-SN", "CN-SX", "CN-TJ", "CN-XJ", "CN-XZ", "CN-YN",
	"CN-ZJ",
}

func TestProvinces(t *testing.T) {
	t.Parallel()
	var codes []string
	seen := map[string]bool{}
	for _, p := range filing.Provinces {
		if seen[p.Code] {
			t.Errorf("province %s listed twice", p.Code)
		}
		seen[p.Code] = true
		codes = append(codes, p.Code)
		if p.NameZh == "" {
			t.Errorf("province %s has no Chinese name", p.Code)
		}
	}
	if len(seen) != 31 {
		t.Errorf("%d distinct provinces, want 31", len(seen))
	}
	slices.Sort(codes)
	if !slices.Equal(codes, isoProvinces) {
		t.Errorf("province codes = %v\nwant %v", codes, isoProvinces)
	}
	for _, code := range isoProvinces {
		t.Run(code, func(t *testing.T) {
			p, ok := filing.LookupProvince(code)
			if !ok || p.Code != code {
				t.Fatalf("LookupProvince(%s) = %v, %v", code, p, ok)
			}
			in := individualInput()
			in.Province = code
			if o := newOrder(t, in); o.Province != code {
				t.Errorf("Province = %q, want %q", o.Province, code)
			}
		})
	}
	for _, code := range []string{"CN-HK", "CN-MO", "CN-TW", "", "GD", "cn-gd"} {
		if p, ok := filing.LookupProvince(code); ok {
			t.Errorf("LookupProvince(%q) = %v, want not found", code, p)
		}
	}
	names := map[string]string{"CN-GD": "广东", "CN-CQ": "重庆", "CN-LN": "辽宁", "CN-AH": "安徽", "CN-FJ": "福建", "CN-JX": "江西", "CN-XJ": "新疆", "CN-BJ": "北京"}
	for code, name := range names {
		if p, _ := filing.LookupProvince(code); p.NameZh != name {
			t.Errorf("LookupProvince(%s).NameZh = %q, want %q", code, p.NameZh, name)
		}
	}
}

func TestAppProvinces(t *testing.T) {
	t.Parallel()
	want := []string{"CN-AH", "CN-CQ", "CN-FJ", "CN-GD", "CN-LN"}
	got := slices.Sorted(slices.Values(filing.DefaultAppProvinces))
	if !slices.Equal(got, want) {
		t.Errorf("DefaultAppProvinces = %v, want %v", got, want)
	}
	if filing.Guangdong != "CN-GD" || filing.Jiangxi != "CN-JX" || filing.Xinjiang != "CN-XJ" {
		t.Errorf("province constants = %s %s %s", filing.Guangdong, filing.Jiangxi, filing.Xinjiang)
	}
}

// TestNewOrderErrorsDoNotLeakIntoSentinels: the field details belong to the returned error
// only.
func TestNewOrderErrorsDoNotLeakIntoSentinels(t *testing.T) {
	t.Parallel()
	in := individualInput()
	in.Province = "CN-HK"
	_, err := filing.NewOrder("ord_1", in, now)
	if !errors.Is(err, filing.ErrInvalidProvince) {
		t.Fatalf("err = %v, want invalid_province", err)
	}
	if filing.ErrInvalidProvince.Details != nil || filing.ErrInvalidRequest.Details != nil {
		t.Errorf("sentinels gained details: %v %v", filing.ErrInvalidProvince.Details, filing.ErrInvalidRequest.Details)
	}
}
