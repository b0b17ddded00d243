package generic

import (
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cartrecovery/cartrecovery/platform/field"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Sign returns the X-Cartrecovery-Signature value for body.
func Sign(body []byte, secret string) string {
	return "sha256=" + hex.EncodeToString(field.MAC(body, secret))
}

// Verify checks X-Cartrecovery-Signature = "sha256=" + hex(HMAC-SHA256
// (body, secret)) in constant time. An empty secret rejects everything.
func Verify(body []byte, header, secret string) error {
	if secret == "" {
		return fmt.Errorf("platforms.generic.secret is not configured: %w", recovery.ErrUnauthorized)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return fmt.Errorf("missing X-Cartrecovery-Signature (sha256=<hex>): %w", recovery.ErrUnauthorized)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || !hmac.Equal(got, field.MAC(body, secret)) {
		return fmt.Errorf("X-Cartrecovery-Signature does not match the body: %w", recovery.ErrUnauthorized)
	}
	return nil
}
