package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// LookupTaskType is the asynq task that finds the cart of an order known
// by its id only (BigCommerce's store/order/created) and records the order.
const LookupTaskType = "cartrecovery:order-lookup"

type lookupPayload struct {
	Store    string `json:"s"`
	Platform string `json:"p"`
	Event    string `json:"e"` // the delivery's id: the order event's
	Order    string `json:"o"`
}

// EnqueueLookup records an order known by its id only as a task (in Redis,
// before its webhook is answered). A delivery seen before is a duplicate
// (the task id is the delivery's, kept 72h after the task ran).
func EnqueueLookup(ctx context.Context, c *asynq.Client, queue string, ev recovery.Event) (duplicate bool, err error) {
	b, _ := json.Marshal(lookupPayload{Store: ev.Store, Platform: ev.Platform, Event: ev.ID, Order: ev.Order.ID})
	t := asynq.NewTask(LookupTaskType, b, asynq.TaskID("lookup/"+ev.Platform+"/"+ev.Store+"/"+ev.ID), asynq.Queue(queue),
		asynq.MaxRetry(12), asynq.Timeout(time.Minute), asynq.Retention(72*time.Hour))
	_, err = c.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return true, nil
	}
	return false, err
}

// ProcessLookup asks the platform for the order's cart and records the
// order as if its webhook had named the cart: the sequence stops, the order
// is attributed and counted once by its id (store/cart/converted of the
// same order is the same order). An order not placed (incomplete, failed
// payment) is left: its cart's own events go on. Failures are retried by
// asynq with its backoff.
func (h *Handler) ProcessLookup(ctx context.Context, t *asynq.Task) error {
	var p lookupPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Store == "" || p.Order == "" {
		return fmt.Errorf("bad lookup payload %q: %w", t.Payload(), asynq.SkipRetry)
	}
	h = h.forStore(p.Store)
	pl := h.t.Platforms[p.Platform]
	f, ok := pl.(platform.OrderFinder)
	if !ok || (pl.Store() != "" && pl.Store() != p.Store) {
		// the web process had the API for it: this worker's configuration
		// differs (a rolling restart); retried until one that has it runs it
		return fmt.Errorf("order %s of store %s: this worker has no %s API for that store", p.Order, p.Store, p.Platform)
	}
	cartID, o, email, placed, err := f.Order(ctx, p.Order)
	switch {
	case errors.Is(err, recovery.ErrNotFound):
		h.Log.Info("order not found at the platform; nothing to stop", "platform", p.Platform, "order", p.Order)
		return nil
	case err != nil:
		return fmt.Errorf("look up order %s with %s: %w", p.Order, p.Platform, err)
	case !placed || cartID == "":
		h.Log.Info("order looked up: not placed or without a cart; nothing to stop", "platform", p.Platform, "order", p.Order, "placed", placed)
		return nil
	}
	at := plausible(o.At, h.Now())
	ev := recovery.Event{ID: p.Event, Platform: p.Platform, Kind: recovery.OrderCreated, Store: p.Store, OccurredAt: at,
		Cart: recovery.Cart{ID: cartID}, Customer: recovery.Customer{Email: email}, Order: o}
	res, err := h.Store.Record(context.WithoutCancel(ctx), ev, h.t.Policy)
	if err != nil {
		return err
	}
	h.Log.Info("order looked up and recorded", "platform", p.Platform, "order", p.Order, "cart", cartID,
		"to", notify.MaskAddress(email), "status", res.Status)
	return nil
}
