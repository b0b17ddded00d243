package shopify

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShopifyCheckoutFixture(t *testing.T) {
	for _, topic := range []string{"checkouts/create", "checkouts/update"} {
		name := strings.ReplaceAll(topic, "/", "_") + ".json"
		ev, err := Parse(topic, "shop.myshopify.com", "wh-1", fixture(t, name))
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
	del, err := Parse("checkouts/delete", "", "wh-2", fixture(t, "checkouts_delete.json"))
	if err != nil {
		t.Fatal(err)
	}
	if del.Kind != recovery.CartDeleted || del.Cart.ID != "" || del.Store != "default" || len(del.Refs) != 2 || !del.OccurredAt.IsZero() {
		t.Fatalf("delete %+v", del)
	}
	ord, err := Parse("orders/create", "s.myshopify.com", "wh-3", fixture(t, "orders_create.json"))
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
	ev, err := Parse("checkouts/create", "", "w", []byte(body))
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
	ord, err := Parse("orders/create", "", "w", b)
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
		if _, err := Parse(topic, "", "w", []byte(`{}`)); !errors.Is(err, want) {
			t.Errorf("topic %q: %v, want %v", topic, err, want)
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
		_, err := Parse(tc.topic, "", tc.id, []byte(tc.body))
		var fe *recovery.FieldError
		if !errors.Is(err, recovery.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s %.60q: err %v, want field %q", tc.topic, tc.body, err, tc.field)
		}
	}
}

func TestSignatures(t *testing.T) {
	body := []byte(`{"id": "evt_123", "type": "cart.updated"}`)
	if err := Verify(body, Sign(body, "s"), "s"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"shopify wrong secret": Verify(body, Sign(body, "x"), "s"),
		"shopify missing":      Verify(body, "", "s"),
		"shopify not base64":   Verify(body, "%%%", "s"),
		"shopify no secret":    Verify(body, Sign(body, ""), ""),
		"shopify other body":   Verify(append(body, ' '), Sign(body, "s"), "s"),
	} {
		if !errors.Is(err, recovery.ErrUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAmountsAndCurrencies: unknown ISO 4217 codes and negative amounts or
// quantities are refused with an error naming the field.
func TestAmountsAndCurrencies(t *testing.T) {
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
		_, err := Parse(tc.topic, "", "w", tc.body)
		var fe *recovery.FieldError
		if !errors.Is(err, recovery.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: err %v, want a field error naming %q", tc.name, err, tc.field)
		}
	}
}

// An order is never refused over its amounts: it must stop its cart's
// reminders. Unusable amounts only leave it without revenue.
func TestOrderWithUnusableAmountsIsAccepted(t *testing.T) {
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
	}{
		{"shopify ZZZ", shopify(func(m map[string]any) { m["currency"], m["presentment_currency"] = "ZZZ", nil })},
		{"shopify negative", shopify(func(m map[string]any) { m["total_price"] = "-388.00" })},
	} {
		ev, err := Parse("orders/create", "", "w", tc.body)
		if err != nil || ev.Kind != recovery.OrderCreated || ev.Order.ID == "" {
			t.Errorf("%s: %+v %v, want the order accepted", tc.name, ev.Order, err)
			continue
		}
		if ev.Order.Total != "" || ev.Order.Currency != "" {
			t.Errorf("%s: revenue kept from unusable amounts: %+v", tc.name, ev.Order)
		}
	}
}

// TestCurrencyDigits: an order in JPY keeps its amount without decimals.
func TestCurrencyDigits(t *testing.T) {
	var o map[string]any
	_ = json.Unmarshal(fixture(t, "orders_create.json"), &o)
	o["currency"], o["presentment_currency"], o["total_price"] = "JPY", "JPY", "5000"
	b, _ := json.Marshal(o)
	ord, err := Parse("orders/create", "", "w", b)
	if err != nil || ord.Order.Currency != "JPY" || ord.Order.Total != "5000" {
		t.Fatalf("shopify JPY order: %+v %v", ord.Order, err)
	}
}
