package generic

import (
	"log/slog"
	"net/url"

	"github.com/cartrecovery/cartrecovery/platform"
)

// Config is platforms.generic, the hand-written integration: the webhook
// secret, and an endpoint of the shop's that registers unique codes (a
// signed POST).
type Config struct {
	Secret      string `mapstructure:"secret"` // secret
	DiscountURL string `mapstructure:"discount_url"`
}

var _ platform.Config = Config{}

// Defaults: none.
func (Config) Defaults() platform.Config { return Config{} }

// WebhookSecret is secret.
func (c Config) WebhookSecret() string { return c.Secret }

// Client registers codes at discount_url, when it is set.
func (c Config) Client() platform.Client {
	if c.DiscountURL == "" {
		return nil
	}
	return NewClient(c.DiscountURL, c.Secret)
}

// Validate checks discount_url.
func (c Config) Validate(unique string, bad func(key, format string, a ...any)) {
	if c.DiscountURL != "" {
		// the shop's own endpoint may take a user and password (masked in
		// the log); the platforms' APIs have credential keys of their own
		v := c.DiscountURL
		if u, err := url.Parse(v); err == nil && u.User != nil {
			u.User = nil
			v = u.String()
		}
		platform.CheckAPIURL("platforms.generic.discount_url", v, bad)
	}
	platform.CheckCodes(unique, "generic", "platforms.generic.secret", c.Secret, c.DiscountURL != "", "platforms.generic.discount_url", bad)
}

// LogAttrs masks secret (and discount_url's password).
func (c Config) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("secret", platform.Mask(c.Secret)), slog.String("discount_url", platform.MaskURL(c.DiscountURL))}
}

// ForStore: a listed store's discount_url is its own.
func (c Config) ForStore(own platform.Config, id string) platform.Config {
	o := own.(Config)
	if id != "" {
		c.DiscountURL = ""
	}
	platform.Set(&c.Secret, o.Secret)
	platform.Set(&c.DiscountURL, o.DiscountURL)
	return c
}
