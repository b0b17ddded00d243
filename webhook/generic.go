package webhook

import (
	"fmt"
	"strings"

	"github.com/cartrecovery/cartrecovery/recovery"
)

type genericEvent struct {
	ID         flexID          `json:"id"`
	Type       string          `json:"type"`
	OccurredAt string          `json:"occurred_at"`
	Store      string          `json:"store"`
	Cart       genericCart     `json:"cart"`
	Customer   genericCustomer `json:"customer"`
	Order      *genericOrder   `json:"order"`
}

type genericCart struct {
	ID          flexID        `json:"id"`
	Currency    string        `json:"currency"`
	Total       amount        `json:"total"`
	RecoveryURL string        `json:"recovery_url"`
	Items       []genericItem `json:"items"`
}

type genericItem struct {
	SKU      string `json:"sku"`
	Title    string `json:"title"`
	Quantity int64  `json:"quantity"`
	Price    amount `json:"price"`
	ImageURL string `json:"image_url"`
	URL      string `json:"url"`
	// optional, for segment conditions (products, tags)
	ProductID flexID   `json:"product_id"`
	Tags      []string `json:"tags"`
}

type genericCustomer struct {
	ID           flexID `json:"id"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	FirstName    string `json:"first_name"`
	Locale       string `json:"locale"`
	Timezone     string `json:"timezone"`
	EmailConsent bool   `json:"email_consent"`
	SMSConsent   bool   `json:"sms_consent"`
	// optional, for segment conditions: the billing country (ISO 3166-1
	// alpha-2) and the orders the customer placed before (absent: unknown)
	Country     string `json:"country"`
	OrdersCount *int64 `json:"orders_count"`
}

type genericOrder struct {
	ID            flexID   `json:"id"`
	CartID        flexID   `json:"cart_id"`
	Total         amount   `json:"total"`
	Currency      string   `json:"currency"`
	DiscountCodes []string `json:"discount_codes"` // optional: the codes used
}

// ParseGeneric parses the documented generic JSON event. Errors wrap
// recovery.ErrInvalid and name the field by its JSON path.
func ParseGeneric(body []byte) (recovery.Event, error) {
	var g genericEvent
	if err := decode(body, &g); err != nil {
		return recovery.Event{}, err
	}
	var c checker
	c.required("id", string(g.ID))
	c.id("id", string(g.ID))
	ev := recovery.Event{ID: string(g.ID), Platform: "generic", Store: g.Store}
	switch g.Type {
	case string(recovery.CartUpdated), string(recovery.CartDeleted), string(recovery.OrderCreated):
		ev.Kind = recovery.Kind(g.Type)
	case "":
		c.fail("type", "is required (cart.updated, cart.deleted or order.created)")
	default:
		c.fail("type", fmt.Sprintf("%q is not one of cart.updated, cart.deleted, order.created", g.Type))
	}
	ev.OccurredAt = c.time("occurred_at", g.OccurredAt, true)
	if ev.Store == "" {
		ev.Store = "default"
	} else if !recovery.ValidStore(ev.Store) {
		c.fail("store", "must be 1-100 characters of A-Z a-z 0-9 . _ -")
	}

	// cart
	c.id("cart.id", string(g.Cart.ID))
	c.currency("cart.currency", g.Cart.Currency)
	c.decimal("cart.total", g.Cart.Total)
	c.url("cart.recovery_url", g.Cart.RecoveryURL)
	if len(g.Cart.Items) > maxItems {
		c.fail("cart.items", fmt.Sprintf("has %d items; at most %d", len(g.Cart.Items), maxItems))
	}
	ev.Cart = recovery.Cart{ID: string(g.Cart.ID), Currency: g.Cart.Currency, Total: string(g.Cart.Total), RecoveryURL: g.Cart.RecoveryURL}
	for i, it := range g.Cart.Items {
		f := fmt.Sprintf("cart.items[%d]", i)
		c.quantity(f+".quantity", it.Quantity)
		c.decimal(f+".price", it.Price)
		c.url(f+".image_url", it.ImageURL)
		c.url(f+".url", it.URL)
		c.id(f+".title", it.Title)
		c.id(f+".sku", it.SKU)
		c.id(f+".product_id", string(it.ProductID))
		if len(it.Tags) > 50 {
			c.fail(f+".tags", fmt.Sprintf("has %d tags; at most 50", len(it.Tags)))
		}
		for j, t := range it.Tags {
			c.id(fmt.Sprintf("%s.tags[%d]", f, j), t)
		}
		ev.Cart.Items = append(ev.Cart.Items, recovery.Item{SKU: it.SKU, Title: it.Title, Quantity: int(it.Quantity),
			Price: string(it.Price), ImageURL: it.ImageURL, URL: it.URL, ProductID: string(it.ProductID), Tags: it.Tags})
	}

	// customer
	cu := g.Customer
	c.id("customer.id", string(cu.ID))
	c.email("customer.email", cu.Email)
	c.phone("customer.phone", cu.Phone)
	c.timezone("customer.timezone", cu.Timezone)
	c.id("customer.first_name", cu.FirstName)
	c.id("customer.locale", cu.Locale)
	if cu.Country != "" && !isCountry(cu.Country) {
		c.fail("customer.country", fmt.Sprintf("%q must be a two-letter country code like ES", recovery.Clip(cu.Country, 20)))
	}
	if cu.OrdersCount != nil && *cu.OrdersCount < 0 {
		c.fail("customer.orders_count", "must not be negative")
	}
	ev.Customer = recovery.Customer{ID: string(cu.ID), Email: cu.Email, Phone: cu.Phone, FirstName: cu.FirstName,
		Locale: cu.Locale, Timezone: cu.Timezone, EmailConsent: cu.EmailConsent, SMSConsent: cu.SMSConsent,
		Country: strings.ToUpper(cu.Country)}
	if cu.OrdersCount != nil {
		ev.Customer.Orders, ev.Customer.OrdersKnown = int(min(*cu.OrdersCount, 1<<30)), true
	}

	switch ev.Kind {
	case recovery.CartUpdated, recovery.CartDeleted:
		c.required("cart.id", ev.Cart.ID)
	case recovery.OrderCreated:
		if g.Order == nil {
			c.fail("order", "is required for order.created")
			break
		}
		c.required("order.id", string(g.Order.ID))
		c.id("order.id", string(g.Order.ID))
		c.id("order.cart_id", string(g.Order.CartID))
		total, cur := orderMoney(g.Order.Total, g.Order.Currency)
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
	if c.err != nil {
		return recovery.Event{}, c.err
	}
	return ev, nil
}

// isCountry: two ASCII letters (an ISO 3166-1 alpha-2 code).
func isCountry(v string) bool {
	return len(v) == 2 && isLetter(v[0]) && isLetter(v[1])
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
