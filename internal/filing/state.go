package filing

import (
	"strings"
	"time"
)

// Open reports whether materials and the upload method may still change.
func (s State) Open() bool { return s == StateDraft || s == StateUploaded }

func (o *Order) checkOpen() error {
	if !o.State.Open() {
		return ErrInvalidState.WithDetails(map[string]any{"state": string(o.State)})
	}
	return nil
}

// Transition is a change of state, for the state_changed event.
type Transition struct {
	From State `json:"from"`
	To   State `json:"to"`
}

// Settle moves an open order between draft and uploaded to match its materials, as the
// state machine does by itself. An order counts as uploaded only once its method is
// chosen and every required material is present *(our choice: after withdraw the method
// is cleared, and the order stays a draft until the user chooses again)*.
func (o *Order) Settle(uploaded func(Slot) bool, now time.Time) *Transition {
	if !o.State.Open() {
		return nil
	}
	want := StateDraft
	if o.UploadMethod != MethodNone && len(o.Missing(uploaded)) == 0 {
		want = StateUploaded
	}
	return o.moveTo(want, now)
}

func (o *Order) moveTo(to State, now time.Time) *Transition {
	if o.State == to {
		return nil
	}
	t := &Transition{From: o.State, To: to}
	o.State = to
	o.UpdatedAt = now.UTC()
	return t
}

// ChooseMethod sets the upload method. The app is allowed only where app verification is
// open (appAvailable).
func (o *Order) ChooseMethod(m UploadMethod, appAvailable bool, now time.Time) error {
	if m != MethodApp && m != MethodPC {
		return fieldErr("method", "method must be \"app\" or \"pc\".", "请选择上传方式：app 或 pc。")
	}
	if err := o.checkOpen(); err != nil {
		return err
	}
	if m == MethodApp && !appAvailable {
		return ErrProvinceNotSupported.WithDetails(map[string]any{"province": o.Province})
	}
	o.UploadMethod = m
	o.UpdatedAt = now.UTC()
	return nil
}

// CheckPairing decides whether a QR pairing may be created or claimed for the order: in
// the open states, and while changes are requested (the phone then re-uploads only the
// flagged slots).
func (o *Order) CheckPairing(appAvailable bool) error {
	if o.State != StateChangesRequested {
		if err := o.checkOpen(); err != nil {
			return err
		}
	}
	if o.UploadMethod != MethodApp {
		return ErrUploadMethodNotApp
	}
	if !appAvailable {
		return ErrProvinceNotSupported.WithDetails(map[string]any{"province": o.Province})
	}
	return nil
}

// Submit sends an uploaded order for review, or a changes_requested order whose flagged
// items are all fixed for its next round. Either way the round goes up by one.
func (o *Order) Submit(uploaded func(Slot) bool, now time.Time) (*Transition, error) {
	if o.State == StateChangesRequested {
		if pending := o.Pending(); len(pending) > 0 {
			return nil, ErrChangesIncomplete.WithDetails(map[string]any{"pending": pending})
		}
		return o.submitted(now), nil
	}
	if err := o.checkOpen(); err != nil {
		return nil, err
	}
	if missing := o.Missing(uploaded); len(missing) > 0 {
		return nil, ErrMaterialsIncomplete.WithDetails(map[string]any{"missing": missing})
	}
	if o.State != StateUploaded {
		// Every required material is present but the method is not chosen.
		return nil, ErrInvalidState.WithMessage(
			"Choose the upload method before submitting.", "提交前请先选择上传资料的方式。").
			WithDetails(map[string]any{"state": string(o.State)})
	}
	return o.submitted(now), nil
}

func (o *Order) submitted(now time.Time) *Transition {
	o.Round++
	o.SubmittedAt = now.UTC()
	return o.moveTo(StateSubmitted, now)
}

// Review records the back office's whole-order decision (approve, or reject outright)
// as a review round; unlike a reviewer's decision a rejection may come without a reason.
func (o *Order) Review(approved bool, reason string, now time.Time) (*Transition, error) {
	d := Decision{Outcome: OutcomeApprove}
	if !approved {
		// The back office's reason is cut to the limit rather than refused.
		r := []rune(strings.TrimSpace(reason))
		d = Decision{Outcome: OutcomeReject, Reason: string(r[:min(len(r), MaxReason)])}
	}
	return o.decide(d, false, now)
}

// Withdrawable reports whether the owner may withdraw an order in state s.
func (s State) Withdrawable() bool {
	switch s {
	case StateSubmitted, StateChangesRequested, StateRejected, StateAuthorityRejected:
		return true
	}
	return false
}

// Withdraw takes a submitted, changes_requested or rejected order (by the provider or the
// authority) back to draft and clears the upload method, so the user can choose the method
// again (the source document's last question). The materials are kept, and so are the
// review rounds: a rejection's reasons stay readable.
func (o *Order) Withdraw(now time.Time) (*Transition, error) {
	if !o.State.Withdrawable() {
		return nil, ErrInvalidState.WithDetails(map[string]any{"state": string(o.State)})
	}
	o.UploadMethod = MethodNone
	return o.moveTo(StateDraft, now), nil
}
