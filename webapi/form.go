package webapi

import (
	_ "embed"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/httpx"
)

//go:embed form.html
var formHTML string

var (
	formTemplate = template.Must(template.New("form").Parse(formHTML))
	formPolicy   = httpx.CSP(formHTML)
)

// formPerson is a responsible person as the printed form shows them: with the full ID
// number, which the owner signs for (docs/operations.md, Privacy). It exists only for this response.
type formPerson struct {
	Name, IDType, IDNumber string
}

// formDomain is a domain as people read it and, when it differs, its ASCII form (punycode).
type formDomain struct {
	Unicode, ASCII string
}

type formData struct {
	Form          filing.Form
	SubjectName   string
	Domains       []formDomain
	SubjectLeader formPerson
	WebsiteLeader formPerson
}

func printed(p filing.Person) formPerson {
	return formPerson{Name: p.Name, IDType: p.IDType.LabelZh(), IDNumber: p.IDNumber}
}

// verificationForm renders the printable verification form (真实性核验单) for the order's
// province and subject type, with the full ID numbers and how it must be signed. It is
// never cached: Cache-Control no-store, like the images.
func (a *API) verificationForm(c echo.Context) error {
	ctx := c.Request().Context()
	snap, err := a.svc.Load(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if err := a.svc.RecordFormRead(ctx, snap.Order.ID, actor(c)); err != nil {
		return err
	}
	o := snap.Order
	domains := make([]formDomain, len(o.Domains))
	for i, dn := range o.Domains {
		domains[i] = formDomain{Unicode: dn}
		if a := filing.DomainASCII(dn); a != dn {
			domains[i].ASCII = a
		}
	}
	d := formData{
		Form: filing.VerificationForm(o), SubjectName: o.SubjectName, Domains: domains,
		SubjectLeader: printed(o.SubjectLeader), WebsiteLeader: printed(o.WebsiteLeader),
	}
	noStore(c)
	c.Response().Header().Set(httpx.CSPHeader, formPolicy)
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return formTemplate.Execute(c.Response(), d)
}
