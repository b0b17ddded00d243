package shopify

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Adapter takes Shopify's webhooks (POST /webhooks/shopify): topics by
// X-Shopify-Topic, the shop by X-Shopify-Shop-Domain, signed with
// X-Shopify-Hmac-Sha256.
type Adapter struct{}

var _ interface {
	platform.Adapter
	platform.Topics
	platform.DiscountLinker
	platform.LowerCaseStores
} = Adapter{}

// Name is "shopify".
func (Adapter) Name() string { return Platform }

// Title is "Shopify".
func (Adapter) Title() string { return "Shopify" }

// Store is X-Shopify-Shop-Domain, "default" without it (Parse's name for
// a shop without the header); a header that is no shop domain is refused.
func (Adapter) Store(h http.Header, _ []byte) (string, error) {
	shop := h.Get("X-Shopify-Shop-Domain")
	if shop != "" && !recovery.ValidStore(shop) {
		return "", recovery.Invalid("X-Shopify-Shop-Domain", "is not a shop domain")
	}
	if shop == "" {
		return "default", nil
	}
	return shop, nil
}

// StoreField is "": a header names the shop.
func (Adapter) StoreField() string { return "" }

// Verify checks X-Shopify-Hmac-Sha256.
func (Adapter) Verify(h http.Header, body []byte, secret string, _ time.Time) error {
	return Verify(body, h.Get("X-Shopify-Hmac-Sha256"), secret)
}

// Parse reads a checkout or order webhook; its event id is the delivery's
// (DeliveryID).
func (Adapter) Parse(h http.Header, body []byte) (recovery.Event, error) {
	topic := h.Get("X-Shopify-Topic")
	ev, err := Parse(topic, h.Get("X-Shopify-Shop-Domain"), h.Get("X-Shopify-Webhook-Id"), body)
	if err != nil {
		return ev, err
	}
	ev.ID, err = DeliveryID(topic, ev.ID, h.Get("X-Shopify-Event-Id"))
	return ev, err
}

// Hosts: a Shopify shop may also link to its own *.myshopify.com domain
// (the X-Shopify-Shop-Domain its webhooks carry, which names the store).
func (Adapter) Hosts(store string) []string {
	if strings.HasSuffix(strings.ToLower(store), ".myshopify.com") {
		return []string{store}
	}
	return nil
}

// RecoveryURLField is the checkout's abandoned_checkout_url.
func (Adapter) RecoveryURLField() string { return "abandoned_checkout_url" }

// Topic is X-Shopify-Topic.
func (Adapter) Topic(h http.Header) string { return h.Get("X-Shopify-Topic") }

// LowerCaseStores: shop domains arrive in lower case.
func (Adapter) LowerCaseStores() string { return "Shopify shop domains" }

// DiscountURL is Shopify's /discount/CODE?redirect=PATH on target's host,
// which applies code on the way to target.
func (Adapter) DiscountURL(target, code string) string {
	if code == "" {
		return target
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return target
	}
	path := u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	d := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/discount/" + code, RawQuery: url.Values{"redirect": {path}}.Encode()}
	return d.String()
}
