package shopify

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/platform"
)

// Config is platforms.shopify: the webhook signing secret, and the Admin
// API (scopes write_discounts, read_orders) for unique codes and the check
// before a send, reached either with a Dev Dashboard app's client_id and
// client_secret (tokens from the client credentials grant, renewed by
// themselves: every store created since 2026) or an admin custom app's
// static admin_token.
type Config struct {
	Secret       string `mapstructure:"secret"`        // secret; else client_secret signs the webhooks
	Shop         string `mapstructure:"shop"`          // shop-a.myshopify.com: the store id its webhooks carry
	ClientID     string `mapstructure:"client_id"`     // a Dev Dashboard app's
	ClientSecret string `mapstructure:"client_secret"` // secret
	AdminToken   string `mapstructure:"admin_token"`   // secret (shpat_…), an admin custom app's
	APIURL       string `mapstructure:"api_url"`       // default https://<shop>; a proxy or test server
}

var _ platform.Config = Config{}

// Defaults: none.
func (Config) Defaults() platform.Config { return Config{} }

// WebhookSecret is secret, else client_secret (an app's webhooks are
// signed with its client secret).
func (c Config) WebhookSecret() string {
	if c.Secret != "" {
		return c.Secret
	}
	return c.ClientSecret
}

// Notes says how the Admin API is reached, and warns when APIVersion is
// more than 12 months old at now.
func (c Config) Notes(now time.Time) (notes, warnings []string) {
	switch c.Mode() {
	case "client credentials":
		notes = append(notes, fmt.Sprintf("Admin API of %s by client credentials (client_id %s; tokens renewed by themselves)", c.Shop, c.ClientID))
	case "admin token":
		notes = append(notes, fmt.Sprintf("Admin API of %s by a static admin token (stores created since 2026 use client_id and client_secret)", c.Shop))
	}
	if c.Mode() != "" && VersionStale(now) {
		warnings = append(warnings, fmt.Sprintf("Admin API version %s was released %s, more than 12 months ago: Shopify may stop supporting it; upgrade cartrecovery",
			APIVersion, APIReleased.Format(time.DateOnly)))
	}
	return notes, warnings
}

// Mode names how the Admin API is reached: "client credentials", "admin
// token", or "" (not configured).
func (c Config) Mode() string {
	switch {
	case c.Shop == "":
		return ""
	case c.ClientID != "" && c.ClientSecret != "":
		return "client credentials"
	case c.AdminToken != "":
		return "admin token"
	}
	return ""
}

// Client is the Admin API of shop: with tokens of the client credentials
// grant when client_id and client_secret are set, else with admin_token.
func (c Config) Client() platform.Client {
	switch c.Mode() {
	case "client credentials":
		return NewClientWith(c.APIURL, c.Shop, sharedCredentials(c.APIURL, c.Shop, c.ClientID, c.ClientSecret))
	case "admin token":
		return NewClient(c.APIURL, c.Shop, c.AdminToken)
	}
	return nil
}

var hostRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate checks the Admin API's keys.
func (c Config) Validate(unique string, bad func(key, format string, a ...any)) {
	creds := c.ClientID != "" || c.ClientSecret != ""
	switch {
	case (c.ClientID == "") != (c.ClientSecret == ""):
		bad("platforms.shopify.client_id", "client_id and client_secret go together: the client credentials grant needs both")
	case creds && c.AdminToken != "":
		bad("platforms.shopify.admin_token", "set admin_token or client_id and client_secret, not both: they are two ways to reach the Admin API")
	case creds && c.Shop == "":
		bad("platforms.shopify.shop", "is required with client_id and client_secret: the shop whose Admin API they open")
	case !creds && (c.Shop == "") != (c.AdminToken == ""):
		bad("platforms.shopify.admin_token", "shop and admin_token go together: the Admin API needs both")
	}
	if c.Shop != "" && !hostRE.MatchString(strings.ToLower(c.Shop)) {
		bad("platforms.shopify.shop", "%q must be the shop's domain, like shop-a.myshopify.com", c.Shop)
	}
	if c.APIURL != "" {
		platform.CheckAPIURL("platforms.shopify.api_url", c.APIURL, bad)
	}
	platform.CheckCodes(unique, "Shopify", "platforms.shopify.secret", c.WebhookSecret(), c.Mode() != "",
		"platforms.shopify.shop and platforms.shopify.admin_token (or client_id and client_secret)", bad)
}

// LogAttrs masks secret and admin_token.
func (c Config) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("secret", platform.Mask(c.Secret)), slog.String("shop", c.Shop),
		slog.String("client_id", c.ClientID), slog.String("client_secret", platform.Mask(c.ClientSecret)),
		slog.String("admin_token", platform.Mask(c.AdminToken)), slog.String("api_url", platform.MaskURL(c.APIURL))}
}

// ForStore: a listed store's Admin API is its own, for the shop its id
// names unless it sets shop.
func (c Config) ForStore(own platform.Config, id string) platform.Config {
	o := own.(Config)
	if id != "" {
		// the webhook secret is inherited (the top level's client secret
		// when it signs the webhooks); the API credentials are not
		c.Secret = c.WebhookSecret()
		c.Shop, c.AdminToken, c.ClientID, c.ClientSecret, c.APIURL = "", "", "", "", ""
	}
	platform.Set(&c.Secret, o.Secret)
	platform.Set(&c.Shop, o.Shop)
	platform.Set(&c.ClientID, o.ClientID)
	platform.Set(&c.ClientSecret, o.ClientSecret)
	platform.Set(&c.AdminToken, o.AdminToken)
	platform.Set(&c.APIURL, o.APIURL)
	if id != "" && (o.AdminToken != "" || o.ClientID != "") && o.Shop == "" {
		// the store's own API answers for the store id its webhooks carry
		c.Shop = id
	}
	return c
}

// CheckOnline fetches a token with the client credentials grant and
// reports the scopes granted against those needed (write_discounts for
// unique codes, read_orders for the last check). A static admin token is
// not tried: it has no grant to ask.
func (c Config) CheckOnline(ctx context.Context) (string, error) {
	switch c.Mode() {
	case "":
		return "", nil
	case "admin token":
		return "static admin token: not tried (only client credentials are fetched online)", nil
	}
	cc := NewClientCredentials(c.APIURL, c.Shop, c.ClientID, c.ClientSecret)
	if _, err := cc.Token(ctx); err != nil {
		return "", err
	}
	granted := cc.Scopes()
	var missing []string
	for _, need := range []string{scopeDiscounts, scopeOrders} {
		if !slices.Contains(granted, need) {
			missing = append(missing, need)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("a token of %s was granted %s; it lacks %s (select them on the app's version in the Dev Dashboard, then install it again)",
			c.Shop, strings.Join(granted, ","), strings.Join(missing, ", "))
	}
	return fmt.Sprintf("a token of %s was granted %s: every scope needed", c.Shop, strings.Join(granted, ",")), nil
}
