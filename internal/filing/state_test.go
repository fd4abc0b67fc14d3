package filing_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/beianscan/beianscan/internal/filing"
)

// personalOrder is an individual order with a resident ID and the same website leader:
// it requires subject_leader_id_front, subject_leader_id_back and verification_form, plus
// face_photo with the app.
func personalOrder(tb testing.TB, st filing.State, m filing.UploadMethod) *filing.Order {
	tb.Helper()
	o := newOrder(tb, individualInput())
	o.State, o.UploadMethod = st, m
	return o
}

var threeImages = []filing.Slot{slFront, slBack, form}

func checkTransition(tb testing.TB, got *filing.Transition, from, to filing.State) {
	tb.Helper()
	if from == "" {
		if got != nil {
			tb.Errorf("transition = %+v, want none", *got)
		}
		return
	}
	if got == nil {
		tb.Fatalf("transition = nil, want %s→%s", from, to)
	}
	if got.From != from || got.To != to {
		tb.Errorf("transition = %s→%s, want %s→%s", got.From, got.To, from, to)
	}
}

func TestStateOpen(t *testing.T) {
	t.Parallel()
	for st, want := range map[filing.State]bool{
		filing.StateDraft: true, filing.StateUploaded: true,
		filing.StateSubmitted: false, filing.StateApproved: false, filing.StateRejected: false, "": false,
	} {
		if got := st.Open(); got != want {
			t.Errorf("State(%q).Open() = %v, want %v", st, got, want)
		}
	}
}

func TestSettle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		state    filing.State
		method   filing.UploadMethod
		uploaded []filing.Slot
		want     filing.State
		from     filing.State // "" means no transition
	}{
		{"draft, pc, all present → uploaded", filing.StateDraft, filing.MethodPC, threeImages, filing.StateUploaded, filing.StateDraft},
		{"draft, pc, with optional ones → uploaded", filing.StateDraft, filing.MethodPC, append(slices.Clone(threeImages), suppl, domCert), filing.StateUploaded, filing.StateDraft},
		{"draft, pc, nothing", filing.StateDraft, filing.MethodPC, nil, filing.StateDraft, ""},
		{"draft, pc, one missing", filing.StateDraft, filing.MethodPC, []filing.Slot{slFront, form}, filing.StateDraft, ""},
		{"draft, app, no face photo", filing.StateDraft, filing.MethodApp, threeImages, filing.StateDraft, ""},
		{"draft, app, with face photo → uploaded", filing.StateDraft, filing.MethodApp, append(slices.Clone(threeImages), face), filing.StateUploaded, filing.StateDraft},
		{"draft, method none, everything present", filing.StateDraft, filing.MethodNone, append(slices.Clone(threeImages), face), filing.StateDraft, ""},
		{"uploaded, pc, all present", filing.StateUploaded, filing.MethodPC, threeImages, filing.StateUploaded, ""},
		{"uploaded, pc, back removed → draft", filing.StateUploaded, filing.MethodPC, []filing.Slot{slFront, form}, filing.StateDraft, filing.StateUploaded},
		{"uploaded, app, face photo removed → draft", filing.StateUploaded, filing.MethodApp, threeImages, filing.StateDraft, filing.StateUploaded},
		{"uploaded, method none → draft", filing.StateUploaded, filing.MethodNone, threeImages, filing.StateDraft, filing.StateUploaded},
		{"submitted stays, nothing present", filing.StateSubmitted, filing.MethodPC, nil, filing.StateSubmitted, ""},
		{"approved stays, nothing present", filing.StateApproved, filing.MethodPC, nil, filing.StateApproved, ""},
		{"rejected stays, all present", filing.StateRejected, filing.MethodPC, threeImages, filing.StateRejected, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := personalOrder(t, tt.state, tt.method)
			before := cloneOrder(o)
			tr := o.Settle(has(tt.uploaded...), later)
			checkTransition(t, tr, tt.from, tt.want)
			if o.State != tt.want {
				t.Errorf("state = %s, want %s", o.State, tt.want)
			}
			if tt.from == "" {
				assertUnchanged(t, before, o)
				return
			}
			checkStamped(t, o)
			// Only the state and its time moved.
			before.State, before.UpdatedAt = o.State, o.UpdatedAt
			assertUnchanged(t, before, o)
		})
	}
}

// TestSettleFollowsTheMethod: changing the method changes what is required, and Settle
// follows it both ways.
func TestSettleFollowsTheMethod(t *testing.T) {
	t.Parallel()
	o := personalOrder(t, filing.StateDraft, filing.MethodNone)
	up := slices.Clone(threeImages)
	uploaded := func(s filing.Slot) bool { return slices.Contains(up, s) }

	checkTransition(t, o.Settle(uploaded, now), "", "")
	checkErr(t, o.ChooseMethod(filing.MethodPC, false, now), "")
	checkTransition(t, o.Settle(uploaded, now), filing.StateDraft, filing.StateUploaded)

	checkErr(t, o.ChooseMethod(filing.MethodApp, true, now), "")
	if got := o.Missing(uploaded); !slices.Equal(got, []filing.Slot{face}) {
		t.Errorf("Missing after choosing the app = %v, want [face_photo]", got)
	}
	checkTransition(t, o.Settle(uploaded, now), filing.StateUploaded, filing.StateDraft)

	up = append(up, face)
	checkTransition(t, o.Settle(uploaded, now), filing.StateDraft, filing.StateUploaded)

	checkErr(t, o.ChooseMethod(filing.MethodPC, true, now), "")
	checkTransition(t, o.Settle(uploaded, now), "", "")
	if o.State != filing.StateUploaded {
		t.Errorf("state = %s, want uploaded", o.State)
	}
}

func TestChooseMethod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		state        filing.State
		from         filing.UploadMethod
		method       filing.UploadMethod
		appAvailable bool
		code         string
		detailKey    string
		detail       any
	}{
		{"draft, pc", filing.StateDraft, filing.MethodNone, filing.MethodPC, false, "", "", nil},
		{"draft, app where open", filing.StateDraft, filing.MethodNone, filing.MethodApp, true, "", "", nil},
		{"uploaded, pc to app", filing.StateUploaded, filing.MethodPC, filing.MethodApp, true, "", "", nil},
		{"uploaded, app to pc", filing.StateUploaded, filing.MethodApp, filing.MethodPC, true, "", "", nil},
		{"draft, app where not open", filing.StateDraft, filing.MethodNone, filing.MethodApp, false, filing.CodeProvinceNotSupported, "province", "CN-GD"},
		{"uploaded, pc to app where not open", filing.StateUploaded, filing.MethodPC, filing.MethodApp, false, filing.CodeProvinceNotSupported, "province", "CN-GD"},
		{"empty method", filing.StateDraft, filing.MethodNone, "", true, filing.CodeInvalidRequest, "field", "method"},
		{"upper-case APP", filing.StateDraft, filing.MethodNone, "APP", true, filing.CodeInvalidRequest, "field", "method"},
		{"unknown method", filing.StateDraft, filing.MethodPC, "wechat", true, filing.CodeInvalidRequest, "field", "method"},
		{"submitted", filing.StateSubmitted, filing.MethodPC, filing.MethodApp, true, filing.CodeInvalidState, "state", "submitted"},
		{"submitted, pc again", filing.StateSubmitted, filing.MethodPC, filing.MethodPC, true, filing.CodeInvalidState, "state", "submitted"},
		{"approved", filing.StateApproved, filing.MethodPC, filing.MethodPC, true, filing.CodeInvalidState, "state", "approved"},
		{"rejected", filing.StateRejected, filing.MethodApp, filing.MethodPC, true, filing.CodeInvalidState, "state", "rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := personalOrder(t, tt.state, tt.from)
			before := cloneOrder(o)
			e := checkOutcome(t, before, o, nil, o.ChooseMethod(tt.method, tt.appAvailable, later), tt.code)
			if e != nil {
				checkDetail(t, e, tt.detailKey, tt.detail)
				return
			}
			if o.UploadMethod != tt.method {
				t.Errorf("UploadMethod = %q, want %q", o.UploadMethod, tt.method)
			}
			if o.State != tt.state {
				t.Errorf("ChooseMethod moved the state to %s; Settle does that", o.State)
			}
			checkStamped(t, o)
		})
	}
}

func TestCheckPairing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		state        filing.State
		method       filing.UploadMethod
		appAvailable bool
		code         string
	}{
		{"draft, app", filing.StateDraft, filing.MethodApp, true, ""},
		{"uploaded, app", filing.StateUploaded, filing.MethodApp, true, ""},
		{"method pc", filing.StateDraft, filing.MethodPC, true, filing.CodeUploadMethodNotApp},
		{"method not chosen", filing.StateDraft, filing.MethodNone, true, filing.CodeUploadMethodNotApp},
		{"province closed since", filing.StateDraft, filing.MethodApp, false, filing.CodeProvinceNotSupported},
		{"submitted", filing.StateSubmitted, filing.MethodApp, true, filing.CodeInvalidState},
		{"approved", filing.StateApproved, filing.MethodApp, true, filing.CodeInvalidState},
		{"rejected", filing.StateRejected, filing.MethodApp, true, filing.CodeInvalidState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := personalOrder(t, tt.state, tt.method)
			before := cloneOrder(o)
			// Checking never changes the order, whether it allows the pairing or not.
			if checkOutcome(t, before, o, nil, o.CheckPairing(tt.appAvailable), tt.code) == nil {
				assertUnchanged(t, before, o)
			}
		})
	}
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		state    filing.State
		method   filing.UploadMethod
		uploaded []filing.Slot
		code     string
		missing  []filing.Slot
	}{
		{"uploaded, pc", filing.StateUploaded, filing.MethodPC, threeImages, "", nil},
		{"uploaded, app", filing.StateUploaded, filing.MethodApp, append(slices.Clone(threeImages), face), "", nil},
		{"draft, nothing uploaded", filing.StateDraft, filing.MethodPC, nil, filing.CodeMaterialsIncomplete, threeImages},
		{"two missing", filing.StateUploaded, filing.MethodPC, []filing.Slot{slFront, suppl}, filing.CodeMaterialsIncomplete, []filing.Slot{slBack, form}},
		{"app, face photo missing", filing.StateDraft, filing.MethodApp, threeImages, filing.CodeMaterialsIncomplete, []filing.Slot{face}},
		{"method none, one missing", filing.StateDraft, filing.MethodNone, []filing.Slot{slFront, slBack}, filing.CodeMaterialsIncomplete, []filing.Slot{form}},
		{"method none, all present", filing.StateDraft, filing.MethodNone, threeImages, filing.CodeInvalidState, nil},
		{"draft not yet settled", filing.StateDraft, filing.MethodPC, threeImages, filing.CodeInvalidState, nil},
		{"submitted", filing.StateSubmitted, filing.MethodPC, threeImages, filing.CodeInvalidState, nil},
		{"approved", filing.StateApproved, filing.MethodPC, threeImages, filing.CodeInvalidState, nil},
		{"rejected", filing.StateRejected, filing.MethodPC, threeImages, filing.CodeInvalidState, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := personalOrder(t, tt.state, tt.method)
			before := cloneOrder(o)
			tr, err := o.Submit(has(tt.uploaded...), later)
			if e := checkOutcome(t, before, o, tr, err, tt.code); e != nil {
				if tt.code == filing.CodeMaterialsIncomplete {
					got := slotNames(t, e.Details["missing"])
					if want := slotStrings(tt.missing); !slices.Equal(got, want) {
						t.Errorf("details.missing = %v, want %v", got, want)
					}
				}
				return
			}
			checkTransition(t, tr, filing.StateUploaded, filing.StateSubmitted)
			if o.State != filing.StateSubmitted || !o.UpdatedAt.Equal(later) {
				t.Errorf("state %s at %v, want submitted at %v", o.State, o.UpdatedAt, later)
			}
			if o.UploadMethod != tt.method {
				t.Errorf("UploadMethod = %q, want %q", o.UploadMethod, tt.method)
			}
		})
	}
}

func TestReview(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("证", 600)
	tests := []struct {
		name       string
		state      filing.State
		approved   bool
		reason     string
		code       string
		wantState  filing.State
		wantReason string
	}{
		{"approved", filing.StateSubmitted, true, "", "", filing.StateApproved, ""},
		{"approved, reason ignored and old one cleared", filing.StateSubmitted, true, "看起来不错", "", filing.StateApproved, ""},
		{"rejected with reason", filing.StateSubmitted, false, "真实性核验单未加盖公章", "", filing.StateRejected, "真实性核验单未加盖公章"},
		{"rejected without reason", filing.StateSubmitted, false, "", "", filing.StateRejected, ""},
		{"draft", filing.StateDraft, true, "", filing.CodeInvalidState, "", ""},
		{"uploaded", filing.StateUploaded, false, "x", filing.CodeInvalidState, "", ""},
		{"approved again", filing.StateApproved, false, "x", filing.CodeInvalidState, "", ""},
		{"rejected again", filing.StateRejected, true, "", filing.CodeInvalidState, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := personalOrder(t, tt.state, filing.MethodPC)
			o.RejectReason = "上次的原因"
			before := cloneOrder(o)
			tr, err := o.Review(tt.approved, tt.reason, later)
			if checkOutcome(t, before, o, tr, err, tt.code) != nil {
				return
			}
			checkTransition(t, tr, filing.StateSubmitted, tt.wantState)
			if o.State != tt.wantState || o.RejectReason != tt.wantReason {
				t.Errorf("state %s reason %q, want %s %q", o.State, o.RejectReason, tt.wantState, tt.wantReason)
			}
			checkStamped(t, o)
		})
	}
	t.Run("long reason is cut", func(t *testing.T) {
		o := personalOrder(t, filing.StateSubmitted, filing.MethodPC)
		if _, err := o.Review(false, long, later); err != nil {
			t.Fatal(err)
		}
		n := utf8.RuneCountInString(o.RejectReason)
		if n >= 600 || n < 500 || !strings.HasPrefix(o.RejectReason, strings.Repeat("证", 500)) {
			t.Errorf("reason of %d runes stored as %d runes", 600, n)
		}
	})
}

func TestWithdraw(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		state  filing.State
		method filing.UploadMethod
		code   string
	}{
		{"submitted, app", filing.StateSubmitted, filing.MethodApp, ""},
		{"submitted, pc", filing.StateSubmitted, filing.MethodPC, ""},
		{"rejected", filing.StateRejected, filing.MethodPC, ""},
		{"draft", filing.StateDraft, filing.MethodPC, filing.CodeInvalidState},
		{"draft without method", filing.StateDraft, filing.MethodNone, filing.CodeInvalidState},
		{"uploaded", filing.StateUploaded, filing.MethodApp, filing.CodeInvalidState},
		{"approved", filing.StateApproved, filing.MethodPC, filing.CodeInvalidState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := personalOrder(t, tt.state, tt.method)
			before := cloneOrder(o)
			tr, err := o.Withdraw(later)
			if checkOutcome(t, before, o, tr, err, tt.code) != nil {
				return
			}
			checkTransition(t, tr, tt.state, filing.StateDraft)
			if o.State != filing.StateDraft || o.UploadMethod != filing.MethodNone {
				t.Errorf("state %s method %q, want draft and no method", o.State, o.UploadMethod)
			}
			checkStamped(t, o)
			// Nothing else changes: the materials and the order's data are kept.
			before.State, before.UploadMethod, before.UpdatedAt = o.State, o.UploadMethod, o.UpdatedAt
			assertUnchanged(t, before, o)
		})
	}
}

// TestLifecycle walks the contract's state machine end to end: app upload, submission,
// rejection, withdrawal, a change to the PC, resubmission and approval.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	o := newOrder(t, individualInput())
	var up []filing.Slot
	uploaded := func(s filing.Slot) bool { return slices.Contains(up, s) }
	step := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	step("choose app", o.ChooseMethod(filing.MethodApp, true, now))
	for _, s := range []filing.Slot{slFront, slBack, form, face} {
		step("upload "+string(s), o.CheckUpload(s, filing.ViaApp))
		up = append(up, s)
		o.Settle(uploaded, now)
	}
	if o.State != filing.StateUploaded {
		t.Fatalf("state after all uploads = %s, want uploaded", o.State)
	}
	_, err := o.Submit(uploaded, now)
	step("submit", err)
	checkErr(t, o.CheckUpload(suppl, filing.ViaPC), filing.CodeInvalidState)
	_, err = o.Review(false, "照片模糊", now)
	step("reject", err)
	_, err = o.Withdraw(now)
	step("withdraw", err)
	if o.State != filing.StateDraft || o.UploadMethod != filing.MethodNone {
		t.Fatalf("after withdraw: %s %q", o.State, o.UploadMethod)
	}
	checkTransition(t, o.Settle(uploaded, now), "", "")
	_, err = o.Submit(uploaded, now)
	checkErr(t, err, filing.CodeInvalidState)

	step("choose pc", o.ChooseMethod(filing.MethodPC, true, now))
	checkTransition(t, o.Settle(uploaded, now), filing.StateDraft, filing.StateUploaded)
	_, err = o.Submit(uploaded, now)
	step("resubmit", err)
	_, err = o.Review(true, "", now)
	step("approve", err)
	if o.State != filing.StateApproved || o.RejectReason != "" {
		t.Errorf("final: %s %q, want approved with no reason", o.State, o.RejectReason)
	}
	_, err = o.Withdraw(now)
	checkErr(t, err, filing.CodeInvalidState)
}
