package bigcommerce_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce/bigcommercetest"
	"github.com/cartrecovery/cartrecovery/recovery"
)

const secret = "bc-client-secret"

// delivery is a webhook body of the shape BigCommerce sends (our own).
func delivery(scope, data string) []byte {
	return []byte(`{"scope":"` + scope + `","store_id":"1000001","data":` + data +
		`,"hash":"8b1a9953c4611296a827abf8c47804d7a1b2c3d4","created_at":1795770000,"producer":"stores/abc123"}`)
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1795770000, 0)
	body := delivery("store/cart/created", `{"type":"cart","id":"c-1"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := bigcommerce.Sign("msg_1", ts, body, secret)
	if err := bigcommerce.Verify("msg_1", ts, sig, body, secret, now); err != nil {
		t.Fatal(err)
	}
	// several signatures (key rotation): one match is enough
	if err := bigcommerce.Verify("msg_1", ts, "v1,AAAA "+sig, body, secret, now); err != nil {
		t.Fatalf("second of two signatures: %v", err)
	}
	for name, c := range map[string]struct {
		id, ts, sig, secret string
		body                []byte
		now                 time.Time
	}{
		"wrong secret":           {"msg_1", ts, sig, "other", body, now},
		"other id":               {"msg_2", ts, sig, secret, body, now},
		"changed body":           {"msg_1", ts, sig, secret, append([]byte(" "), body...), now},
		"replayed 6 min late":    {"msg_1", ts, sig, secret, body, now.Add(6 * time.Minute)},
		"from 6 min ahead":       {"msg_1", ts, sig, secret, body, now.Add(-6 * time.Minute)},
		"no signature":           {"msg_1", ts, "", secret, body, now},
		"v2 only":                {"msg_1", ts, strings.Replace(sig, "v1,", "v2,", 1), secret, body, now},
		"timestamp not a number": {"msg_1", "soon", sig, secret, body, now},
		"no secret configured":   {"msg_1", ts, sig, "", body, now},
	} {
		if err := bigcommerce.Verify(c.id, c.ts, c.sig, c.body, c.secret, c.now); !errors.Is(err, recovery.ErrUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		scope, data string
		kind        recovery.Kind
		order       string
	}{
		{"store/cart/created", `{"type":"cart","id":"c-1"}`, recovery.CartUpdated, ""},
		{"store/cart/updated", `{"type":"cart","id":"c-1"}`, recovery.CartUpdated, ""},
		{"store/cart/converted", `{"type":"cart","id":"c-1","orderId":252}`, recovery.OrderCreated, "252"},
		{"store/cart/deleted", `{"type":"cart","id":"c-1"}`, recovery.CartDeleted, ""},
	} {
		ev, err := bigcommerce.Parse("msg_1", delivery(c.scope, c.data))
		if err != nil || ev.Kind != c.kind || ev.Cart.ID != "c-1" || ev.Store != "abc123" || ev.Order.ID != c.order ||
			ev.ID != "8b1a9953c4611296a827abf8c47804d7a1b2c3d4" || !ev.OccurredAt.Equal(time.Unix(1795770000, 0)) {
			t.Errorf("%s: %+v %v", c.scope, ev, err)
		}
	}
	// an order created names the order only: looked up by the worker
	if ev, err := bigcommerce.Parse("m", delivery("store/order/created", `{"type":"order","id":250}`)); err != nil ||
		ev.Kind != recovery.OrderLookup || ev.Order.ID != "250" || ev.Cart.ID != "" || ev.Check(time.Unix(1795770000, 0)) != nil {
		t.Errorf("store/order/created: %+v %v", ev, err)
	}
	for _, scope := range []string{"store/cart/abandoned", "store/product/updated"} {
		if _, err := bigcommerce.Parse("m", delivery(scope, `{"type":"order","id":250}`)); !errors.Is(err, recovery.ErrIgnored) {
			t.Errorf("%s: %v, want ignored", scope, err)
		}
	}
	for name, c := range map[string]struct {
		body  string
		field string
	}{
		"malformed":           {`{"scope":`, "body"},
		"no producer":         {`{"scope":"store/cart/created","data":{"id":"c"},"hash":"h"}`, "producer"},
		"hostile store hash":  {`{"scope":"store/cart/created","data":{"id":"c"},"hash":"h","producer":"stores/{store_hash}"}`, "producer"},
		"no cart id":          {`{"scope":"store/cart/created","data":{"type":"cart"},"hash":"h","producer":"stores/abc"}`, "data.id"},
		"cart id with a path": {`{"scope":"store/cart/created","data":{"id":"../x"},"hash":"h","producer":"stores/abc"}`, "data.id"},
		"converted, no order": {`{"scope":"store/cart/converted","data":{"id":"c"},"hash":"h","producer":"stores/abc"}`, "data.orderId"},
		"no scope":            {`{"data":{"id":"c"},"hash":"h","producer":"stores/abc"}`, "scope"},
		"order id a string":   {`{"scope":"store/order/created","data":{"id":"x1"},"hash":"h","producer":"stores/abc"}`, "data.id"},
		"order id zero":       {`{"scope":"store/order/created","data":{"id":0},"hash":"h","producer":"stores/abc"}`, "data.id"},
	} {
		_, err := bigcommerce.Parse("", []byte(c.body))
		var fe *recovery.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.field)
		}
	}
	// without a hash, the webhook-id names the event
	ev, err := bigcommerce.Parse("msg_9", []byte(`{"scope":"store/cart/created","data":{"id":"c"},"producer":"stores/abc"}`))
	if err != nil || ev.ID != "msg_9" || !ev.OccurredAt.IsZero() {
		t.Fatalf("%+v %v", ev, err)
	}
}

// BigCommerce's own documented samples parse (read in place: their licence
// does not allow copying them into the project).
func TestParseDocumentedSamples(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "shared", "fixtures", "bigcommerce", "webhooks")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("BigCommerce's samples not found at %s (they are outside this repository): %v", dir, err)
	}
	for name, kind := range map[string]recovery.Kind{"store_cart_created.json": recovery.CartUpdated, "store_cart_updated.json": recovery.CartUpdated,
		"store_cart_converted.json": recovery.OrderCreated, "store_cart_deleted.json": recovery.CartDeleted} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "{store_hash}", "abc123")) // the docs' placeholder
		ev, err := bigcommerce.Parse("", b)
		if err != nil || ev.Kind != kind || ev.Cart.ID == "" || ev.Store != "abc123" {
			t.Errorf("%s: %+v %v", name, ev, err)
		}
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	fake := bigcommercetest.Start(t)
	c := bigcommerce.NewClient(fake.URL, bigcommercetest.Hash, bigcommercetest.Token)
	fake.SetCart("c-1", &bigcommercetest.Cart{Email: "ana@example.com", Currency: "EUR", Total: "212.81",
		Items: []bigcommercetest.Item{{Name: "Openhouse No. 3", SKU: "OH-3", Quantity: 5, Price: "27.95"}}})
	ctx := context.Background()
	cart, cu, err := c.Cart(ctx, "c-1")
	if err != nil || cart.Total != "212.81" || cart.Currency != "EUR" || len(cart.Items) != 1 || cart.Items[0].Price != "27.95" ||
		cart.Items[0].Quantity != 5 || cu.Email != "ana@example.com" || cu.ID != "" {
		t.Fatalf("%+v %+v %v", cart, cu, err)
	}
	u, err := c.RecoveryURL(ctx, "c-1")
	if err != nil || u != bigcommercetest.CheckoutURL("c-1", 1) {
		t.Fatalf("recovery URL %q %v", u, err)
	}
	if _, _, err := c.Cart(ctx, "gone"); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("missing cart: %v", err)
	}
	fake.FailNext(1)
	if _, _, err := c.Cart(ctx, "c-1"); err == nil || errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("HTTP 500 must be an error, not a missing cart: %v", err)
	}
	bad := bigcommerce.NewClient(fake.URL, bigcommercetest.Hash, "wrong")
	if _, _, err := bad.Cart(ctx, "c-1"); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong token: %v (and the token never in an error)", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("msg", delivery("store/cart/created", `{"type":"cart","id":"c-1"}`))
	f.Add("msg", delivery("store/cart/converted", `{"type":"cart","id":"c-1","orderId":1}`))
	f.Add("", []byte(`{"scope":"store/cart/deleted","data":{"id":"x"},"producer":"stores/a"}`))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		ev, err := bigcommerce.Parse(id, body)
		if err != nil {
			if !errors.Is(err, recovery.ErrInvalid) && !errors.Is(err, recovery.ErrIgnored) {
				t.Fatalf("error neither invalid nor ignored: %v", err)
			}
			return
		}
		if !recovery.ValidStore(ev.Store) || ev.Cart.ID == "" || ev.ID == "" || strings.ContainsAny(ev.Cart.ID, "/?#") {
			t.Fatalf("accepted: %+v", ev)
		}
	})
}
