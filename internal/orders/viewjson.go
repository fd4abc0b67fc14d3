package orders

import (
	"encoding/json"
	"strconv"
	"sync"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/jsonx"
)

// AppendOrderView writes v as encoding/json writes it (HTML-escaped, no trailing newline;
// TestAppendOrderView holds the two to each other), by hand: the phone's claim answers
// with the order, and reflection over it cost more than the claim's own work. The review
// and the authority, absent from an order being claimed, go through encoding/json.
func AppendOrderView(b []byte, v OrderView) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = jsonx.AppendString(b, v.ID)
	b = append(b, `,"state":`...)
	b = jsonx.AppendString(b, string(v.State))
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, v.Version, 10)
	b = append(b, `,"subject_type":`...)
	b = jsonx.AppendString(b, string(v.SubjectType))
	b = append(b, `,"province":`...)
	b = jsonx.AppendString(b, v.Province)
	b = append(b, `,"province_name_zh":`...)
	b = jsonx.AppendString(b, v.ProvinceNameZh)
	b = append(b, `,"subject_name":`...)
	b = jsonx.AppendString(b, v.SubjectName)
	if v.OrganizationCertificateType != "" {
		b = append(b, `,"organization_certificate_type":`...)
		b = jsonx.AppendString(b, string(v.OrganizationCertificateType))
	}
	b = append(b, `,"upload_method":`...)
	b = jsonx.AppendString(b, string(v.UploadMethod))
	b = append(b, `,"app_upload_available":`...)
	b = strconv.AppendBool(b, v.AppUploadAvailable)
	b = append(b, `,"domains":`...)
	b = jsonx.AppendStrings(b, v.Domains)
	b = append(b, `,"domains_ascii":`...)
	b = jsonx.AppendStrings(b, v.DomainsASCII)
	b = append(b, `,"domain_registered_here":`...)
	b = strconv.AppendBool(b, v.DomainRegisteredHere)
	b = append(b, `,"subject_leader":`...)
	b = appendPerson(b, v.SubjectLeader)
	b = append(b, `,"website_leader":`...)
	b = appendPerson(b, v.WebsiteLeader)
	b = append(b, `,"website_leader_same_as_subject_leader":`...)
	b = strconv.AppendBool(b, v.WebsiteLeaderSame)
	b = append(b, `,"required_materials":`...)
	b = AppendRequirements(b, v.RequiredMaterials)
	if v.RejectReason != "" {
		b = append(b, `,"reject_reason":`...)
		b = jsonx.AppendString(b, v.RejectReason)
	}
	var err error
	b = append(b, `,"review":`...)
	if b, err = appendMarshaled(b, v.Review, v.Review == nil); err != nil {
		return nil, err
	}
	b = append(b, `,"authority":`...)
	if b, err = appendMarshaled(b, v.Authority, v.Authority == nil); err != nil {
		return nil, err
	}
	b = append(b, `,"round":`...)
	b = strconv.AppendInt(b, int64(v.Round), 10)
	if v.OwnerID != "" {
		b = append(b, `,"owner_id":`...)
		b = jsonx.AppendString(b, v.OwnerID)
	}
	b = append(b, `,"created_at":`...)
	b = jsonx.AppendTime(b, v.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = jsonx.AppendTime(b, v.UpdatedAt)
	return append(b, '}'), nil
}

// appendMarshaled writes v with encoding/json, or null when absent (a nil pointer in an
// interface is not nil, hence the flag).
func appendMarshaled(b []byte, v any, absent bool) ([]byte, error) {
	if absent {
		return append(b, "null"...), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

func appendPerson(b []byte, p PersonView) []byte {
	b = append(b, `{"name":`...)
	b = jsonx.AppendString(b, p.Name)
	b = append(b, `,"id_type":`...)
	b = jsonx.AppendString(b, string(p.IDType))
	b = append(b, `,"id_number_masked":`...)
	b = jsonx.AppendString(b, p.IDNumberMasked)
	b = append(b, `,"id_valid_until":`...)
	b = jsonx.AppendString(b, p.IDValidUntil)
	if p.IDNumber != "" {
		b = append(b, `,"id_number":`...)
		b = jsonx.AppendString(b, p.IDNumber)
	}
	return append(b, '}')
}

// AppendRequirements writes a list of requirements (null for nil, as encoding/json). Most
// of a claim's answer is the requirements' labels and guidance, twice, and these come from
// the catalogue (made specific by the order's province, subject type and ID types): each
// distinct one is encoded once and its bytes kept (catalogueString).
func AppendRequirements(b []byte, list []filing.Requirement) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, r := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRequirement(b, r)
	}
	return append(b, ']')
}

func appendRequirement(b []byte, r filing.Requirement) []byte {
	b = append(b, `{"slot":`...)
	b = jsonx.AppendString(b, string(r.Slot))
	b = append(b, `,"label_zh":`...)
	b = appendCatalogueString(b, r.LabelZh)
	b = append(b, `,"required":`...)
	b = strconv.AppendBool(b, r.Required)
	b = append(b, `,"app_allowed":`...)
	b = strconv.AppendBool(b, r.AppAllowed)
	b = append(b, `,"uploaded":`...)
	b = strconv.AppendBool(b, r.Uploaded)
	b = append(b, `,"flagged":`...)
	b = strconv.AppendBool(b, r.Flagged)
	b = append(b, `,"guidance_zh":`...)
	b = appendCatalogueString(b, r.GuidanceZh)
	return append(b, '}')
}

// catalogueJSON holds the encoding of each distinct label and guidance, up to
// maxCatalogueJSON of them: the catalogue makes a few dozen, and past the cap (never
// reached unless the catalogue grows) a string is encoded each time instead.
var catalogueJSON = struct {
	sync.RWMutex
	m map[string][]byte
}{m: map[string][]byte{}}

const maxCatalogueJSON = 1024

// appendCatalogueString is jsonx.AppendString for a string from the catalogue.
func appendCatalogueString(b []byte, s string) []byte {
	catalogueJSON.RLock()
	raw, ok := catalogueJSON.m[s]
	catalogueJSON.RUnlock()
	if ok {
		return append(b, raw...)
	}
	start := len(b)
	b = jsonx.AppendString(b, s)
	catalogueJSON.Lock()
	if len(catalogueJSON.m) < maxCatalogueJSON {
		catalogueJSON.m[s] = append([]byte(nil), b[start:]...)
	}
	catalogueJSON.Unlock()
	return b
}
