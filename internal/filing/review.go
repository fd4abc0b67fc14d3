package filing

import (
	"fmt"
	"slices"
	"time"
)

// Outcome is a review decision's result.
type Outcome string

const (
	OutcomeApprove Outcome = "approve"
	OutcomeChanges Outcome = "changes"
	OutcomeReject  Outcome = "reject"
)

// Issue targets: a material (by slot) or a field of the order.
const (
	IssueMaterial = "material"
	IssueField    = "field"
)

// MaxNote is the longest note a reviewer may add to an issue, in characters; the owner
// reads it, so it stays short.
const MaxNote = 200

// MaxReason is the longest reason of a rejection, in characters.
const MaxReason = 500

// ReviewFields are the order's fields a reviewer may flag, by their names in the order's
// JSON. An ID type cannot be flagged: changing it changes the required materials (the owner
// withdraws for that).
var ReviewFields = []string{
	"subject_name", "organization_certificate_type", "domains",
	"subject_leader.name", "subject_leader.id_number", "subject_leader.id_valid_until",
	"website_leader.name", "website_leader.id_number", "website_leader.id_valid_until",
}

// Issue is one thing a reviewer found wrong. Message, MessageZh and SuggestZh are filled
// in from the reason catalogue when the decision is recorded, so the owner reads them as
// they were when the reviewer decided.
type Issue struct {
	Target    string     `json:"target"`
	Slot      Slot       `json:"slot,omitempty"`
	Field     string     `json:"field,omitempty"`
	Code      ReasonCode `json:"code"`
	Note      string     `json:"note"`
	Message   string     `json:"message,omitempty"`
	MessageZh string     `json:"message_zh,omitempty"`
	SuggestZh string     `json:"suggest_zh,omitempty"`
}

// PendingKey is how an issue's target is named in Review.Pending: "material:SLOT" or
// "field:NAME".
func (i Issue) PendingKey() string {
	if i.Target == IssueMaterial {
		return pendingMaterial(i.Slot)
	}
	return pendingField(i.Field)
}

func pendingMaterial(s Slot) string   { return IssueMaterial + ":" + string(s) }
func pendingField(name string) string { return IssueField + ":" + name }

// Review is one round's decision (the contract's REVIEW). The reviewer's name is not part
// of it: the owner sees it, and the audit trail keeps who decided.
type Review struct {
	Round     int       `json:"round"`
	Outcome   Outcome   `json:"outcome"`
	Issues    []Issue   `json:"issues"`
	Reason    string    `json:"reason"`
	DecidedAt time.Time `json:"decided_at"`
	// Pending is what the owner must still fix, as "material:SLOT" and "field:NAME".
	Pending []string `json:"pending"`
}

// Decision is what a reviewer (or the back office) decides about a submitted order.
type Decision struct {
	Outcome Outcome `json:"outcome"`
	Issues  []Issue `json:"issues"`
	Reason  string  `json:"reason"`
}

// LastReview is the order's latest decision, or nil before the first.
func (o *Order) LastReview() *Review {
	if len(o.Reviews) == 0 {
		return nil
	}
	return &o.Reviews[len(o.Reviews)-1]
}

// FlaggedSlots are the slots the current request for changes names, in the order of its
// issues; empty unless the order is changes_requested.
func (o *Order) FlaggedSlots() []Slot {
	r := o.LastReview()
	if o.State != StateChangesRequested || r == nil {
		return []Slot{}
	}
	out := []Slot{}
	for _, i := range r.Issues {
		if i.Target == IssueMaterial && !slices.Contains(out, i.Slot) {
			out = append(out, i.Slot)
		}
	}
	return out
}

// flaggedField reports whether the current request for changes names the field.
func (o *Order) flaggedField(name string) bool {
	r := o.LastReview()
	if o.State != StateChangesRequested || r == nil {
		return false
	}
	return slices.ContainsFunc(r.Issues, func(i Issue) bool { return i.Target == IssueField && i.Field == name })
}

// Pending is what the owner must still fix before submitting again (REVIEW.pending), empty
// unless the order is changes_requested.
func (o *Order) Pending() []string {
	r := o.LastReview()
	if o.State != StateChangesRequested || r == nil {
		return []string{}
	}
	return slices.Clone(r.Pending)
}

// fixed removes key from the current request's pending items.
func (o *Order) fixed(key string) bool {
	r := o.LastReview()
	if o.State != StateChangesRequested || r == nil {
		return false
	}
	i := slices.Index(r.Pending, key)
	if i < 0 {
		return false
	}
	r.Pending = slices.Delete(r.Pending, i, i+1)
	return true
}

// MaterialReplaced notes that a new material was stored in slot s, which fixes that slot's
// pending item while changes are requested. It reports whether anything was pending.
func (o *Order) MaterialReplaced(s Slot) bool { return o.fixed(pendingMaterial(s)) }

// ChangedSince is what changed since the last decision: the slots whose material was
// stored after it and the fields edited since. uploadedAt gives a slot's upload time
// (zero: none).
type ChangedSince struct {
	Slots  []Slot   `json:"slots"`
	Fields []string `json:"fields"`
}

// ChangedSinceLastRound lists the slots uploaded and the fields edited since the last
// decision; both empty before the first.
func (o *Order) ChangedSinceLastRound(uploadedAt func(Slot) time.Time) ChangedSince {
	c := ChangedSince{Slots: []Slot{}, Fields: []string{}}
	r := o.LastReview()
	if r == nil {
		return c
	}
	for _, s := range AllSlots() {
		if t := uploadedAt(s); !t.IsZero() && t.After(r.DecidedAt) {
			c.Slots = append(c.Slots, s)
		}
	}
	c.Fields = append(c.Fields, o.Edited...)
	return c
}

// Decide records a review decision on a submitted order: approve → approved, changes →
// changes_requested (only the flagged items may change, and each must be fixed before the
// next round), reject → rejected. A refused decision leaves the order as it was.
func (o *Order) Decide(d Decision, now time.Time) (*Transition, error) {
	return o.decide(d, true, now)
}

func (o *Order) decide(d Decision, needReason bool, now time.Time) (*Transition, error) {
	if o.State != StateSubmitted {
		return nil, ErrInvalidState.WithDetails(map[string]any{"state": string(o.State)})
	}
	rev, err := o.checkDecision(d, needReason)
	if err != nil {
		return nil, err
	}
	rev.Round = o.Round
	rev.DecidedAt = now.UTC()
	to := StateApproved
	o.RejectReason = ""
	switch d.Outcome {
	case OutcomeChanges:
		to = StateChangesRequested
	case OutcomeReject:
		to = StateRejected
		o.RejectReason = rev.Reason
	}
	o.Reviews = append(o.Reviews, rev)
	o.Edited = nil
	return o.moveTo(to, now), nil
}

func invalidDecision(en, zh string, details map[string]any) error {
	return ErrInvalidRequest.WithMessage(en, zh).WithDetails(details)
}

// checkDecision validates d against the order and returns the review it records, with the
// catalogue's texts filled in and the pending items listed.
func (o *Order) checkDecision(d Decision, needReason bool) (Review, error) {
	rev := Review{Outcome: d.Outcome, Issues: []Issue{}, Pending: []string{}}
	switch d.Outcome {
	case OutcomeApprove, OutcomeChanges, OutcomeReject:
	default:
		return rev, invalidDecision("outcome must be approve, changes or reject.",
			"审核结论应为 approve（通过）、changes（退回补正）或 reject（驳回）。", map[string]any{"field": "outcome"})
	}
	reason, err := CleanText(d.Reason, MaxReason, "reason")
	if err != nil {
		return rev, err
	}
	rev.Reason = reason
	switch {
	case d.Outcome == OutcomeApprove && len(d.Issues) > 0:
		return rev, invalidDecision("An approval has no issues.", "审核通过时不能列出问题。",
			map[string]any{"field": "issues", "problem": "not_allowed"})
	case d.Outcome == OutcomeChanges && len(d.Issues) == 0:
		return rev, invalidDecision("A request for changes needs at least one issue.", "退回补正须至少指出一个问题。",
			map[string]any{"field": "issues", "problem": "missing"})
	case d.Outcome == OutcomeReject && reason == "" && needReason:
		return rev, invalidDecision("A rejection needs a reason.", "驳回须填写原因。",
			map[string]any{"field": "reason", "problem": "missing"})
	}
	const maxIssues = 50
	if len(d.Issues) > maxIssues {
		return rev, invalidDecision("At most 50 issues.", "问题最多 50 条。", map[string]any{"field": "issues", "problem": "too_many"})
	}
	for n, in := range d.Issues {
		is, err := o.checkIssue(n, in)
		if err != nil {
			return rev, err
		}
		rev.Issues = append(rev.Issues, is)
		if d.Outcome == OutcomeChanges && !slices.Contains(rev.Pending, is.PendingKey()) {
			rev.Pending = append(rev.Pending, is.PendingKey())
		}
	}
	return rev, nil
}

// checkIssue validates the n-th issue; details name it (index) and what is wrong with it.
func (o *Order) checkIssue(n int, in Issue) (Issue, error) {
	bad := func(field, problem, en, zh string) (Issue, error) {
		return Issue{}, invalidDecision(en, zh, map[string]any{
			"field": fmt.Sprintf("issues[%d].%s", n, field), "index": n, "problem": problem})
	}
	out := Issue{Target: in.Target, Code: in.Code}
	var target string
	switch in.Target {
	case IssueMaterial:
		if !in.Slot.Valid() {
			return bad("slot", "unknown_slot", "Unknown material slot.", "资料类型不存在。")
		}
		if !o.uses(in.Slot) {
			return bad("slot", "slot_not_required", "The order does not use this material slot.", "该备案订单不需要此项资料。")
		}
		if in.Field != "" {
			return bad("field", "not_allowed", "A material issue has no field.", "资料问题不能指定字段。")
		}
		out.Slot, target = in.Slot, string(in.Slot)
	case IssueField:
		if !slices.Contains(ReviewFields, in.Field) {
			return bad("field", "unknown_field", "Unknown or unflaggable field.", "该字段不存在或不能标记。")
		}
		if in.Slot != "" {
			return bad("slot", "not_allowed", "A field issue has no slot.", "字段问题不能指定资料。")
		}
		if in.Field == "organization_certificate_type" && o.SubjectType != Organization {
			return bad("field", "field_not_used", "An individual order has no organization certificate type.", "个人备案没有单位证件类型。")
		}
		out.Field, target = in.Field, TargetField
	default:
		return bad("target", "unknown_target", "target must be material or field.", "问题对象应为 material（资料）或 field（字段）。")
	}
	r, ok := LookupReason(in.Code)
	if !ok {
		return bad("code", "unknown_code", "Unknown reason code.", "问题原因不在原因目录中。")
	}
	if !r.Allows(target) {
		return bad("code", "code_not_allowed", "This reason cannot be used on that target.", "该原因不适用于此资料或字段。")
	}
	note, err := CleanText(in.Note, MaxNote, fmt.Sprintf("issues[%d].note", n))
	if err != nil {
		return Issue{}, err
	}
	if r.NeedsNote && note == "" {
		return bad("note", "note_required", "This reason needs a note saying what is wrong.", "该原因须填写说明。")
	}
	out.Note = note
	out.Message, out.MessageZh, out.SuggestZh = r.Message, r.MessageZh, r.SuggestZh
	return out, nil
}
