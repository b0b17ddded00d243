// Package webhook verifies and parses platform webhooks into normalized
// recovery events. Everything here is a pure function of headers and body:
// no I/O, so the parsers can be fuzzed.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cartrecovery/cartrecovery/recovery"
)

func mac(body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// SignShopify returns the X-Shopify-Hmac-Sha256 value for body.
func SignShopify(body []byte, secret string) string {
	return base64.StdEncoding.EncodeToString(mac(body, secret))
}

// SignGeneric returns the X-Cartrecovery-Signature value for body.
func SignGeneric(body []byte, secret string) string {
	return "sha256=" + hex.EncodeToString(mac(body, secret))
}

// VerifyShopify checks X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(body,
// secret)) in constant time. An empty secret rejects everything.
func VerifyShopify(body []byte, header, secret string) error {
	if secret == "" {
		return fmt.Errorf("platforms.shopify.secret is not configured: %w", recovery.ErrUnauthorized)
	}
	if header == "" {
		return fmt.Errorf("missing X-Shopify-Hmac-Sha256: %w", recovery.ErrUnauthorized)
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil || !hmac.Equal(got, mac(body, secret)) {
		return fmt.Errorf("X-Shopify-Hmac-Sha256 does not match the body: %w", recovery.ErrUnauthorized)
	}
	return nil
}

// VerifyGeneric checks X-Cartrecovery-Signature = "sha256=" + hex(HMAC-SHA256
// (body, secret)) in constant time. An empty secret rejects everything.
func VerifyGeneric(body []byte, header, secret string) error {
	if secret == "" {
		return fmt.Errorf("platforms.generic.secret is not configured: %w", recovery.ErrUnauthorized)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return fmt.Errorf("missing X-Cartrecovery-Signature (sha256=<hex>): %w", recovery.ErrUnauthorized)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || !hmac.Equal(got, mac(body, secret)) {
		return fmt.Errorf("X-Cartrecovery-Signature does not match the body: %w", recovery.ErrUnauthorized)
	}
	return nil
}
