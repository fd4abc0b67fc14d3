package mobileapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/httpx"
	"github.com/beianscan/beianscan/internal/jsonx"
	"github.com/beianscan/beianscan/internal/orders"
)

// appendClaimAnswer writes the claim's answer as encoding/json writes the map it stands for
// (keys in alphabetical order, HTML-escaped, with the encoder's trailing newline;
// TestClaimAnswerJSON holds the two to each other).
func appendClaimAnswer(b []byte, res *orders.ClaimResult, order orders.OrderView) ([]byte, error) {
	d := res.Snapshot.Pairing.Desktop
	b = append(b, `{"desktop":{"ip":`...)
	b = jsonx.AppendString(b, d.IP)
	b = append(b, `,"user_agent":`...)
	b = jsonx.AppendString(b, d.UserAgent)
	b = append(b, `,"created_at":`...)
	b = jsonx.AppendTime(b, d.CreatedAt)
	b = append(b, `},"device_token":`...)
	b = jsonx.AppendString(b, res.DeviceToken)
	b = append(b, `,"expires_at":`...)
	b = jsonx.AppendTime(b, res.ExpiresAt)
	b = append(b, `,"materials":`...)
	b = orders.AppendRequirements(b, orders.PhoneRequirements(order.State, order.RequiredMaterials))
	b = append(b, `,"order":`...)
	b, err := orders.AppendOrderView(b, order)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"phone_token":`...)
	b = jsonx.AppendString(b, res.PhoneToken)
	return append(b, "}\n"...), nil
}

// writeClaimAnswer sends the answer with its Content-Length, in one Write from a pooled
// buffer.
func writeClaimAnswer(c echo.Context, res *orders.ClaimResult, order orders.OrderView) error {
	return httpx.WriteAppended(c, http.StatusOK, func(b []byte) ([]byte, error) { return appendClaimAnswer(b, res, order) })
}
