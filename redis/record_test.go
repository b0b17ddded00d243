package redis

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cartrecovery/cartrecovery/recovery"
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
		cart, cust, pf, err := decodeRecord(c.cart.ID, data)
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
	// a record of format 1 (the cart id in the URL as NUL) still reads
	v1 := `[1,"shopify","EUR","5.00","https://s/c/\u0000/recover",[["Tee",1,"5.00"]],["",""]]`
	if c, _, _, err := decodeRecord("tok9", v1); err != nil || c.RecoveryURL != "https://s/c/tok9/recover" || c.Items[0].Title != "Tee" {
		t.Errorf("format 1: %+v %v", c, err)
	}
	for _, bad := range []string{"{}", "[3]", "[1,\"s\",3]", "[1,\"\",\"\",\"\",\"\",[[1]]]", "not json"} {
		if _, _, _, err := decodeRecord("x", bad); err == nil {
			t.Errorf("decoded %s", bad)
		}
	}
}

// The record's hand-written JSON is what encoding/json writes (without HTML
// escaping) for every string, hostile ones included.
func TestRecordStringsAreJSON(t *testing.T) {
	for _, v := range []string{"", "plain", "quote \" backslash \\", "ctl \x00\x01\x1f\x7f", "\b\f\n\r\t",
		"<script>&amp;</script>", "naïve 日本 🎉", "\u2028\u2029", "bad \xff\xfe utf8", "\xed\xa0\x80"} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if got, want := string(appendString(nil, v)), strings.TrimSuffix(b.String(), "\n"); got != want {
			t.Errorf("%q: %s, encoding/json writes %s", v, got, want)
		}
	}
}
