package filing

import (
	"strings"
	"time"
	"unicode/utf8"
)

// IDType is the kind of identity document of a responsible person (证件类型).
type IDType string

const (
	ResidentID             IDType = "resident_id"
	HKMacauResidencePermit IDType = "hk_macau_residence_permit"
	HKMacauTravelPermit    IDType = "hk_macau_travel_permit"
	TaiwanResidencePermit  IDType = "taiwan_residence_permit"
	TaiwanTravelPermit     IDType = "taiwan_travel_permit"
	Passport               IDType = "passport"
)

var idTypeLabels = map[IDType]string{
	ResidentID:             "居民身份证",
	HKMacauResidencePermit: "港澳居民居住证",
	HKMacauTravelPermit:    "港澳居民来往内地通行证",
	TaiwanResidencePermit:  "台湾居民居住证",
	TaiwanTravelPermit:     "台湾居民来往大陆通行证",
	Passport:               "护照",
}

// Valid reports whether t is one of the accepted ID document types.
func (t IDType) Valid() bool { _, ok := idTypeLabels[t]; return ok }

// LabelZh is the document's Chinese name.
func (t IDType) LabelZh() string { return idTypeLabels[t] }

// HasBack reports whether the document has a back side to photograph; a passport has only
// its photo page.
func (t IDType) HasBack() bool { return t.Valid() && t != Passport }

// LongTerm is the id_valid_until value of a document without an end date (长期).
const LongTerm = "long_term"

// Person is a responsible person: the subject leader or the website leader.
type Person struct {
	Name         string `json:"name"`
	IDType       IDType `json:"id_type"`
	IDNumber     string `json:"id_number"`
	IDValidUntil string `json:"id_valid_until"`
}

// MaskedIDNumber keeps the first 3 and last 4 characters, so a person can recognise the
// number without the service showing it.
func (p Person) MaskedIDNumber() string { return MaskIDNumber(p.IDNumber) }

// MaskIDNumber masks all but the first 3 and last 4 characters of an ID number.
func MaskIDNumber(n string) string {
	if len(n) <= 7 {
		return strings.Repeat("*", len(n))
	}
	return n[:3] + strings.Repeat("*", len(n)-7) + n[len(n)-4:]
}

// normalize trims what people paste around their values and upper-cases the number, so
// that "11010519491231002x" and its capital form are one number.
func (p *Person) normalize() {
	p.Name = strings.TrimSpace(p.Name)
	p.IDNumber = strings.ToUpper(strings.Join(strings.Fields(p.IDNumber), ""))
	p.IDValidUntil = strings.TrimSpace(p.IDValidUntil)
}

// validate checks the person against the document rules; field names the JSON path used in
// the error's details so a form can show the error beside its field.
func (p *Person) validate(field string, today time.Time) error {
	p.normalize()
	if err := CheckText(field+".name", p.Name); err != nil {
		return err
	}
	if p.Name == "" || utf8.RuneCountInString(p.Name) > 64 {
		return ErrInvalidRequest.WithMessage(
			"The person's name is required (at most 64 characters).",
			"请填写负责人姓名（不超过 64 个字符）。").WithDetails(map[string]any{"field": field + ".name"})
	}
	if !p.IDType.Valid() {
		return ErrInvalidIDType.WithDetails(map[string]any{"field": field + ".id_type"})
	}
	if err := CheckIDNumber(p.IDType, p.IDNumber); err != nil {
		return err.(*Error).WithDetails(map[string]any{"field": field + ".id_number"})
	}
	if p.IDValidUntil == LongTerm {
		return nil
	}
	until, err := time.Parse(time.DateOnly, p.IDValidUntil)
	if err != nil {
		return ErrInvalidRequest.WithMessage(
			"id_valid_until must be a date YYYY-MM-DD or \"long_term\".",
			"证件有效期应为日期（YYYY-MM-DD）或“长期”。").WithDetails(map[string]any{"field": field + ".id_valid_until"})
	}
	// A document is valid through the last day printed on it.
	if until.Before(dateOnly(today)) {
		return ErrIDExpired.WithDetails(map[string]any{"field": field + ".id_valid_until"})
	}
	return nil
}

func dateOnly(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// CheckIDNumber validates an ID number for its document type. A resident ID is checked as
// GB 11643 defines it (18 characters, a valid birth date and the ISO 7064 MOD 11-2 check
// character), because a mistyped digit is the commonest reason a filing bounces with "name
// and ID number do not match"; other documents must be 5–32 letters and digits.
func CheckIDNumber(t IDType, n string) error {
	if t == ResidentID {
		if !validResidentID(n) {
			return ErrInvalidIDNumber
		}
		return nil
	}
	if len(n) < 5 || len(n) > 32 {
		return ErrInvalidIDNumber
	}
	for _, r := range n {
		if !('0' <= r && r <= '9' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z') {
			return ErrInvalidIDNumber
		}
	}
	return nil
}

var gb11643Weights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const gb11643Check = "10X98765432"

func validResidentID(n string) bool {
	if len(n) != 18 {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := n[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * gb11643Weights[i]
	}
	if n[17] != gb11643Check[sum%11] {
		return false
	}
	birth, err := time.Parse("20060102", n[6:14])
	return err == nil && birth.Year() >= 1900
}
