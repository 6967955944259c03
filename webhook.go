package vanthu

import "time"

// Delivery states, as WebhookDelivery.State names them.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryGaveUp    = "gave_up"
)

// Webhook is an endpoint that is sent every dispatch milestone.
type Webhook struct {
	ID  int64  `json:"id"`
	URL string `json:"url"`
	// Secret is the HMAC-SHA256 key deliveries are signed with. Only
	// CreateWebhook (which may generate it) and GetDelivery return it, so
	// that listings never show it again.
	Secret      string    `json:"secret,omitempty"`
	Active      bool      `json:"active"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"` // username of the actor
}

// WebhookDelivery is one milestone event due to one webhook, and how its
// delivery went so far: the delivery log.
type WebhookDelivery struct {
	ID            int64      `json:"id"`
	WebhookID     int64      `json:"webhook_id"`
	EventID       int64      `json:"event_id"`
	CreatedAt     time.Time  `json:"created_at"`
	State         string     `json:"state"` // DeliveryPending, DeliveryDelivered or DeliveryGaveUp
	Attempts      int        `json:"attempts"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status"` // HTTP status of the last attempt; 0: none or no answer
	LastError     string     `json:"last_error"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	GaveUpAt      *time.Time `json:"gave_up_at,omitempty"`
	// Event is the milestone event delivered.
	Event Event `json:"event"`
}

// Delivery is a delivery with everything needed to send it: its webhook,
// secret included, and the dispatch its event is about.
type Delivery struct {
	WebhookDelivery
	Webhook    Webhook
	DispatchID int64 // 0 if the event's subject is not a dispatch
	DocumentID int64
	UnitCode   string
}
