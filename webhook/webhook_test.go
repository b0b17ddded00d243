package webhook

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/shopify/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const designExample = `{"id": "evt_123", "type": "cart.updated", "occurred_at": "2026-11-22T10:00:00Z", "store": "default",
 "cart": {"id": "c1", "currency": "EUR", "total": "59.90", "recovery_url": "https://shop/cart/c1",
          "items": [{"sku": "TEE-1", "title": "T-shirt", "quantity": 2, "price": "29.95",
                     "image_url": "https://cdn.example/tee.jpg", "url": "https://shop.example/p/tee"}]},
 "customer": {"id": "u1", "email": "ana@example.com", "phone": "+34600000000", "first_name": "Ana",
              "locale": "es", "timezone": "Europe/Madrid", "email_consent": true, "sms_consent": false}}`

func TestShopifyCheckoutFixture(t *testing.T) {
	for _, topic := range []string{"checkouts/create", "checkouts/update"} {
		name := strings.ReplaceAll(topic, "/", "_") + ".json"
		ev, err := ParseShopify(topic, "shop.myshopify.com", "wh-1", fixture(t, name))
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		if ev.Kind != recovery.CartUpdated || ev.Cart.ID != "123123123" || ev.Store != "shop.myshopify.com" || ev.ID != "wh-1" || ev.Platform != "shopify" {
			t.Fatalf("%s: %+v", topic, ev)
		}
		if want := []string{"cart_token:eeafa272cebfd4b22385bc4b645e762c", "checkout_id:981820079255243500"}; strings.Join(ev.Refs, ",") != strings.Join(want, ",") {
			t.Errorf("refs %v, want %v", ev.Refs, want)
		}
		if ev.Cart.Currency != "USD" || ev.Cart.Total != "421.88" || len(ev.Cart.Items) != 2 || ev.Cart.Items[0].Price != "199.00" ||
			ev.Cart.Items[0].Quantity != 1 || ev.Cart.Items[0].Title != "IPod Nano - 8GB - Pink" || ev.Cart.Items[0].SKU != "IPOD2008PINK" {
			t.Errorf("cart %+v", ev.Cart)
		}
		if !strings.HasPrefix(ev.Cart.RecoveryURL, "https://checkout.local/548380009/checkouts/123123123/recover") {
			t.Errorf("recovery url %q", ev.Cart.RecoveryURL)
		}
		if want := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC); !ev.OccurredAt.Equal(want) || ev.OccurredAt.Location() != time.UTC {
			t.Errorf("occurred_at %v", ev.OccurredAt)
		}
		cu := ev.Customer
		if cu.Email != "example@email.com" || cu.FirstName != "John" || cu.ID != "603851970716743400" || cu.EmailConsent || cu.SMSConsent || cu.Phone != "" {
			t.Errorf("customer %+v", cu)
		}
	}
}

func TestShopifyDeleteAndOrderFixtures(t *testing.T) {
	del, err := ParseShopify("checkouts/delete", "", "wh-2", fixture(t, "checkouts_delete.json"))
	if err != nil {
		t.Fatal(err)
	}
	if del.Kind != recovery.CartDeleted || del.Cart.ID != "" || del.Store != "default" || len(del.Refs) != 2 || !del.OccurredAt.IsZero() {
		t.Fatalf("delete %+v", del)
	}
	ord, err := ParseShopify("orders/create", "s.myshopify.com", "wh-3", fixture(t, "orders_create.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ord.Kind != recovery.OrderCreated || ord.Order.ID != "820982911946154500" || ord.Order.Total != "388.00" || ord.Order.Currency != "USD" ||
		ord.Cart.ID != "" || len(ord.Refs) != 0 || ord.Customer.Email != "jon@example.com" || ord.Customer.ID != "115310627314723950" {
		t.Fatalf("order %+v", ord)
	}
}

func TestExactIDsSurvive(t *testing.T) {
	body := strings.NewReplacer(`"id": 981820079255243500`, `"id": 981820079255243537`,
		`"id": 603851970716743400`, `"id": 603851970716743426`).Replace(string(fixture(t, "checkouts_create.json")))
	ev, err := ParseShopify("checkouts/create", "", "w", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Refs[1] != "checkout_id:981820079255243537" || ev.Customer.ID != "603851970716743426" {
		t.Fatalf("ids rounded: %v %q", ev.Refs, ev.Customer.ID)
	}
	var o map[string]any
	_ = json.Unmarshal(fixture(t, "orders_create.json"), &o)
	o["id"] = json.Number("820982911946154508")
	o["checkout_token"], o["checkout_id"] = "tok-9", json.Number("981820079255243537")
	b, _ := json.Marshal(o)
	ord, err := ParseShopify("orders/create", "", "w", b)
	if err != nil {
		t.Fatal(err)
	}
	if ord.Order.ID != "820982911946154508" || ord.Cart.ID != "tok-9" || ord.Refs[0] != "checkout_id:981820079255243537" {
		t.Fatalf("order ids: %+v", ord)
	}
}

func TestShopifyTopics(t *testing.T) {
	for topic, want := range map[string]error{
		"carts/create": recovery.ErrIgnored, "orders/delete": recovery.ErrIgnored, "orders/edited": recovery.ErrIgnored,
		"customers/marketing_consent_update": recovery.ErrIgnored, "": recovery.ErrInvalid,
	} {
		if _, err := ParseShopify(topic, "", "w", []byte(`{}`)); !errors.Is(err, want) {
			t.Errorf("topic %q: %v, want %v", topic, err, want)
		}
	}
}

func TestGenericDesignExample(t *testing.T) {
	ev, err := ParseGeneric([]byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_123" || ev.Kind != recovery.CartUpdated || ev.Store != "default" || ev.Cart.ID != "c1" || ev.Cart.Total != "59.90" ||
		len(ev.Cart.Items) != 1 || ev.Cart.Items[0].Quantity != 2 || ev.Customer.Timezone != "Europe/Madrid" || !ev.Customer.EmailConsent || ev.Customer.SMSConsent {
		t.Fatalf("%+v", ev)
	}
	ord, err := ParseGeneric([]byte(`{"id":"e2","type":"order.created","occurred_at":"2026-11-22T10:00:00+01:00","customer":{"email":"ana@example.com"},"order":{"id":"o1","cart_id":"c1","total":"59.90","currency":"EUR"}}`))
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
		_, err := ParseGeneric([]byte(tc.body))
		var fe *recovery.FieldError
		if !errors.Is(err, recovery.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("body %.80q: err %v, want a field error naming %q", tc.body, err, tc.field)
		}
	}
}

func TestShopifyBadInput(t *testing.T) {
	co := string(fixture(t, "checkouts_create.json"))
	tests := []struct{ topic, id, body, field string }{
		{"checkouts/create", "", co, "X-Shopify-Webhook-Id"},
		{"checkouts/create", "w", `{`, "body"},
		{"checkouts/create", "w", strings.Replace(co, `"token": "123123123"`, `"token": null`, 1), "token"},
		{"checkouts/create", "w", strings.Replace(co, `"updated_at": "2021-12-31T19:00:00-05:00"`, `"updated_at": "soon"`, 1), "updated_at"},
		{"checkouts/create", "w", strings.Replace(co, `"total_price": "421.88"`, `"total_price": 421.88`, 1), "total_price"},
		{"checkouts/create", "w", strings.Replace(co, `"quantity": 1`, `"quantity": -1`, 1), "line_items[0].quantity"},
		{"checkouts/create", "w", strings.Replace(co, `"id": 981820079255243500`, `"id": 9.8e17`, 1), "id"},
		{"checkouts/delete", "w", `{"presentment_currency":"USD"}`, "id"},
		{"orders/create", "w", `{"email":"a@b.co"}`, "id"},
	}
	for _, tc := range tests {
		_, err := ParseShopify(tc.topic, "", tc.id, []byte(tc.body))
		var fe *recovery.FieldError
		if !errors.Is(err, recovery.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s %.60q: err %v, want field %q", tc.topic, tc.body, err, tc.field)
		}
	}
}

func TestSignatures(t *testing.T) {
	body := []byte(designExample)
	if err := VerifyShopify(body, SignShopify(body, "s"), "s"); err != nil {
		t.Fatal(err)
	}
	if err := VerifyGeneric(body, SignGeneric(body, "s"), "s"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"shopify wrong secret": VerifyShopify(body, SignShopify(body, "x"), "s"),
		"shopify missing":      VerifyShopify(body, "", "s"),
		"shopify not base64":   VerifyShopify(body, "%%%", "s"),
		"shopify no secret":    VerifyShopify(body, SignShopify(body, ""), ""),
		"shopify other body":   VerifyShopify(append(body, ' '), SignShopify(body, "s"), "s"),
		"generic wrong secret": VerifyGeneric(body, SignGeneric(body, "x"), "s"),
		"generic no prefix":    VerifyGeneric(body, strings.TrimPrefix(SignGeneric(body, "s"), "sha256="), "s"),
		"generic not hex":      VerifyGeneric(body, "sha256=zz", "s"),
		"generic no secret":    VerifyGeneric(body, SignGeneric(body, ""), ""),
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
	shopify := func(name string, mod func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(fixture(t, name), &m); err != nil {
			t.Fatal(err)
		}
		mod(m)
		b, _ := json.Marshal(m)
		return b
	}
	firstLine := func(m map[string]any) map[string]any { return m["line_items"].([]any)[0].(map[string]any) }

	tests := []struct {
		name, topic string
		body        []byte
		field       string
	}{
		{"generic cart ZZZ", "", []byte(generic(`"currency": "EUR"`, `"currency": "ZZZ"`)), "cart.currency"},
		{"generic cart XXX", "", []byte(generic(`"currency": "EUR"`, `"currency": "XXX"`)), "cart.currency"},
		{"generic negative total", "", []byte(generic(`"total": "59.90"`, `"total": "-59.90"`)), "cart.total"},
		{"generic negative price", "", []byte(generic(`"price": "29.95"`, `"price": "-29.95"`)), "cart.items[0].price"},
		{"generic negative zero price", "", []byte(generic(`"price": "29.95"`, `"price": "-0.00"`)), "cart.items[0].price"},
		{"generic negative quantity", "", []byte(generic(`"quantity": 2`, `"quantity": -2`)), "cart.items[0].quantity"},
		{"shopify currency ZZZ", "checkouts/create", shopify("checkouts_create.json", func(m map[string]any) {
			m["currency"], m["presentment_currency"] = "ZZZ", ""
		}), "currency"},
		{"shopify presentment ZZZ", "checkouts/update", shopify("checkouts_update.json", func(m map[string]any) {
			m["presentment_currency"] = "ZZZ"
		}), "presentment_currency"},
		{"shopify shop currency ZZZ behind a valid presentment", "checkouts/create", shopify("checkouts_create.json", func(m map[string]any) {
			m["currency"], m["presentment_currency"] = "ZZZ", "EUR"
		}), "currency"},
		{"shopify negative total", "checkouts/create", shopify("checkouts_create.json", func(m map[string]any) {
			m["total_price"] = "-421.88"
		}), "total_price"},
		{"shopify negative price", "checkouts/create", shopify("checkouts_create.json", func(m map[string]any) {
			firstLine(m)["price"] = "-199.00"
		}), "line_items[0].price"},
		{"shopify negative quantity", "checkouts/create", shopify("checkouts_create.json", func(m map[string]any) {
			firstLine(m)["quantity"] = -1
		}), "line_items[0].quantity"},
	}
	for _, tc := range tests {
		var err error
		if tc.topic == "" {
			_, err = ParseGeneric(tc.body)
		} else {
			_, err = ParseShopify(tc.topic, "", "w", tc.body)
		}
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
	shopify := func(mod func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(fixture(t, "orders_create.json"), &m); err != nil {
			t.Fatal(err)
		}
		mod(m)
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		name string
		body []byte
		shop bool
	}{
		{"generic ZZZ", order("59.90", "ZZZ"), false},
		{"generic negative", order("-1.00", "EUR"), false},
		{"generic malformed", order("12,50", "EUR"), false},
		{"shopify ZZZ", shopify(func(m map[string]any) { m["currency"], m["presentment_currency"] = "ZZZ", nil }), true},
		{"shopify negative", shopify(func(m map[string]any) { m["total_price"] = "-388.00" }), true},
	} {
		var ev recovery.Event
		var err error
		if tc.shop {
			ev, err = ParseShopify("orders/create", "", "w", tc.body)
		} else {
			ev, err = ParseGeneric(tc.body)
		}
		if err != nil || ev.Kind != recovery.OrderCreated || ev.Order.ID == "" {
			t.Errorf("%s: %+v %v, want the order accepted", tc.name, ev.Order, err)
			continue
		}
		if ev.Order.Total != "" || ev.Order.Currency != "" {
			t.Errorf("%s: revenue kept from unusable amounts: %+v", tc.name, ev.Order)
		}
	}
	if ev, err := ParseGeneric(order("59.90", "eur")); err != nil || ev.Order.Total != "59.90" || ev.Order.Currency != "EUR" {
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
		ev, err := ParseGeneric([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", tc.currency, err)
		}
		m, ok := money.ToMinor(ev.Cart.Total, ev.Cart.Currency)
		if !ok || m != tc.minor || money.FromMinor(m, ev.Cart.Currency) != tc.formatted {
			t.Errorf("%s: %s → %d %v %q, want %d %q", tc.currency, ev.Cart.Total, m, ok, money.FromMinor(m, ev.Cart.Currency), tc.minor, tc.formatted)
		}
	}
	var o map[string]any
	_ = json.Unmarshal(fixture(t, "orders_create.json"), &o)
	o["currency"], o["presentment_currency"], o["total_price"] = "JPY", "JPY", "5000"
	b, _ := json.Marshal(o)
	ord, err := ParseShopify("orders/create", "", "w", b)
	if err != nil || ord.Order.Currency != "JPY" || ord.Order.Total != "5000" {
		t.Fatalf("shopify JPY order: %+v %v", ord.Order, err)
	}
}
