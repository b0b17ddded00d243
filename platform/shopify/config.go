package shopify

import (
	"log/slog"
	"regexp"
	"strings"

	"github.com/cartrecovery/cartrecovery/platform"
)

// Config is platforms.shopify: the webhook signing secret, and a custom
// app's Admin API access token (scopes write_discounts, read_orders) for
// unique codes and the check before a send.
type Config struct {
	Secret     string `mapstructure:"secret"`      // secret
	Shop       string `mapstructure:"shop"`        // shop-a.myshopify.com: the store id its webhooks carry
	AdminToken string `mapstructure:"admin_token"` // secret (shpat_…)
	APIURL     string `mapstructure:"api_url"`     // default https://<shop>; a proxy or test server
}

var _ platform.Config = Config{}

// Defaults: none.
func (Config) Defaults() platform.Config { return Config{} }

// WebhookSecret is secret.
func (c Config) WebhookSecret() string { return c.Secret }

// Client is the Admin API of shop, when shop and admin_token are set.
func (c Config) Client() platform.Client {
	if c.Shop == "" || c.AdminToken == "" {
		return nil
	}
	return NewClient(c.APIURL, c.Shop, c.AdminToken)
}

var hostRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate checks the Admin API's keys.
func (c Config) Validate(unique string, bad func(key, format string, a ...any)) {
	if (c.Shop == "") != (c.AdminToken == "") {
		bad("platforms.shopify.admin_token", "shop and admin_token go together: the Admin API needs both")
	}
	if c.Shop != "" && !hostRE.MatchString(strings.ToLower(c.Shop)) {
		bad("platforms.shopify.shop", "%q must be the shop's domain, like shop-a.myshopify.com", c.Shop)
	}
	if c.APIURL != "" {
		platform.CheckAPIURL("platforms.shopify.api_url", c.APIURL, bad)
	}
	platform.CheckCodes(unique, "Shopify", "platforms.shopify.secret", c.Secret, c.AdminToken != "",
		"platforms.shopify.shop and platforms.shopify.admin_token", bad)
}

// LogAttrs masks secret and admin_token.
func (c Config) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("secret", platform.Mask(c.Secret)), slog.String("shop", c.Shop),
		slog.String("admin_token", platform.Mask(c.AdminToken)), slog.String("api_url", platform.MaskURL(c.APIURL))}
}

// ForStore: a listed store's Admin API is its own, for the shop its id
// names unless it sets shop.
func (c Config) ForStore(own platform.Config, id string) platform.Config {
	o := own.(Config)
	if id != "" {
		c.Shop, c.AdminToken, c.APIURL = "", "", ""
	}
	platform.Set(&c.Secret, o.Secret)
	platform.Set(&c.Shop, o.Shop)
	platform.Set(&c.AdminToken, o.AdminToken)
	platform.Set(&c.APIURL, o.APIURL)
	if id != "" && o.AdminToken != "" && o.Shop == "" {
		// the store's own API answers for the store id its webhooks carry
		c.Shop = id
	}
	return c
}
