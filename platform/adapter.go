package platform

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Adapter is one platform's webhooks as the server takes them at POST
// /webhooks/{Name}: which store a delivery names, its signature, and the
// event it carries. An adapter is a pure function of headers and body (no
// I/O); what else a platform does is told by the optional interfaces
// below (Pinger, Topics, DiscountLinker, OrderLookup, IDsOnly,
// LowerCaseStores).
type Adapter interface {
	// Name is the platform's name: the path of its webhooks (POST
	// /webhooks/{name}), recovery.Event.Platform of its events and carts,
	// its key under platforms.* in the configuration.
	Name() string
	// Title is the name people know the platform by, for messages
	// ("BigCommerce").
	Title() string
	// Store reads the store a delivery names, before its signature is
	// checked (with that store's secret), from its headers or its body:
	// "" when it cannot be read, which the server checks with the default
	// secret (or refuses, see StoreField). An error (wrapping
	// recovery.ErrInvalid) refuses the delivery.
	Store(h http.Header, body []byte) (string, error)
	// StoreField is the field of the body that names the store ("store",
	// "producer"), for a platform whose deliveries name it in the body; ""
	// when a header does. The body is read for it only when stores have
	// secrets of their own, and a body whose store cannot be read is then
	// refused with an error naming this field.
	StoreField() string
	// Verify checks the delivery's signature with the store's webhook
	// secret ("" refuses everything) at now (a signature may carry its
	// time). Its error wraps recovery.ErrUnauthorized.
	Verify(h http.Header, body []byte, secret string, now time.Time) error
	// Parse reads a verified delivery into an event. Its errors wrap
	// recovery.ErrInvalid (naming the field) or recovery.ErrIgnored (a
	// topic or status that says nothing about a cart). An order its
	// webhook names by id only is a recovery.OrderLookup event (see
	// OrderLookup).
	Parse(h http.Header, body []byte) (recovery.Event, error)
	// Hosts are the hosts (and their subdomains), besides the store's own
	// (store.url, store.allowed_hosts), that the URLs of store's carts
	// may point to: the platform's own domains.
	Hosts(store string) []string
	// RecoveryURLField names the field of a delivery that holds a cart's
	// recovery URL, in errors ("cart.recovery_url" when the event has no
	// such field of its own).
	RecoveryURLField() string
}

// Pinger is a platform that sends an unsigned ping (WooCommerce's, when
// a webhook is created): it is answered 200 (ErrPing) before any store or
// signature is looked at, and changes nothing.
type Pinger interface {
	IsPing(h http.Header, body []byte) bool
}

// Topics is a platform whose deliveries name their topic in a header
// (X-Shopify-Topic), for the log.
type Topics interface {
	Topic(h http.Header) string
}

// DiscountLinker is a platform with a URL that applies a discount code on
// the way to a cart (Shopify's /discount/CODE?redirect=PATH): the
// click-through of a message with a code goes there.
type DiscountLinker interface {
	// DiscountURL is the URL that applies code on the way to target, or
	// target as is when it has none.
	DiscountURL(target, code string) string
}

// OrderLookup is a platform whose order webhooks name the order by its id
// only (BigCommerce's store/order/created, parsed as recovery.OrderLookup):
// the worker asks the store's client, an OrderFinder answering for that
// store, for the order's cart.
type OrderLookup interface {
	// NoLookup is why an order of store cannot be looked up: no client with
	// the API credentials for it. It wraps recovery.ErrIgnored.
	NoLookup(store string) error
}

// IDsOnly is a platform whose cart webhooks carry ids only (BigCommerce):
// the cart's content, currency and customer are fetched at send time (its
// client is a CartSource), so a segment condition on them is never met
// when the webhook is read.
type IDsOnly interface {
	IDsOnly() bool
}

// LowerCaseStores is a platform whose store ids arrive in lower case,
// whatever the configuration writes: it says what they are ("Shopify shop
// domains"), for a note on a store id written with capitals.
type LowerCaseStores interface {
	LowerCaseStores() string
}

// Registry is the platforms cartrecovery takes webhooks from, in a fixed
// order (platform/all builds the one every command uses).
type Registry struct {
	list   []Adapter
	byName map[string]Adapter
}

// NewRegistry registers adapters, in that order. Two adapters of the same
// name are a programming error: it panics.
func NewRegistry(adapters ...Adapter) *Registry {
	r := &Registry{byName: map[string]Adapter{}}
	for _, a := range adapters {
		if _, dup := r.byName[a.Name()]; dup {
			panic(fmt.Sprintf("platform %q registered twice", a.Name()))
		}
		r.list = append(r.list, a)
		r.byName[a.Name()] = a
	}
	return r
}

// All are the adapters, in the order they were registered.
func (r *Registry) All() []Adapter { return append([]Adapter(nil), r.list...) }

// Lookup is the adapter of the platform name.
func (r *Registry) Lookup(name string) (Adapter, bool) {
	a, ok := r.byName[name]
	return a, ok
}

// Names are the platforms' names, in the order they were registered.
func (r *Registry) Names() []string {
	out := make([]string, len(r.list))
	for i, a := range r.list {
		out[i] = a.Name()
	}
	return out
}
