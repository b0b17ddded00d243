package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes every environment override: CARTRECOVERY_REDIS_URL
// sets redis.url.
const EnvPrefix = "CARTRECOVERY"

// File is the configuration file Load reads for path: path, else
// $CARTRECOVERY_CONFIG, else DefaultPath when it exists; "" for none (the
// built-in defaults).
func File(path string) string {
	switch {
	case path != "":
		return path
	case os.Getenv(EnvPrefix+"_CONFIG") != "":
		return os.Getenv(EnvPrefix + "_CONFIG")
	}
	if _, err := os.Stat(DefaultPath); err == nil {
		return DefaultPath
	}
	return ""
}

// DefaultPath is read when no --config and no $CARTRECOVERY_CONFIG is given.
const DefaultPath = "config/cartrecovery.yaml"

// defaults is the built-in configuration, as YAML: with each platform's
// (platformDefaults), the single source of the key list (environment
// overrides are bound for every key below).
const defaults = `
http: {addr: ":8080", public_url: "http://localhost:8080", admin_token: "", session_ttl: 12h, ops_addr: "", trusted_proxies: []}
redis: {url: "", mode: single, prefix: "cartrecovery:"}
store: {name: "My Shop", url: "https://shop.example", address: "1 Main St, Town", timezone: "UTC", allowed_hosts: []}
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
  platform_check: "on"
  platform_check_timeout: 5s
email:
  transport: file
  from: "My Shop <shop@example.com>"
  outbox: ./outbox
  smtp: {host: "", port: 587, username: "", password: "", tls: starttls, pool: 4}
sms:
  transport: log
  twilio: {account_sid: "", auth_token: "", from: "", messaging_service_sid: "", base_url: "https://api.twilio.com"}
  help_text: ""
templates: {dir: ./templates}
worker: {concurrency: 10, send_timeout: 30s, queues: 0}
log: {level: info, format: text}
`

// Load reads the configuration: path if given (it must exist), else
// $CARTRECOVERY_CONFIG, else ./config/cartrecovery.yaml if present, else the
// built-in defaults; then applies CARTRECOVERY_* environment overrides. It
// returns where the file came from ("defaults" when none). Unknown keys,
// values of the wrong type and durations without a unit are errors naming
// the key; an unknown CARTRECOVERY_* variable is an error naming it and the
// closest valid one. Call Validate next.
func Load(path string) (Config, string, error) {
	source := File(path)
	if source == "" {
		source = "defaults"
	}
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(defaults)); err != nil {
		return Config{}, source, fmt.Errorf("built-in defaults: %w", err)
	}
	if err := v.MergeConfig(strings.NewReader(platformDefaults())); err != nil {
		return Config{}, source, fmt.Errorf("built-in defaults: %w", err)
	}
	keys := v.AllKeys()
	var stores map[string]StoreConfig
	if source != "defaults" {
		raw, err := os.ReadFile(source)
		if err != nil {
			return Config{}, source, fmt.Errorf("config file: %w", err)
		}
		if raw, stores, err = splitStores(raw); err != nil {
			return Config{}, source, fmt.Errorf("%s: %w", source, err)
		}
		if err := v.MergeConfig(bytes.NewReader(raw)); err != nil {
			return Config{}, source, fmt.Errorf("%s: %w", source, err)
		}
	}
	if err := checkEnv(keys); err != nil {
		return Config{}, source, err
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
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(durationHook, mapstructure.StringToSliceHookFunc(","))
		dc.ErrorUnused = true
		dc.WeaklyTypedInput = true
	})
	if err != nil {
		return Config{}, source, fmt.Errorf("%s: %w", source, cleanDecodeError(err, keys))
	}
	// a step's template defaults to its name (a variant names its own)
	for i := range c.Sequence {
		if c.Sequence[i].Template == "" {
			c.Sequence[i].Template = c.Sequence[i].Name
		}
	}
	defaultTemplates(c.Segments)
	c.Stores = stores
	return c, source, nil
}

// decodeErrorKey is the key mapstructure quotes at the start of a line:
// "'sequence[0].delay' ..." becomes "sequence[0].delay: ...".
var decodeErrorKey = regexp.MustCompile(`^'([^' ]+)' `)

// cleanDecodeError turns mapstructure's report into one line per key, as
// "key: problem", adding the environment variable a value came from.
func cleanDecodeError(err error, keys []string) error {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(l)
		if m := decodeErrorKey.FindStringSubmatch(l); m != nil {
			l = m[1] + ": " + l[len(m[0]):] + fromEnv(m[1], keys)
		}
		l = strings.TrimSpace(strings.ReplaceAll(l, "'", ""))
		if l == "" || strings.HasPrefix(l, "decoding failed") {
			continue
		}
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return errors.New(strings.Join(lines, "\n"))
}

// fromEnv names the environment variable that set key, if one did.
func fromEnv(key string, keys []string) string {
	if strings.HasPrefix(key, "sequence") {
		if os.Getenv(EnvPrefix+"_SEQUENCE") != "" {
			return " (from " + EnvPrefix + "_SEQUENCE)"
		}
		return ""
	}
	if slices.Contains(keys, key) {
		if name := envName(key); os.Getenv(name) != "" {
			return " (from " + name + ")"
		}
	}
	return ""
}

// durationHook decodes every time.Duration key. It takes only a string
// with a unit that time.ParseDuration accepts ("90s", "30m", "72h",
// "1h30m"); a bare number, whether a YAML or JSON number or a numeric
// string, is refused, since 10 would otherwise mean 10 nanoseconds. Zero
// alone needs no unit. Days ("7d") are not accepted: write 168h.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() || from == to {
		return data, nil
	}
	v := reflect.ValueOf(data)
	switch v.Kind() {
	case reflect.String:
		s := strings.TrimSpace(v.String())
		if bareNumber.MatchString(s) {
			if strings.Trim(s, "+-0.") == "" {
				return time.Duration(0), nil
			}
			return nil, noUnit(s)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration; write it with a unit, like 90s, 30m, 72h or 1h30m", v.String())
		}
		return d, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		s := fmt.Sprint(data)
		if v.CanFloat() {
			s = strconv.FormatFloat(v.Float(), 'f', -1, 64)
		}
		if s == "0" || s == "-0" {
			return time.Duration(0), nil
		}
		return nil, noUnit(s)
	}
	return data, nil
}

var bareNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

func noUnit(n string) error {
	return fmt.Errorf("%s has no unit; write %ss, %sm or %sh", n, n, n, n)
}

// toolEnv are CARTRECOVERY_* variables that are not config keys but are
// read elsewhere: the config file, the sequence as JSON, and the test and
// tooling switches. Any other CARTRECOVERY_* variable that is not a key is
// a typo, and stops Load. A new tool variable must be added here.
var toolEnv = []string{
	EnvPrefix + "_CONFIG",           // config file path (Load)
	EnvPrefix + "_SEQUENCE",         // sequence as a JSON list (Load)
	EnvPrefix + "_TEST_REDIS_URL",   // internal/testredis: use this server in tests
	EnvPrefix + "_TEST_REDIS_MODE",  // internal/testredis: run tests on cluster or sentinel
	EnvPrefix + "_REQUIRE_CHROMIUM", // server tests: fail instead of skip without Chromium
	EnvPrefix + "_ARTIFACTS",        // server tests: where screenshots go
	EnvPrefix + "_UPDATE_GOLDEN",    // report tests: rewrite golden files
}

// envName is the environment variable of a config key: redis.url is
// CARTRECOVERY_REDIS_URL.
func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// checkEnv refuses CARTRECOVERY_* variables that set nothing (a misspelt
// key would otherwise be ignored), one line each, naming the closest valid
// variable.
func checkEnv(keys []string) error {
	valid := slices.Clone(toolEnv)
	for _, k := range keys {
		if !strings.HasPrefix(k, "sequence") {
			valid = append(valid, envName(k))
		}
	}
	var errs []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") || slices.Contains(valid, name) {
			continue
		}
		msg := name + ": unknown setting"
		if near := closest(name, valid); near != "" {
			msg += "; did you mean " + near + "?"
		} else {
			msg += " (" + EnvPrefix + "_ + a config key in capitals, dots as underscores, e.g. " + EnvPrefix + "_REDIS_URL)"
		}
		errs = append(errs, msg)
	}
	if len(errs) == 0 {
		return nil
	}
	sort.Strings(errs)
	return errors.New(strings.Join(errs, "\n"))
}

// closest returns the candidate nearest to name by edit distance, or ""
// when none is close enough to be a likely typo.
func closest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		if d := editDistance(name, c); bestD < 0 || d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	suffix := len(name) - len(EnvPrefix) - 1
	if bestD < 0 || bestD > max(2, suffix/3) {
		return ""
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment: a swap of two neighbours counts as one edit, so ULR is one
// edit from URL).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
