package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes every environment override: CARTRECOVERY_REDIS_URL
// sets redis.url.
const EnvPrefix = "CARTRECOVERY"

// DefaultPath is read when no --config and no $CARTRECOVERY_CONFIG is given.
const DefaultPath = "config/cartrecovery.yaml"

// defaults is the built-in configuration, as YAML: the single source of the
// key list (environment overrides are bound for every key below).
const defaults = `
http: {addr: ":8080", public_url: "http://localhost:8080", admin_token: "", session_ttl: 12h, ops_addr: ""}
redis: {url: "", prefix: "cartrecovery:"}
store: {name: "My Shop", url: "https://shop.example", address: "1 Main St, Town", timezone: "UTC", allowed_hosts: []}
platforms:
  shopify: {secret: ""}
  woocommerce: {secret: ""}
  generic: {secret: ""}
sequence:
  - {name: first-reminder, delay: 1h, channels: [email], template: first-reminder}
  - {name: second-reminder, delay: 24h, channels: [email, sms], template: second-reminder, discount: {code: "COMEBACK10", label: "10% off"}}
  - {name: last-chance, delay: 72h, channels: [email], template: last-chance}
rules:
  email_consent: any
  sms_consent: required
  min_cart_value: "0"
  attribution_window: 168h
  holdout_percent: 0
  retention: 2160h
  quiet_hours: {start: "21:00", end: "08:00", channels: [sms]}
  cooldown: 24h
  max_cart_age: 168h
email:
  transport: file
  from: "My Shop <shop@example.com>"
  outbox: ./outbox
  smtp: {host: "", port: 587, username: "", password: "", tls: starttls, pool: 4}
sms:
  transport: log
  twilio: {account_sid: "", auth_token: "", from: "", messaging_service_sid: "", base_url: "https://api.twilio.com"}
templates: {dir: ./templates}
worker: {concurrency: 10, send_timeout: 30s}
log: {level: info, format: text}
`

// Load reads the configuration: path if given (it must exist), else
// $CARTRECOVERY_CONFIG, else ./config/cartrecovery.yaml if present, else the
// built-in defaults; then applies CARTRECOVERY_* environment overrides. It
// returns where the file came from ("defaults" when none). Unknown keys and
// values of the wrong type are errors naming the key. Call Validate next.
func Load(path string) (Config, string, error) {
	source := "defaults"
	switch {
	case path != "":
		source = path
	case os.Getenv(EnvPrefix+"_CONFIG") != "":
		source = os.Getenv(EnvPrefix + "_CONFIG")
	default:
		if _, err := os.Stat(DefaultPath); err == nil {
			source = DefaultPath
		}
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(defaults)); err != nil {
		return Config{}, source, fmt.Errorf("built-in defaults: %w", err)
	}
	keys := v.AllKeys()
	if source != "defaults" {
		raw, err := os.ReadFile(source)
		if err != nil {
			return Config{}, source, fmt.Errorf("config file: %w", err)
		}
		if err := v.MergeConfig(bytes.NewReader(raw)); err != nil {
			return Config{}, source, fmt.Errorf("%s: %w", source, err)
		}
	}
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	for _, k := range keys {
		if strings.HasPrefix(k, "sequence") {
			continue
		}
		_ = v.BindEnv(k)
	}
	if seq := os.Getenv(EnvPrefix + "_SEQUENCE"); seq != "" {
		var steps []map[string]any
		if err := json.Unmarshal([]byte(seq), &steps); err != nil {
			return Config{}, source, fmt.Errorf("sequence (from %s_SEQUENCE): must be a JSON list of steps: %v", EnvPrefix, err)
		}
		v.Set("sequence", steps)
	}
	var c Config
	err := v.UnmarshalExact(&c, func(dc *mapstructure.DecoderConfig) {
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(), mapstructure.StringToSliceHookFunc(","))
		dc.ErrorUnused = true
		dc.WeaklyTypedInput = true
	})
	if err != nil {
		return Config{}, source, fmt.Errorf("%s: %w", source, cleanDecodeError(err))
	}
	return c, source, nil
}

// cleanDecodeError turns mapstructure's report into one line per key.
func cleanDecodeError(err error) error {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(strings.ReplaceAll(l, "'", ""))
		if l == "" || strings.HasPrefix(l, "decoding failed") {
			continue
		}
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return errors.New(strings.Join(lines, "\n"))
}
