package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// decimalOK: amounts that parse are non-negative decimal strings (or empty).
var decimalOK = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?)?$`)

// checkEvent asserts what every successfully parsed event guarantees.
func checkEvent(t *testing.T, ev recovery.Event) {
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

func checkErr(t *testing.T, err error) {
	if !errors.Is(err, recovery.ErrInvalid) && !errors.Is(err, recovery.ErrIgnored) {
		t.Fatalf("error %v wraps neither ErrInvalid nor ErrIgnored", err)
	}
}

func FuzzParseGeneric(f *testing.F) {
	f.Add([]byte(designExample))
	f.Add([]byte(`{"id":"e","type":"order.created","occurred_at":"2026-11-22T10:00:00Z","order":{"id":"o","cart_id":"c","total":"1.00","currency":"EUR"}}`))
	f.Add([]byte(`{"id":1,"type":"cart.deleted","occurred_at":"2026-11-22T10:00:00Z","cart":{"id":2}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseGeneric(body)
		if err != nil {
			checkErr(t, err)
			return
		}
		checkEvent(t, ev)
	})
}

func FuzzParseShopify(f *testing.F) {
	files, _ := filepath.Glob("testdata/shopify/*.json")
	topics := []string{"checkouts/create", "checkouts/update", "checkouts/delete", "orders/create"}
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(topics[i%len(topics)], b)
	}
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		ev, err := ParseShopify(topic, "shop.myshopify.com", "wh", body)
		if err != nil {
			checkErr(t, err)
			return
		}
		checkEvent(t, ev)
	})
}
