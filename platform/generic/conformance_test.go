package generic_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/generic/generictest"
	"github.com/cartrecovery/cartrecovery/platform/platformtest"
	"github.com/cartrecovery/cartrecovery/recovery"
)

func TestConformance(t *testing.T) {
	platformtest.Run(t, platformtest.Bundle{
		Adapter: generic.Adapter{},
		Store:   "shop-1",
		Delivery: func(t testing.TB, secret string, now time.Time) (http.Header, []byte) {
			body := []byte(`{"id": "evt_1", "type": "cart.updated", "occurred_at": "` + now.UTC().Format(time.RFC3339) + `", "store": "shop-1",
 "cart": {"id": "c1", "currency": "EUR", "total": "59.90", "items": [{"sku": "TEE-1", "title": "T-shirt", "quantity": 2, "price": "29.95"}]},
 "customer": {"email": "ana@example.com", "email_consent": true}}`)
			h := http.Header{}
			h.Set("X-Cartrecovery-Signature", generic.Sign(body, secret))
			return h, body
		},
		Start: func(t testing.TB) platformtest.Fake {
			fake := generictest.Start(t)
			return platformtest.Fake{
				Client: generic.NewClient(fake.URL, generictest.Secret),
				Code: recovery.CodeRequest{Store: "shop-1", Cart: "c1", Email: "ana@example.com", Code: "CR-CONFORM1",
					Percent: "10", ExpiresAt: time.Now().Add(72 * time.Hour)},
			}
		},
	})
}
