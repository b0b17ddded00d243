package bigcommerce_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce/bigcommercetest"
	"github.com/cartrecovery/cartrecovery/platform/platformtest"
	"github.com/cartrecovery/cartrecovery/recovery"
)

func TestConformance(t *testing.T) {
	platformtest.Run(t, platformtest.Bundle{
		Adapter: bigcommerce.Adapter{},
		Store:   bigcommercetest.Hash,
		Delivery: func(t testing.TB, secret string, now time.Time) (http.Header, []byte) {
			ts := strconv.FormatInt(now.Unix(), 10)
			body := []byte(`{"scope":"store/cart/created","data":{"type":"cart","id":"c-1"},"hash":"h1","created_at":` + ts +
				`,"producer":"stores/` + bigcommercetest.Hash + `"}`)
			h := http.Header{}
			h.Set("webhook-id", "msg-1")
			h.Set("webhook-timestamp", ts)
			h.Set("webhook-signature", bigcommerce.Sign("msg-1", ts, body, secret))
			return h, body
		},
		Start: func(t testing.TB) platformtest.Fake {
			fake := bigcommercetest.Start(t)
			now := time.Now().UTC().Truncate(time.Second)
			fake.SetCart("c-1", &bigcommercetest.Cart{Email: "ana@example.com", Currency: "EUR", Total: "27.95",
				Items: []bigcommercetest.Item{{Name: "Openhouse No. 3", SKU: "OH-3", Quantity: 1, Price: "27.95"}}})
			fake.AddOrder(bigcommercetest.Order{ID: 218, CartID: "c-9", Email: "bo@example.com", Total: "10.0000", Currency: "EUR",
				StatusID: 10, Created: now})
			c := bigcommerce.NewClient(fake.URL, bigcommercetest.Hash, bigcommercetest.Token)
			c.PromotionID = bigcommercetest.PromotionID
			return platformtest.Fake{
				Client: c,
				Cart:   "c-1",
				Code: recovery.CodeRequest{Store: bigcommercetest.Hash, Cart: "c-1", Email: "ana@example.com", Code: "CR-CONFORM1",
					Percent: "10", ExpiresAt: now.Add(72 * time.Hour)},
				Ordered:    recovery.CartState{Store: bigcommercetest.Hash, ID: "c-9"},
				NotOrdered: recovery.CartState{Store: bigcommercetest.Hash, ID: "c-1"},
				Since:      now.Add(-time.Hour),
				Order:      "218", NoOrder: "999",
			}
		},
	})
}
