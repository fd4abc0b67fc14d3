package webapi

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/beianscan/beianscan/internal/filing"
	"github.com/beianscan/beianscan/internal/webhook"
)

// WebhookOps is what the operator's webhook calls need of the outbox
// (internal/redisstore).
type WebhookOps interface {
	// Deliveries lists up to limit deliveries of a status (pending, failed, dead).
	Deliveries(ctx context.Context, status string, limit int) ([]webhook.Delivery, error)
	// RetryDelivery makes a dead delivery pending again.
	RetryDelivery(ctx context.Context, id string) error
}

// deliveriesLimit bounds one listing: the answer is the operator's view, not an export.
const deliveriesLimit = 100

// RegisterWebhooks adds the operator's webhook calls (operator key) on ops to e.
func (a *API) RegisterWebhooks(e *echo.Echo, ops WebhookOps) {
	g := e.Group("/api/v1/webhooks/deliveries", a.operatorOnly)
	g.GET("", func(c echo.Context) error {
		status := c.QueryParam("status")
		switch status {
		case "":
			status = webhook.StatusPending
		case webhook.StatusPending, webhook.StatusFailed, webhook.StatusDead:
		default:
			return filing.ErrInvalidRequest.WithMessage("status must be pending, failed or dead.", "status 须为 pending、failed 或 dead。").
				WithDetails(map[string]any{"field": "status"})
		}
		ds, err := ops.Deliveries(c.Request().Context(), status, deliveriesLimit)
		if err != nil {
			return err
		}
		out := make([]deliveryJSON, len(ds))
		for i, d := range ds {
			out[i] = newDeliveryJSON(d)
		}
		return c.JSON(http.StatusOK, map[string]any{"deliveries": out})
	})
	g.POST("/:id/retry", func(c echo.Context) error {
		if err := ops.RetryDelivery(c.Request().Context(), c.Param("id")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
}

// operatorOnly admits the operator key alone.
func (a *API) operatorOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ok, err := a.operator(c); err != nil || !ok {
			return cmp.Or(err, error(filing.ErrUnauthorized))
		}
		return next(c)
	}
}

type deliveryJSON struct {
	ID            string     `json:"id"`
	Type          string     `json:"type"`
	OrderID       string     `json:"order_id"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastError     string     `json:"last_error"`
}

func newDeliveryJSON(d webhook.Delivery) deliveryJSON {
	j := deliveryJSON{ID: d.ID, Type: d.Type, OrderID: d.OrderID, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError}
	if d.Status != webhook.StatusDead {
		t := time.UnixMilli(max(d.NextAt, d.Lease)).UTC()
		j.NextAttemptAt = &t
	}
	return j
}
