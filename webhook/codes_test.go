package webhook

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// An order's discount codes are read from each platform's payload: a
// unique code among them is counted redeemed.
func TestOrderDiscountCodes(t *testing.T) {
	t.Parallel()
	shop, err := os.ReadFile("testdata/shopify/orders_create.json")
	if err != nil {
		t.Fatal(err)
	}
	woo, err := os.ReadFile("testdata/woocommerce/order.json")
	if err != nil {
		t.Fatal(err)
	}
	withShopifyCodes := strings.Replace(string(shop), `"discount_codes": []`,
		`"discount_codes": [{"code": "BACK-7K3M9QX2PZ", "amount": "10.00", "type": "percentage"}, {"code": "", "amount": "0"}]`, 1)
	withWooCodes := strings.Replace(string(woo), `"coupon_lines": []`,
		`"coupon_lines": [{"id": 9, "code": "back-7k3m9qx2pz", "discount": "2.94"}]`, 1)
	for _, c := range []struct {
		name  string
		parse func() ([]string, error)
		want  []string
	}{
		{"shopify with a code", func() ([]string, error) {
			ev, err := ParseShopify("orders/create", "a.myshopify.com", "w1", []byte(withShopifyCodes))
			return ev.Order.Codes, err
		}, []string{"BACK-7K3M9QX2PZ"}},
		{"shopify without", func() ([]string, error) {
			ev, err := ParseShopify("orders/create", "a.myshopify.com", "w1", shop)
			return ev.Order.Codes, err
		}, nil},
		{"woocommerce with a coupon", func() ([]string, error) {
			ev, err := ParseWooCommerce("order.updated", "https://shop.example/", []byte(withWooCodes))
			return ev.Order.Codes, err
		}, []string{"back-7k3m9qx2pz"}},
		{"generic", func() ([]string, error) {
			ev, err := ParseGeneric([]byte(`{"id":"g1","type":"order.created","store":"s","occurred_at":"2026-11-22T10:00:00Z","customer":{"email":"a@example.com"},` +
				`"order":{"id":"o1","cart_id":"c1","total":"10.00","currency":"EUR","discount_codes":["BACK-1","",  "BACK-2"]}}`))
			return ev.Order.Codes, err
		}, []string{"BACK-1", "BACK-2"}},
	} {
		got, err := c.parse()
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q %v, want %q", c.name, got, err, c.want)
		}
	}
	if !strings.Contains(withShopifyCodes, "BACK-7K3M9QX2PZ") || !strings.Contains(withWooCodes, "back-7k3m9qx2pz") {
		t.Fatal("the fixtures changed: no codes were put in")
	}
}
