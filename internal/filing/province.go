package filing

// Province is a mainland province-level division by its ISO 3166-2:CN code. ICP filing is
// mainland only, so Hong Kong, Macau and Taiwan are not provinces here.
type Province struct {
	Code   string `json:"code"`
	NameZh string `json:"name_zh"`
}

// Provinces lists all 31 mainland provinces, municipalities and autonomous regions.
var Provinces = []Province{
	{"CN-BJ", "北京"}, {"CN-TJ", "天津"}, {"CN-HE", "河北"}, {"CN-SX", "山西"}, {"CN-NM", "内蒙古"},
	{"CN-LN", "辽宁"}, {"CN-JL", "吉林"}, {"CN-HL", "黑龙江"}, {"CN-SH", "上海"}, {"CN-JS", "江苏"},
	{"CN-ZJ", "浙江"}, {"CN-AH", "安徽"}, {"CN-FJ", "福建"}, {"CN-JX", "江西"}, {"CN-SD", "山东"},
	{"CN-HA", "河南"}, {"CN-HB", "湖北"}, {"CN-HN", "湖南"}, {"CN-GD", "广东"}, {"CN-GX", "广西"},
	{"CN-HI", "海南"}, {"CN-CQ", "重庆"}, {"CN-SC", "四川"}, {"CN-GZ", "贵州"}, {"CN-YN", "云南"},
	{"CN-XZ", "西藏"}, {"CN-SN", "陕西"}, {"CN-GS", "甘肃"}, {"CN-QH", "青海"}, {"CN-NX", "宁夏"},
	{"CN-XJ", "新疆"},
}

// Provinces whose verification form rules differ (docs/rules.md, verification form).
const (
	Guangdong = "CN-GD"
	Jiangxi   = "CN-JX"
	Xinjiang  = "CN-XJ"
)

// DefaultAppProvinces are the provinces where app verification is open according to the
// source document; the running list is configuration.
var DefaultAppProvinces = []string{"CN-GD", "CN-CQ", "CN-LN", "CN-AH", "CN-FJ"}

// LookupProvince returns the province with the given code.
func LookupProvince(code string) (Province, bool) {
	for _, p := range Provinces {
		if p.Code == code {
			return p, true
		}
	}
	return Province{}, false
}
