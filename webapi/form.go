package webapi

import (
	_ "embed"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/csp"
	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/orders"
)

//go:embed form.html
var formHTML string

var (
	formTemplate = template.Must(template.New("form").Parse(formHTML))
	formPolicy   = csp.Policy(formHTML)
)

type formData struct {
	Order       orders.OrderView
	Province    string
	Individual  bool
	Requirement string
	Guangdong   bool
	Fingerprint bool
	Commitment  string
}

// verificationForm renders the printable verification form (真实性核验单) for the order's
// province and subject type, with how it must be signed.
func (a *API) verificationForm(c echo.Context) error {
	snap, err := a.svc.Load(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	o := snap.Order
	p, _ := filing.LookupProvince(o.Province)
	d := formData{
		Order: a.svc.ViewOrder(snap), Province: p.NameZh,
		Individual:  o.SubjectType == filing.Individual,
		Requirement: filing.FormRequirement(o),
		Guangdong:   o.Province == filing.Guangdong && o.SubjectType == filing.Individual,
		Fingerprint: o.SubjectType == filing.Individual && (o.Province == filing.Jiangxi || o.Province == filing.Xinjiang),
		Commitment:  filing.GuangdongCommitment,
	}
	noStore(c)
	c.Response().Header().Set(csp.Header, formPolicy)
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return formTemplate.Execute(c.Response(), d)
}
