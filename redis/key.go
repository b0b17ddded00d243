package redis

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// keyspace builds every Redis key name cartrecovery uses (asynq's own keys
// aside, which live under its queue names). All keys of one store carry
// the store's hash tag, "<prefix>{<store>}:", so that on Redis Cluster a
// script touching one store's keys touches one hash slot; different stores
// spread over the nodes.
//
//	<prefix>stores                      set of stores with carts (the relay walks it)
//	<prefix>l:<hex id>                  click-through link → message key
//	<prefix>linkkey                     HMAC key signing links and unsubscribe tokens
//	<prefix>session:<id>                dashboard sign-in
//	<prefix>unsub:<channel>:<contact hash>  suppression in every store (SMS STOP)
//	<prefix>maintenance                 the relay whose turn it is to run Maintain
//	<prefix>{<store>}:cart:<id>         cart hash (fields: see store.go)
//	<prefix>{<store>}:d:<id>            cart content for the messages (record.go)
//	<prefix>{<store>}:ws:<id>           overflow delivery fingerprints of a busy cart
//	<prefix>{<store>}:due               zset cart id → due time of its next step (ms)
//	<prefix>{<store>}:inflight          zset message key → sweep deadline of its claim
//	<prefix>{<store>}:seen:<platform>:<id>  deliveries of deletes and orders
//	<prefix>{<store>}:ref:<hash of ref> another id of a cart → cart id
//	<prefix>{<store>}:ordered:<email>   receive time of the customer's last order
//	<prefix>{<store>}:last:<email>      cart last reminded, for cross-device orders
//	<prefix>{<store>}:cool:<email>      cart holding the customer's cooldown
//	<prefix>{<store>}:unsub:<channel>:<contact hash>  suppression
//	<prefix>{<store>}:code:<hash of code>  unique discount code → its cart,
//	                                    step and variant; "r" once redeemed
//	<prefix>{<store>}:oid:<hash of order id>  an order already counted
//	<prefix>{<store>}:stats:<YYYY-MM-DD>  report counters (recovery.Counter)
type keyspace struct{ prefix string }

func (k keyspace) store(store string) string { return k.prefix + "{" + store + "}:" }

func (k keyspace) stores() string  { return k.prefix + "stores" }
func (k keyspace) linkKey() string { return k.prefix + "linkkey" }

// maintenance is held by the relay whose turn it is to run Maintain.
func (k keyspace) maintenance() string { return k.prefix + "maintenance" }
func (k keyspace) session(id string) string {
	return k.prefix + "session:" + id
}
func (k keyspace) link(id [8]byte) string {
	return k.prefix + "l:" + hex.EncodeToString(id[:])
}

func (k keyspace) cart(store, id string) string     { return k.store(store) + "cart:" + id }
func (k keyspace) data(store, id string) string     { return k.store(store) + "d:" + id }
func (k keyspace) overflow(store, id string) string { return k.store(store) + "ws:" + id }
func (k keyspace) due(store string) string          { return k.store(store) + "due" }
func (k keyspace) inflight(store string) string     { return k.store(store) + "inflight" }
func (k keyspace) seen(store, platform, id string) string {
	return k.store(store) + "seen:" + platform + ":" + id
}

// ref names another id of a cart ("cart_token:<t>") by a 96-bit hash of
// it: a platform's string is never part of a key name, and every pending
// cart pays for the name's length.
func (k keyspace) ref(store, ref string) string {
	h := sha256.Sum256([]byte(ref))
	return k.store(store) + "ref:" + base64.RawURLEncoding.EncodeToString(h[:12])
}

// code names a unique discount code's index by a hash of its normalized
// (upper-case, trimmed) form: orders report codes as the customer typed
// them, and WooCommerce stores them lower-cased.
func (k keyspace) code(store, code string) string {
	h := sha256.Sum256([]byte(strings.ToUpper(strings.TrimSpace(code))))
	return k.store(store) + "code:" + base64.RawURLEncoding.EncodeToString(h[:12])
}

// orderSeen marks an order (by the platform's order id) as counted: the
// check before a send and the order's webhook, when it comes late, are
// one order.
func (k keyspace) orderSeen(store, platform, orderID string) string {
	h := sha256.Sum256([]byte(platform + "\x00" + orderID))
	return k.store(store) + "oid:" + base64.RawURLEncoding.EncodeToString(h[:12])
}

// legacyRef is the name refs had before they were hashed; deletes and
// orders still look there until such refs have expired (rules.retention).
func (k keyspace) legacyRef(store, ref string) string { return k.store(store) + "ref:" + ref }

func (k keyspace) ordered(store, email string) string { return k.store(store) + "ordered:" + email }
func (k keyspace) last(store, email string) string    { return k.store(store) + "last:" + email }
func (k keyspace) cool(store, email string) string    { return k.store(store) + "cool:" + email }
func (k keyspace) unsub(store, channel, contactHash string) string {
	return k.store(store) + "unsub:" + channel + ":" + contactHash
}

// unsubAll is a suppression in every store, present and future (an SMS
// STOP applies to the number, whichever shop texted it). The claim checks
// each store's own key (one hash slot); this one is copied into every
// store's on STOP and checked by the guards for stores added later.
func (k keyspace) unsubAll(channel, contactHash string) string {
	return k.prefix + "unsub:" + channel + ":" + contactHash
}

func (k keyspace) stats(store, day string) string { return k.store(store) + "stats:" + day }

// Keys of releases before the schedule was kept per store (one global due
// set and in-flight set); Migrate moves what they hold.
func (k keyspace) legacyDue() string      { return k.prefix + "due" }
func (k keyspace) legacyInflight() string { return k.prefix + "inflight" }

// storeOf returns the store of a key built by keyspace, "" for a global key.
func (k keyspace) storeOf(key string) string {
	rest, ok := strings.CutPrefix(key, k.prefix+"{")
	if !ok {
		return ""
	}
	s, _, _ := strings.Cut(rest, "}")
	return s
}
