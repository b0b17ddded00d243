package woocommerce

import (
	"net/http"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Adapter takes WooCommerce's order webhooks (POST /webhooks/woocommerce):
// topics by X-WC-Webhook-Topic, the shop by X-WC-Webhook-Source, signed
// with X-WC-Webhook-Signature; and the unsigned creation ping.
type Adapter struct{}

var _ interface {
	platform.Adapter
	platform.Pinger
	platform.Topics
	platform.LowerCaseStores
} = Adapter{}

// Name is "woocommerce".
func (Adapter) Name() string { return Platform }

// Title is "WooCommerce".
func (Adapter) Title() string { return "WooCommerce" }

// IsPing reports whether the delivery is the creation ping.
func (Adapter) IsPing(h http.Header, body []byte) bool {
	return IsPing(h.Get("X-WC-Webhook-Signature"), body)
}

// Store is the host of X-WC-Webhook-Source (StoreID); "" when it is not a
// shop's address (Parse names what is wrong once the signature is checked).
func (Adapter) Store(h http.Header, _ []byte) (string, error) {
	st, err := StoreID(h.Get("X-WC-Webhook-Source"))
	if err != nil {
		return "", nil
	}
	return st, nil
}

// StoreField is "": a header names the shop.
func (Adapter) StoreField() string { return "" }

// Verify checks X-WC-Webhook-Signature.
func (Adapter) Verify(h http.Header, body []byte, secret string, _ time.Time) error {
	return Verify(body, h.Get("X-WC-Webhook-Signature"), secret)
}

// Parse reads an order webhook.
func (Adapter) Parse(h http.Header, body []byte) (recovery.Event, error) {
	return Parse(h.Get("X-WC-Webhook-Topic"), h.Get("X-WC-Webhook-Source"), body)
}

// Hosts: a WooCommerce shop is named by its own host (X-WC-Webhook-Source,
// signed with its secret): its order-pay pages are on it.
func (Adapter) Hosts(store string) []string {
	if !strings.Contains(store, "_") {
		return []string{store}
	}
	return nil
}

// RecoveryURLField is the order's payment_url.
func (Adapter) RecoveryURLField() string { return "payment_url" }

// Topic is X-WC-Webhook-Topic.
func (Adapter) Topic(h http.Header) string { return h.Get("X-WC-Webhook-Topic") }

// LowerCaseStores: hosts arrive in lower case.
func (Adapter) LowerCaseStores() string { return "WooCommerce hosts" }
