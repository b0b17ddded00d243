package woocommerce

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
	woo, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	withWooCodes := strings.Replace(string(woo), `"coupon_lines": []`,
		`"coupon_lines": [{"id": 9, "code": "back-7k3m9qx2pz", "discount": "2.94"}]`, 1)
	ev, err := Parse("order.updated", "https://shop.example/", []byte(withWooCodes))
	if got, want := ev.Order.Codes, []string{"back-7k3m9qx2pz"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("woocommerce with a coupon: %q %v, want %q", got, err, want)
	}
	if !strings.Contains(withWooCodes, "back-7k3m9qx2pz") {
		t.Fatal("the fixtures changed: no codes were put in")
	}
}
