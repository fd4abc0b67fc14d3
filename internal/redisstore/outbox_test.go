package redisstore

import (
	"slices"
	"testing"

	"github.com/beianscan/beianscan/internal/webhook"
)

// TestWebhookTypes: the webhooks a change produces are decided by the stored order alone,
// so the review and authority steps produce theirs without calling the outbox.
func TestWebhookTypes(t *testing.T) {
	for _, tt := range []struct {
		name          string
		before, after string
		want          []string
	}{
		{"upload settles draft→uploaded", `{"state":"draft"}`, `{"state":"uploaded"}`, nil},
		{"material removed uploaded→draft", `{"state":"uploaded"}`, `{"state":"draft"}`, nil},
		{"submit", `{"state":"uploaded","round":0}`, `{"state":"submitted","round":1}`, []string{webhook.OrderSubmitted}},
		{"resubmit after changes", `{"state":"changes_requested","round":1,"reviews":[{"round":1}]}`, `{"state":"submitted","round":2,"reviews":[{"round":1}]}`, []string{webhook.OrderSubmitted}},
		{"withdraw from submitted", `{"state":"submitted"}`, `{"state":"draft"}`, []string{webhook.OrderWithdrawn}},
		{"withdraw from authority_rejected", `{"state":"authority_rejected","authority":{"status":"rejected"}}`, `{"state":"draft","authority":{"status":"rejected"}}`, []string{webhook.OrderWithdrawn}},
		{"operator approves (no review field yet)", `{"state":"submitted"}`, `{"state":"approved"}`, []string{webhook.OrderReviewDecided}},
		{"operator rejects", `{"state":"submitted"}`, `{"state":"rejected"}`, []string{webhook.OrderReviewDecided}},
		{"reviewer asks for changes", `{"state":"submitted"}`, `{"state":"changes_requested","reviews":[{"round":1,"outcome":"changes"}]}`, []string{webhook.OrderReviewDecided}},
		{"authority: submitted", `{"state":"approved","authority":null}`, `{"state":"authority_review","authority":{"status":"submitted"}}`, []string{webhook.OrderAuthorityUpdated}},
		{"authority: sms sent, no state change", `{"state":"authority_review","authority":{"status":"submitted"}}`, `{"state":"authority_review","authority":{"status":"sms_sent"}}`, []string{webhook.OrderAuthorityUpdated}},
		{"second round decided", `{"state":"submitted","round":2,"reviews":[{"round":1}]}`, `{"state":"approved","round":2,"reviews":[{"round":1},{"round":2}]}`, []string{webhook.OrderReviewDecided}},
		{"owner fixes a flagged item", `{"state":"changes_requested","reviews":[{"round":1,"pending":["material:face_photo"]}]}`, `{"state":"changes_requested","reviews":[{"round":1,"pending":[]}]}`, nil},
		{"method chosen", `{"state":"draft","upload_method":""}`, `{"state":"draft","upload_method":"app"}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := webhookTypes(peek([]byte(tt.before)), peek([]byte(tt.after)))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOrderOfDelivery(t *testing.T) {
	for _, tt := range []struct {
		id, order string
		ok        bool
	}{
		{deliveryID("abc234", 7, webhook.OrderSubmitted), "abc234", true},
		{deliveryID("abc234", 0, webhook.OrderDeleted), "abc234", true},
		{"wh_abc", "", false},
		{"wh__1_created", "", false},
		{"wh_ab{c}_1_created", "", false},
		{"xx_abc_1_created", "", false},
		{"wh_ABC_1_created", "", false},
	} {
		order, ok := OrderOfDelivery(tt.id)
		if order != tt.order || ok != tt.ok {
			t.Errorf("OrderOfDelivery(%q) = %q, %v", tt.id, order, ok)
		}
	}
}
