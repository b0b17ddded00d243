package generic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

const designExample = `{"id": "evt_123", "type": "cart.updated", "occurred_at": "2026-11-22T10:00:00Z", "store": "default",
 "cart": {"id": "c1", "currency": "EUR", "total": "59.90", "recovery_url": "https://shop/cart/c1",
          "items": [{"sku": "TEE-1", "title": "T-shirt", "quantity": 2, "price": "29.95",
                     "image_url": "https://cdn.example/tee.jpg", "url": "https://shop.example/p/tee"}]},
 "customer": {"id": "u1", "email": "ana@example.com", "phone": "+34600000000", "first_name": "Ana",
              "locale": "es", "timezone": "Europe/Madrid", "email_consent": true, "sms_consent": false}}`

func TestGenericDesignExample(t *testing.T) {
	ev, err := Parse([]byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_123" || ev.Kind != recovery.CartUpdated || ev.Store != "default" || ev.Cart.ID != "c1" || ev.Cart.Total != "59.90" ||
		len(ev.Cart.Items) != 1 || ev.Cart.Items[0].Quantity != 2 || ev.Customer.Timezone != "Europe/Madrid" || !ev.Customer.EmailConsent || ev.Customer.SMSConsent {
		t.Fatalf("%+v", ev)
	}
	ord, err := Parse([]byte(`{"id":"e2","type":"order.created","occurred_at":"2026-11-22T10:00:00+01:00","customer":{"email":"ana@example.com"},"order":{"id":"o1","cart_id":"c1","total":"59.90","currency":"EUR"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ord.Cart.ID != "c1" || ord.Order.ID != "o1" || ord.OccurredAt.Hour() != 9 {
		t.Fatalf("%+v", ord)
	}
}

func TestGenericBadInput(t *testing.T) {
	set := func(path, value string) string {
		var m map[string]any
		_ = json.Unmarshal([]byte(designExample), &m)
		parts := strings.Split(path, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			if p == "items0" {
				cur = cur["items"].([]any)[0].(map[string]any)
				continue
			}
			cur = cur[p].(map[string]any)
		}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			v = value
		}
		if value == "<delete>" {
			delete(cur, parts[len(parts)-1])
		} else {
			cur[parts[len(parts)-1]] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct{ body, field string }{
		{``, "body"},
		{`{`, "body"},
		{`[]`, "body"},
		{`{"id":"x"} {}`, "body"},
		{set("id", "<delete>"), "id"},
		{set("type", `"cart.created"`), "type"},
		{set("occurred_at", `"yesterday"`), "occurred_at"},
		{set("occurred_at", "<delete>"), "occurred_at"},
		{set("store", `"a/b"`), "store"},
		{set("cart.id", "<delete>"), "cart.id"},
		{set("cart.total", `59.9`), "cart.total"},
		{set("cart.total", `"59,90"`), "cart.total"},
		{set("cart.currency", `"euro"`), "cart.currency"},
		{set("cart.recovery_url", `"javascript:alert(1)"`), "cart.recovery_url"},
		{set("cart.items0.price", `"abc"`), "cart.items[0].price"},
		{set("cart.items0.quantity", `0`), "cart.items[0].quantity"},
		{set("cart.items0.quantity", `"2"`), "cart.items.quantity"},
		{set("customer.email", `"not an email"`), "customer.email"},
		{set("customer.email", `"Ana <ana@example.com>"`), "customer.email"},
		{set("customer.phone", `"600 000 000"`), "customer.phone"},
		{set("customer.timezone", `"Mars/Olympus"`), "customer.timezone"},
		{set("customer.email_consent", `"yes"`), "customer.email_consent"},
		{set("cart.id", `1.5`), "cart.id"},
		{set("id", `"`+strings.Repeat("x", 201)+`"`), "id"},
		{set("cart.id", `"a\u0000b"`), "cart.id"},
		{`{"id":"e","type":"order.created","occurred_at":"2026-11-22T10:00:00Z"}`, "order"},
		{`{"id":"e","type":"order.created","occurred_at":"2026-11-22T10:00:00Z","order":{"total":"1"}}`, "order.id"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.body))
		var fe *recovery.FieldError
		if !errors.Is(err, recovery.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("body %.80q: err %v, want a field error naming %q", tc.body, err, tc.field)
		}
	}
}

func TestSignatures(t *testing.T) {
	body := []byte(designExample)
	if err := Verify(body, Sign(body, "s"), "s"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"generic wrong secret": Verify(body, Sign(body, "x"), "s"),
		"generic no prefix":    Verify(body, strings.TrimPrefix(Sign(body, "s"), "sha256="), "s"),
		"generic not hex":      Verify(body, "sha256=zz", "s"),
		"generic no secret":    Verify(body, Sign(body, ""), ""),
	} {
		if !errors.Is(err, recovery.ErrUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAmountsAndCurrencies: unknown ISO 4217 codes and negative amounts or
// quantities are refused with an error naming the field.
func TestAmountsAndCurrencies(t *testing.T) {
	generic := func(old, new string) string {
		if !strings.Contains(designExample, old) {
			t.Fatalf("design example lacks %s", old)
		}
		return strings.Replace(designExample, old, new, 1)
	}
	tests := []struct {
		name  string
		body  []byte
		field string
	}{
		{"generic cart ZZZ", []byte(generic(`"currency": "EUR"`, `"currency": "ZZZ"`)), "cart.currency"},
		{"generic cart XXX", []byte(generic(`"currency": "EUR"`, `"currency": "XXX"`)), "cart.currency"},
		{"generic negative total", []byte(generic(`"total": "59.90"`, `"total": "-59.90"`)), "cart.total"},
		{"generic negative price", []byte(generic(`"price": "29.95"`, `"price": "-29.95"`)), "cart.items[0].price"},
		{"generic negative zero price", []byte(generic(`"price": "29.95"`, `"price": "-0.00"`)), "cart.items[0].price"},
		{"generic negative quantity", []byte(generic(`"quantity": 2`, `"quantity": -2`)), "cart.items[0].quantity"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.body)
		var fe *recovery.FieldError
		if !errors.Is(err, recovery.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: err %v, want a field error naming %q", tc.name, err, tc.field)
		}
	}
}

// An order is never refused over its amounts: it must stop its cart's
// reminders. Unusable amounts only leave it without revenue.
func TestOrderWithUnusableAmountsIsAccepted(t *testing.T) {
	order := func(total, cur string) []byte {
		return []byte(`{"id":"e1","type":"order.created","occurred_at":"2026-11-22T10:00:00Z","cart":{"id":"c1"},` +
			`"customer":{"email":"ana@example.com"},"order":{"id":"o1","cart_id":"c1","total":"` + total + `","currency":"` + cur + `"}}`)
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"generic ZZZ", order("59.90", "ZZZ")},
		{"generic negative", order("-1.00", "EUR")},
		{"generic malformed", order("12,50", "EUR")},
	} {
		ev, err := Parse(tc.body)
		if err != nil || ev.Kind != recovery.OrderCreated || ev.Order.ID == "" {
			t.Errorf("%s: %+v %v, want the order accepted", tc.name, ev.Order, err)
			continue
		}
		if ev.Order.Total != "" || ev.Order.Currency != "" {
			t.Errorf("%s: revenue kept from unusable amounts: %+v", tc.name, ev.Order)
		}
	}
	if ev, err := Parse(order("59.90", "eur")); err != nil || ev.Order.Total != "59.90" || ev.Order.Currency != "EUR" {
		t.Errorf("valid order: %+v %v", ev.Order, err)
	}
}

// TestCurrencyDigits: payloads in EUR, JPY and KWD parse, and their amounts
// convert with 2, 0 and 3 decimals.
func TestCurrencyDigits(t *testing.T) {
	for _, tc := range []struct {
		currency, total, price string
		minor                  int64
		formatted              string
	}{
		{"EUR", "59.90", "29.95", 5990, "59.90"},
		{"JPY", "6000", "3000", 6000, "6000"},
		{"KWD", "12.345", "6.170", 12345, "12.345"},
		{"CHF", "0", "0.00", 0, "0.00"},
	} {
		body := strings.NewReplacer(`"currency": "EUR"`, `"currency": "`+tc.currency+`"`, `"total": "59.90"`, `"total": "`+tc.total+`"`,
			`"price": "29.95"`, `"price": "`+tc.price+`"`).Replace(designExample)
		ev, err := Parse([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", tc.currency, err)
		}
		m, ok := money.ToMinor(ev.Cart.Total, ev.Cart.Currency)
		if !ok || m != tc.minor || money.FromMinor(m, ev.Cart.Currency) != tc.formatted {
			t.Errorf("%s: %s → %d %v %q, want %d %q", tc.currency, ev.Cart.Total, m, ok, money.FromMinor(m, ev.Cart.Currency), tc.minor, tc.formatted)
		}
	}
}
