// Package events names the contract's websocket events (api/openapi.json, the event frames) and
// defines the data of those whose data another package reads back. It is the one place of
// each name: internal/orders raises the events, internal/redisstore writes phone_connected
// inside the claim script, internal/hub follows an order's pending pairing through them,
// internal/metrics counts them. It imports the standard library only, so that all of them
// can import it without importing each other.
package events

import "time"

// The event types of the contract.
const (
	PairingCreated    = "pairing_created"
	PairingExpired    = "pairing_expired"
	PhoneConnected    = "phone_connected"
	PhoneDisconnected = "phone_disconnected"
	MaterialUploaded  = "material_uploaded"
	MaterialRemoved   = "material_removed"
	UploadComplete    = "upload_complete"
	StateChanged      = "state_changed"
	// MethodChanged: the upload method was chosen, changed or cleared (data: from, to).
	MethodChanged = "method_changed"
	// OrderEdited: the owner changed the order's fields (data: fields, the names changed).
	OrderEdited = "order_edited"
	// ReviewDecided: a review round was decided (data: REVIEW).
	ReviewDecided = "review_decided"
	// AuthorityUpdated: the back office reported the authority's progress (data: AUTHORITY).
	AuthorityUpdated = "authority_updated"
)

// PairingCreatedData is pairing_created's data. The fields are in the order of their JSON
// names, as a map of them was marshalled before, so the bytes on the wire are unchanged.
type PairingCreatedData struct {
	ExpiresAt time.Time `json:"expires_at"`
	ID        string    `json:"id"`
	QRPNGURL  string    `json:"qr_png_url"`
}

// PairingExpiredData is pairing_expired's data. Reason is "expired" (its time came),
// "replaced" (a new QR), "revoked", "method_changed" or "withdrawn"; the metrics count by it.
type PairingExpiredData struct {
	PairingID string `json:"pairing_id"`
	Reason    string `json:"reason"`
}

// PhoneConnectedData is phone_connected's data.
type PhoneConnectedData struct {
	AppVersion string `json:"app_version"`
	Device     string `json:"device"`
	DeviceName string `json:"device_name"`
}
