package generic

import (
	"net/http"
	"time"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/field"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Adapter takes the generic event (POST /webhooks/generic), signed with
// X-Cartrecovery-Signature, naming its store in the body's "store".
type Adapter struct{}

var _ platform.Adapter = Adapter{}

// Name is "generic".
func (Adapter) Name() string { return Platform }

// Title is "generic".
func (Adapter) Title() string { return "generic" }

// Store is the body's "store", "default" when it has none.
func (Adapter) Store(_ http.Header, body []byte) (string, error) {
	v, ok := field.BodyString(body, "store")
	if !ok {
		return "", nil // not JSON, or not a string: the parser refuses it
	}
	if v == "" {
		return "default", nil
	}
	return v, nil
}

// StoreField is "store".
func (Adapter) StoreField() string { return "store" }

// Verify checks X-Cartrecovery-Signature.
func (Adapter) Verify(h http.Header, body []byte, secret string, _ time.Time) error {
	return Verify(body, h.Get("X-Cartrecovery-Signature"), secret)
}

// Parse reads the generic event.
func (Adapter) Parse(_ http.Header, body []byte) (recovery.Event, error) { return Parse(body) }

// Hosts: none besides the store's own.
func (Adapter) Hosts(string) []string { return nil }

// RecoveryURLField is cart.recovery_url.
func (Adapter) RecoveryURLField() string { return "cart.recovery_url" }
