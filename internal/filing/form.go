package filing

// The verification form's rules (docs/rules.md, 真实性核验单), in one place: what the printed
// form shows and asks for, and what the guidance for the form's slot says (FormRequirement).

// FormSample is a filled-in verification form (填写样例) as the source document links it.
type FormSample struct {
	LabelZh string
	URL     string
}

// The source document's filled-in samples, by form: other provinces' organization and
// individual forms, and Guangdong's own two.
var (
	SampleOrganization = FormSample{"单位样例", "http://gtms02.alicdn.com/tps/i2/TB1f.iSJVXXXXXkXFXX6HFAMXXX-1240-1980.jpg"}
	SampleIndividual   = FormSample{"个人样例", "http://gtms03.alicdn.com/tps/i3/TB11nCSJVXXXXcIXpXXBkJCMXXX-1240-1993.jpg"}
	SampleGDOrg        = FormSample{"广东单位样例", "http://gtms04.alicdn.com/tps/i4/TB1OyC0JVXXXXaaXpXXA9lwMXXX-1240-1958.jpg"}
	SampleGDIndividual = FormSample{"广东个人样例", "http://gtms01.alicdn.com/tps/i1/TB1hY54JVXXXXc6XXXX9vlzMXXX-1240-1974.jpg"}
)

// Form is what an order's printed verification form shows and asks for.
type Form struct {
	// ProvinceNameZh is the province's full name, as the form is addressed (广东省).
	ProvinceNameZh string
	// Individual is an individual's filing; otherwise an organization's.
	Individual bool
	// Guangdong has a form of its own.
	Guangdong bool
	// Commitment is the text the website leader handwrites (Guangdong individuals), or "".
	Commitment string
	// Fingerprint: the website leader signs and adds a fingerprint (Jiangxi, Xinjiang
	// individuals).
	Fingerprint bool
	// Seal: the organization's official seal, all provinces.
	Seal bool
	// Requirement says all of that in one sentence.
	Requirement string
	// Sample is the filled-in sample of this form.
	Sample FormSample
}

// VerificationForm returns the rules of the order's verification form.
func VerificationForm(o *Order) Form {
	p, _ := LookupProvince(o.Province)
	f := Form{
		ProvinceNameZh: p.FullNameZh(),
		Individual:     o.SubjectType == Individual,
		Guangdong:      o.Province == Guangdong,
		Requirement:    FormRequirement(o),
	}
	f.Seal = !f.Individual
	f.Fingerprint = needsFingerprint(o)
	if f.Guangdong && f.Individual {
		f.Commitment = GuangdongCommitment
	}
	switch {
	case f.Guangdong && f.Individual:
		f.Sample = SampleGDIndividual
	case f.Guangdong:
		f.Sample = SampleGDOrg
	case f.Individual:
		f.Sample = SampleIndividual
	default:
		f.Sample = SampleOrganization
	}
	return f
}

func needsFingerprint(o *Order) bool {
	return o.SubjectType == Individual && (o.Province == Jiangxi || o.Province == Xinjiang)
}

// FormRequirement says how the order's verification form must be signed, by province and
// subject type (the source document's notes on the form).
func FormRequirement(o *Order) string {
	switch {
	case o.SubjectType == Organization:
		return "单位备案须在核验单上加盖单位公章。"
	case needsFingerprint(o):
		return "个人备案须在网站负责人签字处签字并加盖本人手印。"
	case o.Province == Guangdong:
		return "广东个人备案使用广东专用核验单，须清晰签字，并手写承诺内容：“" + GuangdongCommitment + "”"
	default:
		return "个人备案须在网站负责人签字处清晰签字。"
	}
}

// FullNameZh is the province's name as an address or a form gives it: 广东省, 北京市,
// 新疆维吾尔自治区.
func (p Province) FullNameZh() string {
	switch p.NameZh {
	case "":
		return ""
	case "北京", "天津", "上海", "重庆":
		return p.NameZh + "市"
	case "内蒙古", "西藏":
		return p.NameZh + "自治区"
	case "广西":
		return "广西壮族自治区"
	case "宁夏":
		return "宁夏回族自治区"
	case "新疆":
		return "新疆维吾尔自治区"
	default:
		return p.NameZh + "省"
	}
}
