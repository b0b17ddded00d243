package shopify_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/platformtest"
	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/shopify/shopifytest"
	"github.com/cartrecovery/cartrecovery/recovery"
)

func TestConformance(t *testing.T) {
	platformtest.Run(t, platformtest.Bundle{
		Adapter: shopify.Adapter{},
		Store:   shopifytest.Shop,
		Delivery: func(t testing.TB, secret string, _ time.Time) (http.Header, []byte) {
			body, err := os.ReadFile("testdata/checkouts_create.json")
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set("X-Shopify-Topic", "checkouts/create")
			h.Set("X-Shopify-Webhook-Id", "conformance-1")
			h.Set("X-Shopify-Shop-Domain", shopifytest.Shop)
			h.Set("X-Shopify-Hmac-Sha256", shopify.Sign(body, secret))
			return h, body
		},
		Start: func(t testing.TB) platformtest.Fake {
			fake := shopifytest.Start(t)
			now := time.Now().UTC().Truncate(time.Second)
			fake.AddOrder(shopifytest.Order{ID: 4501, Email: "ana@example.com", CreatedAt: now, Total: "10.00", Currency: "EUR"})
			cart := func(email string) recovery.CartState {
				return recovery.CartState{Store: shopifytest.Shop, ID: "tok-" + email, Customer: recovery.Customer{Email: email}}
			}
			return platformtest.Fake{
				Client: shopify.NewClient(fake.URL, shopifytest.Shop, shopifytest.Token),
				Code: recovery.CodeRequest{Store: shopifytest.Shop, Cart: "tok-1", Email: "ana@example.com", Code: "CR-CONFORM1",
					Percent: "10", StartsAt: now, ExpiresAt: now.Add(72 * time.Hour)},
				Ordered: cart("ana@example.com"), NotOrdered: cart("bo@example.com"), Since: now.Add(-time.Hour),
			}
		},
	})
}
