package filing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/beianscan/beianscan/internal/filing"
)

// TestGBCheckAnchors pins the test's own check-digit implementation to published numbers,
// so that a mistake in it cannot make the tests below agree with a wrong package.
func TestGBCheckAnchors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want byte
	}{
		{"GB 11643 sample ending in X", "11010519491231002", 'X'},
		{"GB 11643-1999 appendix example", "44052418800101001", '4'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gbCheck(t, tt.body); got != tt.want {
				t.Errorf("gbCheck(%s) = %c, want %c", tt.body, got, tt.want)
			}
		})
	}
}

func TestCheckIDNumberResidentID(t *testing.T) {
	t.Parallel()
	valid := residentID(t, "44030519900307123")
	// A wrong check character: the next digit after the right one.
	wrong := valid[:17] + string('0'+(valid[17]-'0'+1)%10)
	if valid[17] == 'X' {
		t.Fatalf("fixture %s should end in a digit", valid)
	}
	tests := []struct {
		name string
		n    string
		ok   bool
	}{
		{"GB sample ending in X", sampleID, true},
		{"computed check digit", valid, true},
		{"leap day 2000-02-29", residentID(t, "44030520000229001"), true},
		{"born 1900-01-01", residentID(t, "44030519000101001"), true},
		{"wrong check digit", wrong, false},
		{"X where a digit belongs", valid[:17] + "X", false},
		{"digit where X belongs", sampleID[:17] + "0", false},
		{"17 characters", valid[:17], false},
		{"19 characters", valid + "0", false},
		{"old 15-digit number", "110105491231002", false},
		{"empty", "", false},
		{"letter inside", "4403051990030A1234", false},
		{"space inside", "440305 19900307123", false},
		{"month 13", residentID(t, "44030519901307123"), false},
		{"month 00", residentID(t, "44030519900007123"), false},
		{"day 00", residentID(t, "44030519900300123"), false},
		{"day 32", residentID(t, "44030519900132123"), false},
		{"February 29 of 1999", residentID(t, "44030519990229123"), false},
		{"February 30", residentID(t, "44030520000230123"), false},
		{"born before 1900", residentID(t, "44030518991231123"), false},
		{"full-width digits", "４４０３０５１９９００３０７１２", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := filing.CheckIDNumber(filing.ResidentID, tt.n)
			if tt.ok {
				checkErr(t, err, "")
				return
			}
			checkErr(t, err, filing.CodeInvalidIDNumber)
			if !errors.Is(err, filing.ErrInvalidIDNumber) {
				t.Errorf("errors.Is(%v, ErrInvalidIDNumber) = false", err)
			}
		})
	}
}

// TestCheckIDNumberEveryCheckCharacter accepts a valid number for each of the 11 check
// characters and refuses each of them with any other final character.
func TestCheckIDNumberEveryCheckCharacter(t *testing.T) {
	t.Parallel()
	for _, c := range []byte("0123456789X") {
		t.Run("check "+string(c), func(t *testing.T) {
			n := residentIDEndingIn(t, "19851122", c)
			checkErr(t, filing.CheckIDNumber(filing.ResidentID, n), "")
			for _, other := range []byte("0123456789X") {
				if other == c {
					continue
				}
				bad := n[:17] + string(other)
				if err := filing.CheckIDNumber(filing.ResidentID, bad); !errors.Is(err, filing.ErrInvalidIDNumber) {
					t.Errorf("CheckIDNumber(%s) = %v, want invalid_id_number", bad, err)
				}
			}
		})
	}
}

func TestCheckIDNumberOtherTypes(t *testing.T) {
	t.Parallel()
	others := []filing.IDType{
		filing.HKMacauResidencePermit, filing.HKMacauTravelPermit,
		filing.TaiwanResidencePermit, filing.TaiwanTravelPermit, filing.Passport,
	}
	tests := []struct {
		name string
		n    string
		ok   bool
	}{
		{"5 characters", "AB123", true},
		{"32 characters", strings.Repeat("A1", 16), true},
		{"9-character passport", "E12345678", true},
		{"lower-case letters", "h12345678", true},
		{"digits only", "123456789", true},
		{"4 characters", "AB12", false},
		{"33 characters", strings.Repeat("A1", 16) + "Z", false},
		{"empty", "", false},
		{"hyphen", "AB-12345", false},
		{"parentheses", "H123456(7)", false},
		{"slash", "AB/12345", false},
		{"space", "AB 12345", false},
		{"Chinese characters", "护照12345", false},
		{"full-width letters", "ＡＢ12345", false},
	}
	for _, typ := range others {
		for _, tt := range tests {
			t.Run(string(typ)+"/"+tt.name, func(t *testing.T) {
				err := filing.CheckIDNumber(typ, tt.n)
				if tt.ok {
					checkErr(t, err, "")
				} else {
					checkErr(t, err, filing.CodeInvalidIDNumber)
				}
			})
		}
	}
}

func TestIDType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ     filing.IDType
		valid   bool
		hasBack bool
		labelZh string
	}{
		{filing.ResidentID, true, true, "居民身份证"},
		{filing.HKMacauResidencePermit, true, true, "港澳居民居住证"},
		{filing.HKMacauTravelPermit, true, true, "港澳居民来往内地通行证"},
		{filing.TaiwanResidencePermit, true, true, "台湾居民居住证"},
		{filing.TaiwanTravelPermit, true, true, "台湾居民来往大陆通行证"},
		{filing.Passport, true, false, "护照"},
		{"", false, false, ""},
		{"id_card", false, false, ""},
		{"RESIDENT_ID", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			if got := tt.typ.Valid(); got != tt.valid {
				t.Errorf("Valid() = %v, want %v", got, tt.valid)
			}
			if got := tt.typ.HasBack(); got != tt.hasBack {
				t.Errorf("HasBack() = %v, want %v", got, tt.hasBack)
			}
			if got := tt.typ.LabelZh(); got != tt.labelZh {
				t.Errorf("LabelZh() = %q, want %q", got, tt.labelZh)
			}
		})
	}
}

func TestMaskIDNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    string
		want string
	}{
		{"resident ID", sampleID, "110***********002X"},
		{"computed resident ID", "440305199003071234", "440***********1234"},
		{"9-character passport", "E12345678", "E12**5678"},
		{"8 characters", "AB123456", "AB1*3456"},
		{"7 characters fully masked", "AB12345", "*******"},
		{"5 characters fully masked", "AB123", "*****"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filing.MaskIDNumber(tt.n); got != tt.want {
				t.Errorf("MaskIDNumber(%q) = %q, want %q", tt.n, got, tt.want)
			}
			p := filing.Person{IDNumber: tt.n}
			if got := p.MaskedIDNumber(); got != tt.want {
				t.Errorf("Person.MaskedIDNumber() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMaskIDNumberHidesBirthDate checks the property the mask is for: the birth date and
// sequence number of a resident ID never show.
func TestMaskIDNumberHidesBirthDate(t *testing.T) {
	t.Parallel()
	n := residentID(t, "44030519871224567")
	m := filing.MaskIDNumber(n)
	if len(m) != 18 || strings.Count(m, "*") != 11 {
		t.Fatalf("MaskIDNumber(%s) = %q, want 18 characters with 11 stars", n, m)
	}
	if strings.Contains(m, "19871224") || m[3:14] != strings.Repeat("*", 11) {
		t.Errorf("MaskIDNumber(%s) = %q shows the birth date", n, m)
	}
}
