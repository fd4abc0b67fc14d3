package filing_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beianscan/beianscan/internal/filing"
)

var fourImages = []filing.Slot{slFront, slBack, form, face}

// inState returns an app order in st as the state machine leaves it: a draft missing its
// face photo, an uploaded order with everything, a submitted one in its first round, and
// a changes_requested one whose review flagged slFront and subject_name.
func inState(tb testing.TB, st filing.State) *filing.Order {
	tb.Helper()
	o := personalOrder(tb, filing.StateUploaded, filing.MethodApp)
	if st == filing.StateDraft || st == filing.StateUploaded {
		o.State = st
		return o
	}
	if _, err := o.Submit(has(fourImages...), now); err != nil {
		tb.Fatal(err)
	}
	steps := map[filing.State]func() error{
		filing.StateSubmitted: func() error { return nil },
		filing.StateChangesRequested: func() error {
			_, err := o.Decide(changes(), now)
			return err
		},
		filing.StateRejected: func() error {
			_, err := o.Decide(filing.Decision{Outcome: filing.OutcomeReject, Reason: "内容不可备案"}, now)
			return err
		},
		filing.StateApproved: func() error { _, err := o.Decide(filing.Decision{Outcome: filing.OutcomeApprove}, now); return err },
	}
	authority := []filing.AuthorityStatus{}
	switch st {
	case filing.StateAuthorityReview:
		authority = []filing.AuthorityStatus{filing.AuthoritySubmitted}
	case filing.StateFiled:
		authority = []filing.AuthorityStatus{filing.AuthoritySubmitted, filing.AuthorityFiled}
	case filing.StateAuthorityRejected:
		authority = []filing.AuthorityStatus{filing.AuthoritySubmitted, filing.AuthorityRejected}
	}
	step := steps[st]
	if len(authority) > 0 {
		step = steps[filing.StateApproved]
	}
	if err := step(); err != nil {
		tb.Fatal(err)
	}
	for _, a := range authority {
		if _, err := o.ReportAuthority(filing.AuthorityReport{Status: a, ICPNumber: "粤ICP备2026012345号", Reason: "网站名称不符合要求"}, now); err != nil {
			tb.Fatal(err)
		}
	}
	if o.State != st {
		tb.Fatalf("set-up reached %s, want %s", o.State, st)
	}
	return o
}

func changes() filing.Decision {
	return filing.Decision{Outcome: filing.OutcomeChanges, Issues: []filing.Issue{
		{Target: filing.IssueMaterial, Slot: slFront, Code: filing.ReasonImageUnclear},
		{Target: filing.IssueField, Field: "subject_name", Code: filing.ReasonFieldInvalid, Note: "与证件不一致"},
	}}
}

func str(s string) *string { return &s }

// TestStateMachine runs every action in every state: each either moves the order to the
// state the contract gives, or is refused with its code and leaves the order as it was.
func TestStateMachine(t *testing.T) {
	t.Parallel()
	type action struct {
		name string
		do   func(o *filing.Order) (*filing.Transition, error)
	}
	uploadedDraft := func(o *filing.Order) func(filing.Slot) bool {
		if o.State == filing.StateDraft {
			return has(slFront, slBack, form)
		}
		return has(fourImages...)
	}
	authority := func(s filing.AuthorityStatus) func(o *filing.Order) (*filing.Transition, error) {
		return func(o *filing.Order) (*filing.Transition, error) {
			return o.ReportAuthority(filing.AuthorityReport{Status: s, ICPNumber: "粤ICP备2026012345号-1", Reason: "主体信息有误"}, later)
		}
	}
	actions := []action{
		{"choose_method", func(o *filing.Order) (*filing.Transition, error) {
			return nil, o.ChooseMethod(filing.MethodApp, true, later)
		}},
		{"pairing", func(o *filing.Order) (*filing.Transition, error) { return nil, o.CheckPairing(true) }},
		{"upload_unflagged", func(o *filing.Order) (*filing.Transition, error) { return nil, o.CheckUpload(form, filing.ViaPC) }},
		{"upload_flagged", func(o *filing.Order) (*filing.Transition, error) { return nil, o.CheckUpload(slFront, filing.ViaApp) }},
		{"remove", func(o *filing.Order) (*filing.Transition, error) { return nil, o.CheckRemove(form) }},
		{"submit", func(o *filing.Order) (*filing.Transition, error) { return o.Submit(uploadedDraft(o), later) }},
		{"approve", func(o *filing.Order) (*filing.Transition, error) {
			return o.Decide(filing.Decision{Outcome: filing.OutcomeApprove}, later)
		}},
		{"changes", func(o *filing.Order) (*filing.Transition, error) { return o.Decide(changes(), later) }},
		{"reject", func(o *filing.Order) (*filing.Transition, error) {
			return o.Decide(filing.Decision{Outcome: filing.OutcomeReject, Reason: "x"}, later)
		}},
		{"withdraw", func(o *filing.Order) (*filing.Transition, error) { return o.Withdraw(later) }},
		{"edit_flagged", func(o *filing.Order) (*filing.Transition, error) {
			_, _, err := o.Edit(filing.EditInput{SubjectName: str("张三丰")}, later)
			return nil, err
		}},
		{"edit_unflagged", func(o *filing.Order) (*filing.Transition, error) {
			_, _, err := o.Edit(filing.EditInput{Domains: &[]string{"example.org"}}, later)
			return nil, err
		}},
		{"authority_submitted", authority(filing.AuthoritySubmitted)},
		{"authority_sms_sent", authority(filing.AuthoritySMSSent)},
		{"authority_filed", authority(filing.AuthorityFiled)},
		{"authority_rejected", authority(filing.AuthorityRejected)},
		// The back office's whole-order decision (review-result), recorded as a round.
		{"operator_approve", func(o *filing.Order) (*filing.Transition, error) { return o.Review(true, "", later) }},
		{"operator_reject", func(o *filing.Order) (*filing.Transition, error) { return o.Review(false, "内容不可备案", later) }},
		{"upload_flagged_pc", func(o *filing.Order) (*filing.Transition, error) { return nil, o.CheckUpload(slFront, filing.ViaPC) }},
		{"remove_flagged", func(o *filing.Order) (*filing.Transition, error) { return nil, o.CheckRemove(slFront) }},
	}
	const (
		bad    = filing.CodeInvalidState
		locked = filing.CodeSlotLocked
	)
	D, U, S, CR, R, A, AR, F, ARJ := filing.StateDraft, filing.StateUploaded, filing.StateSubmitted,
		filing.StateChangesRequested, filing.StateRejected, filing.StateApproved, filing.StateAuthorityReview,
		filing.StateFiled, filing.StateAuthorityRejected
	// want: the state after the action, or the code of its refusal; one column per action
	// in the order of actions.
	table := map[filing.State][]string{
		D:   {s(D), s(D), s(D), s(D), s(D), filing.CodeMaterialsIncomplete, bad, bad, bad, bad, s(D), s(D), bad, bad, bad, bad, bad, bad, s(D), s(D)},
		U:   {s(U), s(U), s(U), s(U), s(U), s(S), bad, bad, bad, bad, s(U), s(U), bad, bad, bad, bad, bad, bad, s(U), s(U)},
		S:   {bad, bad, bad, bad, bad, bad, s(A), s(CR), s(R), s(D), bad, bad, bad, bad, bad, bad, s(A), s(R), bad, bad},
		CR:  {bad, s(CR), locked, s(CR), locked, filing.CodeChangesIncomplete, bad, bad, bad, s(D), s(CR), filing.CodeFieldLocked, bad, bad, bad, bad, bad, bad, s(CR), locked},
		R:   {bad, bad, bad, bad, bad, bad, bad, bad, bad, s(D), bad, bad, bad, bad, bad, bad, bad, bad, bad, bad},
		A:   {bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, s(AR), bad, bad, bad, bad, bad, bad, bad},
		AR:  {bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, s(AR), s(F), s(ARJ), bad, bad, bad, bad},
		F:   {bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad, bad},
		ARJ: {bad, bad, bad, bad, bad, bad, bad, bad, bad, s(D), bad, bad, bad, bad, bad, bad, bad, bad, bad, bad},
	}
	if len(table) != len(filing.States()) {
		t.Fatalf("table has %d states, the state machine %d", len(table), len(filing.States()))
	}
	for _, st := range filing.States() {
		row := table[st]
		if len(row) != len(actions) {
			t.Fatalf("%s: %d columns, %d actions", st, len(row), len(actions))
		}
		for i, a := range actions {
			t.Run(string(st)+"/"+a.name, func(t *testing.T) {
				o := inState(t, st)
				before := cloneOrder(o)
				tr, err := a.do(o)
				want := row[i]
				if filing.State(want).Valid() {
					checkErr(t, err, "")
					if o.State != filing.State(want) {
						t.Fatalf("state %s, want %s", o.State, want)
					}
					if st != o.State {
						checkTransition(t, tr, st, o.State)
					} else if tr != nil {
						t.Errorf("transition %+v, want none", *tr)
					}
					return
				}
				checkOutcome(t, before, o, tr, err, want)
			})
		}
	}
}

func s(st filing.State) string { return string(st) }

// TestResubmitNeedsEveryFix: a request for changes is answered item by item; the next
// round starts only when nothing is pending, and it is round 2.
func TestResubmitNeedsEveryFix(t *testing.T) {
	t.Parallel()
	o := inState(t, filing.StateChangesRequested)
	if got, want := o.Pending(), []string{"material:subject_leader_id_front", "field:subject_name"}; !slices.Equal(got, want) {
		t.Fatalf("pending %v, want %v", got, want)
	}
	if got := o.FlaggedSlots(); !slices.Equal(got, []filing.Slot{slFront}) {
		t.Errorf("flagged %v", got)
	}
	for _, r := range o.Requirements(has(fourImages...)) {
		if r.Flagged != (r.Slot == slFront) {
			t.Errorf("%s flagged = %v", r.Slot, r.Flagged)
		}
	}
	_, err := o.Submit(has(fourImages...), later)
	e := checkErr(t, err, filing.CodeChangesIncomplete)
	if got := e.Details["pending"].([]string); len(got) != 2 {
		t.Errorf("details.pending %v", got)
	}
	if !o.MaterialReplaced(slFront) || o.MaterialReplaced(slFront) {
		t.Error("MaterialReplaced: want true once, then false")
	}
	_, err = o.Submit(has(fourImages...), later)
	e = checkErr(t, err, filing.CodeChangesIncomplete)
	if got := e.Details["pending"].([]string); !slices.Equal(got, []string{"field:subject_name"}) {
		t.Errorf("details.pending %v", got)
	}
	// Naming the field fixes it even when the value stays (the owner confirms it).
	changed, fixed, err := o.Edit(filing.EditInput{SubjectName: str("张三")}, later)
	if err != nil || len(changed) != 0 || !fixed {
		t.Fatalf("confirming edit: changed %v fixed %v err %v", changed, fixed, err)
	}
	tr, err := o.Submit(has(fourImages...), later)
	checkErr(t, err, "")
	checkTransition(t, tr, filing.StateChangesRequested, filing.StateSubmitted)
	if o.Round != 2 || !o.SubmittedAt.Equal(later) {
		t.Errorf("round %d submitted at %v, want 2 at %v", o.Round, o.SubmittedAt, later)
	}
	if len(o.Reviews) != 1 || o.Reviews[0].Round != 1 {
		t.Errorf("reviews %+v", o.Reviews)
	}
}

func TestDecideValidation(t *testing.T) {
	t.Parallel()
	mat := func(slot filing.Slot, code filing.ReasonCode, note string) filing.Issue {
		return filing.Issue{Target: filing.IssueMaterial, Slot: slot, Code: code, Note: note}
	}
	fld := func(field string, code filing.ReasonCode, note string) filing.Issue {
		return filing.Issue{Target: filing.IssueField, Field: field, Code: code, Note: note}
	}
	ch := func(issues ...filing.Issue) filing.Decision {
		return filing.Decision{Outcome: filing.OutcomeChanges, Issues: issues}
	}
	tests := []struct {
		name    string
		d       filing.Decision
		field   string
		problem string
	}{
		{"unknown outcome", filing.Decision{Outcome: "maybe"}, "outcome", ""},
		{"approve with issues", filing.Decision{Outcome: filing.OutcomeApprove, Issues: []filing.Issue{mat(form, filing.ReasonFormUnsigned, "")}}, "issues", "not_allowed"},
		{"changes without issues", ch(), "issues", "missing"},
		{"reject without reason", filing.Decision{Outcome: filing.OutcomeReject, Reason: "  "}, "reason", "missing"},
		{"unknown code", ch(mat(form, "blurry_ish", "")), "issues[0].code", "unknown_code"},
		{"code not allowed on the slot", ch(mat(form, filing.ReasonFaceBackground, "")), "issues[0].code", "code_not_allowed"},
		{"material code on a field", ch(fld("subject_name", filing.ReasonImageUnclear, "")), "issues[0].code", "code_not_allowed"},
		{"slot the order does not use", ch(mat(filing.SlotOrganizationCertificate, filing.ReasonImageUnclear, "")), "issues[0].slot", "slot_not_required"},
		{"unknown slot", ch(mat("selfie", filing.ReasonImageUnclear, "")), "issues[0].slot", "unknown_slot"},
		{"unknown field", ch(fld("subject_leader.id_type", filing.ReasonFieldInvalid, "x")), "issues[0].field", "unknown_field"},
		{"unknown target", ch(filing.Issue{Target: "order", Code: filing.ReasonOther, Note: "x"}), "issues[0].target", "unknown_target"},
		{"other needs a note", ch(mat(form, filing.ReasonImageUnclear, ""), mat(form, filing.ReasonOther, "")), "issues[1].note", "note_required"},
		{"field_invalid needs a note", ch(fld("domains", filing.ReasonFieldInvalid, "")), "issues[0].note", "note_required"},
		{"note too long", ch(mat(form, filing.ReasonFormUnsigned, strings.Repeat("字", 201))), "issues[0].note", "too_long"},
		{"note with a bidi override", ch(mat(form, filing.ReasonFormUnsigned, "看\u202e这里")), "issues[0].note", "control_characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := inState(t, filing.StateSubmitted)
			before := cloneOrder(o)
			tr, err := o.Decide(tt.d, later)
			e := checkOutcome(t, before, o, tr, err, filing.CodeInvalidRequest)
			checkDetail(t, e, "field", tt.field)
			if tt.problem != "" {
				checkDetail(t, e, "problem", tt.problem)
			}
		})
	}
	t.Run("a note of 200 characters and the catalogue's texts", func(t *testing.T) {
		o := inState(t, filing.StateSubmitted)
		if _, err := o.Decide(ch(mat(form, filing.ReasonFormUnsigned, strings.Repeat("字", 200)), mat(form, filing.ReasonImageUnclear, "")), later); err != nil {
			t.Fatal(err)
		}
		r := o.LastReview()
		r0, _ := filing.LookupReason(filing.ReasonFormUnsigned)
		if r.Round != 1 || r.Outcome != filing.OutcomeChanges || r.Issues[0].SuggestZh != r0.SuggestZh || r.Issues[0].MessageZh != r0.MessageZh {
			t.Errorf("review %+v", r)
		}
		if !slices.Equal(r.Pending, []string{"material:verification_form"}) {
			t.Errorf("pending %v, want the one slot once", r.Pending)
		}
	})
}

func TestEdit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      filing.EditInput
		code    string
		field   string
		changed []string
	}{
		{"subject name", filing.EditInput{SubjectName: str(" 李四 ")}, "", "", []string{"subject_name"}},
		{"leader's number, mirrored to the website leader", filing.EditInput{SubjectLeader: &filing.PersonEdit{IDNumber: str("110105199003070017")}}, "", "",
			[]string{"subject_leader.id_number", "website_leader.id_number"}},
		{"domains", filing.EditInput{Domains: &[]string{"Example.ORG"}}, "", "", []string{"domains"}},
		{"same value", filing.EditInput{SubjectName: str("张三")}, "", "", nil},
		{"province", filing.EditInput{Province: str("CN-BJ")}, filing.CodeInvalidRequest, "province", nil},
		{"subject type", filing.EditInput{SubjectType: new(filing.SubjectType)}, filing.CodeInvalidRequest, "subject_type", nil},
		{"nothing", filing.EditInput{}, filing.CodeInvalidRequest, "", nil},
		{"bad id number", filing.EditInput{SubjectLeader: &filing.PersonEdit{IDNumber: str("110105199003070018")}}, filing.CodeInvalidIDNumber, "subject_leader.id_number", nil},
		{"expired", filing.EditInput{SubjectLeader: &filing.PersonEdit{IDValidUntil: str("2020-01-01")}}, filing.CodeIDExpired, "subject_leader.id_valid_until", nil},
		{"bad domain", filing.EditInput{Domains: &[]string{"http://www.example.com/"}}, filing.CodeInvalidRequest, "domains", nil},
		{"empty name", filing.EditInput{SubjectName: str(" ")}, filing.CodeInvalidRequest, "subject_name", nil},
		{"website leader while the same", filing.EditInput{WebsiteLeader: &filing.PersonEdit{Name: str("王五")}}, filing.CodeInvalidRequest, "website_leader", nil},
		{"not the same, without a website leader", filing.EditInput{WebsiteLeaderSame: new(bool)}, filing.CodeInvalidRequest, "website_leader", nil},
		{"org certificate on an individual", filing.EditInput{OrganizationCertificateType: new(filing.OrgCertificateType)}, filing.CodeInvalidRequest, "organization_certificate_type", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := inState(t, filing.StateUploaded)
			before := cloneOrder(o)
			changed, _, err := o.Edit(tt.in, later)
			if e := checkOutcome(t, before, o, nil, err, tt.code); e != nil {
				if tt.field != "" {
					checkDetail(t, e, "field", tt.field)
				}
				return
			}
			if !slices.Equal(changed, tt.changed) {
				t.Errorf("changed %v, want %v", changed, tt.changed)
			}
			if !slices.Equal(o.Edited, tt.changed) {
				t.Errorf("Edited %v, want %v", o.Edited, tt.changed)
			}
		})
	}
	t.Run("changes_requested: an unflagged field names the flagged ones", func(t *testing.T) {
		o := inState(t, filing.StateChangesRequested)
		before := cloneOrder(o)
		_, _, err := o.Edit(filing.EditInput{SubjectName: str("张三丰"), Domains: &[]string{"a.cn"}}, later)
		e := checkOutcome(t, before, o, nil, err, filing.CodeFieldLocked)
		checkDetail(t, e, "field", "domains")
		checkDetail(t, e, "flagged", []string{"subject_name"})
	})
}

func TestChangedSinceLastRound(t *testing.T) {
	t.Parallel()
	o := inState(t, filing.StateChangesRequested)
	if _, _, err := o.Edit(filing.EditInput{SubjectName: str("张三丰")}, later); err != nil {
		t.Fatal(err)
	}
	at := map[filing.Slot]time.Time{slFront: later, form: now.Add(-time.Hour)}
	c := o.ChangedSinceLastRound(func(s filing.Slot) time.Time { return at[s] })
	if !slices.Equal(c.Slots, []filing.Slot{slFront}) || !slices.Equal(c.Fields, []string{"subject_name"}) {
		t.Errorf("changed %+v", c)
	}
	o.MaterialReplaced(slFront)
	if _, err := o.Submit(has(fourImages...), later); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Decide(filing.Decision{Outcome: filing.OutcomeApprove}, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c := o.ChangedSinceLastRound(func(s filing.Slot) time.Time { return at[s] }); len(c.Slots)+len(c.Fields) != 0 {
		t.Errorf("after the next decision: %+v, want nothing", c)
	}
}

func TestCheckICPNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		province, n string
		ok          bool
	}{
		{"CN-GD", "粤ICP备2026012345号", true},
		{"CN-GD", "粤ICP备2026012345号-3", true},
		{"CN-BJ", "京ICP备05012345号", true},
		{"CN-XJ", "新ICP备2026000001号", true},
		{"CN-CQ", "渝ICP备2026012345号-12", true},
		{"CN-BJ", "粤ICP备2026012345号", false},
		{"CN-GD", "粤ICP备202601234号", false},
		{"CN-GD", "粤ICP备2026012345", false},
		{"CN-GD", "粤ICP证2026012345号", false},
		{"CN-GD", "粤ICP备2026012345号-0", false},
		{"CN-GD", "粤ICP备2026012345号-", false},
		{"CN-GD", " 粤ICP备2026012345号", false},
		{"CN-GD", "", false},
		{"CN-XX", "粤ICP备2026012345号", false},
	}
	for _, tt := range tests {
		err := filing.CheckICPNumber(tt.province, tt.n)
		if (err == nil) != tt.ok {
			t.Errorf("%s %q: err %v, want ok=%v", tt.province, tt.n, err, tt.ok)
		}
	}
	// Every province has its own abbreviation.
	seen := map[string]bool{}
	for _, p := range filing.Provinces {
		a := filing.ProvinceAbbr(p.Code)
		if a == "" || seen[a] {
			t.Errorf("%s: abbreviation %q", p.Code, a)
		}
		seen[a] = true
	}
	if filing.ProvinceAbbr("CN-GD") != "粤" || filing.ProvinceAbbr("CN-SN") != "陕" || filing.ProvinceAbbr("CN-SX") != "晋" {
		t.Error("abbreviations out of order")
	}
}

func TestReportAuthority(t *testing.T) {
	t.Parallel()
	t.Run("the whole way", func(t *testing.T) {
		o := inState(t, filing.StateAuthorityReview)
		if _, err := o.ReportAuthority(filing.AuthorityReport{Status: filing.AuthoritySMSSent}, later); err != nil {
			t.Fatal(err)
		}
		if o.Authority.SMSDeadline == nil || !o.Authority.SMSDeadline.Equal(later.Add(24*time.Hour)) {
			t.Fatalf("sms deadline %v", o.Authority.SMSDeadline)
		}
		if _, err := o.ReportAuthority(filing.AuthorityReport{Status: filing.AuthorityFiled, ICPNumber: "粤ICP备2026012345号"}, later); err != nil {
			t.Fatal(err)
		}
		if o.Authority.Status != filing.AuthorityFiled || o.Authority.ICPNumber != "粤ICP备2026012345号" || o.State != filing.StateFiled {
			t.Errorf("authority %+v state %s", o.Authority, o.State)
		}
	})
	for _, tt := range []struct {
		name string
		r    filing.AuthorityReport
		code string
	}{
		{"unknown status", filing.AuthorityReport{Status: "approved"}, filing.CodeInvalidRequest},
		{"filed with another province's number", filing.AuthorityReport{Status: filing.AuthorityFiled, ICPNumber: "京ICP备2026012345号"}, filing.CodeInvalidICPNumber},
		{"filed without a number", filing.AuthorityReport{Status: filing.AuthorityFiled}, filing.CodeInvalidICPNumber},
		{"rejected without a reason", filing.AuthorityReport{Status: filing.AuthorityRejected}, filing.CodeInvalidRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := inState(t, filing.StateAuthorityReview)
			before := cloneOrder(o)
			tr, err := o.ReportAuthority(tt.r, later)
			checkOutcome(t, before, o, tr, err, tt.code)
		})
	}
}
