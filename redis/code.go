package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// Unique discount codes, kept on the cart and indexed by code.

// codeField is the cart hash field of a step's unique code.
func codeField(step int) string { return "dc:" + strconv.Itoa(step) }

// codeValue is the stored form of a unique code: "CODE|expires ms|0 or 1".
func codeValue(c recovery.Code) string {
	reg := "0"
	if c.Registered {
		reg = "1"
	}
	return c.Code + "|" + strconv.FormatInt(c.ExpiresAt.UnixMilli(), 10) + "|" + reg
}

func parseCode(v string) recovery.Code {
	p := strings.Split(v, "|")
	if len(p) != 3 {
		return recovery.Code{}
	}
	return recovery.Code{Code: p[0], ExpiresAt: msTime(p[1]), Registered: p[2] == "1"}
}

// CodeFor returns the unique discount code of cart c's step: the one kept
// while it is still valid at now (recovery.Code.Valid), else a new one
// made with prefix, living life, kept unless another run of the step kept
// one first (then that one). stop is true when the cart ended or moved on.
func (s *Store) CodeFor(ctx context.Context, c recovery.CartState, step int, variant, prefix string, life time.Duration) (code recovery.Code, stop bool, err error) {
	cur := c.Codes[step]
	for range 5 {
		now := s.now()
		if cur.Valid(now, life) {
			return cur, false, nil
		}
		prev := ""
		if cur.Code != "" {
			prev = codeValue(cur)
		}
		next := recovery.Code{Code: recovery.NewCode(prefix), ExpiresAt: msTime(strconv.FormatInt(now.Add(life).UnixMilli(), 10))}
		res, err := issueScript.run(ctx, s.rdb, issueCall{cart: s.k.cart(c.Store, c.ID), code: s.k.code(c.Store, next.Code),
			field: codeField(step), prev: prev, next: codeValue(next), suffix: recovery.StepSuffix(s.policy(ctx, c.Store).stepName(c.Segment, step), variant),
			cartID: c.ID, indexTTL: int64((life + time.Duration(s.retention)*time.Second) / time.Second), gen: c.Gen}).StringSlice()
		if err != nil || len(res) != 2 {
			return recovery.Code{}, false, fmt.Errorf("keep the discount code of cart %s/%s: %w", c.Store, c.ID, err)
		}
		switch res[0] {
		case "ok":
			return next, false, nil
		case "stop":
			return recovery.Code{}, true, nil
		case "taken":
			cur = parseCode(res[1])
		}
		// "collision": the made code is another cart's; make another
	}
	return recovery.Code{}, false, fmt.Errorf("keep the discount code of cart %s/%s: no code kept after 5 tries", c.Store, c.ID)
}

// CodeRegistered marks code, the unique code of cart c's step, registered
// with the platform, and counts it issued (once). ok is false when the
// step's code is no longer this one.
func (s *Store) CodeRegistered(ctx context.Context, c recovery.CartState, step int, variant string, code recovery.Code) (bool, error) {
	made, reg := code, code
	made.Registered, reg.Registered = false, true
	n, err := registeredScript.run(ctx, s.rdb, registeredCall{cart: s.k.cart(c.Store, c.ID), stats: s.k.stats(c.Store, day(s.now())),
		field: codeField(step), made: codeValue(made), registered: codeValue(reg),
		counter: recovery.Counter{Kind: recovery.CountCodesIssued, Step: s.policy(ctx, c.Store).stepName(c.Segment, step), Variant: variant}.Field()}).Int()
	if err != nil {
		return false, fmt.Errorf("mark the discount code of cart %s/%s registered: %w", c.Store, c.ID, err)
	}
	return n == 1, nil
}
