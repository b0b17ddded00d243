package redis

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Click-through links and the clicks they record.

// Click records a click on message m's link and returns the cart for the
// redirect; ok is false when the cart no longer exists.
func (s *Store) Click(ctx context.Context, m recovery.MessageKey) (recovery.Clicked, bool, error) {
	now, pc := s.now(), s.policy(ctx, m.Store)
	v, err := clickScript.run(ctx, s.rdb, clickCall{cart: s.k.cart(m.Store, m.Cart), data: s.k.data(m.Store, m.Cart), stats: s.k.stats(m.Store, day(now)),
		field: m.Slot().Field("k"), now: now.UnixMilli(), counter: pc.counter(recovery.CountClicked, m), cartsCounter: field(recovery.CountClickedCarts),
		codeField: codeField(m.Step), suffix: pc.suffix(m), cartsCopy: segmentCopy(recovery.CountClickedCarts, m.Segment)}).StringSlice()
	if err != nil || len(v) != 2 {
		return recovery.Clicked{}, false, fmt.Errorf("record click %s: %w", m, err)
	}
	if v[0] == "" {
		return recovery.Clicked{}, false, nil
	}
	var out recovery.Clicked
	out.Cart, _, out.Platform, err = decodeRecord(m.Cart, v[0])
	if code := parseCode(v[1]); code.Registered {
		out.Code = code.Code
	}
	return out, err == nil, err
}

// NewLink records a click-through link to message m under a new random id
// and returns the id, valid for recovery.LinkTTL.
func (s *Store) NewLink(ctx context.Context, m recovery.MessageKey) ([8]byte, error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return id, err
	}
	return id, s.SaveLink(ctx, id, m, "")
}

// SaveLink records the click-through link id to message m, valid for
// recovery.LinkTTL, with the static discount code the message offers ("":
// none, or a unique code, which the cart keeps): a click applies the code
// the customer was sent, whatever a reload made of the step since. The
// worker saves it right before the claim, and deletes it (DeleteLink) when
// the claim is refused.
func (s *Store) SaveLink(ctx context.Context, id [8]byte, m recovery.MessageKey, code string) error {
	v := m.String()
	if code != "" {
		v = linkCodePrefix + code + "\n" + v
	}
	return s.rdb.Set(ctx, s.k.link(id), v, recovery.LinkTTL).Err()
}

// linkCodePrefix starts the record of a link whose message offered a
// static code: "code:CODE\n" then the message key (which starts with a
// step index or a segment name, and holds no ":" before its first "|").
// Other links are the message key alone.
const linkCodePrefix = "code:"

// DeleteLink removes link id.
func (s *Store) DeleteLink(ctx context.Context, id [8]byte) error {
	return s.rdb.Del(ctx, s.k.link(id)).Err()
}

// ResolveLink returns link id's record; ok is false when it expired.
func (s *Store) ResolveLink(ctx context.Context, id [8]byte) (l recovery.Link, ok bool, err error) {
	l.Message, ok, err = s.resolveLink(ctx, id, &l)
	return l, ok, err
}

func (s *Store) resolveLink(ctx context.Context, id [8]byte, l *recovery.Link) (recovery.MessageKey, bool, error) {
	v, err := s.rdb.Get(ctx, s.k.link(id)).Result()
	if err == goredis.Nil {
		return recovery.MessageKey{}, false, nil
	}
	if err != nil {
		return recovery.MessageKey{}, false, err
	}
	if rest, ok := strings.CutPrefix(v, linkCodePrefix); ok {
		c, key, found := strings.Cut(rest, "\n")
		if !found {
			return recovery.MessageKey{}, false, nil
		}
		l.Code, v = c, key
	}
	if m, err := recovery.ParseMessageKey(v); err == nil {
		return m, true, nil
	}
	// Links written before message keys: store/step/channel/variant/cart
	// (the cart id last: it may hold "/"). They live for 30 days.
	p := strings.SplitN(v, "/", 5)
	if len(p) != 5 {
		return recovery.MessageKey{}, false, nil
	}
	step, err := strconv.Atoi(p[1])
	if err != nil {
		return recovery.MessageKey{}, false, nil
	}
	return recovery.MessageKey{Store: p[0], Step: step, Channel: recovery.Channel(p[2]), Variant: p[3], Cart: p[4]}, true, nil
}
