// Package recovery is the domain core, plain Go with no storage in it:
// normalized events, cart state as the worker sees it, message identity,
// the report counter schema, claim results and outcomes. Package redis
// stores them.
package recovery

import "time"

// Kind is the normalized event type.
type Kind string

// The event kinds every platform is normalized to.
const (
	CartUpdated  Kind = "cart.updated"
	CartDeleted  Kind = "cart.deleted"
	OrderCreated Kind = "order.created"
	// OrderLookup is an order known by its id only (BigCommerce's
	// store/order/created): the worker asks the platform for its cart and
	// records it as OrderCreated.
	OrderLookup Kind = "order.lookup"
)

// Event is one webhook normalized. Amounts are decimal strings, never floats.
type Event struct {
	// ID identifies the delivery/event for deduplication, unique per Platform
	// (Shopify: X-Shopify-Webhook-Id; generic: "id").
	ID       string
	Platform string // "shopify", "generic", ...
	Kind     Kind
	Store    string // store identifier; "default" when the platform has none
	// OccurredAt is when the platform says the change happened (UTC).
	OccurredAt time.Time
	// TimeField names OccurredAt's field in the platform's payload, for
	// errors ("occurred_at" when empty).
	TimeField string
	Cart      Cart
	// Refs are other identifiers that refer to the same cart, in lookup
	// order (Shopify: "cart_token:<t>", "checkout_id:<id>"). Updates record
	// them; deletes and orders use them to find the cart when Cart.ID is empty
	// or unknown.
	Refs     []string
	Customer Customer
	Order    Order // set for OrderCreated
	// Verified: an order found by the check with the platform right before
	// a send, not delivered by a webhook (counted as verified_ordered).
	Verified bool
	// Segment is the segment chosen for the cart (Playbook.Choose; "" the
	// default sequence). Only a cart's first event sets it: the cart keeps
	// it whatever later updates carry.
	Segment string
	// ByHistory: the choice depends on whether an order of the customer's
	// email was seen in the store, which the store reads as it records the
	// event: Segment for a new customer, SegmentIfReturning otherwise.
	ByHistory          bool
	SegmentIfReturning string
}

// Cart is the cart's content as last reported.
type Cart struct {
	ID          string
	Currency    string // ISO 4217
	Total       string // decimal string, e.g. "59.90"
	RecoveryURL string
	Items       []Item
}

// Item is one line of a cart.
type Item struct {
	SKU      string
	Title    string
	Quantity int
	Price    string // decimal string, unit price
	ImageURL string
	URL      string
	// ProductID and Tags serve segment conditions only (not stored).
	ProductID string
	Tags      []string
}

// Customer is who the cart belongs to.
type Customer struct {
	ID           string
	Email        string
	Phone        string // E.164 when known
	FirstName    string
	Locale       string
	Timezone     string // IANA name
	EmailConsent bool
	SMSConsent   bool
	// Country (ISO 3166-1 alpha-2, billing) and the customer's earlier
	// orders as the platform counts them (OrdersKnown: it said) serve
	// segment conditions only (not stored).
	Country     string
	Orders      int
	OrdersKnown bool
}

// Order is a placed order.
type Order struct {
	ID       string
	Total    string
	Currency string
	// Codes are the discount codes the order used, as the platform reports
	// them: a unique code among them counts as redeemed.
	Codes []string
	// At is when the platform says the order was placed (an order found by
	// the check before a send; webhooks use Event.OccurredAt).
	At time.Time
}
