package woocommerce

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

const wcSource = "https://shop.example/"

// wcOrderFixture is WooCommerce's documented order with status and fields
// set for a case.
func wcOrderFixture(t testing.TB, status string, extra ...string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `"status": "processing"`, `"status": "`+status+`"`, 1)
	for i := 0; i+1 < len(extra); i += 2 {
		s = strings.Replace(s, extra[i], extra[i+1], 1)
	}
	return []byte(s)
}

func TestWooCommerceStatuses(t *testing.T) {
	cases := []struct {
		topic, status string
		kind          recovery.Kind
		ignored       bool
	}{
		{"order.updated", "checkout-draft", recovery.CartUpdated, false},
		{"order.created", "pending", recovery.CartUpdated, false},
		{"order.updated", "failed", recovery.CartUpdated, false},
		{"order.updated", "processing", recovery.OrderCreated, false},
		{"order.created", "on-hold", recovery.OrderCreated, false},
		{"order.updated", "completed", recovery.OrderCreated, false},
		{"order.updated", "cancelled", recovery.CartDeleted, false},
		{"order.updated", "refunded", recovery.CartDeleted, false},
		{"order.restored", "trash", recovery.CartDeleted, false},
		{"order.restored", "pending", recovery.CartUpdated, false},
		{"order.updated", "wc-custom-status", "", true},
		{"coupon.created", "pending", "", true},
		{"product.updated", "pending", "", true},
	}
	for _, c := range cases {
		ev, err := Parse(c.topic, wcSource, wcOrderFixture(t, c.status))
		if c.ignored {
			if !errors.Is(err, recovery.ErrIgnored) {
				t.Errorf("%s %s: %+v %v, want ignored", c.topic, c.status, ev, err)
			}
			continue
		}
		if err != nil || ev.Kind != c.kind || ev.Cart.ID != "727" || ev.Store != "shop.example" || ev.Platform != "woocommerce" {
			t.Errorf("%s %s: %+v %v, want %s of cart 727", c.topic, c.status, ev, err, c.kind)
		}
	}
}

func TestWooCommerceOpenOrderIsACart(t *testing.T) {
	ev, err := Parse("order.updated", wcSource, wcOrderFixture(t, "pending"))
	if err != nil {
		t.Fatal(err)
	}
	want := "https://shop.example/checkout/order-pay/727/?pay_for_order=true&key=wc_order_58d2d042d1d"
	if ev.Cart.RecoveryURL != want {
		t.Errorf("recovery URL %q, want the order-pay page %q", ev.Cart.RecoveryURL, want)
	}
	if ev.Cart.Currency != "USD" || ev.Cart.Total != "29.35" || len(ev.Cart.Items) != 2 ||
		ev.Cart.Items[0].Title != "Woo Single #1" || ev.Cart.Items[0].Quantity != 2 || ev.Cart.Items[0].Price != "3" {
		t.Errorf("cart %+v", ev.Cart)
	}
	if ev.Customer.Email != "john.doe@example.com" || ev.Customer.FirstName != "John" || ev.Customer.Phone != "" || ev.Customer.ID != "" {
		t.Errorf("customer %+v (the billing phone is not E.164: dropped; customer 0 is a guest)", ev.Customer)
	}
	if !ev.OccurredAt.Equal(time.Date(2017, 3, 22, 19, 28, 8, 0, time.UTC)) || ev.TimeField != "date_modified_gmt" {
		t.Errorf("occurred at %v (%s)", ev.OccurredAt, ev.TimeField)
	}
	// the order's own payment_url wins (current WooCommerce sends it)
	pay := wcOrderFixture(t, "pending", `"order_key": "wc_order_58d2d042d1d",`, `"order_key": "wc_order_58d2d042d1d", "payment_url": "https://shop.example/shop/checkout/order-pay/727/?pay_for_order=true&key=k2",`)
	if ev, err := Parse("order.updated", wcSource, pay); err != nil || !strings.HasSuffix(ev.Cart.RecoveryURL, "key=k2") {
		t.Errorf("payment_url: %q %v", ev.Cart.RecoveryURL, err)
	}
	// a WordPress installed in a folder: the order-pay page is under it
	if ev, _ := Parse("order.updated", "https://example.com/shop/", wcOrderFixture(t, "pending")); !strings.HasPrefix(ev.Cart.RecoveryURL, "https://example.com/shop/checkout/order-pay/727/") {
		t.Errorf("folder install: %q", ev.Cart.RecoveryURL)
	}
	// no billing email yet: nothing to remind
	noEmail := wcOrderFixture(t, "checkout-draft", `"email": "john.doe@example.com"`, `"email": ""`)
	if _, err := Parse("order.updated", wcSource, noEmail); !errors.Is(err, recovery.ErrIgnored) {
		t.Errorf("draft without email: %v, want ignored", err)
	}
}

// order.created and order.updated of the same change are one event; a new
// change or a new status is another.
func TestWooCommerceEventIdentity(t *testing.T) {
	a, _ := Parse("order.created", wcSource, wcOrderFixture(t, "pending"))
	b, _ := Parse("order.updated", wcSource, wcOrderFixture(t, "pending"))
	c, _ := Parse("order.updated", wcSource, wcOrderFixture(t, "processing"))
	d, _ := Parse("order.updated", wcSource, wcOrderFixture(t, "pending", `"date_modified_gmt": "2017-03-22T19:28:08"`, `"date_modified_gmt": "2017-03-22T19:30:00"`))
	if a.ID == "" || a.ID != b.ID || a.ID == c.ID || a.ID == d.ID || c.ID == d.ID {
		t.Fatalf("ids %q %q %q %q", a.ID, b.ID, c.ID, d.ID)
	}
	del, err := Parse("order.deleted", wcSource, []byte(`{"id": 727}`))
	if err != nil || del.Kind != recovery.CartDeleted || del.Cart.ID != "727" || !del.OccurredAt.IsZero() {
		t.Fatalf("deleted: %+v %v", del, err)
	}
	o, _ := Parse("order.updated", wcSource, wcOrderFixture(t, "completed"))
	if o.Order.ID != "727" || o.Order.Total != "29.35" || o.Order.Currency != "USD" {
		t.Fatalf("order %+v", o.Order)
	}
}

func TestWooCommerceBadInput(t *testing.T) {
	for _, c := range []struct {
		name, topic, source string
		body                []byte
		field               string
	}{
		{"no topic", "", wcSource, wcOrderFixture(t, "pending"), "X-WC-Webhook-Topic"},
		{"no source", "order.updated", "", wcOrderFixture(t, "pending"), "X-WC-Webhook-Source"},
		{"source not a URL", "order.updated", "shop example", wcOrderFixture(t, "pending"), "X-WC-Webhook-Source"},
		{"hostile source host", "order.updated", "https://sh*op.example/", wcOrderFixture(t, "pending"), "X-WC-Webhook-Source"},
		{"malformed JSON", "order.updated", wcSource, []byte(`{"id": 727,`), "body"},
		{"id as float", "order.updated", wcSource, []byte(`{"id": 7.5, "status": "pending"}`), "id"},
		{"no status", "order.updated", wcSource, []byte(`{"id": 727, "date_modified_gmt": "2017-03-22T19:28:08"}`), "status"},
		{"bad time", "order.updated", wcSource, wcOrderFixture(t, "pending", `"date_modified_gmt": "2017-03-22T19:28:08"`, `"date_modified_gmt": "yesterday"`), "date_modified_gmt"},
		{"total a number", "order.updated", wcSource, wcOrderFixture(t, "pending", `"total": "29.35"`, `"total": 29.35`), "total"},
		{"negative total", "order.updated", wcSource, wcOrderFixture(t, "pending", `"total": "29.35"`, `"total": "-29.35"`), "total"},
		{"price not decimal", "order.updated", wcSource, wcOrderFixture(t, "pending", `"price": 3`, `"price": 1e300`), "line_items[0].price"},
		{"bad email", "order.updated", wcSource, wcOrderFixture(t, "pending", `"john.doe@example.com"`, `"John <john@example.com>"`), "billing.email"},
		{"javascript payment_url", "order.updated", wcSource, wcOrderFixture(t, "pending", `"order_key": "wc_order_58d2d042d1d",`, `"order_key": "k", "payment_url": "javascript:alert(1)",`), "payment_url"},
	} {
		_, err := Parse(c.topic, c.source, c.body)
		var fe *recovery.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.field)
		}
	}
}

func TestWooCommerceSignatureAndPing(t *testing.T) {
	body := wcOrderFixture(t, "pending")
	sig := Sign(body, "wc-secret")
	if err := Verify(body, sig, "wc-secret"); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		body        []byte
		sig, secret string
	}{
		"wrong secret": {body, sig, "other"},
		"changed body": {append([]byte(" "), body...), sig, "wc-secret"},
		"no signature": {body, "", "wc-secret"},
		"no secret":    {body, sig, ""},
		"not base64":   {body, "!!", "wc-secret"},
	} {
		if err := Verify(c.body, c.sig, c.secret); !errors.Is(err, recovery.ErrUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !IsPing("", []byte("webhook_id=12")) || IsPing("x", []byte("webhook_id=12")) ||
		IsPing("", []byte("webhook_id=12&x=1")) || IsPing("", body) {
		t.Error("ping recognised wrongly")
	}
}

func FuzzParseWooCommerce(f *testing.F) {
	for _, st := range []string{"pending", "processing", "cancelled", "checkout-draft"} {
		f.Add("order.updated", wcSource, wcOrderFixture(f, st))
	}
	f.Add("order.deleted", wcSource, []byte(`{"id": 1}`))
	f.Add("order.created", "https://x.example:8443/", []byte(`{"id":"9","status":"pending","billing":{"email":"a@b.co"},"date_modified_gmt":"2026-01-01T00:00:00"}`))
	f.Fuzz(func(t *testing.T, topic, source string, body []byte) {
		ev, err := Parse(topic, source, body)
		if err != nil {
			if !errors.Is(err, recovery.ErrInvalid) && !errors.Is(err, recovery.ErrIgnored) {
				t.Fatalf("error neither invalid nor ignored: %v", err)
			}
			return
		}
		if !recovery.ValidStore(ev.Store) || ev.Cart.ID == "" || ev.ID == "" {
			t.Fatalf("accepted without a store, cart or id: %+v", ev)
		}
		if ev.Kind == recovery.CartUpdated && ev.Customer.Email == "" {
			t.Fatalf("an open order without email became a cart: %+v", ev)
		}
	})
}
