package platformtest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Bundle is one platform under the conformance test: its adapter, a sample
// delivery, and its API client against the platform's own fake.
type Bundle struct {
	Adapter platform.Adapter
	// Store is the store the sample delivery names.
	Store string
	// Delivery is a sample delivery (a cart update) signed with secret at
	// now: its headers and body.
	Delivery func(t testing.TB, secret string, now time.Time) (http.Header, []byte)
	// Start starts the platform's fake and returns a client against it and
	// what the fake holds; nil for a platform without an API.
	Start func(t testing.TB) Fake
}

// Fake is a client against a platform's fake, and what Run asks it for
// each capability the client has (a client that claims a capability must
// have its data here).
type Fake struct {
	Client platform.Client
	// Cart is a cart the fake has (CartSource).
	Cart string
	// Code is a code the fake takes (CodeRegistrar).
	Code recovery.CodeRequest
	// Ordered is a cart the fake has an order for since Since; NotOrdered
	// one it has none for (OrderChecker).
	Ordered, NotOrdered recovery.CartState
	Since               time.Time
	// Order is the id of a placed order of a cart the fake has; NoOrder an
	// id it has no order of (OrderFinder).
	Order, NoOrder string
}

// Run is the conformance test of b: what the server and the worker expect
// of every platform.
func Run(t *testing.T, b Bundle) {
	a := b.Adapter
	now := time.Now()
	const secret = "conformance-secret"

	t.Run("names", func(t *testing.T) {
		if a.Name() == "" || a.Title() == "" || a.RecoveryURLField() == "" {
			t.Fatalf("name %q, title %q, recovery URL field %q: all are needed", a.Name(), a.Title(), a.RecoveryURLField())
		}
		if !recovery.ValidStore(b.Store) {
			t.Fatalf("the sample's store %q is not a store id", b.Store)
		}
	})

	t.Run("verify", func(t *testing.T) {
		h, body := b.Delivery(t, secret, now)
		if err := a.Verify(h, body, secret, now); err != nil {
			t.Fatalf("its own signature refused: %v", err)
		}
		changed := append([]byte(" "), body...)
		for name, err := range map[string]error{
			"another secret": a.Verify(h, body, "another-secret", now),
			"no secret":      a.Verify(h, body, "", now),
			"changed body":   a.Verify(h, changed, secret, now),
			"no signature":   a.Verify(http.Header{}, body, secret, now),
		} {
			if !errors.Is(err, recovery.ErrUnauthorized) {
				t.Errorf("%s: %v, want an error wrapping recovery.ErrUnauthorized", name, err)
			}
		}
	})

	t.Run("store", func(t *testing.T) {
		h, body := b.Delivery(t, secret, now)
		st, err := a.Store(h, body)
		if err != nil || st != b.Store {
			t.Fatalf("store %q %v, want %q", st, err, b.Store)
		}
		if p, ok := a.(platform.Pinger); ok && p.IsPing(h, body) {
			t.Fatal("a signed delivery taken for a ping")
		}
	})

	t.Run("parse", func(t *testing.T) {
		h, body := b.Delivery(t, secret, now)
		ev, err := a.Parse(h, body)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Platform != a.Name() || ev.Store != b.Store || ev.Kind != recovery.CartUpdated {
			t.Fatalf("platform %q store %q kind %q, want %q %q %q", ev.Platform, ev.Store, ev.Kind, a.Name(), b.Store, recovery.CartUpdated)
		}
		CheckEvent(t, ev)
	})

	t.Run("client", func(t *testing.T) {
		if b.Start == nil {
			t.Skip("no API")
		}
		f := b.Start(t)
		if f.Client == nil {
			t.Fatal("no client")
		}
		ctx := context.Background()
		if s, ok := f.Client.(platform.CartSource); ok {
			if f.Cart == "" {
				t.Fatal("a CartSource, and Fake.Cart is not set")
			}
			cart, _, err := s.Cart(ctx, f.Cart)
			if err != nil || cart.ID != f.Cart {
				t.Errorf("cart %q: %+v %v", f.Cart, cart, err)
			}
			if u, err := s.RecoveryURL(ctx, f.Cart); err != nil || u == "" {
				t.Errorf("recovery URL of %q: %q %v", f.Cart, u, err)
			}
			if _, _, err := s.Cart(ctx, "not-"+f.Cart); !errors.Is(err, recovery.ErrNotFound) {
				t.Errorf("a cart the platform does not have: %v, want an error wrapping recovery.ErrNotFound", err)
			}
		}
		if r, ok := f.Client.(platform.CodeRegistrar); ok {
			if f.Code.Code == "" {
				t.Fatal("a CodeRegistrar, and Fake.Code is not set")
			}
			if err := r.RegisterCode(ctx, f.Code); err != nil {
				t.Errorf("register %s: %v", f.Code.Code, err)
			}
			if err := r.RegisterCode(ctx, f.Code); err != nil {
				t.Errorf("register %s again (a retry must succeed): %v", f.Code.Code, err)
			}
		}
		if c, ok := f.Client.(platform.OrderChecker); ok {
			if f.Ordered.ID == "" || f.NotOrdered.ID == "" {
				t.Fatal("an OrderChecker, and Fake.Ordered or Fake.NotOrdered is not set")
			}
			if o, found, err := c.OrderSince(ctx, f.Ordered, f.Since); err != nil || !found || o.ID == "" {
				t.Errorf("order of cart %s: %+v %v %v, want it found", f.Ordered.ID, o, found, err)
			}
			if o, found, err := c.OrderSince(ctx, f.NotOrdered, f.Since); err != nil || found {
				t.Errorf("cart %s without an order: %+v %v %v, want none", f.NotOrdered.ID, o, found, err)
			}
		}
		if o, ok := f.Client.(platform.OrderFinder); ok {
			if f.Order == "" || f.NoOrder == "" {
				t.Fatal("an OrderFinder, and Fake.Order or Fake.NoOrder is not set")
			}
			if cart, ord, _, placed, err := o.Order(ctx, f.Order); err != nil || cart == "" || !placed || ord.ID != f.Order {
				t.Errorf("order %s: cart %q %+v placed %v %v", f.Order, cart, ord, placed, err)
			}
			if _, _, _, _, err := o.Order(ctx, f.NoOrder); !errors.Is(err, recovery.ErrNotFound) {
				t.Errorf("order %s the platform does not have: %v, want an error wrapping recovery.ErrNotFound", f.NoOrder, err)
			}
		}
		if _, ok := b.Adapter.(platform.OrderLookup); ok {
			if _, ok := f.Client.(platform.OrderFinder); !ok {
				t.Error("the adapter's orders are looked up (platform.OrderLookup), and its client is no OrderFinder")
			}
		}
	})
}
