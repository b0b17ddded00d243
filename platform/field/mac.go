package field

import (
	"crypto/hmac"
	"crypto/sha256"
)

// MAC is HMAC-SHA256(body, secret), which the platforms' webhook
// signatures are made of.
func MAC(body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}
