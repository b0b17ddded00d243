// Package generic is the platform of shops integrated by hand: the
// documented generic JSON event (Parse), signed with
// X-Cartrecovery-Signature (Sign, Verify) and posted to POST
// /webhooks/generic, and the shop's endpoint that registers unique
// discount codes (Client).
//
// # Discount code contract
//
// Before a message carries a unique code, cartrecovery POSTs it to the
// shop's discount URL (platforms.generic.discount_url) as JSON:
//
//	{
//	  "code":       "CR-7K3M9QX2PA",
//	  "percent":    "10",                  // or "amount": "5.00" with "currency": "EUR"
//	  "expires_at": "2026-03-08T12:00:00Z", // RFC 3339, UTC
//	  "cart_id":    "c-1",
//	  "store":      "default",
//	  "email":      "ana@example.com",      // only when the cart has one
//	  "label":      "10% off"
//	}
//
// Amounts are decimal strings, never numbers; exactly one of percent and
// amount is present, and currency only with amount. The request carries
//
//	Content-Type: application/json
//	X-Cartrecovery-Event: discount.create
//	X-Cartrecovery-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with platforms.generic.secret>
//
// the same signature scheme as the shop's own webhooks to cartrecovery
// (Sign / Verify). The receiving shop must:
//
//  1. verify the signature over the raw body, in constant time, and answer
//     401 when it does not match;
//  2. create the code: single use, for that customer (email) where the shop
//     can restrict it, giving the percent off or the amount off in that
//     currency, valid until expires_at and not after;
//  3. answer 2xx once the code is usable, or 409 when it already has this
//     code (an earlier attempt whose answer was lost: cartrecovery retries,
//     and a retry must not fail nor make a second code).
//
// Any other answer, or none within 10 s, means the code is not sent: the
// message waits for a later attempt.
package generic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Platform is the platform name of generic (hand-written) events and carts.
const Platform = "generic"

// Event is the X-Cartrecovery-Event value of a code registration.
const Event = "discount.create"

// Client registers codes at a shop's discount URL.
type Client struct {
	URL    string // platforms.generic.discount_url
	Secret string // platforms.generic.secret: signs the body; secret
	HTTP   *http.Client
}

// NewClient returns a client with a 10 s timeout per call.
func NewClient(discountURL, secret string) *Client {
	return &Client{URL: discountURL, Secret: secret, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Store is "": the discount URL answers for every store of the generic
// platform.
func (c *Client) Store() string { return "" }

// codeBody is the JSON the shop receives (see the package doc).
type codeBody struct {
	Code      string `json:"code"`
	Percent   string `json:"percent,omitempty"`
	Amount    string `json:"amount,omitempty"`
	Currency  string `json:"currency,omitempty"`
	ExpiresAt string `json:"expires_at"`
	CartID    string `json:"cart_id"`
	Store     string `json:"store"`
	Email     string `json:"email,omitempty"`
	Label     string `json:"label"`
}

// RegisterCode POSTs r to the shop's discount URL, signed. 2xx: the shop
// made the code; 409: it already had it (an earlier attempt of ours), which
// is success too. Anything else is an error, with the status and the start
// of the answer.
func (c *Client) RegisterCode(ctx context.Context, r recovery.CodeRequest) error {
	if c.URL == "" {
		return errors.New("generic: platforms.generic.discount_url is not set: unique codes need a URL to register them at")
	}
	if c.Secret == "" {
		return errors.New("generic: platforms.generic.secret is not set: code registrations are signed with it")
	}
	b := codeBody{Code: r.Code, CartID: r.Cart, Store: r.Store, Email: r.Email, Label: r.Label}
	switch {
	case r.Code == "":
		return errors.New("generic: a code registration without a code")
	case r.ExpiresAt.IsZero():
		return fmt.Errorf("generic: code %s has no expiry", r.Code)
	case (r.Percent == "") == (r.Amount == ""):
		return fmt.Errorf("generic: code %s: exactly one of percent and amount must be set", r.Code)
	case r.Percent != "":
		b.Percent = r.Percent
	case r.Currency == "":
		return fmt.Errorf("generic: code %s: an amount off needs the cart's currency", r.Code)
	default:
		b.Amount, b.Currency = r.Amount, r.Currency
	}
	b.ExpiresAt = r.ExpiresAt.UTC().Format(time.RFC3339)
	body, err := json.Marshal(b)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("generic: platforms.generic.discount_url: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Cartrecovery-Event", Event)
	req.Header.Set("X-Cartrecovery-Signature", Sign(body, c.Secret))
	where := req.URL.Host // never the whole URL: its query may hold a token
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("generic: register code %s at %s: %w", r.Code, where, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2, resp.StatusCode == http.StatusConflict:
		return nil
	}
	return fmt.Errorf("generic: register code %s at %s: HTTP %d: %s", r.Code, where, resp.StatusCode,
		recovery.Clip(strings.TrimSpace(string(answer)), 200))
}
