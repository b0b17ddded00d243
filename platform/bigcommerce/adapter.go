package bigcommerce

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/field"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Adapter takes BigCommerce's webhooks (POST /webhooks/bigcommerce),
// signed per Standard Webhooks, naming their store in the body's
// "producer": "stores/{hash}" and their cart or order by id only.
type Adapter struct{}

var _ interface {
	platform.Adapter
	platform.IDsOnly
	platform.OrderLookup
} = Adapter{}

// Name is "bigcommerce".
func (Adapter) Name() string { return Platform }

// Title is "BigCommerce".
func (Adapter) Title() string { return "BigCommerce" }

// Store is the hash of the body's "producer": "stores/{hash}"; "" when the
// body has none.
func (Adapter) Store(_ http.Header, body []byte) (string, error) {
	v, ok := field.BodyString(body, "producer")
	if !ok {
		return "", nil // not a string: the parser refuses it
	}
	if st, ok := strings.CutPrefix(v, "stores/"); ok {
		return st, nil
	}
	return "", nil
}

// StoreField is "producer".
func (Adapter) StoreField() string { return "producer" }

// Verify checks webhook-signature, and that webhook-timestamp is within
// MaxSkew of now.
func (Adapter) Verify(h http.Header, body []byte, secret string, now time.Time) error {
	return Verify(h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature"), body, secret, now)
}

// Parse reads a delivery: the worker asks the store for the cart's content
// at send time.
func (Adapter) Parse(h http.Header, body []byte) (recovery.Event, error) {
	return Parse(h.Get("webhook-id"), body)
}

// Hosts: BigCommerce's restore links, made through its API at send time,
// are on the store's own domain: mybigcommerce.com, or a custom domain
// that store.url or store.allowed_hosts names.
func (Adapter) Hosts(string) []string { return []string{"mybigcommerce.com"} }

// RecoveryURLField: BigCommerce's webhooks carry no URL.
func (Adapter) RecoveryURLField() string { return "cart.recovery_url" }

// IDsOnly: cart webhooks carry the cart's id only.
func (Adapter) IDsOnly() bool { return true }

// NoLookup: store/order/created needs the store's API credentials to find
// the order's cart.
func (Adapter) NoLookup(store string) error {
	return fmt.Errorf("store %s: no BigCommerce API credentials for it (platforms.bigcommerce.store_hash and access_token, or the store's own under stores): %w",
		store, recovery.ErrIgnored)
}
