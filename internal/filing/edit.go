package filing

import (
	"slices"
	"time"
)

// PersonEdit changes some of a person's values; nil leaves a value as it is.
type PersonEdit struct {
	Name         *string `json:"name"`
	IDType       *IDType `json:"id_type"`
	IDNumber     *string `json:"id_number"`
	IDValidUntil *string `json:"id_valid_until"`
}

// EditInput is a change of an order's fields (PATCH): any subset of the creation fields.
// Province and SubjectType are here only to be refused with a message saying why: they
// decide the form and the required materials, so the owner withdraws and creates a new
// order for those.
type EditInput struct {
	Province                    *string             `json:"province"`
	SubjectType                 *SubjectType        `json:"subject_type"`
	SubjectName                 *string             `json:"subject_name"`
	OrganizationCertificateType *OrgCertificateType `json:"organization_certificate_type"`
	SubjectLeader               *PersonEdit         `json:"subject_leader"`
	WebsiteLeader               *PersonEdit         `json:"website_leader"`
	WebsiteLeaderSame           *bool               `json:"website_leader_same_as_subject_leader"`
	Domains                     *[]string           `json:"domains"`
	DomainRegisteredHere        *bool               `json:"domain_registered_here"`
}

func (p *PersonEdit) names(prefix string) []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, f := range []struct {
		set  bool
		name string
	}{{p.Name != nil, "name"}, {p.IDType != nil, "id_type"}, {p.IDNumber != nil, "id_number"}, {p.IDValidUntil != nil, "id_valid_until"}} {
		if f.set {
			out = append(out, prefix+"."+f.name)
		}
	}
	return out
}

// Names are the fields the edit names, as a reviewer's issues name them.
func (in EditInput) Names() []string {
	var out []string
	if in.SubjectName != nil {
		out = append(out, "subject_name")
	}
	if in.OrganizationCertificateType != nil {
		out = append(out, "organization_certificate_type")
	}
	out = append(out, in.SubjectLeader.names("subject_leader")...)
	out = append(out, in.WebsiteLeader.names("website_leader")...)
	if in.WebsiteLeaderSame != nil {
		out = append(out, "website_leader_same_as_subject_leader")
	}
	if in.Domains != nil {
		out = append(out, "domains")
	}
	if in.DomainRegisteredHere != nil {
		out = append(out, "domain_registered_here")
	}
	return out
}

func (p *PersonEdit) apply(to *Person) {
	if p == nil {
		return
	}
	if p.Name != nil {
		to.Name = *p.Name
	}
	if p.IDType != nil {
		to.IDType = *p.IDType
	}
	if p.IDNumber != nil {
		to.IDNumber = *p.IDNumber
	}
	if p.IDValidUntil != nil {
		to.IDValidUntil = *p.IDValidUntil
	}
}

// Editable reports whether an order's fields may be edited in state s.
func (s State) Editable() bool { return s.Open() || s == StateChangesRequested }

// Edit applies in to the order, validated as at creation. While changes are requested
// only the flagged fields may be named (field_locked otherwise), and naming one fixes it,
// changed or confirmed as it is. It returns the fields whose values changed and whether a
// pending item was fixed; on an error the order is as it was.
func (o *Order) Edit(in EditInput, now time.Time) (changed []string, fixedAny bool, err error) {
	if in.Province != nil || in.SubjectType != nil {
		field := "province"
		if in.Province == nil {
			field = "subject_type"
		}
		return nil, false, fieldErr(field,
			"The province and the subject type cannot be changed: withdraw and create a new order.",
			"省份和主体性质不能修改：请撤回后重新创建备案订单。")
	}
	names := in.Names()
	if len(names) == 0 {
		return nil, false, fieldErr("", "Nothing to change.", "没有要修改的内容。")
	}
	if !o.State.Editable() {
		return nil, false, ErrInvalidState.WithDetails(map[string]any{"state": string(o.State)})
	}
	if o.State == StateChangesRequested {
		for _, n := range names {
			if !o.flaggedField(n) {
				return nil, false, ErrFieldLocked.WithDetails(map[string]any{"field": n, "flagged": o.flaggedFields()})
			}
		}
	}
	c := *o
	c.Domains = slices.Clone(o.Domains)
	today := now.In(chinaTime)
	if in.SubjectName != nil {
		c.SubjectName = *in.SubjectName
		if err := checkSubjectName(&c.SubjectName); err != nil {
			return nil, false, err
		}
	}
	if in.OrganizationCertificateType != nil {
		if c.SubjectType != Organization {
			return nil, false, fieldErr("organization_certificate_type",
				"An individual order has no organization certificate type.", "个人备案没有单位证件类型。")
		}
		c.OrganizationCertificateType = *in.OrganizationCertificateType
		if !c.OrganizationCertificateType.valid() {
			return nil, false, errOrgCertificateType()
		}
	}
	if in.SubjectLeader != nil {
		in.SubjectLeader.apply(&c.SubjectLeader)
		if err := c.SubjectLeader.validate("subject_leader", today); err != nil {
			return nil, false, err
		}
	}
	if in.WebsiteLeaderSame != nil {
		c.WebsiteLeaderSame = *in.WebsiteLeaderSame
	}
	switch {
	case c.WebsiteLeaderSame && in.WebsiteLeader != nil:
		return nil, false, fieldErr("website_leader",
			"The website leader is the subject leader: change the subject leader, or set website_leader_same_as_subject_leader to false.",
			"网站负责人与主体负责人相同：请修改主体负责人，或取消“与主体负责人相同”。")
	case c.WebsiteLeaderSame:
		c.WebsiteLeader = c.SubjectLeader
	case o.WebsiteLeaderSame && in.WebsiteLeader == nil:
		return nil, false, fieldErr("website_leader",
			"website_leader is required unless website_leader_same_as_subject_leader is true.",
			"请填写网站负责人信息，或选择“与主体负责人相同”。")
	case in.WebsiteLeader != nil:
		in.WebsiteLeader.apply(&c.WebsiteLeader)
		if err := c.WebsiteLeader.validate("website_leader", today); err != nil {
			return nil, false, err
		}
	}
	if in.Domains != nil {
		d, err := normalizeDomains(*in.Domains)
		if err != nil {
			return nil, false, err
		}
		c.Domains = d
	}
	if in.DomainRegisteredHere != nil {
		c.DomainRegisteredHere = *in.DomainRegisteredHere
	}
	changed = diffFields(o, &c)
	*o = c
	// The review rounds are shared with c; fixing through o is fixing the order's own.
	for _, n := range names {
		if o.fixed(pendingField(n)) {
			fixedAny = true
		}
	}
	for _, f := range changed {
		if !slices.Contains(o.Edited, f) {
			o.Edited = append(o.Edited, f)
		}
	}
	if len(changed) > 0 || fixedAny {
		o.UpdatedAt = now.UTC()
	}
	return changed, fixedAny, nil
}

func (o *Order) flaggedFields() []string {
	out := []string{}
	for _, f := range ReviewFields {
		if o.flaggedField(f) {
			out = append(out, f)
		}
	}
	return out
}

// diffFields names the fields whose values differ between a and b.
func diffFields(a, b *Order) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add("subject_name", a.SubjectName != b.SubjectName)
	add("organization_certificate_type", a.OrganizationCertificateType != b.OrganizationCertificateType)
	for _, p := range []struct {
		prefix string
		a, b   Person
	}{{"subject_leader", a.SubjectLeader, b.SubjectLeader}, {"website_leader", a.WebsiteLeader, b.WebsiteLeader}} {
		add(p.prefix+".name", p.a.Name != p.b.Name)
		add(p.prefix+".id_type", p.a.IDType != p.b.IDType)
		add(p.prefix+".id_number", p.a.IDNumber != p.b.IDNumber)
		add(p.prefix+".id_valid_until", p.a.IDValidUntil != p.b.IDValidUntil)
	}
	add("website_leader_same_as_subject_leader", a.WebsiteLeaderSame != b.WebsiteLeaderSame)
	add("domains", !slices.Equal(a.Domains, b.Domains))
	add("domain_registered_here", a.DomainRegisteredHere != b.DomainRegisteredHere)
	return out
}
