package woocommerce_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/platformtest"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce/woocommercetest"
	"github.com/cartrecovery/cartrecovery/recovery"
)

func TestConformance(t *testing.T) {
	platformtest.Run(t, platformtest.Bundle{
		Adapter: woocommerce.Adapter{},
		Store:   "shop.example",
		Delivery: func(t testing.TB, secret string, _ time.Time) (http.Header, []byte) {
			b, err := os.ReadFile("testdata/order.json")
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(strings.Replace(string(b), `"status": "processing"`, `"status": "pending"`, 1))
			h := http.Header{}
			h.Set("X-WC-Webhook-Topic", "order.updated")
			h.Set("X-WC-Webhook-Source", "https://shop.example/")
			h.Set("X-WC-Webhook-Signature", woocommerce.Sign(body, secret))
			return h, body
		},
		Start: func(t testing.TB) platformtest.Fake {
			fake := woocommercetest.Start(t)
			now := time.Now().UTC().Truncate(time.Second)
			fake.SetOrder(woocommercetest.Order{ID: 4711, Status: "processing", Total: "10.00", Currency: "EUR", Created: now})
			fake.SetOrder(woocommercetest.Order{ID: 4712, Status: "pending", Total: "10.00", Currency: "EUR", Created: now})
			c := woocommerce.NewClient(fake.URL+"/", woocommercetest.Key, woocommercetest.Secret)
			return platformtest.Fake{
				Client: c,
				Code: recovery.CodeRequest{Store: c.Store(), Cart: "4712", Email: "ana@example.com", Code: "CR-CONFORM1",
					Percent: "10", ExpiresAt: now.Add(72 * time.Hour)},
				Ordered:    recovery.CartState{Store: c.Store(), ID: "4711"},
				NotOrdered: recovery.CartState{Store: c.Store(), ID: "4712"},
				Since:      now.Add(-time.Hour),
			}
		},
	})
}
