package platform

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Config is one platform's settings (platforms.<name>, and a store's own
// under stores.<id>.platforms.<name>): a struct with mapstructure tags,
// its keys, that package config decodes (viper stays there) and reads
// through these methods, without naming the platform.
type Config interface {
	// Defaults are the built-in settings, before the configuration file
	// and the environment (e.g. an API's public address).
	Defaults() Config
	// WebhookSecret is the webhook signing secret ("" refuses the
	// platform's webhooks).
	WebhookSecret() string
	// Client is the API client the worker asks at send time; nil when
	// the credentials it needs are not set.
	Client() Client
	// Validate reports each problem with bad, naming its key in full
	// (platforms.<name>.<key>). unique, when not "", is the key of a step
	// offering unique codes: when the platform's webhooks come in (its
	// secret is set), its API must be set to register them.
	Validate(unique string, bad func(key, format string, a ...any))
	// LogAttrs are the settings for the start-up log, keyed as under
	// platforms.<name> ("secret", "api_url"), every secret masked (Mask,
	// MaskURL); empty values included.
	LogAttrs() []slog.Attr
	// ForStore is the settings a store runs with: these (the top level's)
	// overlaid with what the store sets (own, from
	// stores.<id>.platforms.<name>). id is the id of a store listed on its
	// own, whose API credentials are its own alone (the top level's answer
	// for another store; webhook secrets are inherited); "" for the
	// catch-all's settings, which inherit everything they leave empty.
	ForStore(own Config, id string) Config
}

// Set sets *dst to v unless v is empty: a store's setting over the top
// level's.
func Set(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// Mask hides a secret in the log: "***", or "" when it is not set.
func Mask(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// MaskURL hides the password of a URL (and a Redis URL's
// sentinel_password) in the log.
func MaskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Mask(s)
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "***")
	}
	if q := u.Query(); q.Has("sentinel_password") {
		q.Set("sentinel_password", "***")
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
}

// CheckAPIURL checks an API address: https, or http to this machine
// (tests, a local proxy), without credentials in it.
func CheckAPIURL(key, v string, bad func(key, format string, a ...any)) {
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		bad(key, "%q must be an https URL", MaskURL(v))
	case u.User != nil:
		bad(key, "must not carry a user or password: set the platform's own credential keys")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		bad(key, "%q must use https: credentials travel with every call", MaskURL(v))
	}
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckCodes reports, at the unique-code key unique (when not ""), a
// platform whose webhooks come in (its secret, secretKey, is set) without
// the API keys (keys) that register codes (set).
func CheckCodes(unique, title, secretKey, secret string, set bool, keys string, bad func(key, format string, a ...any)) {
	if unique != "" && secret != "" && !set {
		bad(unique, "is unique, and %s webhooks come in (%s is set): its codes are registered with %s", title, secretKey, keys)
	}
}

// Noter is a platform's settings that have something to tell the operator
// at `check` and at start, one line each, the key path given by the
// caller: notes (how its API is reached) and warnings (an API version to
// upgrade).
type Noter interface {
	Notes(now time.Time) (notes, warnings []string)
}

// OnlineChecker is a platform's settings that can be tried against the
// platform (`check --online`): it answers what it found (for example the
// scopes a token was granted against those needed) or why it failed.
type OnlineChecker interface {
	CheckOnline(ctx context.Context) (string, error)
}
