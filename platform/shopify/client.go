// Package shopify is everything cartrecovery knows about Shopify: its
// webhooks (Parse, Verify: X-Shopify-Hmac-Sha256 over the raw body), and
// the shop's Admin GraphQL API, called right before a reminder goes out: to
// register the unique discount code the message will carry,
// and to ask whether the customer has ordered since the cart began (the
// orders/create webhook may have been lost).
package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Platform is the platform name of Shopify events and carts.
const Platform = "shopify"

// APIVersion is the Admin API version every call names, the current
// stable one on Shopify's quarterly schedule when it was pinned (released
// APIReleased; Shopify supports a stable version for at least 12 months,
// so check and the start-up log warn once it is older than that: see
// VersionStale). The fields used here are those of 2026-10: a code
// discount's buyers are its context ({all: ALL}), which replaced
// customerSelection in 2025-10.
const APIVersion = "2026-10"

// APIReleased is when APIVersion was released.
var APIReleased = time.Date(2026, 10, 1, 17, 0, 0, 0, time.UTC)

// VersionStale reports whether APIVersion is more than 12 months old at
// now: Shopify may stop supporting it (and then answers with the oldest
// version it still supports), so cartrecovery should be upgraded.
func VersionStale(now time.Time) bool { return now.After(APIReleased.AddDate(1, 0, 0)) }

// Scopes the admin token needs, named in errors when Shopify refuses it.
const (
	scopeDiscounts = "write_discounts"
	scopeOrders    = "read_orders"
)

// Client calls one shop's Admin GraphQL API (API version APIVersion).
type Client struct {
	APIURL string // "https://<shop>" unless set (tests): the GraphQL endpoint is APIURL + "/admin/api/" + APIVersion + "/graphql.json"
	Shop   string // platforms.shopify.shop, e.g. "shop-a.myshopify.com": the store id carts of this shop have
	// Tokens gives the access token each call sends as
	// X-Shopify-Access-Token: a static admin token, or the client
	// credentials grant's. Secret, never in an error.
	Tokens Tokens
	HTTP   *http.Client
	// Sleep waits out a throttle (default: a timer that ends with ctx).
	Sleep func(ctx context.Context, d time.Duration) error
}

// NewClient returns a client sending the static admin token, with a 10 s
// timeout per call. An empty apiURL means the shop's own host.
func NewClient(apiURL, shop, token string) *Client {
	return NewClientWith(apiURL, shop, Static(token))
}

// NewClientWith returns a client sending tokens' tokens.
func NewClientWith(apiURL, shop string, tokens Tokens) *Client {
	if apiURL == "" {
		apiURL = "https://" + shop
	}
	return &Client{APIURL: strings.TrimRight(apiURL, "/"), Shop: shop, Tokens: tokens,
		HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Store is the store id the client answers for: carts of another store
// are not this shop's.
func (c *Client) Store() string { return c.Shop }

const createCode = `mutation CreateCode($input: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $input) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}`

type codeInput struct {
	Title                  string       `json:"title"`
	Code                   string       `json:"code"`
	StartsAt               string       `json:"startsAt"`
	EndsAt                 string       `json:"endsAt"`
	Context                buyers       `json:"context"`
	CustomerGets           customerGets `json:"customerGets"`
	UsageLimit             int          `json:"usageLimit"`
	AppliesOncePerCustomer bool         `json:"appliesOncePerCustomer"`
}

type all struct {
	All bool `json:"all"`
}

// buyers is DiscountContextInput: who may use the code.
type buyers struct {
	All string `json:"all"` // DiscountBuyerSelection: "ALL"
}

type customerGets struct {
	Value struct {
		Percentage     json.Number     `json:"percentage,omitempty"`
		DiscountAmount *discountAmount `json:"discountAmount,omitempty"`
	} `json:"value"`
	Items all `json:"items"`
}

type discountAmount struct {
	Amount            string `json:"amount"` // Decimal scalar: a string, so no float ever rounds it
	AppliesOnEachItem bool   `json:"appliesOnEachItem"`
}

type userError struct {
	Field   []string `json:"field"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
}

// RegisterCode creates r.Code in the shop as a single-use code, once per
// customer, from now until r.ExpiresAt, off the whole order
// (discountCodeBasicCreate). Shopify answering that the code is taken
// means an earlier attempt of ours registered it (codes are random per
// cart and step), so a retry succeeds. The code is offered to every
// customer: Shopify restricts codes to customers by id, which a guest
// cart has none of; single use keeps it to one order.
func (c *Client) RegisterCode(ctx context.Context, r recovery.CodeRequest) error {
	const op = "discountCodeBasicCreate"
	code := recovery.Clip(r.Code, 60) // for errors
	if r.Store != "" && r.Store != c.Shop {
		return fmt.Errorf("shopify: %s: code %s is for store %q, this client is shop %q", op, code, r.Store, c.Shop)
	}
	if r.Code == "" {
		return fmt.Errorf("shopify: %s: empty code", op)
	}
	in := codeInput{Title: r.Code, Code: r.Code, StartsAt: startsAt(r).UTC().Format(time.RFC3339),
		EndsAt: r.ExpiresAt.UTC().Format(time.RFC3339), Context: buyers{"ALL"}, UsageLimit: 1,
		AppliesOncePerCustomer: true}
	if r.Label != "" {
		in.Title = r.Label + " " + r.Code
	}
	in.CustomerGets.Items.All = true
	switch {
	case (r.Percent == "") == (r.Amount == ""):
		return fmt.Errorf("shopify: %s: code %s needs exactly one of percent (%q) or amount (%q)", op, code, r.Percent, r.Amount)
	case r.Percent != "":
		p, err := fraction(r.Percent)
		if err != nil {
			return fmt.Errorf("shopify: %s: code %s: %w", op, code, err)
		}
		in.CustomerGets.Value.Percentage = json.Number(p)
	default:
		if !money.IsAmount(r.Amount) || strings.Trim(r.Amount, "0.") == "" {
			return fmt.Errorf("shopify: %s: code %s: amount %q is not a positive decimal", op, code, r.Amount)
		}
		in.CustomerGets.Value.DiscountAmount = &discountAmount{Amount: r.Amount}
	}
	var out struct {
		Create *struct {
			Node *struct {
				ID string `json:"id"`
			} `json:"codeDiscountNode"`
			UserErrors []userError `json:"userErrors"`
		} `json:"discountCodeBasicCreate"`
	}
	if err := c.graphql(ctx, op, scopeDiscounts, createCode, map[string]any{"input": in}, &out); err != nil {
		return err
	}
	if out.Create == nil {
		return fmt.Errorf("shopify: %s: code %s: no result in the answer", op, code)
	}
	var msgs []string
	for _, e := range out.Create.UserErrors {
		if e.Code == "TAKEN" && len(e.Field) > 0 && e.Field[len(e.Field)-1] == "code" {
			continue
		}
		msgs = append(msgs, fmt.Sprintf("%s %s: %s", strings.Join(e.Field, "."), e.Code, e.Message))
	}
	switch {
	case len(msgs) > 0:
		return fmt.Errorf("shopify: %s: code %s refused: %s", op, code, clip("", msgs))
	case len(out.Create.UserErrors) > 0:
		return nil // taken: registered by an earlier attempt
	case out.Create.Node == nil || out.Create.Node.ID == "":
		return fmt.Errorf("shopify: %s: code %s: no discount in the answer", op, code)
	}
	return nil
}

// fraction turns a percent (decimal text, 0 < p ≤ 100) into the fraction
// Shopify's percentage takes, exactly: "10" → "0.1", "12.5" → "0.125".
func fraction(percent string) (string, error) {
	p, ok := new(big.Rat).SetString(percent)
	if !money.IsAmount(percent) || !ok || p.Sign() <= 0 || p.Cmp(big.NewRat(100, 1)) > 0 {
		return "", fmt.Errorf("percent %q is not a decimal in (0, 100]", percent)
	}
	places := 2
	if _, frac, found := strings.Cut(percent, "."); found {
		places += len(frac)
	}
	s := p.Quo(p, big.NewRat(100, 1)).FloatString(places) // exact: a decimal over 100 has places+2 digits at most
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, "."), nil
}

const ordersQuery = `query RecentOrders($q: String!) {
  orders(first: 10, sortKey: CREATED_AT, query: $q) {
    nodes {
      id
      name
      createdAt
      cancelledAt
      test
      totalPriceSet { shopMoney { amount currencyCode } }
      discountCodes
    }
  }
}`

type orderNode struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	CreatedAt     string `json:"createdAt"`
	CancelledAt   string `json:"cancelledAt"`
	Test          bool   `json:"test"`
	TotalPriceSet struct {
		ShopMoney struct {
			Amount       json.Number `json:"amount"`
			CurrencyCode string      `json:"currencyCode"`
		} `json:"shopMoney"`
	} `json:"totalPriceSet"`
	DiscountCodes []string `json:"discountCodes"`
}

// OrderSince reports the customer's earliest order placed at or after
// since, searching the shop's orders by the cart's email. Cancelled and
// test orders do not count, and each order's date is checked here too:
// the search filter is not trusted alone.
// Shopify's dates are to the second, so since counts from its second: an
// order in the same second as since counts (when unsure, an order found
// spares the customer a reminder after they bought). A cart without an
// email cannot be matched: ok is false, Shopify is not asked. Total is the
// order's total in the shop's currency, as text.
func (c *Client) OrderSince(ctx context.Context, cs recovery.CartState, since time.Time) (recovery.Order, bool, error) {
	const op = "orders"
	email := cs.Email()
	if email == "" {
		return recovery.Order{}, false, nil
	}
	if cs.Store != "" && cs.Store != c.Shop {
		return recovery.Order{}, false, fmt.Errorf("shopify: %s: cart %s is of store %q, this client is shop %q", op, cs.ID, cs.Store, c.Shop)
	}
	q := fmt.Sprintf(`email:"%s" AND created_at:>='%s'`, quote.Replace(email), since.UTC().Format(time.RFC3339))
	var out struct {
		Orders *struct {
			Nodes []orderNode `json:"nodes"`
		} `json:"orders"`
	}
	if err := c.graphql(ctx, op, scopeOrders, ordersQuery, map[string]any{"q": q}, &out); err != nil {
		return recovery.Order{}, false, err
	}
	if out.Orders == nil {
		return recovery.Order{}, false, fmt.Errorf("shopify: %s: no orders in the answer", op)
	}
	var best recovery.Order
	found, from := false, since.Truncate(time.Second)
	for _, n := range out.Orders.Nodes {
		at, err := time.Parse(time.RFC3339, n.CreatedAt)
		if err != nil {
			return recovery.Order{}, false, fmt.Errorf("shopify: %s: order %s: createdAt %q: %w", op, n.ID, n.CreatedAt, err)
		}
		if n.CancelledAt != "" || n.Test || at.Before(from) || found && !at.Before(best.At) {
			continue
		}
		m := n.TotalPriceSet.ShopMoney
		total := m.Amount.String()
		if !money.IsAmount(total) {
			total = ""
		}
		best = recovery.Order{ID: strings.TrimPrefix(n.ID, "gid://shopify/Order/"), Total: total,
			Currency: m.CurrencyCode, Codes: n.DiscountCodes, At: at.UTC()}
		found = true
	}
	return best, found, nil
}

// quote escapes a value for a double-quoted term of Shopify's search syntax.
var quote = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// graphql posts one operation and decodes its data into out. op names the
// call in errors; scope is what a refused token lacks. Shopify answers
// GraphQL errors (THROTTLED, ACCESS_DENIED, bad variables) with HTTP 200
// and a top-level "errors" list: those are errors too.
func (c *Client) graphql(ctx context.Context, op, scope, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return fmt.Errorf("shopify: %s: %w", op, err)
	}
	renewed, throttled := false, 0
	for {
		tok, err := c.tokens().Token(ctx)
		if err != nil {
			return err
		}
		status, b, err := c.post(ctx, op, tok, body)
		switch {
		case err != nil:
			return err
		case status == http.StatusUnauthorized && !renewed && renewable(c.tokens()):
			// an expired or revoked token: renewed once (a static one
			// cannot be)
			c.tokens().Refused(tok)
			renewed = true
			continue
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return fmt.Errorf("shopify: %s: HTTP %d: the access token is refused or lacks scope %s (platforms.shopify.admin_token, or the app of client_id)", op, status, scope)
		case status == http.StatusTooManyRequests:
			return fmt.Errorf("shopify: %s: HTTP 429: rate limited", op)
		case status/100 != 2:
			return fmt.Errorf("shopify: %s: HTTP %d", op, status)
		}
		var env struct {
			Data       json.RawMessage `json:"data"`
			Errors     json.RawMessage `json:"errors"`
			Extensions struct {
				Cost cost `json:"cost"`
			} `json:"extensions"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			return fmt.Errorf("shopify: %s: %w", op, err)
		}
		if len(env.Errors) > 0 && string(env.Errors) != "null" {
			if isThrottled(env.Errors) && throttled < maxThrottled {
				// Shopify's leaky bucket: wait until the query's cost is
				// restored, then ask again
				throttled++
				if err := c.sleep(ctx, env.Extensions.Cost.wait()); err != nil {
					return fmt.Errorf("shopify: %s: throttled: %w", op, err)
				}
				continue
			}
			return c.topLevel(op, scope, tok, env.Errors)
		}
		if len(env.Data) == 0 || string(env.Data) == "null" {
			return fmt.Errorf("shopify: %s: no data in the answer", op)
		}
		d := json.NewDecoder(bytes.NewReader(env.Data))
		d.UseNumber()
		if err := d.Decode(out); err != nil {
			return fmt.Errorf("shopify: %s: %w", op, err)
		}
		return nil
	}
}

// maxThrottled is how often one call waits out a throttle before it
// fails (the worker then retries the step, nothing claimed).
const maxThrottled = 3

func renewable(t Tokens) bool {
	_, static := t.(Static)
	return !static
}

func (c *Client) tokens() Tokens {
	if c.Tokens == nil {
		return Static("")
	}
	return c.Tokens
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post sends one GraphQL request with token and returns the answer.
func (c *Client) post(ctx context.Context, op, token string, body []byte) (int, []byte, error) {
	return post(ctx, c.HTTP, op, c.APIURL+"/admin/api/"+APIVersion+"/graphql.json", "application/json", token, body, 4<<20)
}

// post sends body to endpoint (with token, when not "") and returns the
// status and at most limit bytes of the answer; errors name op, never the
// URL or the token.
func post(ctx context.Context, hc *http.Client, op, endpoint, contentType, token string, body []byte, limit int64) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("shopify: %s: %w", op, err)
	}
	if token != "" {
		req.Header.Set("X-Shopify-Access-Token", token)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL adds nothing the op does not say
		}
		return 0, nil, fmt.Errorf("shopify: %s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return 0, nil, fmt.Errorf("shopify: %s: read: %w", op, err)
	}
	return resp.StatusCode, b, nil
}

// cost is a GraphQL answer's extensions.cost: the query's cost and the
// shop's bucket (Shopify's documentation, "Shopify API rate limits").
type cost struct {
	Requested      float64 `json:"requestedQueryCost"`
	ThrottleStatus struct {
		Available   float64 `json:"currentlyAvailable"`
		RestoreRate float64 `json:"restoreRate"`
	} `json:"throttleStatus"`
}

// wait is how long until the bucket holds the query's cost again: at
// least 100ms, at most 5s.
func (c cost) wait() time.Duration {
	t := c.ThrottleStatus
	d := time.Second
	if t.RestoreRate > 0 && c.Requested > t.Available {
		d = time.Duration((c.Requested - t.Available) / t.RestoreRate * float64(time.Second))
	}
	return min(max(d, 100*time.Millisecond), 5*time.Second)
}

// isThrottled reports whether GraphQL's errors say THROTTLED.
func isThrottled(raw json.RawMessage) bool {
	var list []gqlError
	if json.Unmarshal(raw, &list) != nil {
		return false
	}
	for _, e := range list {
		if e.Extensions.Code == "THROTTLED" {
			return true
		}
	}
	return false
}

// topLevel turns GraphQL's "errors" (a list, or a string on some refusals)
// into an error naming their codes and messages.
func (c *Client) topLevel(op, scope, token string, raw json.RawMessage) error {
	var list []gqlError
	if err := json.Unmarshal(raw, &list); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		return fmt.Errorf("shopify: %s: %s", op, clip(token, []string{s}))
	}
	msgs := make([]string, 0, len(list))
	hint := ""
	for _, e := range list {
		if e.Extensions.Code != "" {
			msgs = append(msgs, e.Extensions.Code+": "+e.Message)
		} else {
			msgs = append(msgs, e.Message)
		}
		if e.Extensions.Code == "ACCESS_DENIED" {
			hint = " (the admin token needs scope " + scope + ")"
		}
	}
	return fmt.Errorf("shopify: %s: %s%s", op, clip(token, msgs), hint)
}

// clip keeps what Shopify said short enough for a log line and the
// cart's timeline, and never carries a token should an answer echo it
// (the one sent, and anything shaped like an access token).
func clip(token string, msgs []string) string {
	const most, long = 5, 200
	if len(msgs) > most {
		msgs = append(msgs[:most:most], fmt.Sprintf("and %d more", len(msgs)-most))
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		if token != "" {
			m = strings.ReplaceAll(m, token, "[token]")
		}
		m = tokenRE.ReplaceAllString(m, "[token]")
		if r := []rune(m); len(r) > long {
			m = string(r[:long]) + "…"
		}
		out[i] = m
	}
	return strings.Join(out, "; ")
}

// tokenRE matches Shopify's access tokens (shpat_…, shpca_…, shppa_…).
var tokenRE = regexp.MustCompile(`shp[a-z]{2}_[A-Za-z0-9]+`)

// startsAt is when the code starts to work: the request's time (the
// worker's clock), else now.
func startsAt(r recovery.CodeRequest) time.Time {
	if r.StartsAt.IsZero() {
		return time.Now()
	}
	return r.StartsAt
}
