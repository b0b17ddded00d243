package generic

import (
	"testing"

	"github.com/cartrecovery/cartrecovery/platform/platformtest"
)

func FuzzParseGeneric(f *testing.F) {
	f.Add([]byte(designExample))
	f.Add([]byte(`{"id":"e","type":"order.created","occurred_at":"2026-11-22T10:00:00Z","order":{"id":"o","cart_id":"c","total":"1.00","currency":"EUR"}}`))
	f.Add([]byte(`{"id":1,"type":"cart.deleted","occurred_at":"2026-11-22T10:00:00Z","cart":{"id":2}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Parse(body)
		if err != nil {
			platformtest.CheckErr(t, err)
			return
		}
		platformtest.CheckEvent(t, ev)
	})
}
