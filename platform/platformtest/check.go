// Package platformtest is the conformance test every platform adapter
// passes (Run), and the checks the platforms' parser tests and fuzzers
// share.
package platformtest

import (
	"errors"
	"regexp"
	"testing"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// decimalOK: amounts that parse are non-negative decimal strings (or empty).
var decimalOK = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)?$`)

// CheckEvent asserts what every successfully parsed event guarantees.
func CheckEvent(t testing.TB, ev recovery.Event) {
	switch ev.Kind {
	case recovery.CartUpdated:
		if ev.Cart.ID == "" {
			t.Fatal("cart.updated without cart id")
		}
	case recovery.CartDeleted:
		if ev.Cart.ID == "" && len(ev.Refs) == 0 {
			t.Fatal("cart.deleted that names no cart")
		}
	case recovery.OrderCreated:
		if ev.Order.ID == "" {
			t.Fatal("order without id")
		}
	default:
		t.Fatalf("kind %q", ev.Kind)
	}
	if ev.ID == "" || !recovery.ValidStore(ev.Store) {
		t.Fatalf("id %q store %q", ev.ID, ev.Store)
	}
	for _, a := range []string{ev.Cart.Total, ev.Order.Total} {
		if !decimalOK.MatchString(a) {
			t.Fatalf("amount %q", a)
		}
	}
	for _, cur := range []string{ev.Cart.Currency, ev.Order.Currency} {
		if cur != "" && !money.Known(cur) {
			t.Fatalf("currency %q is not ISO 4217", cur)
		}
	}
	for _, it := range ev.Cart.Items {
		if !decimalOK.MatchString(it.Price) || it.Quantity < 1 {
			t.Fatalf("item %+v", it)
		}
	}
}

// CheckErr asserts that a parser's error is one of its two kinds: the
// delivery is invalid (400) or ignored (202).
func CheckErr(t testing.TB, err error) {
	if !errors.Is(err, recovery.ErrInvalid) && !errors.Is(err, recovery.ErrIgnored) {
		t.Fatalf("error %v wraps neither ErrInvalid nor ErrIgnored", err)
	}
}
