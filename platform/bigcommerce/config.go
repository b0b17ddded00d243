package bigcommerce

import (
	"log/slog"
	"regexp"

	"github.com/cartrecovery/cartrecovery/platform"
)

// Config is platforms.bigcommerce, a BigCommerce store's app credentials:
// the client secret signs its webhooks; the store hash and access token (an
// API account with Carts: modify, Orders: read-only, Marketing: modify) let
// the worker fetch a cart's content at send time, make its restore link,
// check for its order and add unique codes to the bulk-coupon promotion
// PromotionID.
type Config struct {
	ClientSecret string `mapstructure:"client_secret"` // secret
	StoreHash    string `mapstructure:"store_hash"`
	AccessToken  string `mapstructure:"access_token"` // secret
	APIURL       string `mapstructure:"api_url"`      // default https://api.bigcommerce.com
	PromotionID  string `mapstructure:"promotion_id"` // a coupon promotion with coupon_type BULK
}

var _ platform.Config = Config{}

// Defaults: BigCommerce's API address.
func (Config) Defaults() platform.Config { return Config{APIURL: "https://api.bigcommerce.com"} }

// WebhookSecret is client_secret.
func (c Config) WebhookSecret() string { return c.ClientSecret }

// Client is the store's Management API, when store_hash and access_token
// are set.
func (c Config) Client() platform.Client {
	if c.StoreHash == "" || c.AccessToken == "" {
		return nil
	}
	cl := NewClient(c.APIURL, c.StoreHash, c.AccessToken)
	cl.PromotionID = c.PromotionID
	return cl
}

var (
	storeHashRE   = regexp.MustCompile(`^[a-z0-9]{1,40}$`)
	promotionIDRE = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// Validate checks the Management API's keys.
func (c Config) Validate(unique string, bad func(key, format string, a ...any)) {
	if c.StoreHash != "" && !storeHashRE.MatchString(c.StoreHash) {
		bad("platforms.bigcommerce.store_hash", "%q is not a store hash (the letters and digits after /stores/ in the API path)", c.StoreHash)
	}
	if (c.StoreHash == "") != (c.AccessToken == "") {
		bad("platforms.bigcommerce.access_token", "store_hash and access_token go together: the worker fetches carts with both")
	}
	if c.StoreHash != "" {
		platform.CheckAPIURL("platforms.bigcommerce.api_url", c.APIURL, bad)
	}
	if c.PromotionID != "" && !promotionIDRE.MatchString(c.PromotionID) {
		bad("platforms.bigcommerce.promotion_id", "%q must be the numeric id of a bulk-coupon promotion", c.PromotionID)
	}
	platform.CheckCodes(unique, "BigCommerce", "platforms.bigcommerce.client_secret", c.ClientSecret, c.AccessToken != "" && c.PromotionID != "",
		"platforms.bigcommerce.store_hash, access_token and promotion_id", bad)
}

// LogAttrs masks client_secret and access_token.
func (c Config) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("client_secret", platform.Mask(c.ClientSecret)), slog.String("store_hash", c.StoreHash),
		slog.String("access_token", platform.Mask(c.AccessToken)), slog.String("api_url", platform.MaskURL(c.APIURL)),
		slog.String("promotion_id", c.PromotionID)}
}

// ForStore: a listed store's API account is its own, for the store hash
// its id names unless it sets store_hash; api_url, shared by an app's
// stores, is inherited.
func (c Config) ForStore(own platform.Config, id string) platform.Config {
	o := own.(Config)
	if id != "" {
		c.StoreHash, c.AccessToken, c.PromotionID = "", "", ""
	}
	platform.Set(&c.ClientSecret, o.ClientSecret)
	platform.Set(&c.StoreHash, o.StoreHash)
	platform.Set(&c.AccessToken, o.AccessToken)
	platform.Set(&c.APIURL, o.APIURL)
	platform.Set(&c.PromotionID, o.PromotionID)
	if id != "" && o.AccessToken != "" && o.StoreHash == "" {
		// the store's own API answers for the store id its webhooks carry
		c.StoreHash = id
	}
	return c
}
