package generic

import (
	"slices"
	"testing"
)

// An order's discount codes are read from the payload: a unique code among
// them is counted redeemed.
func TestOrderDiscountCodes(t *testing.T) {
	t.Parallel()
	ev, err := Parse([]byte(`{"id":"g1","type":"order.created","store":"s","occurred_at":"2026-11-22T10:00:00Z","customer":{"email":"a@example.com"},` +
		`"order":{"id":"o1","cart_id":"c1","total":"10.00","currency":"EUR","discount_codes":["BACK-1","",  "BACK-2"]}}`))
	if got, want := ev.Order.Codes, []string{"BACK-1", "BACK-2"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("generic: %q %v, want %q", got, err, want)
	}
}
