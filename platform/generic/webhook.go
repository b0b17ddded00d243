package generic

import (
	"fmt"
	"strings"

	"github.com/cartrecovery/cartrecovery/platform/field"
	"github.com/cartrecovery/cartrecovery/recovery"
)

type genericEvent struct {
	ID         field.ID        `json:"id"`
	Type       string          `json:"type"`
	OccurredAt string          `json:"occurred_at"`
	Store      string          `json:"store"`
	Cart       genericCart     `json:"cart"`
	Customer   genericCustomer `json:"customer"`
	Order      *genericOrder   `json:"order"`
}

type genericCart struct {
	ID          field.ID      `json:"id"`
	Currency    string        `json:"currency"`
	Total       field.Amount  `json:"total"`
	RecoveryURL string        `json:"recovery_url"`
	Items       []genericItem `json:"items"`
}

type genericItem struct {
	SKU      string       `json:"sku"`
	Title    string       `json:"title"`
	Quantity int64        `json:"quantity"`
	Price    field.Amount `json:"price"`
	ImageURL string       `json:"image_url"`
	URL      string       `json:"url"`
	// optional, for segment conditions (products, tags)
	ProductID field.ID `json:"product_id"`
	Tags      []string `json:"tags"`
}

type genericCustomer struct {
	ID           field.ID `json:"id"`
	Email        string   `json:"email"`
	Phone        string   `json:"phone"`
	FirstName    string   `json:"first_name"`
	Locale       string   `json:"locale"`
	Timezone     string   `json:"timezone"`
	EmailConsent bool     `json:"email_consent"`
	SMSConsent   bool     `json:"sms_consent"`
	// optional, for segment conditions: the billing country (ISO 3166-1
	// alpha-2) and the orders the customer placed before (absent: unknown)
	Country     string `json:"country"`
	OrdersCount *int64 `json:"orders_count"`
}

type genericOrder struct {
	ID            field.ID     `json:"id"`
	CartID        field.ID     `json:"cart_id"`
	Total         field.Amount `json:"total"`
	Currency      string       `json:"currency"`
	DiscountCodes []string     `json:"discount_codes"` // optional: the codes used
}

// Parse parses the documented generic JSON event. Errors wrap
// recovery.ErrInvalid and name the field by its JSON path.
func Parse(body []byte) (recovery.Event, error) {
	var g genericEvent
	if err := field.Decode(body, &g); err != nil {
		return recovery.Event{}, err
	}
	var c field.Checker
	c.Required("id", string(g.ID))
	c.ID("id", string(g.ID))
	ev := recovery.Event{ID: string(g.ID), Platform: Platform, Store: g.Store}
	switch g.Type {
	case string(recovery.CartUpdated), string(recovery.CartDeleted), string(recovery.OrderCreated):
		ev.Kind = recovery.Kind(g.Type)
	case "":
		c.Fail("type", "is required (cart.updated, cart.deleted or order.created)")
	default:
		c.Fail("type", fmt.Sprintf("%q is not one of cart.updated, cart.deleted, order.created", g.Type))
	}
	ev.OccurredAt = c.Time("occurred_at", g.OccurredAt, true)
	if ev.Store == "" {
		ev.Store = "default"
	} else if !recovery.ValidStore(ev.Store) {
		c.Fail("store", "must be 1-100 characters of A-Z a-z 0-9 . _ -")
	}

	// cart
	c.ID("cart.id", string(g.Cart.ID))
	c.Currency("cart.currency", g.Cart.Currency)
	c.Decimal("cart.total", g.Cart.Total)
	c.URL("cart.recovery_url", g.Cart.RecoveryURL)
	if len(g.Cart.Items) > field.MaxItems {
		c.Fail("cart.items", fmt.Sprintf("has %d items; at most %d", len(g.Cart.Items), field.MaxItems))
	}
	ev.Cart = recovery.Cart{ID: string(g.Cart.ID), Currency: g.Cart.Currency, Total: string(g.Cart.Total), RecoveryURL: g.Cart.RecoveryURL}
	for i, it := range g.Cart.Items {
		f := fmt.Sprintf("cart.items[%d]", i)
		c.Quantity(f+".quantity", it.Quantity)
		c.Decimal(f+".price", it.Price)
		c.URL(f+".image_url", it.ImageURL)
		c.URL(f+".url", it.URL)
		c.ID(f+".title", it.Title)
		c.ID(f+".sku", it.SKU)
		c.ID(f+".product_id", string(it.ProductID))
		if len(it.Tags) > 50 {
			c.Fail(f+".tags", fmt.Sprintf("has %d tags; at most 50", len(it.Tags)))
		}
		for j, t := range it.Tags {
			c.ID(fmt.Sprintf("%s.tags[%d]", f, j), t)
		}
		ev.Cart.Items = append(ev.Cart.Items, recovery.Item{SKU: it.SKU, Title: it.Title, Quantity: int(it.Quantity),
			Price: string(it.Price), ImageURL: it.ImageURL, URL: it.URL, ProductID: string(it.ProductID), Tags: it.Tags})
	}

	// customer
	cu := g.Customer
	c.ID("customer.id", string(cu.ID))
	c.Email("customer.email", cu.Email)
	c.Phone("customer.phone", cu.Phone)
	c.Timezone("customer.timezone", cu.Timezone)
	c.ID("customer.first_name", cu.FirstName)
	c.ID("customer.locale", cu.Locale)
	if cu.Country != "" && !field.IsCountry(cu.Country) {
		c.Fail("customer.country", fmt.Sprintf("%q must be a two-letter country code like ES", recovery.Clip(cu.Country, 20)))
	}
	if cu.OrdersCount != nil && *cu.OrdersCount < 0 {
		c.Fail("customer.orders_count", "must not be negative")
	}
	ev.Customer = recovery.Customer{ID: string(cu.ID), Email: cu.Email, Phone: cu.Phone, FirstName: cu.FirstName,
		Locale: cu.Locale, Timezone: cu.Timezone, EmailConsent: cu.EmailConsent, SMSConsent: cu.SMSConsent,
		Country: strings.ToUpper(cu.Country)}
	if cu.OrdersCount != nil {
		ev.Customer.Orders, ev.Customer.OrdersKnown = int(min(*cu.OrdersCount, 1<<30)), true
	}

	switch ev.Kind {
	case recovery.CartUpdated, recovery.CartDeleted:
		c.Required("cart.id", ev.Cart.ID)
	case recovery.OrderCreated:
		if g.Order == nil {
			c.Fail("order", "is required for order.created")
			break
		}
		c.Required("order.id", string(g.Order.ID))
		c.ID("order.id", string(g.Order.ID))
		c.ID("order.cart_id", string(g.Order.CartID))
		total, cur := field.OrderMoney(g.Order.Total, g.Order.Currency)
		ev.Order = recovery.Order{ID: string(g.Order.ID), Total: total, Currency: cur}
		for _, c := range g.Order.DiscountCodes {
			if c != "" && len(ev.Order.Codes) < 8 {
				ev.Order.Codes = append(ev.Order.Codes, c)
			}
		}
		if g.Order.CartID != "" {
			ev.Cart.ID = string(g.Order.CartID)
		}
	}
	if c.Err != nil {
		return recovery.Event{}, c.Err
	}
	return ev, nil
}
