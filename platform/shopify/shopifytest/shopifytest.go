// Package shopifytest is a local fake of the two Shopify Admin GraphQL
// operations cartrecovery sends (discountCodeBasicCreate and the orders
// query, API version 2026-10) and of the client credentials grant that
// gives a Dev Dashboard app its tokens (POST /admin/oauth/access_token,
// as Shopify's "Using the client credentials grant" documents it: form
// encoded grant_type, client_id and client_secret; access_token, scope and
// expires_in back), answering in Shopify's shapes with data of its own. It checks what it receives the way Shopify would: the access
// token, the JSON content type, the request's {query, variables}, the
// variables' fields (an unknown input field is a GraphQL error), and the
// discount input's values (answered as userErrors). It also checks what
// cartrecovery promises: single use, once per customer, for all
// customers, on all items.
package shopifytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Shop and Token are the fake shop's domain and admin API access token;
// ClientID and ClientSecret its Dev Dashboard app's credentials.
const (
	Shop         = "fake-shop.myshopify.com"
	Token        = "fake-shopify-admin-token"
	ClientID     = "fake-client-id"
	ClientSecret = "fake-client-secret"
)

// Path is the GraphQL endpoint the fake serves; TokenPath the client
// credentials grant's.
const (
	Path      = "/admin/api/2026-10/graphql.json"
	TokenPath = "/admin/oauth/access_token"
)

// Scopes are what the fake grants an app's tokens.
const Scopes = "write_discounts,read_orders"

// Code is a discount code the fake registered.
type Code struct {
	Code, Title     string
	Percentage      string // as received: JSON number text, e.g. "0.125"
	Amount          string // discountAmount.amount as received (quotes removed)
	StartsAt        time.Time
	EndsAt          time.Time
	UsageLimit      int
	OncePerCustomer bool
}

// Order is an order of the fake shop.
type Order struct {
	ID              int64
	Email           string
	CreatedAt       time.Time
	Total, Currency string // totalPriceSet.shopMoney: amount (sent as a string) and currencyCode
	Codes           []string
	Cancelled, Test bool
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	codes   []Code
	orders  []Order
	fail    int
	calls   int
	queries []string

	// the client credentials grant
	issued     map[string]bool // tokens given and not revoked
	tokenCalls int
	tokenFail  int
	throttle   int
	// TokenLife is the expires_in of the tokens given (default 86399 s,
	// as Shopify's are).
	TokenLife time.Duration
}

// TokenRequests is the number of token requests received.
func (s *Server) TokenRequests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.tokenCalls }

// RevokeTokens makes every token given so far refused (401), as one that
// expired or was revoked is.
func (s *Server) RevokeTokens() { s.mu.Lock(); s.issued = nil; s.mu.Unlock() }

// FailTokens answers 500 to the next n token requests.
func (s *Server) FailTokens(n int) { s.mu.Lock(); s.tokenFail = n; s.mu.Unlock() }

// ThrottleNext answers the next n GraphQL calls THROTTLED, with the cost
// extensions Shopify sends (an empty bucket restoring 100 points a second).
func (s *Server) ThrottleNext(n int) { s.mu.Lock(); s.throttle = n; s.mu.Unlock() }

// token answers the client credentials grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.tokenCalls++
	if s.tokenFail > 0 {
		s.tokenFail--
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"errors":"Internal Server Error"}`)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Method != http.MethodPost || mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_request","error_description":"fake: a form-encoded POST is required"}`)
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"unsupported_grant_type"}`)
		return
	}
	if r.PostForm.Get("client_id") != ClientID || r.PostForm.Get("client_secret") != ClientSecret {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"Client authentication failed"}`)
		return
	}
	life := s.TokenLife
	if life <= 0 {
		life = 86399 * time.Second
	}
	tok := fmt.Sprintf("shpat_fake%08d", s.tokenCalls)
	if s.issued == nil {
		s.issued = map[string]bool{}
	}
	s.issued[tok] = true
	writeJSON(w, map[string]any{"access_token": tok, "scope": Scopes, "expires_in": int64(life / time.Second)})
}

// Start runs a fake until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// AddOrder adds an order to the shop.
func (s *Server) AddOrder(o Order) { s.mu.Lock(); s.orders = append(s.orders, o); s.mu.Unlock() }

// FailNext answers 503 to the next n calls.
func (s *Server) FailNext(n int) { s.mu.Lock(); s.fail = n; s.mu.Unlock() }

// Calls is the number of requests received, answered or not.
func (s *Server) Calls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }

// Codes returns the codes registered, in order.
func (s *Server) Codes() []Code {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Code(nil), s.codes...)
}

// Queries returns the search strings (the orders query argument) received.
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if s.fail > 0 {
		s.fail--
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"errors":"Service Unavailable"}`)
		return
	}
	if r.URL.Path == TokenPath {
		s.token(w, r)
		return
	}
	if r.URL.Path != Path {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errors":"Not Found"}`)
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = io.WriteString(w, `{"errors":"fake: only POST is served"}`)
		return
	}
	if tok := r.Header.Get("X-Shopify-Access-Token"); tok != Token && !s.issued[tok] {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"errors":{"query":"Required parameter missing or invalid"}}`)
		return
	}
	var req struct {
		Query         string                     `json:"query"`
		Variables     map[string]json.RawMessage `json:"variables"`
		OperationName string                     `json:"operationName"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err != nil || d.Decode(&req) != nil || strings.TrimSpace(req.Query) == "" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"errors":{"query":"Required parameter missing or invalid"}}`)
		return
	}
	if s.throttle > 0 {
		s.throttle--
		writeJSON(w, map[string]any{"errors": []any{map[string]any{"message": "Throttled",
			"extensions": map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": map[string]any{"cost": map[string]any{"requestedQueryCost": 10, "actualQueryCost": nil,
				"throttleStatus": map[string]any{"maximumAvailable": 2000.0, "currentlyAvailable": 0, "restoreRate": 100.0}}}})
		return
	}
	var data any
	var gerr string
	switch q := req.Query; {
	case strings.Contains(q, "discountCodeBasicCreate("):
		if !strings.HasPrefix(strings.TrimSpace(q), "mutation") {
			gerr = "fake: discountCodeBasicCreate outside a mutation"
			break
		}
		data, gerr = s.create(q, req.Variables)
	case strings.Contains(q, "orders("):
		data, gerr = s.ordersQuery(q, req.Variables)
	default:
		gerr = "fake: unknown operation (serves discountCodeBasicCreate and orders only)"
	}
	if gerr != "" {
		writeJSON(w, map[string]any{"errors": []any{map[string]any{"message": gerr,
			"extensions": map[string]any{"code": "INVALID_VARIABLE"}}}})
		return
	}
	writeJSON(w, map[string]any{"data": data, "extensions": map[string]any{"cost": map[string]any{
		"requestedQueryCost": 10, "actualQueryCost": 10,
		"throttleStatus": map[string]any{"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	_, _ = w.Write(b)
}

// variable finds the variable an argument of the operation's field is
// passed in: `arg: $name` → variables["name"].
func variable(query, arg string, vars map[string]json.RawMessage) (json.RawMessage, string) {
	m := regexp.MustCompile(regexp.QuoteMeta(arg) + `\s*:\s*\$(\w+)`).FindStringSubmatch(query)
	if m == nil {
		return nil, fmt.Sprintf("fake: %s is not passed as a variable", arg)
	}
	v, ok := vars[m[1]]
	if !ok || string(v) == "null" {
		return nil, fmt.Sprintf("Variable $%s of %s was not provided", m[1], arg)
	}
	return v, ""
}

// codeInput holds the DiscountCodeBasicInput fields of API 2026-10; any
// other field is refused as Shopify refuses it.
type codeInput struct {
	AppliesOncePerCustomer *bool           `json:"appliesOncePerCustomer"`
	Code                   *string         `json:"code"`
	CombinesWith           json.RawMessage `json:"combinesWith"`
	CustomerGets           *struct {
		Value *struct {
			Percentage     json.RawMessage `json:"percentage"`
			DiscountAmount *struct {
				Amount            json.RawMessage `json:"amount"`
				AppliesOnEachItem *bool           `json:"appliesOnEachItem"`
			} `json:"discountAmount"`
			DiscountOnQuantity json.RawMessage `json:"discountOnQuantity"`
		} `json:"value"`
		Items *struct {
			All         *bool           `json:"all"`
			Products    json.RawMessage `json:"products"`
			Collections json.RawMessage `json:"collections"`
		} `json:"items"`
		AppliesOnOneTimePurchase *bool `json:"appliesOnOneTimePurchase"`
		AppliesOnSubscription    *bool `json:"appliesOnSubscription"`
	} `json:"customerGets"`
	Context *struct {
		All              *string         `json:"all"` // DiscountBuyerSelection
		Customers        json.RawMessage `json:"customers"`
		CustomerSegments json.RawMessage `json:"customerSegments"`
		Markets          json.RawMessage `json:"markets"`
	} `json:"context"`
	CustomerSelection   json.RawMessage `json:"customerSelection"` // deprecated since 2025-10
	EndsAt              *string         `json:"endsAt"`
	MinimumRequirement  json.RawMessage `json:"minimumRequirement"`
	RecurringCycleLimit *int            `json:"recurringCycleLimit"`
	StartsAt            *string         `json:"startsAt"`
	Title               *string         `json:"title"`
	UsageLimit          *int            `json:"usageLimit"`
}

type userError struct {
	Field   []string `json:"field"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
}

func (s *Server) create(query string, vars map[string]json.RawMessage) (any, string) {
	raw, gerr := variable(query, "basicCodeDiscount", vars)
	if gerr != "" {
		return nil, gerr
	}
	var in codeInput
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&in); err != nil {
		return nil, "Variable $input of type DiscountCodeBasicInput! was provided invalid value: " + err.Error()
	}
	var errs []userError
	bad := func(field, code, msg string) {
		errs = append(errs, userError{Field: []string{"basicCodeDiscount", field}, Code: code, Message: msg})
	}
	c := Code{Code: deref(in.Code), Title: deref(in.Title)}
	switch {
	case strings.TrimSpace(c.Code) == "":
		bad("code", "BLANK", "Code can't be blank")
	case len(c.Code) > 255:
		bad("code", "TOO_LONG", "Code is too long (maximum is 255 characters)")
	}
	if strings.TrimSpace(c.Title) == "" {
		bad("title", "BLANK", "Title can't be blank")
	}
	var err error
	if c.StartsAt, err = time.Parse(time.RFC3339, deref(in.StartsAt)); err != nil {
		bad("startsAt", "INVALID", "Starts at is not a date and time")
	}
	if c.EndsAt, err = time.Parse(time.RFC3339, deref(in.EndsAt)); err != nil {
		bad("endsAt", "INVALID", "fake: endsAt is required (codes must expire) and must be a date and time")
	} else if !c.EndsAt.After(c.StartsAt) {
		bad("endsAt", "INVALID", "Ends at needs to be after starts_at")
	}
	if in.UsageLimit != nil {
		c.UsageLimit = *in.UsageLimit
	}
	if c.UsageLimit != 1 {
		bad("usageLimit", "INVALID", "fake: usageLimit must be 1 (single use)")
	}
	c.OncePerCustomer = in.AppliesOncePerCustomer != nil && *in.AppliesOncePerCustomer
	if !c.OncePerCustomer {
		bad("appliesOncePerCustomer", "INVALID", "fake: appliesOncePerCustomer must be true")
	}
	if cx := in.Context; cx == nil || cx.All == nil || *cx.All != "ALL" {
		bad("context", "BLANK", "fake: context must be {all: ALL} (customerSelection is deprecated since 2025-10)")
	}
	switch g := in.CustomerGets; {
	case g == nil || g.Value == nil:
		bad("customerGets", "BLANK", "Customer gets value can't be blank")
	default:
		if g.Items == nil || g.Items.All == nil || !*g.Items.All {
			bad("customerGets", "INVALID", "fake: customerGets.items must be {all: true}")
		}
		hasP, hasA := len(g.Value.Percentage) > 0 && string(g.Value.Percentage) != "null", g.Value.DiscountAmount != nil
		if hasP == hasA {
			bad("customerGets", "INVALID", "Value must be exactly one of percentage or discountAmount")
			break
		}
		if hasP {
			c.Percentage = string(g.Value.Percentage)
			p, ok := new(big.Rat).SetString(c.Percentage)
			switch {
			case c.Percentage[0] == '"' || !ok:
				return nil, "Variable $input of type DiscountCodeBasicInput! was provided invalid value for customerGets.value.percentage (Could not coerce value " + c.Percentage + " to Float)"
			case p.Sign() <= 0 || p.Cmp(big.NewRat(1, 1)) > 0:
				bad("customerGets", "VALUE_OUTSIDE_RANGE", "Value must be between 0.0 and 1.0")
			}
			break
		}
		a := g.Value.DiscountAmount
		if a.AppliesOnEachItem == nil || *a.AppliesOnEachItem {
			bad("customerGets", "INVALID", "fake: discountAmount.appliesOnEachItem must be false (off the order)")
		}
		c.Amount = strings.Trim(string(a.Amount), `"`)
		if v, ok := new(big.Rat).SetString(c.Amount); !ok || v.Sign() <= 0 {
			bad("customerGets", "GREATER_THAN", "Value must be greater than 0")
		}
	}
	if len(errs) == 0 {
		for _, old := range s.codes {
			if strings.EqualFold(old.Code, c.Code) { // Shopify's codes are case-insensitive
				bad("code", "TAKEN", "Code must be unique. Please try a different code.")
				break
			}
		}
	}
	if len(errs) > 0 {
		return map[string]any{"discountCodeBasicCreate": map[string]any{"codeDiscountNode": nil, "userErrors": errs}}, ""
	}
	s.codes = append(s.codes, c)
	return map[string]any{"discountCodeBasicCreate": map[string]any{
		"codeDiscountNode": map[string]any{"id": fmt.Sprintf("gid://shopify/DiscountCodeNode/%d", 1000+len(s.codes))},
		"userErrors":       []userError{}}}, ""
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// searchRE is the one search the fake understands: the form OrderSince sends.
var searchRE = regexp.MustCompile(`^email:"((?:[^"\\]|\\.)*)" AND created_at:>='([^']+)'$`)

var unescapeRE = regexp.MustCompile(`\\(.)`)

func (s *Server) ordersQuery(query string, vars map[string]json.RawMessage) (any, string) {
	_, args, _ := strings.Cut(query, "orders(")
	args, _, _ = strings.Cut(args, ")")
	raw, gerr := variable(args, "query", vars)
	if gerr != "" {
		return nil, gerr
	}
	var q string
	if err := json.Unmarshal(raw, &q); err != nil {
		return nil, "Variable of type String was provided invalid value"
	}
	s.queries = append(s.queries, q)
	first := 0
	if m := regexp.MustCompile(`first\s*:\s*(\d+)`).FindStringSubmatch(args); m != nil {
		first, _ = strconv.Atoi(m[1])
	}
	if first < 1 || first > 250 {
		return nil, "fake: orders needs first between 1 and 250"
	}
	m := searchRE.FindStringSubmatch(q)
	if m == nil {
		return nil, "fake: unsupported search " + strconv.Quote(q)
	}
	email := unescapeRE.ReplaceAllString(m[1], "$1")
	since, err := time.Parse(time.RFC3339, m[2])
	if err != nil {
		return nil, "fake: created_at is not RFC 3339: " + m[2]
	}
	var found []Order
	for _, o := range s.orders {
		if strings.EqualFold(o.Email, email) && !o.CreatedAt.Before(since) {
			found = append(found, o)
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].CreatedAt.Before(found[j].CreatedAt) })
	if regexp.MustCompile(`reverse\s*:\s*true`).MatchString(args) {
		for i, j := 0, len(found)-1; i < j; i, j = i+1, j-1 {
			found[i], found[j] = found[j], found[i]
		}
	}
	if len(found) > first {
		found = found[:first]
	}
	nodes := make([]any, 0, len(found))
	for _, o := range found {
		var cancelled any
		if o.Cancelled {
			cancelled = o.CreatedAt.Add(time.Hour).UTC().Format(time.RFC3339)
		}
		codes := o.Codes
		if codes == nil {
			codes = []string{}
		}
		nodes = append(nodes, map[string]any{
			"id": fmt.Sprintf("gid://shopify/Order/%d", o.ID), "name": fmt.Sprintf("#%d", 1000+o.ID),
			"createdAt": o.CreatedAt.UTC().Format(time.RFC3339), "cancelledAt": cancelled, "test": o.Test,
			"totalPriceSet": map[string]any{"shopMoney": map[string]any{"amount": o.Total, "currencyCode": o.Currency}},
			"discountCodes": codes,
		})
	}
	return map[string]any{"orders": map[string]any{"nodes": nodes}}, ""
}
