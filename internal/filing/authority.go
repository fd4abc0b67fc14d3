package filing

import (
	"regexp"
	"strings"
	"time"
)

// AuthorityStatus is a stage of the authority's handling (管局审核) that the provider's back
// office reports.
type AuthorityStatus string

const (
	// AuthoritySubmitted: the provider passed the approved order on to the authority.
	AuthoritySubmitted AuthorityStatus = "submitted"
	// AuthoritySMSSent: the MIIT text message (工信部短信核验) was sent; it must be answered
	// within SMSWindow.
	AuthoritySMSSent AuthorityStatus = "sms_sent"
	// AuthorityFiled: filed, with the ICP number.
	AuthorityFiled AuthorityStatus = "filed"
	// AuthorityRejected: the authority sent it back, with a reason.
	AuthorityRejected AuthorityStatus = "rejected"
)

// SMSWindow is how long the owner has to answer the authority's text message.
const SMSWindow = 24 * time.Hour

// Authority is the authority's progress on an order (the contract's AUTHORITY).
type Authority struct {
	Status      AuthorityStatus `json:"status"`
	ICPNumber   string          `json:"icp_number"`
	Reason      string          `json:"reason"`
	SMSDeadline *time.Time      `json:"sms_deadline"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// AuthorityReport is what the back office reports.
type AuthorityReport struct {
	Status    AuthorityStatus `json:"status"`
	ICPNumber string          `json:"icp_number"`
	Reason    string          `json:"reason"`
}

// ReportAuthority applies a stage of the authority's handling: submitted (from approved) →
// authority_review; sms_sent (in authority_review) sets the text message's deadline;
// filed (from authority_review, with an ICP number of the order's province) → filed;
// rejected (from authority_review, with a reason) → authority_rejected. It returns the
// transition, nil for sms_sent.
func (o *Order) ReportAuthority(r AuthorityReport, now time.Time) (*Transition, error) {
	from := StateAuthorityReview
	switch r.Status {
	case AuthoritySubmitted:
		from = StateApproved
	case AuthoritySMSSent, AuthorityFiled, AuthorityRejected:
	default:
		return nil, fieldErr("status", "status must be submitted, sms_sent, filed or rejected.",
			"管局进度应为 submitted、sms_sent、filed 或 rejected。")
	}
	if o.State != from {
		return nil, ErrInvalidState.WithDetails(map[string]any{"state": string(o.State)})
	}
	now = now.UTC()
	a := Authority{Status: r.Status, UpdatedAt: now}
	if o.Authority != nil {
		a.SMSDeadline = o.Authority.SMSDeadline
	}
	to := o.State
	switch r.Status {
	case AuthoritySubmitted:
		to, a.SMSDeadline = StateAuthorityReview, nil
	case AuthoritySMSSent:
		d := now.Add(SMSWindow)
		a.SMSDeadline = &d
	case AuthorityFiled:
		n := strings.TrimSpace(r.ICPNumber)
		if err := CheckICPNumber(o.Province, n); err != nil {
			return nil, err
		}
		to, a.ICPNumber = StateFiled, n
	case AuthorityRejected:
		reason, err := CleanText(r.Reason, MaxReason, "reason")
		if err != nil {
			return nil, err
		}
		if reason == "" {
			return nil, fieldErr("reason", "The authority's rejection needs its reason.", "管局退回须填写原因。")
		}
		to, a.Reason = StateAuthorityRejected, reason
	}
	o.Authority = &a
	o.UpdatedAt = now
	return o.moveTo(to, now), nil
}

// provinceAbbr is each province's one-character abbreviation (简称) as ICP numbers carry
// it, in the order of Provinces.
const provinceAbbr = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新"

// ProvinceAbbr returns the province's abbreviation, "" for an unknown code.
func ProvinceAbbr(code string) string {
	abbr := []rune(provinceAbbr)
	for i, p := range Provinces {
		if p.Code == code {
			return string(abbr[i])
		}
	}
	return ""
}

// icpNumber is an ICP filing number: the abbreviation, ICP备, the number (8 digits in old
// numbers, 10 — the year and six digits — in current ones), 号, and -N for a site of the
// filing.
var icpNumber = regexp.MustCompile(`^(\p{Han})ICP备(\d{8}|\d{10})号(-[1-9]\d{0,3})?$`)

// CheckICPNumber accepts an ICP number such as 粤ICP备2026012345号 or 粤ICP备2026012345号-2
// whose abbreviation is the province's.
func CheckICPNumber(province, n string) error {
	m := icpNumber.FindStringSubmatch(n)
	want := ProvinceAbbr(province)
	if m == nil || want == "" || m[1] != want {
		return ErrInvalidICPNumber.WithDetails(map[string]any{"field": "icp_number", "province_abbr": want})
	}
	return nil
}
