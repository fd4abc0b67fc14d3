package filing

import "time"

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

// CheckPairing decides whether a QR pairing may be created or claimed for the order.
func (o *Order) CheckPairing(appAvailable bool) error {
	if err := o.checkOpen(); err != nil {
		return err
	}
	if o.UploadMethod != MethodApp {
		return ErrUploadMethodNotApp
	}
	if !appAvailable {
		return ErrProvinceNotSupported.WithDetails(map[string]any{"province": o.Province})
	}
	return nil
}

// Submit sends an uploaded order for review.
func (o *Order) Submit(uploaded func(Slot) bool, now time.Time) (*Transition, error) {
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
	return o.moveTo(StateSubmitted, now), nil
}

// Review records the authority's decision on a submitted order.
func (o *Order) Review(approved bool, reason string, now time.Time) (*Transition, error) {
	if o.State != StateSubmitted {
		return nil, ErrInvalidState.WithDetails(map[string]any{"state": string(o.State)})
	}
	if approved {
		o.RejectReason = ""
		return o.moveTo(StateApproved, now), nil
	}
	o.RejectReason = truncate(reason, 500)
	return o.moveTo(StateRejected, now), nil
}

// Withdraw takes a submitted or rejected order back to draft and clears the upload method,
// so the user can choose the method again (the source document's last question). The
// materials are kept.
func (o *Order) Withdraw(now time.Time) (*Transition, error) {
	if o.State != StateSubmitted && o.State != StateRejected {
		return nil, ErrInvalidState.WithDetails(map[string]any{"state": string(o.State)})
	}
	o.UploadMethod = MethodNone
	return o.moveTo(StateDraft, now), nil
}
