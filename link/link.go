// Package link signs and verifies the tokens carried by links in messages
// (unsubscribe, click-through). Verification needs no Redis read; the key is
// shared by all instances through Redis (created once).
package link

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrInvalid is returned for a tampered, malformed or expired token.
var ErrInvalid = errors.New("invalid or expired link")

// Signer signs tokens with one HMAC-SHA256 key.
type Signer struct{ key []byte }

// New returns a Signer using key (at least 32 bytes).
func New(key []byte) *Signer { return &Signer{key: key} }

// LoadKey returns the instance-wide signing key stored under keyName,
// creating a random one if none exists yet (SETNX: all instances agree).
func LoadKey(ctx context.Context, rdb redis.UniversalClient, keyName string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := rdb.SetNX(ctx, keyName, hex.EncodeToString(b), 0).Err(); err != nil {
		return nil, err
	}
	v, err := rdb.Get(ctx, keyName).Result()
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(v)
}

var enc = base64.RawURLEncoding

// Sign returns a URL-safe token carrying fields (which must not contain
// "\x1f") and an expiry (zero: none).
func (s *Signer) Sign(kind string, exp time.Time, fields ...string) string {
	e := "0"
	if !exp.IsZero() {
		e = strconv.FormatInt(exp.Unix(), 36)
	}
	body := enc.EncodeToString([]byte(strings.Join(append([]string{kind, e}, fields...), "\x1f")))
	return body + "." + enc.EncodeToString(s.mac(body))
}

func (s *Signer) mac(body string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(body))
	return m.Sum(nil)[:16]
}

// Verify checks token's signature, kind and expiry at now and returns its
// fields.
func (s *Signer) Verify(kind, token string, now time.Time) ([]string, error) {
	body, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 4096 {
		return nil, ErrInvalid
	}
	got, err := enc.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(body)) {
		return nil, ErrInvalid
	}
	raw, err := enc.DecodeString(body)
	if err != nil {
		return nil, ErrInvalid
	}
	parts := strings.Split(string(raw), "\x1f")
	if len(parts) < 2 || parts[0] != kind {
		return nil, ErrInvalid
	}
	if parts[1] != "0" {
		exp, err := strconv.ParseInt(parts[1], 36, 64)
		if err != nil || now.Unix() > exp {
			return nil, ErrInvalid
		}
	}
	return parts[2:], nil
}

// ShortToken is a compact signed token for click-through links, short
// enough for an SMS: base64url(8-byte id, 4-byte expiry in unix minutes,
// 8-byte MAC) = 27 characters. The id names a Redis record written when the
// message is sent; verifying the signature and expiry needs no Redis read.
func (s *Signer) ShortToken(id [8]byte, exp time.Time) string {
	var b [20]byte
	copy(b[:8], id[:])
	binary.BigEndian.PutUint32(b[8:12], uint32(exp.Unix()/60))
	copy(b[12:], s.mac(string(b[:12]))[:8])
	return enc.EncodeToString(b[:])
}

// VerifyShort checks a ShortToken at now and returns its id.
func (s *Signer) VerifyShort(token string, now time.Time) ([8]byte, error) {
	var id [8]byte
	b, err := enc.DecodeString(token)
	if err != nil || len(b) != 20 || !hmac.Equal(b[12:], s.mac(string(b[:12]))[:8]) {
		return id, ErrInvalid
	}
	if now.Unix()/60 > int64(binary.BigEndian.Uint32(b[8:12])) {
		return id, ErrInvalid
	}
	copy(id[:], b[:8])
	return id, nil
}

// NewID returns a random link id (crypto/rand; it never fails on the
// platforms Go supports).
func NewID() [8]byte {
	var id [8]byte
	_, _ = rand.Read(id[:])
	return id
}
