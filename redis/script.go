package redis

import (
	"context"
	"embed"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// Every state change is one Lua script: one round trip, atomic. Each is a
// file in lua/, headed by its KEYS, ARGV and return value, and run through
// one typed call below (a struct per script whose keys and argv methods
// lay the values out in the header's order; TestScriptCallsMatchHeaders
// checks their lengths against each header). Every key a script touches is
// passed in KEYS, and all of one call's keys belong to one store, whose keys
// share a hash slot ("{store}"), so every script runs on Redis Cluster.
//
//go:embed lua/*.lua
var luaFiles embed.FS

// call is one script's KEYS and ARGV.
type call interface {
	keys() []string
	argv() []any
}

// script is a Lua script run with one type of call.
type script[C call] struct{ sc *goredis.Script }

// scriptShape is what the header check needs of a script: the number of
// keys and arguments its call has when every list in it is empty, and the
// keys that come after a variable list (order.lua's last key).
type scriptShape struct {
	keys, argv, trailingKeys int
}

// shapes are every script's, by name.
var shapes = map[string]scriptShape{}

func newScript[C call](name string, trailingKeys int) script[C] {
	src, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(fmt.Sprintf("embedded script %s: %v", name, err))
	}
	var zero C
	shapes[name] = scriptShape{keys: len(zero.keys()), argv: len(zero.argv()), trailingKeys: trailingKeys}
	return script[C]{sc: goredis.NewScript(string(src))}
}

// run runs the script with EVALSHA, loading it on first use (or after a
// SCRIPT FLUSH, a failover, or on a cluster node that has not seen it).
func (s script[C]) run(ctx context.Context, rdb goredis.Scripter, c C) *goredis.Cmd {
	return s.sc.Run(ctx, rdb, c.keys(), c.argv()...)
}

var (
	updateScript     = newScript[updateCall]("update", 0)
	deleteScript     = newScript[deleteCall]("delete", 0)
	orderScript      = newScript[orderCall]("order", 1)
	leaseScript      = newScript[leaseCall]("lease", 0)
	releaseScript    = newScript[releaseCall]("release", 0)
	claimScript      = newScript[claimCall]("claim", 0)
	finishScript     = newScript[finishCall]("finish", 0)
	skipScript       = newScript[skipCall]("skip", 0)
	clickScript      = newScript[clickCall]("click", 0)
	advanceScript    = newScript[advanceCall]("advance", 0)
	contentScript    = newScript[contentCall]("content", 0)
	issueScript      = newScript[issueCall]("issue", 0)
	registeredScript = newScript[registeredCall]("registered", 0)
	receiptScript    = newScript[receiptCall]("receipt", 0)
	holdScript       = newScript[holdCall]("hold", 0)
)

// newCart is what update.lua gives a new cart: its segment, holdout flag
// ("1"/"0"), tracked counter field ("" counters off) and that counter's
// segment copy ("" none).
type newCart struct{ segment, holdout, tracked, trackedCopy string }

func (n newCart) argv() []any { return []any{n.segment, n.holdout, n.tracked, n.trackedCopy} }

// updateCall is update.lua's.
type updateCall struct {
	// KEYS
	cart, data, due, overflow, stats string
	ref                              string // "" none
	ordered                          string // only with byHistory
	// ARGV
	id                                   string
	now, at                              int64
	record, email, fingerprint           string
	cartTTL, seenTTL, maxAge, orderGrace int64
	first                                newCart
	byHistory                            bool
	returning                            newCart
	sequences                            []any // k, then k groups (tuning.table); nil: none
}

func (c updateCall) keys() []string {
	k := make([]string, 5, 7)
	k[0], k[1], k[2], k[3], k[4] = c.cart, c.data, c.due, c.overflow, c.stats
	if c.ref != "" {
		k = append(k, c.ref)
	}
	if c.byHistory {
		k = append(k, c.ordered)
	}
	return k
}

func (c updateCall) argv() []any {
	a := make([]any, 0, 20+len(c.sequences))
	a = append(a, c.id, c.now, c.at, c.record, c.email, c.fingerprint, c.cartTTL, c.seenTTL, c.maxAge, c.orderGrace)
	a = append(a, c.first.argv()...)
	if c.byHistory {
		a = append(a, "1")
		a = append(a, c.returning.argv()...)
	} else {
		a = append(a, "", "", "", "", "")
	}
	if len(c.sequences) == 0 {
		return append(a, 0)
	}
	return append(a, c.sequences...)
}

// deleteCall is delete.lua's.
type deleteCall struct {
	seen, due        string
	refs             []string // pairs: name, name before refs were hashed
	carts            []string // the candidates' hashes, in ids' order
	now, at          int64
	seenTTL, cartTTL int64
	cartID           string
	ids              []string
}

func (c deleteCall) keys() []string {
	return append(append([]string{c.seen, c.due}, c.refs...), c.carts...)
}

func (c deleteCall) argv() []any {
	a := []any{c.now, c.at, c.seenTTL, c.cartTTL, len(c.refs) / 2, c.cartID}
	for _, id := range c.ids {
		a = append(a, id)
	}
	return a
}

// orderCall is order.lua's.
type orderCall struct {
	seen, due, stats, ordered, last string
	refs                            []string // pairs, as deleteCall's
	carts                           []string // the candidates' hashes, in ids' order
	otherCart                       string   // the email's last cart's hash ("" none)
	codes                           []string // code index keys
	orderSeen                       string   // the order's oid: key, last
	now, at, seenTTL, cartTTL       int64
	orderID, total, currency, email string
	minor                           string // total in minor units ("" unknown)
	window                          int64  // ms
	cartID, other                   string // other: the email's last cart id
	verified                        bool
	ids                             []string
}

func (c orderCall) keys() []string {
	k := append([]string{c.seen, c.due, c.stats, c.ordered, c.last}, c.refs...)
	k = append(k, c.carts...)
	if c.otherCart != "" {
		k = append(k, c.otherCart)
	}
	return append(append(k, c.codes...), c.orderSeen)
}

func (c orderCall) argv() []any {
	verified := ""
	if c.verified {
		verified = "1"
	}
	a := []any{c.now, c.at, c.seenTTL, c.cartTTL, c.orderID, c.total, c.currency, c.email, c.minor,
		c.window, len(c.refs) / 2, c.cartID, len(c.codes), c.other, verified}
	for _, id := range c.ids {
		a = append(a, id)
	}
	return a
}

// leaseCall is lease.lua's.
type leaseCall struct {
	due        string
	carts      []string // hashes, in ids' order
	now, until int64
	ids        []string
}

func (c leaseCall) keys() []string { return append([]string{c.due}, c.carts...) }

func (c leaseCall) argv() []any {
	a := []any{c.now, c.until}
	for _, id := range c.ids {
		a = append(a, id)
	}
	return a
}

// releaseCall is release.lua's.
type releaseCall struct {
	due   string
	until string // ms
	ids   []any
}

func (c releaseCall) keys() []string { return []string{c.due} }
func (c releaseCall) argv() []any    { return append([]any{c.until}, c.ids...) }

// claimCall is claim.lua's.
type claimCall struct {
	cart, due, inflight, ordered, cool, unsub string
	field                                     string
	step, gen                                 int
	now                                       int64
	cartID                                    string
	cooldown, orderGrace, leaseUntil          int64
	message, email                            string
}

func (c claimCall) keys() []string {
	return []string{c.cart, c.due, c.inflight, c.ordered, c.cool, c.unsub}
}

func (c claimCall) argv() []any {
	return []any{c.field, c.step, c.gen, c.now, c.cartID, c.cooldown, c.orderGrace, c.leaseUntil, c.message, c.email}
}

// finishCall is finish.lua's (value "" releases the claim).
type finishCall struct {
	cart, inflight, stats, last       string
	field, value, counter, unknown    string
	suffix                            string
	now, window                       int64 // window in s
	cartID, message, email            string
	reminded, reached, reachedCounter string
	remindedCopy                      string
}

func (c finishCall) keys() []string { return []string{c.cart, c.inflight, c.stats, c.last} }

func (c finishCall) argv() []any {
	return []any{c.field, c.value, c.counter, c.unknown, c.suffix, c.now, c.window, c.cartID, c.message, c.email,
		c.reminded, c.reached, c.reachedCounter, c.remindedCopy}
}

// skipCall is skip.lua's.
type skipCall struct {
	cart, stats                   string
	field, value, counter, reason string
}

func (c skipCall) keys() []string { return []string{c.cart, c.stats} }
func (c skipCall) argv() []any    { return []any{c.field, c.value, c.counter, c.reason} }

// clickCall is click.lua's.
type clickCall struct {
	cart, data, stats                string
	field                            string
	now                              int64
	counter, cartsCounter, codeField string
	suffix, cartsCopy                string
}

func (c clickCall) keys() []string { return []string{c.cart, c.data, c.stats} }

func (c clickCall) argv() []any {
	return []any{c.field, c.now, c.counter, c.cartsCounter, c.codeField, c.suffix, c.cartsCopy}
}

// advanceCall is advance.lua's.
type advanceCall struct {
	cart, due, stats            string
	id                          string
	step                        int
	now                         int64
	abandoned, abandonedHoldout string
	segmentSuffix               string
	delays                      []any // ms
}

func (c advanceCall) keys() []string { return []string{c.cart, c.due, c.stats} }

func (c advanceCall) argv() []any {
	a := []any{c.id, c.step, c.now, c.abandoned, c.abandonedHoldout, c.segmentSuffix, len(c.delays)}
	return append(a, c.delays...)
}

// contentCall is content.lua's.
type contentCall struct {
	cart, data    string
	gen           int
	email, record string
}

func (c contentCall) keys() []string { return []string{c.cart, c.data} }
func (c contentCall) argv() []any    { return []any{c.gen, c.email, c.record} }

// issueCall is issue.lua's.
type issueCall struct {
	cart, code                        string
	field, prev, next, suffix, cartID string
	indexTTL                          int64 // s
	gen                               int
}

func (c issueCall) keys() []string { return []string{c.cart, c.code} }

func (c issueCall) argv() []any {
	return []any{c.field, c.prev, c.next, c.suffix, c.cartID, c.indexTTL, c.gen}
}

// registeredCall is registered.lua's.
type registeredCall struct {
	cart, stats                      string
	field, made, registered, counter string
}

func (c registeredCall) keys() []string { return []string{c.cart, c.stats} }
func (c registeredCall) argv() []any    { return []any{c.field, c.made, c.registered, c.counter} }

// receiptCall is receipt.lua's.
type receiptCall struct {
	cart, stats                      string
	field, value, sendField, counter string
}

func (c receiptCall) keys() []string { return []string{c.cart, c.stats} }
func (c receiptCall) argv() []any    { return []any{c.field, c.value, c.sendField, c.counter} }

// holdCall is hold.lua's.
type holdCall struct {
	cart, stats           string
	field, value, counter string
}

func (c holdCall) keys() []string { return []string{c.cart, c.stats} }
func (c holdCall) argv() []any    { return []any{c.field, c.value, c.counter} }
