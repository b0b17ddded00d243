// Package bigcommerce is everything cartrecovery knows about BigCommerce:
// its webhooks (Standard Webhooks signatures, light payloads carrying ids
// only) and the two Management API calls the worker makes at send time
// (the cart's content and email, and a link that restores it).
package bigcommerce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Platform is the platform name of BigCommerce events.
const Platform = "bigcommerce"

// MaxSkew is how far a webhook-timestamp may be from this server's clock
// (the Standard Webhooks reference libraries reject beyond 5 minutes).
const MaxSkew = 5 * time.Minute

// Sign returns the webhook-signature value for a delivery (tests and the
// benchmark sign with it).
func Sign(id, timestamp string, body []byte, secret string) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(id, timestamp, body, secret))
}

func mac(id, timestamp string, body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a delivery per Standard Webhooks: webhook-signature holds a
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" keyed with the app's client
// secret (platforms.bigcommerce.client_secret), compared in constant time,
// and webhook-timestamp is within MaxSkew of now (a replay is refused).
func Verify(id, timestamp, signature string, body []byte, secret string, now time.Time) error {
	if secret == "" {
		return fmt.Errorf("platforms.bigcommerce.client_secret is not configured: %w", recovery.ErrUnauthorized)
	}
	if id == "" || timestamp == "" || signature == "" {
		return fmt.Errorf("missing webhook-id, webhook-timestamp or webhook-signature: %w", recovery.ErrUnauthorized)
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp is not Unix seconds: %w", recovery.ErrUnauthorized)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return fmt.Errorf("webhook-timestamp is %s away from this server's clock (at most %s): %w", d.Round(time.Second), MaxSkew, recovery.ErrUnauthorized)
	}
	want := mac(id, timestamp, body, secret)
	for _, s := range strings.Fields(signature) {
		v, b64, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("webhook-signature does not match the delivery: %w", recovery.ErrUnauthorized)
}

type envelope struct {
	Scope     string          `json:"scope"`
	Data      json.RawMessage `json:"data"`
	Hash      string          `json:"hash"`
	CreatedAt *int64          `json:"created_at"`
	Producer  string          `json:"producer"`
}

type cartData struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	OrderID *int64 `json:"orderId"`
}

// Parse reads a delivery's body into an event; webhookID is the
// webhook-id header (the event id when the body has no hash). The store is
// the store hash of "producer": "stores/{hash}". Carts come with their id
// only: the worker fetches their content at send time. Scopes other than
// store/cart/created, updated, converted and deleted, and
// store/order/created, are ErrIgnored. An order created comes as an
// OrderLookup with the order's id: its cart is only known through the API,
// which the worker asks (store/cart/converted, which names both, also
// stops the cart; the order is counted once by its id).
func Parse(webhookID string, body []byte) (recovery.Event, error) {
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return recovery.Event{}, recovery.Invalid("body", "malformed JSON: "+err.Error())
	}
	store, ok := strings.CutPrefix(e.Producer, "stores/")
	if !ok || !recovery.ValidStore(store) {
		return recovery.Event{}, recovery.Invalid("producer", "must be stores/{store_hash}")
	}
	id := e.Hash
	if id == "" {
		id = webhookID
	}
	if id == "" || len(id) > 200 {
		return recovery.Event{}, recovery.Invalid("hash", "is required (or the webhook-id header)")
	}
	ev := recovery.Event{ID: id, Platform: Platform, Store: store, TimeField: "created_at"}
	if e.CreatedAt != nil {
		ev.OccurredAt = time.Unix(*e.CreatedAt, 0).UTC()
	}
	switch e.Scope {
	case "store/cart/created", "store/cart/updated":
		ev.Kind = recovery.CartUpdated
	case "store/cart/converted":
		ev.Kind = recovery.OrderCreated
	case "store/cart/deleted":
		ev.Kind = recovery.CartDeleted
	case "store/order/created":
		var d struct {
			ID json.Number `json:"id"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil || !orderIDRE.MatchString(d.ID.String()) || strings.TrimLeft(d.ID.String(), "0") == "" {
			return recovery.Event{}, recovery.Invalid("data.id", "must be the order's numeric id")
		}
		ev.Kind, ev.Order.ID = recovery.OrderLookup, d.ID.String()
		return ev, nil
	case "":
		return recovery.Event{}, recovery.Invalid("scope", "is required")
	default:
		return recovery.Event{}, fmt.Errorf("scope %q: %w", recovery.Clip(e.Scope, 60), recovery.ErrIgnored)
	}
	var d cartData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return recovery.Event{}, recovery.Invalid("data", "must be an object with the cart's id")
	}
	if d.ID == "" || len(d.ID) > 100 || strings.ContainsAny(d.ID, "/?#% \t\r\n") {
		return recovery.Event{}, recovery.Invalid("data.id", "must be the cart's id")
	}
	ev.Cart.ID = d.ID
	if ev.Kind == recovery.OrderCreated {
		if d.OrderID == nil || *d.OrderID <= 0 {
			return recovery.Event{}, recovery.Invalid("data.orderId", "is required for store/cart/converted")
		}
		// Totals come with the order, not this webhook: the revenue of a
		// BigCommerce recovery is not known here.
		ev.Order.ID = strconv.FormatInt(*d.OrderID, 10)
	}
	return ev, nil
}
