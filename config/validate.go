package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cartrecovery/cartrecovery/money"
	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/render"
)

var (
	templateRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)
	e164RE     = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
	sidRE      = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	mgRE       = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	alnumRE    = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	hostRE     = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Uses reports whether any step of any sequence (the top level's, the
// segments', the stores') uses channel.
func (c Config) Uses(channel string) bool {
	for _, sq := range c.sequences() {
		for _, s := range sq.steps {
			if slices.Contains(s.Channels, channel) {
				return true
			}
		}
	}
	for _, id := range c.StoreIDs() {
		if c.ForStore(id).Uses(channel) {
			return true
		}
	}
	return false
}

// sequences are the sequence and each segment's, with their keys.
func (c Config) sequences() []struct {
	key   string
	steps []Step
} {
	out := []struct {
		key   string
		steps []Step
	}{{"sequence", c.Sequence}}
	for i, sg := range c.Segments {
		out = append(out, struct {
			key   string
			steps []Step
		}{fmt.Sprintf("segments[%d].sequence", i), sg.Sequence})
	}
	return out
}

// Validate checks every key and returns one error per problem, each naming
// its key, joined with errors.Join. It does no network I/O; it does check
// that the template files the sequence needs exist.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	oneOf := func(key, v string, allowed ...string) {
		if !slices.Contains(allowed, v) {
			bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
		}
	}
	httpURL := func(key, v string) {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key, "%q must be an absolute http(s) URL", maskURL(v))
		}
	}

	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "%q must be host:port or :port", c.HTTP.Addr)
	}
	httpURL("http.public_url", c.HTTP.PublicURL)
	if t := c.HTTP.AdminToken; t != "" && len(t) < 16 {
		bad("http.admin_token", "must be at least 16 characters (or empty to disable admin endpoints)")
	}

	for i, p := range c.HTTP.TrustedProxies {
		if _, ok := proxyPrefix(p); !ok {
			bad(fmt.Sprintf("http.trusted_proxies[%d]", i), "%q is not an IP address or a CIDR range like 10.0.0.0/8", p)
		}
	}
	if c.HTTP.SessionTTL < time.Minute || c.HTTP.SessionTTL > 30*24*time.Hour {
		bad("http.session_ttl", "must be between 1m and 720h (default 12h)")
	}
	if c.HTTP.OpsAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.OpsAddr); err != nil {
			bad("http.ops_addr", "%q must be host:port or :port (or empty)", c.HTTP.OpsAddr)
		} else if c.HTTP.OpsAddr == c.HTTP.Addr {
			bad("http.ops_addr", "must differ from http.addr")
		}
	}

	switch c.Redis.Mode {
	case "single":
		if c.Redis.URL != "" {
			u, err := url.Parse(c.Redis.URL)
			if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
				bad("redis.url", "must be empty (embedded) or a redis://, rediss:// or unix:// URL")
			}
		}
	case "sentinel":
		u, err := url.Parse(c.Redis.URL)
		if err != nil || (u.Scheme != "redis-sentinel" && u.Scheme != "rediss-sentinel") || u.Query().Get("master") == "" {
			bad("redis.url", "sentinel mode needs redis-sentinel://[:password@]host:port[,host:port]/db?master=NAME")
		}
	case "cluster":
		u, err := url.Parse(c.Redis.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("redis.url", "cluster mode needs redis://[user:pass@]host:port?addr=host2:port2&addr=host3:port3")
		}
	default:
		bad("redis.mode", "%q is not one of single, sentinel, cluster", c.Redis.Mode)
	}
	if c.Redis.Prefix == "" || strings.ContainsAny(c.Redis.Prefix, "{} \t\n") {
		bad("redis.prefix", "must be non-empty, without spaces or braces")
	}

	c.validateTopPlatforms(bad)
	if strings.TrimSpace(c.Store.Name) == "" {
		bad("store.name", "is required")
	}
	httpURL("store.url", c.Store.URL)
	for i, h := range c.Store.AllowedHosts {
		if !hostRE.MatchString(strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(h), "."), "*.")) {
			bad(fmt.Sprintf("store.allowed_hosts[%d]", i), "%q must be a host name such as checkout.example.com (IDNs in punycode, no scheme, path or port)", h)
		}
	}
	if _, err := time.LoadLocation(c.Store.Timezone); err != nil || c.Store.Timezone == "" {
		bad("store.timezone", "%q is not an IANA time zone (e.g. Europe/Madrid)", c.Store.Timezone)
	}

	validateSequence("sequence", c.Sequence, c.templateDirs(), bad)
	c.validateSegments("", bad)
	c.validateStores(bad)

	oneOf("rules.email_consent", c.Rules.EmailConsent, "any", "required")
	if c.Rules.SMSConsent != "required" {
		bad("rules.sms_consent", "must be %q: SMS is only ever sent with consent", "required")
	}
	if !plainDecimal(c.Rules.MinCartValue) {
		bad("rules.min_cart_value", "%q must be a non-negative decimal such as \"0\" or \"20.00\"", c.Rules.MinCartValue)
	} else if _, ok := new(big.Rat).SetString(c.Rules.MinCartValue); !ok {
		bad("rules.min_cart_value", "%q is not a decimal", c.Rules.MinCartValue)
	}
	if c.Rules.AttributionWindow <= 0 {
		bad("rules.attribution_window", "must be a positive duration such as 168h")
	}
	if c.Rules.HoldoutPercent < 0 || c.Rules.HoldoutPercent > 50 {
		bad("rules.holdout_percent", "%d must be between 0 and 50", c.Rules.HoldoutPercent)
	}
	if c.Rules.Retention < 24*time.Hour {
		bad("rules.retention", "must be at least 24h (default 2160h = 90 days)")
	}
	if c.Rules.MaxCartAge < time.Hour {
		bad("rules.max_cart_age", "must be at least 1h (default 168h)")
	} else if n := len(c.Sequence); n > 0 && c.Rules.MaxCartAge < c.Sequence[0].Delay {
		bad("rules.max_cart_age", "(%s) is shorter than the first step's delay (%s): no cart could ever be reminded", c.Rules.MaxCartAge, c.Sequence[0].Delay)
	}
	if c.Rules.Cooldown < 0 || c.Rules.Cooldown > 30*24*time.Hour {
		bad("rules.cooldown", "must be between 0 (off) and 720h")
	}
	if q := c.Rules.QuietHours; q.Start != "" || q.End != "" {
		s, err1 := clockMinutes(q.Start)
		e, err2 := clockMinutes(q.End)
		if err1 != nil {
			bad("rules.quiet_hours.start", "%v (leave start and end empty to turn quiet hours off)", err1)
		}
		if err2 != nil {
			bad("rules.quiet_hours.end", "%v (leave start and end empty to turn quiet hours off)", err2)
		}
		if err1 == nil && err2 == nil && s == e {
			bad("rules.quiet_hours.end", "equals start: the window would be empty or the whole day")
		}
		if len(q.Channels) == 0 {
			bad("rules.quiet_hours.channels", "must list email and/or sms")
		}
		for i, ch := range q.Channels {
			if ch != "email" && ch != "sms" {
				bad(fmt.Sprintf("rules.quiet_hours.channels[%d]", i), "%q must be email or sms", ch)
			} else if slices.Index(q.Channels, ch) != i {
				bad(fmt.Sprintf("rules.quiet_hours.channels[%d]", i), "%q is listed twice", ch)
			}
		}
	}

	oneOf("email.transport", c.Email.Transport, "smtp", "file", "log")
	if c.Uses("email") {
		if a, err := mail.ParseAddress(c.Email.From); err != nil || a.Address == "" {
			bad("email.from", "%q is not an address like \"My Shop <shop@example.com>\"", c.Email.From)
		}
	}
	switch c.Email.Transport {
	case "file":
		if c.Email.Outbox == "" {
			bad("email.outbox", "is required with email.transport: file")
		}
	case "smtp":
		if c.Email.SMTP.Host == "" {
			bad("email.smtp.host", "is required with email.transport: smtp")
		}
		if c.Email.SMTP.Port < 1 || c.Email.SMTP.Port > 65535 {
			bad("email.smtp.port", "%d is not a TCP port", c.Email.SMTP.Port)
		}
		if c.Email.SMTP.Pool < 1 || c.Email.SMTP.Pool > 64 {
			bad("email.smtp.pool", "%d must be between 1 and 64 connections per worker process", c.Email.SMTP.Pool)
		}
		if c.Email.SMTP.Password != "" && c.Email.SMTP.Username == "" {
			bad("email.smtp.username", "is required when email.smtp.password is set")
		}
	}
	oneOf("email.smtp.tls", c.Email.SMTP.TLS, "starttls", "tls", "none")

	oneOf("sms.transport", c.SMS.Transport, "twilio", "log")
	if n := utf8.RuneCountInString(c.SMSHelp()); n > 320 {
		bad("sms.help_text", "is %d characters: at most 320 (two SMS segments)", n)
	}
	if c.SMS.Transport == "twilio" && c.Uses("sms") {
		tw := c.SMS.Twilio
		if !sidRE.MatchString(tw.AccountSID) {
			bad("sms.twilio.account_sid", "must be AC followed by 32 hex digits")
		}
		if tw.AuthToken == "" {
			bad("sms.twilio.auth_token", "is required with sms.transport: twilio")
		} else if !alnumRE.MatchString(tw.AuthToken) {
			bad("sms.twilio.auth_token", "must be letters and digits only (twilio-go refuses anything else)")
		}
		switch {
		case tw.From == "" && tw.MessagingServiceSID == "":
			bad("sms.twilio.from", "set from (E.164 number) or messaging_service_sid")
		case tw.From != "" && tw.MessagingServiceSID != "":
			bad("sms.twilio.from", "set either from or messaging_service_sid, not both")
		case tw.From != "" && !e164RE.MatchString(tw.From):
			bad("sms.twilio.from", "%q must be an E.164 number such as +15005550006", tw.From)
		case tw.MessagingServiceSID != "" && !mgRE.MatchString(tw.MessagingServiceSID):
			bad("sms.twilio.messaging_service_sid", "must be MG followed by 32 hex digits")
		}
		httpURL("sms.twilio.base_url", tw.BaseURL)
	}

	if c.Templates.Dir == "" {
		bad("templates.dir", "is required")
	} else if st, err := os.Stat(c.Templates.Dir); err != nil || !st.IsDir() {
		bad("templates.dir", "%q is not a directory", c.Templates.Dir)
	}
	if c.Worker.Queues < 0 || c.Worker.Queues > 64 {
		bad("worker.queues", "%d must be between 0 (automatic) and 64", c.Worker.Queues)
	}
	if c.Worker.Concurrency < 1 || c.Worker.Concurrency > 1000 {
		bad("worker.concurrency", "%d must be between 1 and 1000", c.Worker.Concurrency)
	}
	if c.Worker.SendTimeout < time.Second || c.Worker.SendTimeout > 10*time.Minute {
		bad("worker.send_timeout", "must be between 1s and 10m (default 30s)")
	}
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")
	return errors.Join(errs...)
}

// validateSequence checks a sequence (key: where it is, "sequence" or
// "segments[1].sequence"); its templates are looked for in dirs, in order.
func validateSequence(key string, seq []Step, dirs []string, bad func(key, format string, a ...any)) {
	// the domain's rules (names, delays, channels, variants), then what
	// only the configuration has: template files and discount kinds
	for _, e := range recovery.ValidateSequence(key, domainSteps(seq)) {
		bad(e.Field, "%s", e.Msg)
	}
	for i, s := range seq {
		k := fmt.Sprintf("%s[%d]", key, i)
		checkDiscount(k, s.Discount, bad)
		checkTemplate := func(tkey, tmpl string) {
			if tmpl == "" {
				// Load gives a step its name; a variant names its own
				bad(tkey, "is required: the base name of the template files under templates.dir")
				return
			}
			if !templateRE.MatchString(tmpl) || strings.Contains(tmpl, "..") {
				bad(tkey, "%q must be a base name under templates.dir (letters, digits, - _ .)", tmpl)
				return
			}
			for _, ch := range s.Channels {
				for _, f := range render.Files(tmpl, ch) {
					if !slices.ContainsFunc(dirs, func(d string) bool { _, err := os.Stat(filepath.Join(d, f)); return err == nil }) {
						bad(tkey, "%s is missing (needed for %s)", filepath.Join(dirs[0], f), ch)
					}
				}
			}
		}
		checkTemplate(k+".template", s.Template)
		for j, v := range s.Variants {
			vk := fmt.Sprintf("%s.variants[%d]", k, j)
			checkTemplate(vk+".template", v.Template)
			checkDiscount(vk, v.Discount, bad)
		}
	}
}

func mask(s string) string { return platform.Mask(s) }

func maskURL(s string) string { return platform.MaskURL(s) }

// LogValue renders the effective configuration for the start-up log with
// every secret masked.
func (c Config) LogValue() slog.Value {
	steps := make([]string, len(c.Sequence))
	for i, s := range c.Sequence {
		steps[i] = fmt.Sprintf("%s@%s:%s", s.Name, s.Delay, strings.Join(s.Channels, "+"))
		if s.Discount.Code != "" {
			steps[i] += ":" + s.Discount.Code
		} else if s.Discount.Unique() {
			steps[i] += ":unique " + s.Discount.Percent + s.Discount.Amount
		}
		for _, v := range s.Variants {
			steps[i] += fmt.Sprintf(" [%s %d%% %s]", v.Name, v.Weight, v.Template)
		}
	}
	return slog.GroupValue(
		slog.Group("http", "addr", c.HTTP.Addr, "public_url", c.HTTP.PublicURL, "admin_token", mask(c.HTTP.AdminToken),
			"session_ttl", c.HTTP.SessionTTL.String(), "ops_addr", c.HTTP.OpsAddr, "trusted_proxies", strings.Join(c.HTTP.TrustedProxies, ",")),
		slog.Group("redis", "url", maskURL(c.Redis.URL), "mode", c.Redis.Mode, "prefix", c.Redis.Prefix),
		slog.Group("store", "name", c.Store.Name, "url", c.Store.URL, "timezone", c.Store.Timezone,
			"allowed_hosts", strings.Join(c.Store.AllowedHosts, ",")),
		slog.Group("platforms", c.Platforms.logAttrs()...),
		slog.String("sequence", strings.Join(steps, ", ")),
		slog.Group("rules", "email_consent", c.Rules.EmailConsent, "sms_consent", c.Rules.SMSConsent,
			"min_cart_value", c.Rules.MinCartValue, "attribution_window", c.Rules.AttributionWindow.String(),
			"holdout_percent", c.Rules.HoldoutPercent, "retention", c.Rules.Retention.String(),
			"quiet_hours", quietText(c.Rules.QuietHours), "cooldown", c.Rules.Cooldown.String(), "max_cart_age", c.Rules.MaxCartAge.String(),
			"platform_check", c.Rules.PlatformCheck, "platform_check_timeout", c.Rules.PlatformCheckTimeout.String()),
		slog.Group("email", "transport", c.Email.Transport, "outbox", c.Email.Outbox,
			"smtp.host", c.Email.SMTP.Host, "smtp.port", c.Email.SMTP.Port, "smtp.username", c.Email.SMTP.Username,
			"smtp.password", mask(c.Email.SMTP.Password), "smtp.tls", c.Email.SMTP.TLS, "smtp.pool", c.Email.SMTP.Pool),
		slog.Group("sms", "transport", c.SMS.Transport, "help_text", c.SMS.HelpText, "twilio.account_sid", c.SMS.Twilio.AccountSID,
			"twilio.auth_token", mask(c.SMS.Twilio.AuthToken), "twilio.from", c.SMS.Twilio.From,
			"twilio.messaging_service_sid", c.SMS.Twilio.MessagingServiceSID, "twilio.base_url", c.SMS.Twilio.BaseURL),
		slog.String("templates.dir", c.Templates.Dir),
		slog.Group("worker", "concurrency", c.Worker.Concurrency, "send_timeout", c.Worker.SendTimeout.String(), "queues", c.QueueCount()),
		slog.Group("log", "level", c.Log.Level, "format", c.Log.Format),
	)
}

func quietText(q QuietHours) string {
	if _, _, ok := q.Window(); !ok {
		return "off"
	}
	return q.Start + "-" + q.End + " " + strings.Join(q.Channels, "+")
}

func checkDiscount(key string, d Discount, bad func(key, format string, a ...any)) {
	key += ".discount"
	switch d.Type {
	case "", "static":
		if d.Label != "" && d.Code == "" {
			bad(key+".code", "is required when discount.label is set")
		}
		if len(d.Code) > 64 {
			bad(key+".code", "is longer than 64 characters")
		}
		for _, f := range []struct {
			k   string
			set bool
		}{{"percent", d.Percent != ""}, {"amount", d.Amount != ""}, {"expires_after", d.ExpiresAfter != 0}, {"prefix", d.Prefix != ""}} {
			if f.set {
				bad(key+"."+f.k, "applies to unique codes only: set %s.type: unique (or remove it)", key)
			}
		}
	case "unique":
		if d.Code != "" {
			bad(key+".code", "a unique discount makes its own codes: remove code (or use the static type)")
		}
		switch {
		case (d.Percent == "") == (d.Amount == ""):
			bad(key+".percent", "a unique discount needs exactly one of percent (10 = 10%%) and amount (5.00, in the cart's currency)")
		case d.Percent != "":
			if p, ok := new(big.Rat).SetString(d.Percent); !ok || !plainDecimal(d.Percent) || p.Sign() <= 0 || p.Cmp(big.NewRat(100, 1)) > 0 {
				bad(key+".percent", "%q must be a decimal above 0 and at most 100", d.Percent)
			}
		default:
			if a, ok := new(big.Rat).SetString(d.Amount); !ok || !plainDecimal(d.Amount) || a.Sign() <= 0 {
				bad(key+".amount", "%q must be a decimal amount above 0, like 5 or 5.00", d.Amount)
			}
		}
		if d.ExpiresAfter < time.Hour || d.ExpiresAfter > 366*24*time.Hour {
			bad(key+".expires_after", "%s must be between 1h and 8784h (a year): how long each made code stays valid", d.ExpiresAfter)
		}
		if !recovery.ValidCodePrefix(d.Prefix) {
			bad(key+".prefix", "%q must be at most 20 of A-Z 0-9 and -", d.Prefix)
		}
	default:
		bad(key+".type", "%q is not one of static, unique", d.Type)
	}
}

// uniqueDiscountKey is the first step (or variant) offering a unique code,
// "" when none does.
func (c Config) uniqueDiscountKey() string {
	for _, sq := range c.sequences() {
		for i, s := range sq.steps {
			if s.Discount.Unique() {
				return fmt.Sprintf("%s[%d].discount", sq.key, i)
			}
			for j, v := range s.Variants {
				if v.Discount.Unique() {
					return fmt.Sprintf("%s[%d].variants[%d].discount", sq.key, i, j)
				}
			}
		}
	}
	return ""
}

// validatePlatforms checks each platform's API credentials: complete when
// any is set, and present for every platform whose webhooks come in when a
// step offers unique codes (each code is registered with the cart's
// platform before its message is sent).
func (c Config) validatePlatforms(bad func(key, format string, a ...any)) {
	c.validatePlatformsFor(bad, nil)
}

// validateTopPlatforms checks platforms.*: when stores are listed without
// a catch-all, no store runs with the top level's APIs alone, so whether
// unique codes can be registered is checked per store (validateStores).
func (c Config) validateTopPlatforms(bad func(key, format string, a ...any)) {
	if _, all := c.Stores[CatchAll]; len(c.Stores) > 0 && !all {
		c.validatePlatformsFor(bad, func(string) bool { return false })
		return
	}
	c.validatePlatforms(bad)
}

// validatePlatformsFor is validatePlatforms where a unique code must be
// registrable only on the platforms own says the store uses (nil: every
// platform whose webhooks come in).
func (c Config) validatePlatformsFor(bad func(key, format string, a ...any), own func(name string) bool) {
	unique := c.uniqueDiscountKey()
	c.Platforms.Each(func(name string, p platform.Config) {
		u := unique
		if own != nil && !own(name) {
			u = ""
		}
		p.Validate(u, bad)
	})

	switch c.Rules.PlatformCheck {
	case "on", "strict", "off":
	default:
		bad("rules.platform_check", "%q is not one of on, strict, off", c.Rules.PlatformCheck)
	}
	if t := c.Rules.PlatformCheckTimeout; t < 100*time.Millisecond || t > time.Minute {
		bad("rules.platform_check_timeout", "%s must be between 100ms and 1m", t)
	}
}

// plainDecimal: a decimal amount that is not negative (money.Decimal).
func plainDecimal(s string) bool {
	d, ok := money.ParseDecimal(s)
	return ok && !d.Neg
}
