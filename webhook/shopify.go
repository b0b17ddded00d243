package webhook

import (
	"fmt"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

type shopifyAddress struct {
	FirstName string `json:"first_name"`
	Phone     string `json:"phone"`
}

type shopifyCustomer struct {
	ID             flexID          `json:"id"`
	Email          string          `json:"email"`
	Phone          string          `json:"phone"`
	FirstName      string          `json:"first_name"`
	DefaultAddress *shopifyAddress `json:"default_address"`
}

type shopifyLine struct {
	Title             string `json:"title"`
	PresentmentTitle  string `json:"presentment_title"`
	Quantity          int64  `json:"quantity"`
	Price             amount `json:"price"`
	SKU               string `json:"sku"`
	VariantTitle      string `json:"variant_title"`
	PresentmentVarTit string `json:"presentment_variant_title"`
}

// shopifyPayload covers the fields cartrecovery reads from checkouts and
// orders (API 2025-01); everything else is ignored.
type shopifyPayload struct {
	ID                       flexID           `json:"id"`
	Token                    string           `json:"token"`
	CartToken                string           `json:"cart_token"`
	CheckoutToken            string           `json:"checkout_token"`
	CheckoutID               flexID           `json:"checkout_id"`
	Email                    string           `json:"email"`
	ContactEmail             string           `json:"contact_email"`
	Phone                    string           `json:"phone"`
	SMSMarketingPhone        string           `json:"sms_marketing_phone"`
	BuyerAcceptsMarketing    bool             `json:"buyer_accepts_marketing"`
	BuyerAcceptsSMSMarketing bool             `json:"buyer_accepts_sms_marketing"`
	CustomerLocale           string           `json:"customer_locale"`
	Currency                 string           `json:"currency"`
	PresentmentCurrency      string           `json:"presentment_currency"`
	TotalPrice               amount           `json:"total_price"`
	AbandonedCheckoutURL     string           `json:"abandoned_checkout_url"`
	CreatedAt                string           `json:"created_at"`
	UpdatedAt                string           `json:"updated_at"`
	ProcessedAt              string           `json:"processed_at"`
	Customer                 *shopifyCustomer `json:"customer"`
	BillingAddress           *shopifyAddress  `json:"billing_address"`
	ShippingAddress          *shopifyAddress  `json:"shipping_address"`
	LineItems                []shopifyLine    `json:"line_items"`
}

// ShopifyDeliveryID is the deduplication id of a Shopify delivery.
// X-Shopify-Event-Id names the event, not the delivery: the same event sent
// to a second subscription of the topic has a new webhook id but the same
// event id, so it is the better key when present (per topic); else the
// webhook id.
func ShopifyDeliveryID(topic, webhookID, eventID string) (string, error) {
	if eventID == "" {
		return webhookID, nil
	}
	var c checker
	c.id("X-Shopify-Event-Id", eventID)
	if c.err != nil {
		return "", c.err
	}
	return "event:" + topic + ":" + eventID, nil
}

// ParseShopify parses a Shopify webhook of topic (X-Shopify-Topic) from shop
// (X-Shopify-Shop-Domain; "default" when empty) with delivery id webhookID
// (X-Shopify-Webhook-Id). Topics other than checkouts/create|update|delete
// and orders/create return an error wrapping recovery.ErrIgnored.
func ParseShopify(topic, shop, webhookID string, body []byte) (recovery.Event, error) {
	var kind recovery.Kind
	switch topic {
	case "checkouts/create", "checkouts/update":
		kind = recovery.CartUpdated
	case "checkouts/delete":
		kind = recovery.CartDeleted
	case "orders/create":
		kind = recovery.OrderCreated
	case "":
		return recovery.Event{}, recovery.Invalid("X-Shopify-Topic", "is required")
	default:
		return recovery.Event{}, fmt.Errorf("topic %q is not used: %w", topic, recovery.ErrIgnored)
	}
	var c checker
	if webhookID == "" {
		c.fail("X-Shopify-Webhook-Id", "is required")
	}
	c.id("X-Shopify-Webhook-Id", webhookID)
	if c.err != nil {
		return recovery.Event{}, c.err
	}
	var p shopifyPayload
	if err := decode(body, &p); err != nil {
		return recovery.Event{}, err
	}
	if shop == "" {
		shop = "default"
	}
	ev := recovery.Event{ID: webhookID, Platform: "shopify", Kind: kind, Store: shop}

	for f, v := range map[string]string{"token": p.Token, "cart_token": p.CartToken, "checkout_token": p.CheckoutToken,
		"id": string(p.ID), "checkout_id": string(p.CheckoutID)} {
		c.id(f, v)
	}
	if p.CartToken != "" {
		ev.Refs = append(ev.Refs, "cart_token:"+p.CartToken)
	}
	switch kind {
	case recovery.CartUpdated:
		c.required("token", p.Token)
		ev.Cart.ID = p.Token
		if p.ID != "" {
			ev.Refs = append(ev.Refs, "checkout_id:"+string(p.ID))
		}
		at := p.UpdatedAt
		if at == "" {
			at = p.CreatedAt
		}
		ev.OccurredAt = shopifyTime(&c, "updated_at", at, true)
		ev.TimeField = "updated_at"
	case recovery.CartDeleted:
		ev.Cart.ID = p.Token
		if p.ID != "" {
			ev.Refs = append(ev.Refs, "checkout_id:"+string(p.ID))
		}
		if p.Token == "" && p.ID == "" && p.CartToken == "" {
			c.fail("id", "is required (or token, or cart_token)")
		}
		ev.OccurredAt = shopifyTime(&c, "updated_at", p.UpdatedAt, false)
		ev.TimeField = "updated_at"
	case recovery.OrderCreated:
		c.required("id", string(p.ID))
		ev.Cart.ID = p.CheckoutToken
		if p.CheckoutID != "" {
			ev.Refs = append(ev.Refs, "checkout_id:"+string(p.CheckoutID))
		}
		at := p.CreatedAt
		if at == "" {
			at = p.ProcessedAt
		}
		ev.OccurredAt = shopifyTime(&c, "created_at", at, false)
		ev.TimeField = "created_at"
		total, cur := orderMoney(p.TotalPrice, firstOf(p.PresentmentCurrency, p.Currency))
		ev.Order = recovery.Order{ID: string(p.ID), Total: total, Currency: cur}
	}

	cur := firstOf(p.PresentmentCurrency, p.Currency)
	if kind == recovery.CartUpdated { // an order is never refused over its amounts
		c.currency("presentment_currency", p.PresentmentCurrency)
		c.currency("currency", p.Currency)
		c.decimal("total_price", p.TotalPrice)
	}
	c.url("abandoned_checkout_url", p.AbandonedCheckoutURL)
	if len(p.LineItems) > maxItems {
		c.fail("line_items", fmt.Sprintf("has %d items; at most %d", len(p.LineItems), maxItems))
	}
	if kind == recovery.CartUpdated {
		ev.Cart.Currency, ev.Cart.Total, ev.Cart.RecoveryURL = cur, string(p.TotalPrice), p.AbandonedCheckoutURL
		for i, li := range p.LineItems {
			f := fmt.Sprintf("line_items[%d]", i)
			c.quantity(f+".quantity", li.Quantity)
			c.decimal(f+".price", li.Price)
			title := firstOf(li.PresentmentTitle, li.Title)
			if v := firstOf(li.PresentmentVarTit, li.VariantTitle); v != "" && !strings.Contains(title, v) {
				title += " - " + v
			}
			c.id(f+".title", title)
			ev.Cart.Items = append(ev.Cart.Items, recovery.Item{SKU: li.SKU, Title: title, Quantity: int(li.Quantity), Price: string(li.Price)})
		}
	}

	// customer
	cu := recovery.Customer{Locale: p.CustomerLocale, EmailConsent: p.BuyerAcceptsMarketing, SMSConsent: p.BuyerAcceptsSMSMarketing}
	var addrs []*shopifyAddress
	if p.Customer != nil {
		cu.ID, cu.FirstName = string(p.Customer.ID), p.Customer.FirstName
		c.id("customer.id", cu.ID)
		addrs = append(addrs, p.Customer.DefaultAddress)
	}
	addrs = append(addrs, p.ShippingAddress, p.BillingAddress)
	cu.Email = firstOf(p.Email, p.ContactEmail)
	phones := []string{p.SMSMarketingPhone, p.Phone}
	if p.Customer != nil {
		cu.Email = firstOf(cu.Email, p.Customer.Email)
		phones = append(phones, p.Customer.Phone)
	}
	for _, a := range addrs {
		if a != nil {
			phones = append(phones, a.Phone)
			cu.FirstName = firstOf(cu.FirstName, a.FirstName)
		}
	}
	for _, ph := range phones {
		if n := normalizePhone(ph); n != "" {
			cu.Phone = n
			break
		}
	}
	// A signed Shopify delivery is not refused for an odd address: the
	// cart is kept and email is skipped for it.
	var ec checker
	if ec.email("email", cu.Email); ec.err != nil {
		cu.Email = ""
	}
	c.id("customer.first_name", cu.FirstName)
	c.id("customer_locale", cu.Locale)
	ev.Customer = cu
	if c.err != nil {
		return recovery.Event{}, c.err
	}
	return ev, nil
}

func shopifyTime(c *checker, field, v string, required bool) time.Time {
	return c.time(field, v, required)
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
