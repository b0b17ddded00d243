package shopify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cartrecovery/cartrecovery/platform/platformtest"
)

func FuzzParseShopify(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	topics := []string{"checkouts/create", "checkouts/update", "checkouts/delete", "orders/create"}
	for i, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(topics[i%len(topics)], b)
	}
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		ev, err := Parse(topic, "shop.myshopify.com", "wh", body)
		if err != nil {
			platformtest.CheckErr(t, err)
			return
		}
		platformtest.CheckEvent(t, ev)
	})
}
