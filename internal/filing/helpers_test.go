package filing_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

// now is the fixed clock of every test in this package.
var now = time.Date(2026, time.March, 15, 10, 30, 0, 0, time.UTC)

// later is when a second operation happens, so tests can see which operations touch
// UpdatedAt.
var later = now.Add(90 * time.Minute)

// gbCheck computes the GB 11643 check character of the first 17 digits of a resident ID.
// It is written independently of the package's table: ISO 7064 MOD 11-2 gives position i
// (0-based from the left) the weight 2^(17-i) mod 11, and the check value is
// (12 - sum mod 11) mod 11, with 10 written as X.
func gbCheck(tb testing.TB, body string) byte {
	tb.Helper()
	if len(body) != 17 {
		tb.Fatalf("gbCheck: body %q has %d characters, want 17", body, len(body))
	}
	sum := 0
	for i := range 17 {
		c := body[i]
		if c < '0' || c > '9' {
			tb.Fatalf("gbCheck: body %q has a non-digit at %d", body, i)
		}
		w := 1
		for range 17 - i {
			w = w * 2 % 11
		}
		sum += int(c-'0') * w
	}
	v := (12 - sum%11) % 11
	if v == 10 {
		return 'X'
	}
	return byte('0' + v)
}

// residentID appends the right check character to a 17-digit body.
func residentID(tb testing.TB, body string) string {
	tb.Helper()
	return body + string(gbCheck(tb, body))
}

// residentIDEndingIn returns a valid resident ID born on birth (YYYYMMDD) whose check
// character is want, by trying sequence numbers.
func residentIDEndingIn(tb testing.TB, birth string, want byte) string {
	tb.Helper()
	for seq := range 1000 {
		body := fmt.Sprintf("440305%s%03d", birth, seq)
		if gbCheck(tb, body) == want {
			return body + string(want)
		}
	}
	tb.Fatalf("no sequence number gives check character %c", want)
	return ""
}

// sampleID is the example number of GB 11643 itself; its check character is X.
const sampleID = "11010519491231002X"

func individualInput() filing.NewOrderInput {
	return filing.NewOrderInput{
		SubjectType: filing.Individual,
		Province:    "CN-GD",
		SubjectName: "张三",
		SubjectLeader: filing.Person{
			Name: "张三", IDType: filing.ResidentID, IDNumber: sampleID, IDValidUntil: "2030-01-01",
		},
		WebsiteLeaderSame: true,
		Domains:           []string{"example.com"},
	}
}

func organizationInput() filing.NewOrderInput {
	return filing.NewOrderInput{
		SubjectType:                 filing.Organization,
		Province:                    "CN-BJ",
		SubjectName:                 "北京示例科技有限公司",
		OrganizationCertificateType: "business_license",
		SubjectLeader: filing.Person{
			Name: "李四", IDType: filing.ResidentID, IDNumber: "110105199003070017", IDValidUntil: filing.LongTerm,
		},
		WebsiteLeader: &filing.Person{
			Name: "John Smith", IDType: filing.Passport, IDNumber: "E12345678", IDValidUntil: "2031-06-30",
		},
		Domains:              []string{"example.cn", "www.example.cn"},
		DomainRegisteredHere: true,
	}
}

// newOrder creates an order from in at now, failing the test on error.
func newOrder(tb testing.TB, in filing.NewOrderInput) *filing.Order {
	tb.Helper()
	o, err := filing.NewOrder("ord_1", in, now)
	if err != nil {
		tb.Fatalf("NewOrder: %v", err)
	}
	return o
}

// cloneOrder deep-copies an order so a test can tell whether an operation changed it.
func cloneOrder(o *filing.Order) *filing.Order {
	c := *o
	c.Domains = slices.Clone(o.Domains)
	c.Edited = slices.Clone(o.Edited)
	if o.Reviews != nil {
		c.Reviews = make([]filing.Review, len(o.Reviews))
		for i, r := range o.Reviews {
			r.Issues = slices.Clone(r.Issues)
			r.Pending = slices.Clone(r.Pending)
			c.Reviews[i] = r
		}
	}
	if o.Authority != nil {
		a := *o.Authority
		c.Authority = &a
	}
	return &c
}

// assertUnchanged fails when o differs from before.
func assertUnchanged(tb testing.TB, before, o *filing.Order) {
	tb.Helper()
	if !reflect.DeepEqual(before, o) {
		tb.Errorf("failed operation changed the order:\nbefore %+v\nafter  %+v", *before, *o)
	}
}

// checkOutcome checks the result of an operation on o against code ("" for success) and
// returns the coded error, nil on success. Every refusal follows one rule: it returns no
// transition, leaves the order as it was before, and an invalid_state refusal names the
// order's state in its details.
func checkOutcome(tb testing.TB, before, o *filing.Order, tr *filing.Transition, err error, code string) *filing.Error {
	tb.Helper()
	e := checkErr(tb, err, code)
	if e == nil {
		return nil
	}
	if tr != nil {
		tb.Errorf("transition %+v with an error", *tr)
	}
	if e.Code == filing.CodeInvalidState {
		checkDetail(tb, e, "state", string(before.State))
	}
	assertUnchanged(tb, before, o)
	return e
}

// checkStamped asserts that an operation done at later recorded it in UpdatedAt.
func checkStamped(tb testing.TB, o *filing.Order) {
	tb.Helper()
	if !o.UpdatedAt.Equal(later) {
		tb.Errorf("UpdatedAt = %v, want %v", o.UpdatedAt, later)
	}
}

// has returns an uploaded func reporting the given slots as holding a material.
func has(slots ...filing.Slot) func(filing.Slot) bool {
	return func(s filing.Slot) bool { return slices.Contains(slots, s) }
}

// checkErr asserts that err carries code (or is nil when code is "") and returns it.
func checkErr(tb testing.TB, err error, code string) *filing.Error {
	tb.Helper()
	if code == "" {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return nil
	}
	if err == nil {
		tb.Fatalf("err = nil, want code %q", code)
	}
	var e *filing.Error
	if !errors.As(err, &e) {
		tb.Fatalf("err = %v (%T), want a *filing.Error with code %q", err, err, code)
	}
	if e.Code != code {
		tb.Fatalf("code = %q (%v), want %q", e.Code, err, code)
	}
	return e
}

// checkDetail asserts details[key] == want.
func checkDetail(tb testing.TB, e *filing.Error, key string, want any) {
	tb.Helper()
	got, ok := e.Details[key]
	if !ok {
		tb.Errorf("details = %v, want key %q = %v", e.Details, key, want)
		return
	}
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("details[%q] = %#v, want %#v", key, got, want)
	}
}

// slotNames turns details.missing (a []Slot or []string) into strings.
func slotNames(tb testing.TB, v any) []string {
	tb.Helper()
	switch v := v.(type) {
	case []filing.Slot:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = string(s)
		}
		return out
	case []string:
		return v
	default:
		tb.Fatalf("details.missing is %T (%v), want a list of slots", v, v)
		return nil
	}
}

func slotStrings(slots []filing.Slot) []string {
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = string(s)
	}
	return out
}
