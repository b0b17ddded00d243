package shopify

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// An order's discount codes are read from the payload: a unique code among
// them is counted redeemed.
func TestOrderDiscountCodes(t *testing.T) {
	t.Parallel()
	shop, err := os.ReadFile("testdata/orders_create.json")
	if err != nil {
		t.Fatal(err)
	}
	withShopifyCodes := strings.Replace(string(shop), `"discount_codes": []`,
		`"discount_codes": [{"code": "BACK-7K3M9QX2PZ", "amount": "10.00", "type": "percentage"}, {"code": "", "amount": "0"}]`, 1)
	for _, c := range []struct {
		name  string
		parse func() ([]string, error)
		want  []string
	}{
		{"shopify with a code", func() ([]string, error) {
			ev, err := Parse("orders/create", "a.myshopify.com", "w1", []byte(withShopifyCodes))
			return ev.Order.Codes, err
		}, []string{"BACK-7K3M9QX2PZ"}},
		{"shopify without", func() ([]string, error) {
			ev, err := Parse("orders/create", "a.myshopify.com", "w1", shop)
			return ev.Order.Codes, err
		}, nil},
	} {
		got, err := c.parse()
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q %v, want %q", c.name, got, err, c.want)
		}
	}
	if !strings.Contains(withShopifyCodes, "BACK-7K3M9QX2PZ") {
		t.Fatal("the fixtures changed: no codes were put in")
	}
}
