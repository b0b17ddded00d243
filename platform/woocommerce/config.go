package woocommerce

import (
	"log/slog"

	"github.com/cartrecovery/cartrecovery/platform"
)

// Config is platforms.woocommerce: the webhook secret, and a REST API key
// (WooCommerce → Settings → Advanced → REST API, Read/Write) for unique
// codes and the check before a send.
type Config struct {
	Secret         string `mapstructure:"secret"` // secret
	URL            string `mapstructure:"url"`    // the shop's address, https://shop.example
	ConsumerKey    string `mapstructure:"consumer_key"`
	ConsumerSecret string `mapstructure:"consumer_secret"` // secret
}

var _ platform.Config = Config{}

// Defaults: none.
func (Config) Defaults() platform.Config { return Config{} }

// WebhookSecret is secret.
func (c Config) WebhookSecret() string { return c.Secret }

// Client is the shop's REST API, when url and consumer_key are set.
func (c Config) Client() platform.Client {
	if c.URL == "" || c.ConsumerKey == "" {
		return nil
	}
	return NewClient(c.URL, c.ConsumerKey, c.ConsumerSecret)
}

// Validate checks the REST API's keys.
func (c Config) Validate(unique string, bad func(key, format string, a ...any)) {
	n := 0
	for _, v := range []string{c.URL, c.ConsumerKey, c.ConsumerSecret} {
		if v != "" {
			n++
		}
	}
	if n != 0 && n != 3 {
		bad("platforms.woocommerce.consumer_key", "url, consumer_key and consumer_secret go together: the REST API needs all three")
	}
	if c.URL != "" {
		platform.CheckAPIURL("platforms.woocommerce.url", c.URL, bad)
	}
	platform.CheckCodes(unique, "WooCommerce", "platforms.woocommerce.secret", c.Secret, c.ConsumerKey != "",
		"platforms.woocommerce.url, consumer_key and consumer_secret", bad)
}

// LogAttrs masks secret, consumer_key and consumer_secret.
func (c Config) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("secret", platform.Mask(c.Secret)), slog.String("url", platform.MaskURL(c.URL)),
		slog.String("consumer_key", platform.Mask(c.ConsumerKey)), slog.String("consumer_secret", platform.Mask(c.ConsumerSecret))}
}

// ForStore: a listed store's REST API is its own.
func (c Config) ForStore(own platform.Config, id string) platform.Config {
	o := own.(Config)
	if id != "" {
		c.URL, c.ConsumerKey, c.ConsumerSecret = "", "", ""
	}
	platform.Set(&c.Secret, o.Secret)
	platform.Set(&c.URL, o.URL)
	platform.Set(&c.ConsumerKey, o.ConsumerKey)
	platform.Set(&c.ConsumerSecret, o.ConsumerSecret)
	return c
}
