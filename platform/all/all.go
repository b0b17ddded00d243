// Package all registers every platform cartrecovery takes webhooks from.
// Adding a platform is its package under platform/ and one line here (and
// its settings' field in config.Platforms).
package all

import (
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
)

var registry = platform.NewRegistry(
	shopify.Adapter{},
	woocommerce.Adapter{},
	bigcommerce.Adapter{},
	generic.Adapter{},
)

// Registry is every platform, in the order they are listed (and named in
// messages that list them).
func Registry() *platform.Registry { return registry }
