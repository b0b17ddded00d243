package shopify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Tokens gives the Admin API access token a call sends. A static token
// (an admin custom app's shpat_…, platforms.shopify.admin_token) never
// changes; a Dev Dashboard app's comes from the client credentials grant
// and lasts a day (ClientCredentials).
type Tokens interface {
	// Token returns the token to send now.
	Token(ctx context.Context) (string, error)
	// Refused tells that Shopify answered 401 to token: the next Token
	// gets a new one (a static token stays: it cannot be renewed).
	Refused(token string)
}

// Static is a token that never changes.
type Static string

// Token is the token.
func (s Static) Token(context.Context) (string, error) { return string(s), nil }

// Refused does nothing: a static token cannot be renewed.
func (Static) Refused(string) {}

// ClientCredentials gets tokens with the client credentials grant of a
// Dev Dashboard app installed in the shop (Shopify's documentation: "Using
// the client credentials grant", POST https://{shop}/admin/oauth/access_token
// with grant_type=client_credentials, client_id and client_secret, form
// encoded; the answer has access_token, scope and expires_in seconds). A
// token is kept in memory and shared by every goroutine; it is renewed
// before it expires (renewBefore, or half its life when shorter) and when
// Shopify refuses it, with one request in flight whatever the number of
// callers waiting. Neither the secret nor a token is ever in an error.
type ClientCredentials struct {
	APIURL   string // "https://<shop>" (or a test server)
	ClientID string
	Secret   string
	HTTP     *http.Client
	Now      func() time.Time // default time.Now

	mu      sync.Mutex // held while a token is fetched: callers wait for it
	token   string
	renewAt time.Time
	scope   string
}

// renewBefore is how long before its expiry a token is renewed.
const renewBefore = 10 * time.Minute

// NewClientCredentials returns the token source of app clientID in the shop
// at apiURL ("" the shop's own host).
func NewClientCredentials(apiURL, shop, clientID, secret string) *ClientCredentials {
	if apiURL == "" {
		apiURL = "https://" + shop
	}
	return &ClientCredentials{APIURL: strings.TrimRight(apiURL, "/"), ClientID: clientID, Secret: secret,
		HTTP: &http.Client{Timeout: 10 * time.Second}}
}

func (c *ClientCredentials) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Token returns the kept token, or gets a new one when it is due for
// renewal (one request for every caller waiting).
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.renewAt) {
		return c.token, nil
	}
	tok, scope, life, err := c.fetch(ctx)
	if err != nil {
		return "", err
	}
	margin := min(renewBefore, life/2)
	c.token, c.scope, c.renewAt = tok, scope, c.now().Add(life-margin)
	return tok, nil
}

// Scopes are the access scopes the last token was granted (empty before
// the first).
func (c *ClientCredentials) Scopes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scope == "" {
		return nil
	}
	return strings.Split(c.scope, ",")
}

// Refused forgets token, so the next call gets a new one; a token already
// renewed by another caller is kept.
func (c *ClientCredentials) Refused(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == token {
		c.token = ""
	}
}

// fetch asks the shop for a token.
func (c *ClientCredentials) fetch(ctx context.Context) (token, scope string, life time.Duration, err error) {
	const op = "access token (client credentials)"
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.Secret}}
	status, b, err := post(ctx, c.HTTP, op, c.APIURL+"/admin/oauth/access_token", "application/x-www-form-urlencoded", "",
		[]byte(form.Encode()), 64<<10)
	switch {
	case err != nil:
		return "", "", 0, err
	case status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "", "", 0, fmt.Errorf("shopify: %s: HTTP %d: client_id and client_secret (platforms.shopify) are refused, or the app is not installed in the shop",
			op, status)
	case status/100 != 2:
		return "", "", 0, fmt.Errorf("shopify: %s: HTTP %d", op, status)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.AccessToken == "" {
		return "", "", 0, fmt.Errorf("shopify: %s: no access_token in the answer", op)
	}
	life = time.Duration(out.ExpiresIn) * time.Second
	if out.ExpiresIn <= 0 {
		life = 24 * time.Hour // as Shopify documents it
	}
	return out.AccessToken, out.Scope, life, nil
}

// credentials are the token sources of the process, one per app and shop:
// a configuration reload builds its clients again, and they keep the
// token the last ones got.
var credentials sync.Map // key → *ClientCredentials

// sharedCredentials is the process's token source of app clientID in the
// shop at apiURL ("" the shop's host), made on first use.
func sharedCredentials(apiURL, shop, clientID, secret string) *ClientCredentials {
	sum := sha256.Sum256([]byte(secret)) // the key holds no secret
	key := strings.Join([]string{apiURL, shop, clientID, hex.EncodeToString(sum[:])}, "\x00")
	if cc, ok := credentials.Load(key); ok {
		return cc.(*ClientCredentials)
	}
	cc, _ := credentials.LoadOrStore(key, NewClientCredentials(apiURL, shop, clientID, secret))
	return cc.(*ClientCredentials)
}
