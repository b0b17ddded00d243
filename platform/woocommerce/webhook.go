package woocommerce

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/field"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// WooCommerce webhooks (WooCommerce → Settings → Advanced → Webhooks): an
// order body is the REST API's order (GET /wp-json/wc/v3/orders/{id}) as it
// is when the delivery runs. WooCommerce never retries a failed delivery
// and sends no event id (X-WC-Webhook-Delivery-ID changes per attempt), so
// an event is named by the order's id, its date_modified_gmt and its
// status: order.created and order.updated of the same change are one event.

var wcPingRE = regexp.MustCompile(`^webhook_id=[0-9]{1,20}$`)

// IsPing reports whether an unsigned request is WooCommerce's creation
// ping (an unsigned form body "webhook_id=N"): answered 200
// (platform.ErrPing), it changes nothing.
func IsPing(signature string, body []byte) bool {
	return signature == "" && wcPingRE.Match(body)
}

// Sign returns the X-WC-Webhook-Signature value for body.
func Sign(body []byte, secret string) string {
	return base64.StdEncoding.EncodeToString(field.MAC(body, secret))
}

// Verify checks X-WC-Webhook-Signature = base64(HMAC-SHA256(body,
// secret)) in constant time. An empty secret rejects everything.
func Verify(body []byte, header, secret string) error {
	if secret == "" {
		return fmt.Errorf("platforms.woocommerce.secret is not configured: %w", recovery.ErrUnauthorized)
	}
	if header == "" {
		return fmt.Errorf("missing X-WC-Webhook-Signature: %w", recovery.ErrUnauthorized)
	}
	if got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header)); err != nil || !hmac.Equal(got, field.MAC(body, secret)) {
		return fmt.Errorf("X-WC-Webhook-Signature does not match the body: %w", recovery.ErrUnauthorized)
	}
	return nil
}

// WooCommerce order statuses, by what they mean for a cart.
var (
	wcOpen   = map[string]bool{"checkout-draft": true, "pending": true, "failed": true}
	wcPlaced = map[string]bool{"processing": true, "on-hold": true, "completed": true}
	wcEnded  = map[string]bool{"cancelled": true, "refunded": true, "trash": true}
)

type wcOrder struct {
	ID              field.ID     `json:"id"`
	Status          string       `json:"status"`
	OrderKey        string       `json:"order_key"`
	Currency        string       `json:"currency"`
	Total           field.Amount `json:"total"`
	DateCreatedGMT  string       `json:"date_created_gmt"`
	DateModifiedGMT string       `json:"date_modified_gmt"`
	CustomerID      field.ID     `json:"customer_id"`
	Billing         wcBilling    `json:"billing"`
	LineItems       []wcLineItem `json:"line_items"`
	PaymentURL      string       `json:"payment_url"`
	CouponLines     []struct {
		Code string `json:"code"`
	} `json:"coupon_lines"`
}

type wcBilling struct {
	FirstName string `json:"first_name"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Country   string `json:"country"`
}

type wcLineItem struct {
	Name      string      `json:"name"`
	SKU       string      `json:"sku"`
	Quantity  int64       `json:"quantity"`
	Price     json.Number `json:"price"` // a JSON number in the REST API: kept as its text
	ProductID field.ID    `json:"product_id"`
}

const wcTime = "2006-01-02T15:04:05" // date_*_gmt: UTC, without a zone

// StoreID names a shop by the host of X-WC-Webhook-Source
// (home_url, e.g. "https://shop.example/"): "shop.example", with a port
// written after an underscore.
func StoreID(source string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(source))
	if source == "" || err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", recovery.Invalid("X-WC-Webhook-Source", "must be the shop's address, like https://shop.example/")
	}
	store := strings.ToLower(strings.ReplaceAll(u.Host, ":", "_"))
	if !recovery.ValidStore(store) {
		return "", recovery.Invalid("X-WC-Webhook-Source", "host must be 1-100 characters of A-Z a-z 0-9 . - (and a port)")
	}
	return store, nil
}

// Parse parses an order webhook of topic (X-WC-Webhook-Topic)
// from the shop at source (X-WC-Webhook-Source). Topics other than
// order.created, order.updated, order.deleted and order.restored, and
// statuses that say nothing about a cart, are ErrIgnored. Errors wrap
// recovery.ErrInvalid and name the field.
func Parse(topic, source string, body []byte) (recovery.Event, error) {
	switch topic {
	case "order.created", "order.updated", "order.deleted", "order.restored":
	case "":
		return recovery.Event{}, recovery.Invalid("X-WC-Webhook-Topic", "is required")
	default:
		return recovery.Event{}, fmt.Errorf("topic %q: %w", recovery.Clip(topic, 40), recovery.ErrIgnored)
	}
	store, err := StoreID(source)
	if err != nil {
		return recovery.Event{}, err
	}
	var o wcOrder
	if err := field.Decode(body, &o); err != nil {
		return recovery.Event{}, err
	}
	var c field.Checker
	c.Required("id", string(o.ID))
	c.ID("id", string(o.ID))
	id := string(o.ID)
	ev := recovery.Event{Platform: Platform, Store: store, Cart: recovery.Cart{ID: id}, TimeField: "date_modified_gmt"}
	if topic == "order.deleted" { // the body is {"id": N}
		if c.Err != nil {
			return recovery.Event{}, c.Err
		}
		ev.ID, ev.Kind = "deleted:"+id, recovery.CartDeleted
		return ev, nil
	}
	c.ID("status", o.Status)
	c.ID("order_key", o.OrderKey)
	ev.OccurredAt = wcParseTime(&c, "date_modified_gmt", field.FirstOf(o.DateModifiedGMT, o.DateCreatedGMT))
	ev.ID = "order:" + id + ":" + o.DateModifiedGMT + ":" + o.Status
	switch {
	case wcOpen[o.Status]:
		ev.Kind = recovery.CartUpdated
	case wcPlaced[o.Status]:
		ev.Kind = recovery.OrderCreated
	case wcEnded[o.Status]:
		ev.Kind = recovery.CartDeleted
	case o.Status == "":
		c.Fail("status", "is required")
	default:
		if c.Err == nil {
			return recovery.Event{}, fmt.Errorf("order status %q says nothing about a cart: %w", recovery.Clip(o.Status, 40), recovery.ErrIgnored)
		}
	}

	// customer (the billing contact; WooCommerce phones are free text,
	// kept only when they are E.164)
	c.Email("billing.email", o.Billing.Email)
	c.ID("billing.first_name", o.Billing.FirstName)
	c.ID("customer_id", string(o.CustomerID))
	ev.Customer = recovery.Customer{Email: o.Billing.Email, FirstName: o.Billing.FirstName, Phone: field.NormalizePhone(o.Billing.Phone)}
	if field.IsCountry(o.Billing.Country) {
		ev.Customer.Country = strings.ToUpper(o.Billing.Country)
	}
	if o.CustomerID != "0" {
		ev.Customer.ID = string(o.CustomerID)
	}

	switch ev.Kind {
	case recovery.CartUpdated:
		if o.Billing.Email == "" && c.Err == nil {
			return recovery.Event{}, fmt.Errorf("open order %s has no billing email yet: %w", id, recovery.ErrIgnored)
		}
		c.Currency("currency", o.Currency)
		c.Decimal("total", o.Total)
		c.URL("payment_url", o.PaymentURL)
		if len(o.LineItems) > field.MaxItems {
			c.Fail("line_items", fmt.Sprintf("has %d items; at most %d", len(o.LineItems), field.MaxItems))
		}
		ev.Cart.Currency, ev.Cart.Total = o.Currency, string(o.Total)
		ev.Cart.RecoveryURL = o.PaymentURL
		if ev.Cart.RecoveryURL == "" && o.OrderKey != "" && c.Err == nil {
			// the order-pay page of the shop's checkout, as WooCommerce's
			// get_checkout_payment_url() builds it
			ev.Cart.RecoveryURL = strings.TrimSuffix(source, "/") + "/checkout/order-pay/" + url.PathEscape(id) +
				"/?pay_for_order=true&key=" + url.QueryEscape(o.OrderKey)
		}
		for i, li := range o.LineItems {
			f := fmt.Sprintf("line_items[%d]", i)
			price := field.Amount(li.Price.String())
			c.Quantity(f+".quantity", li.Quantity)
			c.Decimal(f+".price", price)
			c.ID(f+".name", li.Name)
			c.ID(f+".sku", li.SKU)
			// Product images are left out: they are often on a CDN the URL
			// policy does not know, and a cart must not be refused over one.
			c.ID(f+".product_id", string(li.ProductID))
			ev.Cart.Items = append(ev.Cart.Items, recovery.Item{SKU: li.SKU, Title: li.Name, Quantity: int(li.Quantity), Price: string(price),
				ProductID: string(li.ProductID)})
		}
	case recovery.OrderCreated:
		total, cur := field.OrderMoney(o.Total, o.Currency)
		ev.Order = recovery.Order{ID: id, Total: total, Currency: cur}
		for _, c := range o.CouponLines {
			if c.Code != "" && len(ev.Order.Codes) < 8 {
				ev.Order.Codes = append(ev.Order.Codes, c.Code)
			}
		}
	}
	if c.Err != nil {
		return recovery.Event{}, c.Err
	}
	return ev, nil
}

// wcParseTime reads a date_*_gmt value (UTC without a zone).
func wcParseTime(c *field.Checker, name, v string) time.Time {
	if v == "" {
		c.Fail(name, "is required (like 2026-11-22T10:00:00)")
		return time.Time{}
	}
	t, err := time.Parse(wcTime, v)
	if err != nil {
		c.Fail(name, "must be a UTC time like 2026-11-22T10:00:00")
		return time.Time{}
	}
	return t.UTC()
}
