package redis

import (
	"github.com/cartrecovery/cartrecovery/recovery"
	"reflect"
	"strings"
	"testing"
)

// The cart record round-trips whatever is empty, and its email is dropped
// only when the cart hash has it ("em", which Load puts back).
func TestRecordRoundTrip(t *testing.T) {
	full := recovery.Cart{ID: "c1", Currency: "EUR", Total: "59.90", RecoveryURL: "https://shop/cart/c1?k=1&x=\"q\"",
		Items: []recovery.Item{{Title: "Tee «ñ» \u2028", Quantity: 2, Price: "29.95", ImageURL: "https://img/1", URL: "https://p/1"},
			{Title: "", Quantity: 0, Price: "0.00"}, {Title: "Mug"}}}
	cases := []struct {
		name     string
		platform string
		cart     recovery.Cart
		cust     recovery.Customer
		email    string // what decode yields for the email
	}{
		{"full", "shopify", full, recovery.Customer{Email: "Ana@Example.com", Phone: "+34600000000", FirstName: "Ana", Locale: "es",
			Timezone: "Europe/Madrid", EmailConsent: true, SMSConsent: true}, "Ana@Example.com"},
		{"normalized email left to the hash", "generic", full, recovery.Customer{Email: "ana@example.com", SMSConsent: true}, ""},
		{"empty", "", recovery.Cart{ID: "c2"}, recovery.Customer{}, ""},
		{"no items", "generic", recovery.Cart{ID: "c3", Currency: "JPY", Total: "5000"}, recovery.Customer{FirstName: "Ken", EmailConsent: true}, ""},
		{"sms consent only", "shopify", recovery.Cart{ID: "c4", Items: []recovery.Item{{Title: "x", Quantity: 1}}}, recovery.Customer{Phone: "+1", SMSConsent: true}, ""},
		{"id in the URL, twice", "shopify", recovery.Cart{ID: "tok1", RecoveryURL: "https://s/c/tok1/recover?key=k&t=tok1"}, recovery.Customer{}, ""},
		{"id is a common substring", "generic", recovery.Cart{ID: "s", RecoveryURL: "https://shop.s/carts/s"}, recovery.Customer{}, ""},
	}
	for _, c := range cases {
		data, err := encodeRecord(c.platform, c.cart, c.cust)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.cart.ID != "" && strings.Contains(c.cart.RecoveryURL, c.cart.ID) && strings.Contains(data, c.cart.ID) {
			t.Errorf("%s: cart id stored in the URL: %s", c.name, data)
		}
		if strings.Contains(data, "ana@example.com") {
			t.Errorf("%s: normalized email stored twice: %s", c.name, data)
		}
		cart, cust, pf, err := decodeRecordPf(c.cart.ID, data)
		if err != nil {
			t.Fatalf("%s: %v (%s)", c.name, err, data)
		}
		want := c.cust
		want.Email = c.email
		want.ID = ""
		wantCart := c.cart
		for i := range wantCart.Items {
			wantCart.Items[i].SKU = ""
		}
		if pf != c.platform || !reflect.DeepEqual(cart, wantCart) || !reflect.DeepEqual(cust, want) {
			t.Errorf("%s: round trip of %s:\n got %q %+v %+v\nwant %q %+v %+v", c.name, data, pf, cart, cust, c.platform, wantCart, want)
		}
	}
	for _, bad := range []string{"{}", "[2]", "[1,\"s\",3]", "[1,\"\",\"\",\"\",\"\",[[1]]]", "not json"} {
		if _, _, _, err := decodeRecordPf("x", bad); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}
