// Package platform is what cartrecovery knows of an e-commerce platform,
// behind one interface: an Adapter reads, verifies and parses the
// platform's webhooks into recovery.Events; a Client (with its optional
// capabilities CartSource, CodeRegistrar, OrderChecker and OrderFinder)
// calls the platform's API at send time; a Config is the platform's
// settings (platforms.<name>). Each platform is one package below this one
// (platform/shopify, platform/woocommerce, …) with its protocol fake as a
// subpackage, registered in platform/all.
package platform

import (
	"context"
	"errors"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// ErrPing is a platform's unsigned ping (WooCommerce's, when a webhook is
// created): answered 200 {"status":"ok"}, it changes nothing.
var ErrPing = errors.New("webhook creation ping")

// Client is a cart platform's API, asked at send time about the carts of
// one store. What a platform can do beyond Store is told by the interfaces
// below; each is optional.
type Client interface {
	// Store is the store id the client answers for; "" answers for every
	// store (the generic platform's discount URL).
	Store() string
}

// CartSource fetches what a cart holds now, for platforms whose webhooks
// carry ids only (BigCommerce).
type CartSource interface {
	// Cart returns the cart's content and shopper now; an error wrapping
	// recovery.ErrNotFound when the platform no longer has the cart.
	Cart(ctx context.Context, id string) (recovery.Cart, recovery.Customer, error)
	// RecoveryURL makes a link that restores the cart.
	RecoveryURL(ctx context.Context, id string) (string, error)
}

// CodeRegistrar registers a unique discount code with the platform: single
// use, for the customer, ending at its expiry. Registering a code the
// platform already has from an earlier attempt succeeds (retries are
// idempotent). An error means the code must not be sent.
type CodeRegistrar interface {
	RegisterCode(ctx context.Context, r recovery.CodeRequest) error
}

// OrderChecker asks the platform whether the cart's checkout, or its
// customer, has ordered since the cart began (the last check before a
// send, for order webhooks that were lost). ok is false when no order was
// found; an error when the platform could not answer.
type OrderChecker interface {
	OrderSince(ctx context.Context, c recovery.CartState, since time.Time) (o recovery.Order, ok bool, err error)
}

// OrderFinder reads one order by its id: the cart it came from, the
// customer's email, and whether it was placed (not incomplete, cancelled
// or declined). An error wrapping recovery.ErrNotFound when the platform
// has no such order. It serves the order events a platform's webhooks
// name by the order's id only (recovery.OrderLookup; see OrderLookup).
type OrderFinder interface {
	Order(ctx context.Context, orderID string) (cartID string, o recovery.Order, email string, placed bool, err error)
}
