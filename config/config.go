// Package config loads, defaults and validates cartrecovery's configuration.
// Viper is used here and nowhere else: every other package receives the typed
// structs defined in this file.
package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Config is the whole effective configuration.
type Config struct {
	HTTP      HTTP      `mapstructure:"http"`
	Redis     Redis     `mapstructure:"redis"`
	Store     Store     `mapstructure:"store"`
	Platforms Platforms `mapstructure:"platforms"`
	Sequence  []Step    `mapstructure:"sequence"`
	Segments  []Segment `mapstructure:"segments"`
	Rules     Rules     `mapstructure:"rules"`
	Email     Email     `mapstructure:"email"`
	SMS       SMS       `mapstructure:"sms"`
	Templates Templates `mapstructure:"templates"`
	Worker    Worker    `mapstructure:"worker"`
	Log       Log       `mapstructure:"log"`
	// Stores are the per-store overrides (stores.<id>), read apart from
	// viper (their ids hold dots and capitals).
	Stores map[string]StoreConfig `mapstructure:"-"`
	// StoreTemplates is the store's own templates folder, in a Config
	// made by ForStore ("" none: templates.dir alone).
	StoreTemplates string `mapstructure:"-"`
	// StoreEmailFrom is the store's own sender (stores.<id>.email_from), in
	// a Config made by ForStore ("" email.from).
	StoreEmailFrom string `mapstructure:"-"`
	StoreSMSFrom   string `mapstructure:"-"` // stores.<id>.sms_from
}

// HTTP configures the listener and admin access.
type HTTP struct {
	Addr       string `mapstructure:"addr"`        // http.addr, e.g. ":8080"
	PublicURL  string `mapstructure:"public_url"`  // http.public_url, base for links in messages
	AdminToken string `mapstructure:"admin_token"` // http.admin_token (secret); empty disables admin endpoints
	// SessionTTL is how long a dashboard sign-in lasts (http.session_ttl, default 12h).
	SessionTTL time.Duration `mapstructure:"session_ttl"`
	// OpsAddr, when set, serves /metrics, /healthz and /readyz on a separate
	// listener (http.ops_addr, e.g. "127.0.0.1:9090").
	OpsAddr string `mapstructure:"ops_addr"`
	// TrustedProxies are the addresses (or CIDR ranges) of the reverse
	// proxies whose X-Forwarded-For the admin rate limit and the logs
	// believe (http.trusted_proxies; none by default: the peer's address).
	TrustedProxies []string `mapstructure:"trusted_proxies"`
}

// Proxies are http.trusted_proxies as ranges (a bare address is its own
// /32 or /128); entries that do not parse are left out (Validate names them).
func (h HTTP) Proxies() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range h.TrustedProxies {
		if pf, ok := proxyPrefix(p); ok {
			out = append(out, pf)
		}
	}
	return out
}

func proxyPrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if pf, err := netip.ParsePrefix(s); err == nil {
		return pf.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// Redis configures the connection; an empty URL means the embedded engine.
type Redis struct {
	URL    string `mapstructure:"url"`    // redis.url (secret when it carries a password)
	Mode   string `mapstructure:"mode"`   // redis.mode: single (default), sentinel, cluster
	Prefix string `mapstructure:"prefix"` // redis.prefix, default "cartrecovery:"
}

// Store describes the shop that messages are sent for.
type Store struct {
	Name     string `mapstructure:"name"`
	URL      string `mapstructure:"url"`
	Address  string `mapstructure:"address"`
	Timezone string `mapstructure:"timezone"` // IANA name
	// AllowedHosts are hosts (and their subdomains) besides store.url's that
	// recovery and item URLs may point to (store.allowed_hosts).
	AllowedHosts []string `mapstructure:"allowed_hosts"`
}

// Platforms holds each platform's settings (platforms.<name>): its webhook
// signing secret and, where its API is used (cart fetch, unique codes, the
// check before a send), its credentials. Each field is typed by its
// platform's package and keyed by the platform's name; everything else
// reads them through platform.Config (platforms.go), without naming one.
type Platforms struct {
	Shopify     shopify.Config     `mapstructure:"shopify"`
	WooCommerce woocommerce.Config `mapstructure:"woocommerce"`
	BigCommerce bigcommerce.Config `mapstructure:"bigcommerce"`
	Generic     generic.Config     `mapstructure:"generic"`
}

// Step is one reminder of the sequence.
type Step struct {
	Name     string        `mapstructure:"name"`
	Delay    time.Duration `mapstructure:"delay"`    // from the cart's last activity; strictly increasing
	Channels []string      `mapstructure:"channels"` // "email", "sms"
	Template string        `mapstructure:"template"` // base name under templates.dir; Load sets the step's name when empty
	Discount Discount      `mapstructure:"discount"`
	Variants []Variant     `mapstructure:"variants"` // A/B test: alternatives to the step's own template (variant "a")
}

// Variant is an alternative version of a step's messages, for an A/B test.
// The step's own template and discount are variant "a" and get the carts the
// variants' weights leave.
type Variant struct {
	Name     string   `mapstructure:"name"`     // b, c, ... (lower-case letters and digits)
	Template string   `mapstructure:"template"` // base name under templates.dir
	Weight   int      `mapstructure:"weight"`   // percent of carts, 1-99; all variants together at most 99
	Discount Discount `mapstructure:"discount"` // empty: the step's
}

// BaseVariant names the step's own template and discount.
const BaseVariant = recovery.BaseVariant

// Discount is what a step's messages offer: a static code ({code, label}),
// or a unique code per cart and step ({type: unique, percent | amount,
// expires_after, prefix, label}) registered with the cart's platform
// before the message goes out.
type Discount struct {
	Type         string        `mapstructure:"type"` // "" or static | unique
	Code         string        `mapstructure:"code"`
	Label        string        `mapstructure:"label"`
	Percent      string        `mapstructure:"percent"` // decimal, 0 < p ≤ 100
	Amount       string        `mapstructure:"amount"`  // decimal, in the cart's currency
	ExpiresAfter time.Duration `mapstructure:"expires_after"`
	Prefix       string        `mapstructure:"prefix"`
}

// Unique reports whether the discount is made per cart.
func (d Discount) Unique() bool { return d.Type == "unique" }

// Domain is the discount as the worker offers it.
func (d Discount) Domain() recovery.Discount {
	return recovery.Discount{Code: d.Code, Label: d.Label, Unique: d.Unique(), Percent: d.Percent, Amount: d.Amount,
		ExpiresAfter: d.ExpiresAfter, Prefix: d.Prefix}
}

// Rules are the guards applied before any send.
type Rules struct {
	EmailConsent      string        `mapstructure:"email_consent"`      // "any" | "required"
	SMSConsent        string        `mapstructure:"sms_consent"`        // "required" (SMS always needs consent)
	MinCartValue      string        `mapstructure:"min_cart_value"`     // decimal string, compared in minor units
	AttributionWindow time.Duration `mapstructure:"attribution_window"` // rules.attribution_window
	HoldoutPercent    int           `mapstructure:"holdout_percent"`    // 0-50: share of customers kept as a control group
	Retention         time.Duration `mapstructure:"retention"`          // how long single carts' outcomes are kept
	QuietHours        QuietHours    `mapstructure:"quiet_hours"`        // no sends on these channels in this local window
	Cooldown          time.Duration `mapstructure:"cooldown"`           // after a message about one cart, the customer's other carts wait
	MaxCartAge        time.Duration `mapstructure:"max_cart_age"`       // carts first seen idle longer than this are tracked but get no reminders
	// PlatformCheck: before each send, ask the cart's platform (where its
	// API credentials are set) whether the customer ordered meanwhile:
	// on (default; a platform that cannot answer does not stop the send),
	// strict (it does: the send waits and retries), off.
	PlatformCheck        string        `mapstructure:"platform_check"`
	PlatformCheckTimeout time.Duration `mapstructure:"platform_check_timeout"` // default 5s
}

// QuietHours is a daily window, in the customer's time zone (else the
// store's), in which the listed channels send nothing: a reminder that falls
// due inside it waits until the window ends. Start and End are "HH:MM"; the
// window may cross midnight (21:00 to 08:00). Both empty turns it off.
type QuietHours struct {
	Start    string   `mapstructure:"start"`
	End      string   `mapstructure:"end"`
	Channels []string `mapstructure:"channels"`
}

// Window returns the window as minutes after midnight; ok is false when
// quiet hours are off or malformed (Validate reports the latter).
func (q QuietHours) Window() (start, end int, ok bool) {
	if q.Start == "" && q.End == "" {
		return 0, 0, false
	}
	s, err1 := clockMinutes(q.Start)
	e, err2 := clockMinutes(q.End)
	if err1 != nil || err2 != nil || s == e {
		return 0, 0, false
	}
	return s, e, true
}

// Domain is the window as the worker applies it.
func (q QuietHours) Domain() recovery.QuietHours {
	start, end, on := q.Window()
	return recovery.QuietHours{On: on, Start: start, End: end, Channels: channels(q.Channels)}
}

// channels are names of channels as the domain's.
func channels(names []string) []recovery.Channel {
	if names == nil {
		return nil
	}
	out := make([]recovery.Channel, len(names))
	for i, n := range names {
		out[i] = recovery.Channel(n)
	}
	return out
}

// Steps is the sequence as the domain runs it.
func (c Config) Steps() []recovery.Step { return domainSteps(c.Sequence) }

func domainSteps(seq []Step) []recovery.Step {
	out := make([]recovery.Step, len(seq))
	for i, s := range seq {
		st := recovery.Step{Name: s.Name, Delay: s.Delay, Channels: channels(s.Channels), Template: s.Template,
			Discount: s.Discount.Domain()}
		for _, v := range s.Variants {
			st.Variants = append(st.Variants, recovery.Variant{Name: v.Name, Template: v.Template, Weight: v.Weight,
				Discount: v.Discount.Domain()})
		}
		out[i] = st
	}
	return out
}

// Shop is store.* as the domain uses it.
func (c Config) Shop() recovery.Shop {
	return recovery.Shop{Name: c.Store.Name, URL: c.Store.URL, Address: c.Store.Address, Timezone: c.Store.Timezone,
		AllowedHosts: slices.Clone(c.Store.AllowedHosts), EmailFrom: c.StoreEmailFrom, SMSFrom: c.StoreSMSFrom}
}

// clockMinutes parses "HH:MM" (00:00 to 23:59).
func clockMinutes(v string) (int, error) {
	t, err := time.Parse("15:04", v)
	if err != nil || len(v) != 5 {
		return 0, fmt.Errorf("%q is not a time of day like 21:00", v)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Email configures the email channel.
type Email struct {
	Transport string `mapstructure:"transport"` // "smtp" | "file" | "log"
	From      string `mapstructure:"from"`
	Outbox    string `mapstructure:"outbox"` // directory for the file transport
	SMTP      SMTP   `mapstructure:"smtp"`
}

// SMTP configures the SMTP relay.
type SMTP struct {
	Host     string `mapstructure:"host"`
	Port     int    `mapstructure:"port"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"` // secret
	TLS      string `mapstructure:"tls"`      // "starttls" | "tls" | "none"
	Pool     int    `mapstructure:"pool"`     // connections kept open per worker process (default 4)
}

// SMS configures the SMS channel.
type SMS struct {
	Transport string `mapstructure:"transport"` // "twilio" | "log"
	Twilio    Twilio `mapstructure:"twilio"`
	// HelpText answers an SMS of HELP or INFO (sms.help_text); empty: the
	// store's name and address with the STOP and START words.
	HelpText string `mapstructure:"help_text"`
}

// SMSHelp is the answer to HELP: sms.help_text, or one made from store.*.
func (c Config) SMSHelp() string {
	if c.SMS.HelpText != "" {
		return c.SMS.HelpText
	}
	return c.Store.Name + ": reminders about carts left at " + c.Store.URL + ". Reply STOP to opt out, START to opt back in."
}

// Twilio configures the Twilio client.
type Twilio struct {
	AccountSID          string `mapstructure:"account_sid"`
	AuthToken           string `mapstructure:"auth_token"` // secret
	From                string `mapstructure:"from"`
	MessagingServiceSID string `mapstructure:"messaging_service_sid"`
	BaseURL             string `mapstructure:"base_url"` // default "https://api.twilio.com"
}

// Templates locates the message templates.
type Templates struct {
	Dir string `mapstructure:"dir"`
}

// Worker configures task processing.
type Worker struct {
	Concurrency int `mapstructure:"concurrency"` // worker.concurrency, default 10
	// SendTimeout bounds one provider call (worker.send_timeout, default
	// 30s). A claim with no outcome after twice this (a worker died
	// mid-send) is swept and recorded as failed, reason unknown.
	SendTimeout time.Duration `mapstructure:"send_timeout"`
	// Queues is how many asynq queues reminders are spread over
	// (worker.queues; 0 = 1 on single and sentinel, 8 on a cluster, where
	// each queue lives on one node). Every process of a deployment must
	// use the same number.
	Queues int `mapstructure:"queues"`
}

// QueueCount is worker.queues with its default for the Redis mode.
func (c Config) QueueCount() int {
	if c.Worker.Queues > 0 {
		return c.Worker.Queues
	}
	if c.Redis.Mode == "cluster" {
		return 8
	}
	return 1
}

// Log configures logging.
type Log struct {
	Level  string `mapstructure:"level"`  // debug | info | warn | error
	Format string `mapstructure:"format"` // text | json
}
