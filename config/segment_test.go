package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/render"
)

// sgTemplates writes the email and SMS template files of each name into
// dir and returns dir.
func sgTemplates(t *testing.T, dir string, names ...string) string {
	t.Helper()
	for _, n := range names {
		for _, ch := range []string{"email", "sms"} {
			for _, f := range render.Files(n, ch) {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return dir
}

// sgLoad loads yaml from a file of its own.
func sgLoad(t *testing.T, yaml string) (Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "segments.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(p)
	return c, err
}

// sgDirs are the folders of sgYAML: the shared templates and shop A's own.
type sgDirs struct{ shared, shopA string }

func sgMakeDirs(t *testing.T) sgDirs {
	t.Helper()
	return sgDirs{
		shared: sgTemplates(t, t.TempDir(), "first-reminder", "second-reminder", "last-chance", "hv-first", "hv-offer", "es-first", "c-first", "b-first"),
		shopA:  sgTemplates(t, t.TempDir(), "a-first"),
	}
}

// sgYAML is a valid configuration with two segments and three stores (ids
// with dots, capitals and the catch-all).
func sgYAML(d sgDirs) string {
	return `templates: {dir: "` + d.shared + `"}
store: {name: Top Shop, url: "https://top.example", address: "1 Top St", timezone: UTC}
platforms:
  woocommerce: {secret: top-wc-secret, url: "https://wc.example", consumer_key: top-ck, consumer_secret: top-cs}
  generic: {secret: top-generic-secret, discount_url: "https://top.example/codes"}
sequence:
  - {name: first-reminder, delay: 1h, channels: [email]}
  - {name: last-chance, delay: 48h, channels: [email]}
segments:
  - name: high-value
    when: {min_total: "100", currencies: [EUR, USD], customer: returning}
    holdout_percent: 5
    sequence:
      - {name: hv-first, delay: 30m, channels: [email]}
      - name: hv-code
        delay: 24h
        channels: [email]
        template: hv-offer
        discount: {type: unique, percent: "15", expires_after: 72h, prefix: "VIP-", label: "15% off"}
  - name: spanish
    when: {locales: [es], max_items: 3, email_consent: yes}
    sequence:
      - {name: es-first, delay: 2h, channels: [email, sms]}
stores:
  shop-a.myshopify.com:
    name: Shop A
    timezone: Europe/Madrid
    templates: {dir: "` + d.shopA + `"}
    platforms: {shopify: {secret: sa-secret, admin_token: shpat_a}}
    sequence:
      - {name: a-first, delay: 45m, channels: [email]}
      - {name: a-second, delay: 5h, channels: [email], template: first-reminder}
  Shop_B:
    url: "https://shop-b.example"
    allowed_hosts: [cdn.shop-b.example]
    segments: []
  "*":
    name: Everyone Else
    segments:
      - name: catch
        sequence: [{name: c-first, delay: 3h, channels: [email]}]
`
}

// sgBase loads sgYAML and checks that it validates.
func sgBase(t *testing.T) (Config, sgDirs) {
	t.Helper()
	d := sgMakeDirs(t)
	c, err := sgLoad(t, sgYAML(d))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("base configuration is not valid: %v", err)
	}
	return c, d
}

// sgErrKeys is the key of each line of a Validate error, sorted.
func sgErrKeys(err error) []string {
	if err == nil {
		return nil
	}
	var keys []string
	for _, l := range strings.Split(err.Error(), "\n") {
		k, _, _ := strings.Cut(l, ": ")
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestSegmentsAndStoresLoad(t *testing.T) {
	c, d := sgBase(t)

	if len(c.Segments) != 2 {
		t.Fatalf("segments %+v", c.Segments)
	}
	hv, es := c.Segments[0], c.Segments[1]
	if hv.Name != "high-value" || hv.When.MinTotal != "100" || !slices.Equal(hv.When.Currencies, []string{"EUR", "USD"}) ||
		hv.When.Customer != "returning" || hv.HoldoutPercent == nil || *hv.HoldoutPercent != 5 {
		t.Errorf("high-value %+v", hv)
	}
	if len(hv.Sequence) != 2 || hv.Sequence[0].Delay != 30*time.Minute || hv.Sequence[1].Delay != 24*time.Hour {
		t.Fatalf("high-value sequence %+v", hv.Sequence)
	}
	if hv.Sequence[0].Template != "hv-first" || hv.Sequence[1].Template != "hv-offer" {
		t.Errorf("segment templates %q %q, want hv-first (its name) and hv-offer", hv.Sequence[0].Template, hv.Sequence[1].Template)
	}
	if dc := hv.Sequence[1].Discount; !dc.Unique() || dc.Percent != "15" || dc.ExpiresAfter != 72*time.Hour || dc.Prefix != "VIP-" {
		t.Errorf("unique discount %+v", dc)
	}
	if es.Name != "spanish" || !slices.Equal(es.When.Locales, []string{"es"}) || es.When.MaxItems != 3 || es.When.EmailConsent != "yes" ||
		es.HoldoutPercent != nil || len(es.Sequence) != 1 || es.Sequence[0].Template != "es-first" ||
		!slices.Equal(es.Sequence[0].Channels, []string{"email", "sms"}) {
		t.Errorf("spanish %+v", es)
	}

	// store ids come back as written: not split at dots, not lower-cased
	if ids := c.StoreIDs(); !slices.Equal(ids, []string{"*", "Shop_B", "shop-a.myshopify.com"}) {
		t.Fatalf("store ids %q", ids)
	}
	a := c.Stores["shop-a.myshopify.com"]
	if a.Name != "Shop A" || a.Timezone != "Europe/Madrid" || a.Templates.Dir != d.shopA || a.Platforms.Shopify.Secret != "sa-secret" ||
		a.Platforms.Shopify.AdminToken != "shpat_a" || a.Platforms.Shopify.Shop != "" || a.Segments != nil {
		t.Errorf("shop-a %+v", a)
	}
	if len(a.Sequence) != 2 || a.Sequence[0].Template != "a-first" || a.Sequence[0].Delay != 45*time.Minute ||
		a.Sequence[1].Template != "first-reminder" {
		t.Errorf("shop-a sequence %+v", a.Sequence)
	}
	b := c.Stores["Shop_B"]
	if b.URL != "https://shop-b.example" || b.Name != "" || !slices.Equal(b.AllowedHosts, []string{"cdn.shop-b.example"}) ||
		b.Segments == nil || len(b.Segments) != 0 || b.Sequence != nil {
		t.Errorf("Shop_B %+v (segments nil: %v)", b, b.Segments == nil)
	}
	all := c.Stores[CatchAll]
	if all.Name != "Everyone Else" || len(all.Segments) != 1 || all.Segments[0].Name != "catch" ||
		all.Segments[0].Sequence[0].Template != "c-first" || !all.Segments[0].When.Domain().IsZero() {
		t.Errorf("catch-all %+v", all)
	}
	// the top level is not touched by the stores
	if c.Store.Name != "Top Shop" || c.Templates.Dir != d.shared || c.StoreTemplates != "" || len(c.Sequence) != 2 {
		t.Errorf("top level %+v", c.Store)
	}
}

// TestStoreTemplateDefaults: inside a store, a step's template defaults to
// its name, in its sequence and in its segments'.
func TestStoreTemplateDefaults(t *testing.T) {
	c, err := sgLoad(t, `stores:
  Shop.One:
    sequence:
      - {name: s-first, delay: 1h, channels: [email]}
      - {name: s-second, delay: 2h, channels: [email], template: own}
    segments:
      - name: big
        when: {min_items: 5}
        sequence: [{name: big-first, delay: 1h, channels: [sms]}]
`)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := c.Stores["Shop.One"]
	if !ok {
		t.Fatalf("stores %v", c.StoreIDs())
	}
	if len(s.Sequence) != 2 || s.Sequence[0].Template != "s-first" || s.Sequence[1].Template != "own" {
		t.Errorf("store sequence %+v", s.Sequence)
	}
	if len(s.Segments) != 1 || s.Segments[0].When.MinItems != 5 || s.Segments[0].Sequence[0].Template != "big-first" {
		t.Errorf("store segments %+v", s.Segments)
	}
}

// TestStoreLoadErrors: a store's unknown or mistyped key is an error that
// names the store and the key.
func TestStoreLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "stores:\n  shop-a.myshopify.com: {name: A, bogus: 1}\n", []string{"stores.shop-a.myshopify.com", "bogus"}},
		{"unknown key, capitals", "stores:\n  Shop_B: {nmae: B}\n", []string{"stores.Shop_B", "nmae"}},
		{"unknown nested key", "stores:\n  shop-a.myshopify.com: {templates: {dri: x}}\n", []string{"stores.shop-a.myshopify.com.templates", "dri"}},
		{"unknown platform key", "stores:\n  \"*\": {platforms: {shopify: {secrte: x}}}\n", []string{"stores.*.platforms.shopify", "secrte"}},
		{"duration without a unit", "stores:\n  s1: {sequence: [{name: a, delay: 10, channels: [email]}]}\n", []string{"stores.s1.sequence[0].delay: 10 has no unit"}},
		{"unknown segment key", "stores:\n  s1: {segments: [{name: a, wehn: {min_items: 1}}]}\n", []string{"stores.s1.segments[0]", "wehn"}},
		{"bad store id", "stores:\n  \"bad id/x\": {name: X}\n", []string{"stores.bad id/x: not a store id"}},
		{"not a map", "stores: [a, b]\n", []string{"stores: must map store ids"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sgLoad(t, tc.yaml)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// one line, naming the store, as viper names an unknown key of a section
	_, err := sgLoad(t, "stores:\n  shop-a.myshopify.com: {name: A, bogus: 1}\n")
	if err == nil || !strings.HasSuffix(err.Error(), ": stores.shop-a.myshopify.com: has invalid keys: bogus") {
		t.Errorf("unknown key: %v, want it to end in stores.shop-a.myshopify.com: has invalid keys: bogus", err)
	}
	// every bad store reported, one line each
	_, err = sgLoad(t, "stores:\n  s1: {bogus: 1}\n  s2: {timezone: [x, y]}\n  s3: {name: fine}\n")
	if err == nil {
		t.Fatal("loaded")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "stores.s1") || !strings.Contains(lines[1], "stores.s2.timezone") {
		t.Errorf("want one line for s1 and one for s2.timezone: %q", lines)
	}
}

func TestForStore(t *testing.T) {
	c, d := sgBase(t)

	a := c.ForStore("shop-a.myshopify.com")
	if a.Store.Name != "Shop A" || a.Store.Timezone != "Europe/Madrid" {
		t.Errorf("shop-a overrides: %+v", a.Store)
	}
	if a.Store.URL != "https://top.example" || a.Store.Address != "1 Top St" || len(a.Store.AllowedHosts) != 0 {
		t.Errorf("shop-a inherits: %+v", a.Store)
	}
	if a.StoreTemplates != d.shopA || a.Templates.Dir != d.shared {
		t.Errorf("shop-a templates: store %q shared %q", a.StoreTemplates, a.Templates.Dir)
	}
	if sh := a.Platforms.Shopify; sh.Secret != "sa-secret" || sh.AdminToken != "shpat_a" || sh.Shop != "shop-a.myshopify.com" {
		t.Errorf("shop-a shopify %+v: admin_token without shop gets the store id as shop", sh)
	}
	if a.Platforms.WooCommerce.Secret != "top-wc-secret" || a.Platforms.Generic.Secret != "top-generic-secret" {
		t.Errorf("shop-a inherits the other platforms' secrets: %+v", a.Platforms)
	}
	if len(a.Sequence) != 2 || a.Sequence[0].Name != "a-first" {
		t.Errorf("shop-a sequence %+v, want its own", a.Sequence)
	}
	if len(a.Segments) != 2 || a.Segments[0].Name != "high-value" {
		t.Errorf("shop-a segments %+v, want the top level's", a.Segments)
	}
	if a.Stores != nil {
		t.Errorf("ForStore keeps stores: %v", a.StoreIDs())
	}
	if a.Rules.HoldoutPercent != c.Rules.HoldoutPercent || a.Email.From != c.Email.From || a.Rules.MinCartValue != c.Rules.MinCartValue {
		t.Errorf("shop-a rules or email differ from the top level's")
	}

	b := c.ForStore("Shop_B")
	if b.Store.Name != "Top Shop" || b.Store.URL != "https://shop-b.example" || b.Store.Timezone != "UTC" ||
		!slices.Equal(b.Store.AllowedHosts, []string{"cdn.shop-b.example"}) {
		t.Errorf("Shop_B store %+v", b.Store)
	}
	if b.StoreTemplates != "" || b.Platforms.Shopify.Shop != "" || b.Platforms.Shopify.Secret != "" {
		t.Errorf("Shop_B templates %q, shopify %+v", b.StoreTemplates, b.Platforms.Shopify)
	}
	if b.Segments == nil || len(b.Segments) != 0 {
		t.Errorf("Shop_B segments %+v, want none (segments: [])", b.Segments)
	}
	if len(b.Playbook().Segments) != 0 {
		t.Errorf("Shop_B playbook segments %+v", b.Playbook().Segments)
	}
	if len(b.Sequence) != 2 || b.Sequence[0].Name != "first-reminder" {
		t.Errorf("Shop_B sequence %+v, want the top level's", b.Sequence)
	}

	// a store not listed: the catch-all's overrides
	for _, id := range []string{"other.myshopify.com", CatchAll} {
		o := c.ForStore(id)
		if o.Store.Name != "Everyone Else" || o.Store.URL != "https://top.example" || len(o.Segments) != 1 || o.Segments[0].Name != "catch" ||
			len(o.Sequence) != 2 || o.Sequence[0].Name != "first-reminder" || o.Stores != nil {
			t.Errorf("%s: %+v segments %+v", id, o.Store, o.Segments)
		}
	}
	// the store ids are not folded: shop_b is another store
	if o := c.ForStore("shop_b"); o.Store.URL != "https://top.example" || o.Store.Name != "Everyone Else" {
		t.Errorf("shop_b got Shop_B's settings: %+v", o.Store)
	}

	// no catch-all: the top level
	delete(c.Stores, CatchAll)
	o := c.ForStore("other.myshopify.com")
	if o.Store.Name != "Top Shop" || len(o.Segments) != 2 || o.Segments[1].Name != "spanish" || o.StoreTemplates != "" ||
		o.Platforms.Shopify.Secret != "" {
		t.Errorf("no catch-all: %+v segments %+v", o.Store, o.Segments)
	}
}

// TestForStorePlatformFields: each platform field is overridden on its
// own; credentials without the store's address take the store id; a
// listed store inherits the webhook secrets (and BigCommerce's api_url),
// never the top level's API credentials, which answer for another store.
func TestForStorePlatformFields(t *testing.T) {
	var c Config
	c.Platforms = Platforms{
		Shopify:     shopify.Config{Secret: "top-s", Shop: "top.myshopify.com", AdminToken: "top-t", APIURL: "https://top.api"},
		WooCommerce: woocommerce.Config{Secret: "top-w", URL: "https://top.wc", ConsumerKey: "top-ck", ConsumerSecret: "top-cs"},
		BigCommerce: bigcommerce.Config{ClientSecret: "top-bc", StoreHash: "tophash", AccessToken: "top-at", APIURL: "https://api.bigcommerce.com", PromotionID: "1"},
		Generic:     generic.Config{Secret: "top-g", DiscountURL: "https://top.example/codes"},
	}
	c.Stores = map[string]StoreConfig{
		"abc123": {Platforms: Platforms{BigCommerce: bigcommerce.Config{ClientSecret: "s-bc", AccessToken: "s-at"}}},
		"s.myshopify.com": {Platforms: Platforms{Shopify: shopify.Config{AdminToken: "s-t"}, WooCommerce: woocommerce.Config{ConsumerKey: "s-ck"},
			Generic: generic.Config{DiscountURL: "https://s.example/codes"}}},
		"own": {Platforms: Platforms{Shopify: shopify.Config{AdminToken: "o-t", Shop: "own-shop.myshopify.com"},
			BigCommerce: bigcommerce.Config{AccessToken: "o-at", StoreHash: "ownhash", PromotionID: "9"}}},
	}
	bc := c.ForStore("abc123").Platforms
	if bc.BigCommerce != (bigcommerce.Config{ClientSecret: "s-bc", StoreHash: "abc123", AccessToken: "s-at", APIURL: "https://api.bigcommerce.com"}) {
		t.Errorf("abc123 bigcommerce %+v", bc.BigCommerce)
	}
	if bc.Shopify != (shopify.Config{Secret: "top-s"}) || bc.WooCommerce != (woocommerce.Config{Secret: "top-w"}) || bc.Generic != (generic.Config{Secret: "top-g"}) {
		t.Errorf("abc123 other platforms %+v", bc)
	}
	s := c.ForStore("s.myshopify.com").Platforms
	if s.Shopify != (shopify.Config{Secret: "top-s", Shop: "s.myshopify.com", AdminToken: "s-t"}) {
		t.Errorf("s shopify %+v", s.Shopify)
	}
	if s.WooCommerce != (woocommerce.Config{Secret: "top-w", ConsumerKey: "s-ck"}) {
		t.Errorf("s woocommerce %+v", s.WooCommerce)
	}
	if s.Generic != (generic.Config{Secret: "top-g", DiscountURL: "https://s.example/codes"}) {
		t.Errorf("s generic %+v", s.Generic)
	}
	if s.BigCommerce != (bigcommerce.Config{ClientSecret: "top-bc", APIURL: "https://api.bigcommerce.com"}) {
		t.Errorf("s bigcommerce %+v", s.BigCommerce)
	}
	o := c.ForStore("own").Platforms
	if o.Shopify.Shop != "own-shop.myshopify.com" || o.BigCommerce.StoreHash != "ownhash" || o.BigCommerce.PromotionID != "9" {
		t.Errorf("own: %+v %+v", o.Shopify, o.BigCommerce)
	}
	// the top level is untouched
	if c.Platforms.Shopify.Shop != "top.myshopify.com" || c.Platforms.BigCommerce.StoreHash != "tophash" {
		t.Errorf("top level changed: %+v", c.Platforms)
	}
	// the catch-all's credentials do not make "*" a shop
	c.Stores[CatchAll] = StoreConfig{Platforms: Platforms{Shopify: shopify.Config{AdminToken: "all-t"}, BigCommerce: bigcommerce.Config{AccessToken: "all-at"}}}
	all := c.ForStore(CatchAll).Platforms
	if all.Shopify.Shop != "top.myshopify.com" || all.Shopify.AdminToken != "all-t" || all.BigCommerce.StoreHash != "tophash" {
		t.Errorf("catch-all: %+v %+v", all.Shopify, all.BigCommerce)
	}
}

func TestKnownStore(t *testing.T) {
	var none Config
	for _, id := range []string{"a", "shop-a.myshopify.com", "default"} {
		if !none.KnownStore(id) {
			t.Errorf("no stores: %s refused", id)
		}
	}
	listed := Config{Stores: map[string]StoreConfig{"shop-a.myshopify.com": {}, "Shop_B": {}}}
	for id, want := range map[string]bool{"shop-a.myshopify.com": true, "Shop_B": true, "shop_b": false, "other": false, "shop-a": false, "": false} {
		if got := listed.KnownStore(id); got != want {
			t.Errorf("listed: KnownStore(%q) = %v, want %v", id, got, want)
		}
	}
	listed.Stores[CatchAll] = StoreConfig{}
	for _, id := range []string{"shop-a.myshopify.com", "shop_b", "other"} {
		if !listed.KnownStore(id) {
			t.Errorf("with a catch-all: %s refused", id)
		}
	}
}

func TestValidateSegments(t *testing.T) {
	const (
		a  = "stores.shop-a.myshopify.com"
		b  = "stores.Shop_B"
		hv = "segments[0]"
	)
	seq := func(names ...string) []Step {
		var out []Step
		for i, n := range names {
			out = append(out, Step{Name: n, Template: n, Delay: time.Duration(i+1) * time.Hour, Channels: []string{"email"}})
		}
		return out
	}
	cases := []struct {
		name string
		mod  func(c *Config)
		want []string // the key of each line, sorted
		msg  string
	}{
		{"catch-all before a segment", func(c *Config) {
			c.Segments = append([]Segment{{Name: "everyone", Sequence: seq("first-reminder")}}, c.Segments...)
		}, []string{"segments[1]", "segments[2]"}, "segments[1]: is never chosen: segments[0] before it has no conditions"},
		{"catch-all last is fine", func(c *Config) {
			c.Segments = append(c.Segments, Segment{Name: "everyone", Sequence: seq("first-reminder")})
		}, nil, ""},
		{"customer any and consent any make a catch-all", func(c *Config) {
			c.Segments[0].When = When{Customer: "any", EmailConsent: "any", SMSConsent: "any"}
		}, []string{"segments[1]"}, "segments[1]: is never chosen"},
		{"max_total equal to min_total", func(c *Config) { c.Segments[0].When.MaxTotal = "100" },
			[]string{hv + ".when.max_total"}, "100 must be greater than min_total 100"},
		{"max_total under min_total", func(c *Config) { c.Segments[0].When.MaxTotal = "99.99" },
			[]string{hv + ".when.max_total"}, ""},
		{"max_total over min_total", func(c *Config) { c.Segments[0].When.MaxTotal = "100.01" }, nil, ""},
		{"min_total negative", func(c *Config) { c.Segments[0].When.MinTotal = "-1" }, []string{hv + ".when.min_total"}, ""},
		{"min_total with exponent", func(c *Config) { c.Segments[0].When.MinTotal = "1e3" }, []string{hv + ".when.min_total"}, ""},
		{"max_total not a number", func(c *Config) { c.Segments[1].When.MaxTotal = "lots" }, []string{"segments[1].when.max_total"}, ""},
		{"currency lower-case", func(c *Config) { c.Segments[0].When.Currencies = []string{"EUR", "usd"} },
			[]string{hv + ".when.currencies[1]"}, `"usd" must be an ISO 4217 code`},
		{"currency too long", func(c *Config) { c.Segments[0].When.Currencies = []string{"EURO"} }, []string{hv + ".when.currencies[0]"}, ""},
		{"customer", func(c *Config) { c.Segments[0].When.Customer = "vip" }, []string{hv + ".when.customer"}, `"vip" is not one of any, new, returning`},
		{"customer new", func(c *Config) { c.Segments[0].When.Customer = "new" }, nil, ""},
		{"email consent", func(c *Config) { c.Segments[1].When.EmailConsent = "maybe" }, []string{"segments[1].when.email_consent"}, ""},
		{"sms consent", func(c *Config) { c.Segments[1].When.SMSConsent = "true" }, []string{"segments[1].when.sms_consent"}, ""},
		{"locale", func(c *Config) { c.Segments[1].When.Locales = []string{"es", "e", "es-", "español"} },
			[]string{"segments[1].when.locales[1]", "segments[1].when.locales[2]", "segments[1].when.locales[3]"}, "is not a language tag"},
		{"locales with regions", func(c *Config) { c.Segments[1].When.Locales = []string{"es-MX", "pt_BR", "zh-Hant-TW", "ES"} }, nil, ""},
		{"country", func(c *Config) { c.Segments[1].When.Countries = []string{"es", "ESP", "E1"} },
			[]string{"segments[1].when.countries[1]", "segments[1].when.countries[2]"}, "two-letter country code"},
		{"platform", func(c *Config) { c.Segments[1].When.Platforms = []string{"shopify", "magento", "Shopify"} },
			[]string{"segments[1].when.platforms[1]", "segments[1].when.platforms[2]"}, `"magento" is not one of shopify, woocommerce, bigcommerce, generic`},
		{"store in a condition", func(c *Config) { c.Segments[1].When.Stores = []string{"Shop_B", "bad store"} },
			[]string{"segments[1].when.stores[1]"}, ""},
		{"items", func(c *Config) { c.Segments[1].When.MinItems = 4 }, []string{"segments[1].when.max_items"}, "3 must be 0 (no bound) or at least min_items (4)"},
		{"items equal", func(c *Config) { c.Segments[1].When.MinItems = 3 }, nil, ""},
		{"negative min_items", func(c *Config) { c.Segments[1].When.MinItems = -1 }, []string{"segments[1].when.min_items"}, ""},
		{"empty sku and long tag", func(c *Config) {
			c.Segments[1].When.SKUs = []string{" "}
			c.Segments[1].When.Tags = []string{"ok", strings.Repeat("t", 201)}
		}, []string{"segments[1].when.skus[0]", "segments[1].when.tags[1]"}, ""},
		{"duplicate name", func(c *Config) { c.Segments[1].Name = "high-value" },
			[]string{"segments[1].name"}, `"high-value" is already the name of segments[0]`},
		{"name default", func(c *Config) { c.Segments[0].Name = "default" }, []string{hv + ".name"}, ""},
		{"name with capitals", func(c *Config) { c.Segments[0].Name = "High" }, []string{hv + ".name"}, ""},
		{"name empty", func(c *Config) { c.Segments[0].Name = "" }, []string{hv + ".name"}, ""},
		{"delay not increasing", func(c *Config) { c.Segments[0].Sequence[1].Delay = 30 * time.Minute },
			[]string{hv + ".sequence[1].delay"}, "must be greater than segments[0].sequence[0].delay (30m0s)"},
		{"delay zero", func(c *Config) { c.Segments[0].Sequence[0].Delay = 0 }, []string{hv + ".sequence[0].delay"}, ""},
		{"no steps", func(c *Config) { c.Segments[1].Sequence = nil }, []string{"segments[1].sequence"}, "needs at least one step"},
		{"duplicate step name", func(c *Config) { c.Segments[0].Sequence[1].Name = "hv-first" }, []string{hv + ".sequence[1].name"}, ""},
		{"missing template", func(c *Config) { c.Segments[0].Sequence[0].Template = "nope" },
			[]string{hv + ".sequence[0].template", hv + ".sequence[0].template", hv + ".sequence[0].template"}, "nope.subject.tmpl is missing"},
		{"missing sms template", func(c *Config) {
			c.Segments[1].Sequence[0].Channels = []string{"sms"}
			c.Segments[1].Sequence[0].Template = "a-first"
		},
			[]string{"segments[1].sequence[0].template"}, "a-first.sms.tmpl is missing"},
		{"bad discount", func(c *Config) { c.Segments[0].Sequence[1].Discount.Percent = "150" }, []string{hv + ".sequence[1].discount.percent"}, ""},
		{"holdout 60", func(c *Config) { h := 60; c.Segments[0].HoldoutPercent = &h }, []string{hv + ".holdout_percent"}, "60 must be between 0 and 50"},
		{"holdout -1", func(c *Config) { h := -1; c.Segments[1].HoldoutPercent = &h }, []string{"segments[1].holdout_percent"}, ""},
		{"holdout 50 and 0", func(c *Config) { h, z := 50, 0; c.Segments[0].HoldoutPercent, c.Segments[1].HoldoutPercent = &h, &z }, nil, ""},
		{"bigcommerce only reads content", func(c *Config) { c.Segments[0].When.Platforms = []string{"bigcommerce"} },
			[]string{hv + ".when"}, "BigCommerce webhooks carry ids only"},
		{"bigcommerce only with items", func(c *Config) { c.Segments[1].When.Platforms = []string{"bigcommerce"} },
			[]string{"segments[1].when"}, "is never met"},
		{"bigcommerce only with tags", func(c *Config) {
			c.Segments[1].When = When{Platforms: []string{"bigcommerce"}, Tags: []string{"sale"}}
		}, []string{"segments[1].when"}, ""},
		{"bigcommerce with another platform", func(c *Config) { c.Segments[0].When.Platforms = []string{"bigcommerce", "shopify"} }, nil, ""},
		// BigCommerce webhooks carry no customer either: a returning
		// customer, a locale or a consent can never be read from them
		{"bigcommerce only with customer conditions", func(c *Config) {
			c.Segments[0].When = When{Platforms: []string{"bigcommerce"}, Customer: "returning", Locales: []string{"es"}}
		}, []string{hv + ".when"}, "is never met"},
		{"bigcommerce only with stores and new customers", func(c *Config) {
			c.Segments[0].When = When{Platforms: []string{"bigcommerce"}, Stores: []string{"abc123"}, Customer: "new", SMSConsent: "no"}
		}, nil, ""},

		// stores
		{"store timezone", func(c *Config) {
			s := c.Stores["shop-a.myshopify.com"]
			s.Timezone = "Mars/Base"
			c.Stores["shop-a.myshopify.com"] = s
		},
			[]string{a + ".timezone"}, `"Mars/Base" is not an IANA time zone`},
		{"store url", func(c *Config) { s := c.Stores["Shop_B"]; s.URL = "shop-b.example"; c.Stores["Shop_B"] = s }, []string{b + ".url"}, ""},
		{"store templates dir", func(c *Config) {
			s := c.Stores["Shop_B"]
			s.Templates.Dir = filepath.Join(c.Templates.Dir, "missing")
			c.Stores["Shop_B"] = s
		}, []string{b + ".templates.dir"}, "is not a directory"},
		{"store template in no folder", func(c *Config) { c.Stores["shop-a.myshopify.com"].Sequence[1].Template = "nowhere" },
			[]string{a + ".sequence[1].template", a + ".sequence[1].template", a + ".sequence[1].template"}, "nowhere.subject.tmpl is missing"},
		{"another store's folder does not count", func(c *Config) {
			s := c.Stores["Shop_B"]
			s.Sequence = seq("a-first")
			c.Stores["Shop_B"] = s
		}, []string{b + ".sequence[0].template", b + ".sequence[0].template", b + ".sequence[0].template"}, "a-first.subject.tmpl is missing"},
		{"store sequence delay", func(c *Config) { c.Stores["shop-a.myshopify.com"].Sequence[1].Delay = 45 * time.Minute },
			[]string{a + ".sequence[1].delay"}, ""},
		{"store segments", func(c *Config) {
			s := c.Stores[CatchAll]
			s.Segments = []Segment{
				{Name: "eu", When: When{Currencies: []string{"eur"}}, Sequence: seq("c-first")},
				{Name: "eu", When: When{Countries: []string{"ES"}}, Sequence: seq("c-first", "b-first")},
				{Name: "late", Sequence: seq("c-first")},
				{Name: "never", When: When{MinItems: 1}, Sequence: seq("c-first")},
			}
			s.Segments[1].Sequence[1].Delay = time.Hour
			c.Stores[CatchAll] = s
		}, []string{"stores.*.segments[0].when.currencies[0]", "stores.*.segments[1].name", "stores.*.segments[1].sequence[1].delay",
			"stores.*.segments[3]"}, "stores.*.segments[3]: is never chosen: stores.*.segments[2] before it"},
		{"store segment template in its folder", func(c *Config) {
			s := c.Stores["shop-a.myshopify.com"]
			s.Segments = []Segment{{Name: "own", When: When{MinItems: 2}, Sequence: seq("a-first", "first-reminder")}}
			c.Stores["shop-a.myshopify.com"] = s
		}, nil, ""},
		{"store segment template in no folder", func(c *Config) {
			s := c.Stores["Shop_B"]
			s.Segments = []Segment{{Name: "own", When: When{MinItems: 2}, Sequence: seq("a-first")}}
			c.Stores["Shop_B"] = s
		}, []string{b + ".segments[0].sequence[0].template", b + ".segments[0].sequence[0].template", b + ".segments[0].sequence[0].template"}, ""},
		{"store unique code without credentials", func(c *Config) {
			s := c.Stores["shop-a.myshopify.com"]
			s.Platforms.Shopify.AdminToken = ""
			c.Stores["shop-a.myshopify.com"] = s
		}, []string{a + ".segments[0].sequence[1].discount"}, "is unique, and Shopify webhooks come in"},
		{"store without segments has no unique code", func(c *Config) {
			s := c.Stores["Shop_B"]
			s.Platforms.Shopify.Secret = "sb-secret"
			c.Stores["Shop_B"] = s
		}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := sgBase(t)
			tc.mod(&c)
			err := c.Validate()
			if got := sgErrKeys(err); !slices.Equal(got, tc.want) {
				t.Fatalf("error keys %q, want %q; error:\n%v", got, tc.want, err)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

// TestValidateTopLevelUniqueInSegment: a unique discount in a segment
// needs the credentials of every platform whose webhooks come in, like one
// in the sequence.
func TestValidateTopLevelUniqueInSegment(t *testing.T) {
	c, _ := sgBase(t)
	c.Platforms.Shopify.Secret = "top-shopify-secret"
	err := c.Validate()
	got := sgErrKeys(err)
	// the top level, and each store that runs the segment with the top
	// level's Shopify settings (the catch-all; Shop_B runs none; shop A
	// has its own token)
	want := []string{"segments[0].sequence[1].discount"}
	if !slices.Equal(got, want) {
		t.Fatalf("error keys %q, want %q; error:\n%v", got, want, err)
	}
}

func TestSegmentNotes(t *testing.T) {
	c, _ := sgBase(t)
	notes := c.Notes()
	want := []string{"segments[0] (high-value) and segments[1] (spanish) can match the same cart: the first one wins it"}
	if !slices.Equal(notes, want) {
		t.Fatalf("notes %q, want %q", notes, want)
	}

	// disjoint: returning and new customers
	c.Segments[1].When.Customer = "new"
	if notes := c.Notes(); len(notes) != 0 {
		t.Errorf("new vs returning noted: %q", notes)
	}
	c.Segments[1].When.Customer = ""
	// disjoint: [100, ∞) and [0, 100)
	c.Segments[1].When.MaxTotal = "100"
	if notes := c.Notes(); len(notes) != 0 {
		t.Errorf("[100,∞) vs [0,100) noted: %q", notes)
	}
	c.Segments[1].When.MaxTotal = "100.01"
	if notes := c.Notes(); len(notes) != 1 {
		t.Errorf("[100,∞) vs [0,100.01) not noted: %q", notes)
	}
	c.Segments[1].When.MaxTotal = ""
	// disjoint currencies
	c.Segments[1].When.Currencies = []string{"GBP"}
	if notes := c.Notes(); len(notes) != 0 {
		t.Errorf("EUR/USD vs GBP noted: %q", notes)
	}

	// a store's own segments, named with the store
	s := c.Stores["Shop_B"]
	s.Segments = []Segment{
		{Name: "es", When: When{Locales: []string{"es"}}},
		{Name: "mx", When: When{Locales: []string{"es-MX"}}},
		{Name: "fr", When: When{Locales: []string{"fr"}}},
	}
	c.Stores["Shop_B"] = s
	want = []string{"stores.Shop_B.segments[0] (es) and stores.Shop_B.segments[1] (mx) can match the same cart: the first one wins it"}
	if notes := c.Notes(); !slices.Equal(notes, want) {
		t.Errorf("store notes %q, want %q", notes, want)
	}
	// a catch-all first is an error (Validate), not a note
	s.Segments = []Segment{{Name: "all"}, {Name: "es", When: When{Locales: []string{"es"}}}}
	c.Stores["Shop_B"] = s
	if notes := c.Notes(); len(notes) != 0 {
		t.Errorf("catch-all first noted: %q", notes)
	}
}

func TestPlaybooks(t *testing.T) {
	c, _ := sgBase(t)
	pbs := c.Playbooks()
	if len(pbs) != 3 {
		t.Fatalf("playbooks for %d stores, want 3 (\"\", shop-a, Shop_B)", len(pbs))
	}
	if _, ok := pbs[CatchAll]; ok {
		t.Error(`a playbook keyed "*"`)
	}
	def := pbs[""]
	if len(def.Steps) != 2 || def.Steps[0].Name != "first-reminder" || len(def.Segments) != 1 || def.Segments[0].Name != "catch" ||
		def.Segments[0].Holdout != -1 || !def.Segments[0].When.IsZero() || def.Segments[0].Steps[0].Template != "c-first" {
		t.Errorf(`"" (the catch-all's): %+v`, def)
	}
	a := pbs["shop-a.myshopify.com"]
	if len(a.Steps) != 2 || a.Steps[0].Name != "a-first" || a.Steps[0].Delay != 45*time.Minute || len(a.Segments) != 2 {
		t.Fatalf("shop-a: %+v", a)
	}
	hv, es := a.Segments[0], a.Segments[1]
	if hv.Name != "high-value" || hv.Holdout != 5 || hv.When.MinTotal != "100" || !slices.Equal(hv.When.Currencies, []string{"EUR", "USD"}) ||
		hv.When.Customer != recovery.CustomerReturning || len(hv.Steps) != 2 || hv.Steps[1].Template != "hv-offer" ||
		!hv.Steps[1].Discount.Unique || hv.Steps[1].Discount.Percent != "15" {
		t.Errorf("shop-a high-value %+v", hv)
	}
	if es.Name != "spanish" || es.Holdout != -1 || es.When.EmailConsent != recovery.ConsentYes || es.When.MaxItems != 3 {
		t.Errorf("shop-a spanish %+v", es)
	}
	if !a.NeedsHistory() {
		t.Error("shop-a: a returning segment needs history")
	}
	b := pbs["Shop_B"]
	if len(b.Steps) != 2 || b.Steps[0].Name != "first-reminder" || len(b.Segments) != 0 || b.NeedsHistory() {
		t.Errorf("Shop_B: %+v", b)
	}
	// the playbook chooses as configured
	ev := recovery.Event{Cart: recovery.Cart{Total: "150", Currency: "eur"}, Customer: recovery.Customer{Locale: "es-ES", EmailConsent: true}}
	if got := a.Choose(ev, true); got != "high-value" {
		t.Errorf("shop-a chose %q for a returning customer's 150 EUR", got)
	}
	if got := a.Choose(ev, false); got != "spanish" {
		t.Errorf("shop-a chose %q for a new Spanish customer", got)
	}
	if got := def.Choose(ev, false); got != "catch" {
		t.Errorf("catch-all chose %q", got)
	}

	// without a catch-all, "" is the top level's
	delete(c.Stores, CatchAll)
	pbs = c.Playbooks()
	if len(pbs) != 3 || len(pbs[""].Segments) != 2 || pbs[""].Segments[0].Holdout != 5 || pbs[""].Steps[0].Name != "first-reminder" {
		t.Errorf(`no catch-all: "" is %+v`, pbs[""])
	}
	// without stores, "" alone
	c.Stores = nil
	pbs = c.Playbooks()
	if len(pbs) != 1 || len(pbs[""].Segments) != 2 {
		t.Errorf("no stores: %+v", pbs)
	}
	// a holdout of 0 is kept as 0, not as unset
	zero := 0
	c.Segments[1].HoldoutPercent = &zero
	if h := c.Playbook().Segments[1].Holdout; h != 0 {
		t.Errorf("holdout_percent 0: Holdout %d", h)
	}
}

// TestTopLevelSegmentsEmpty: segments: [] at the top level loads as none
// and validates.
func TestTopLevelSegmentsEmpty(t *testing.T) {
	d := sgMakeDirs(t)
	c, err := sgLoad(t, `templates: {dir: "`+d.shared+`"}
segments: []
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Segments) != 0 || len(c.Playbook().Segments) != 0 {
		t.Errorf("segments %+v", c.Segments)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
}

// TestStoreEmptySequence: a store's sequence: [] (or none) keeps the top
// level's, unlike segments: [], which means none.
func TestStoreEmptySequence(t *testing.T) {
	d := sgMakeDirs(t)
	c, err := sgLoad(t, `templates: {dir: "`+d.shared+`"}
segments:
  - name: big
    when: {min_items: 5}
    sequence: [{name: b-first, delay: 1h, channels: [email]}]
stores:
  Shop.One: {sequence: [], segments: []}
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	pb := c.Playbooks()["Shop.One"]
	if len(pb.Steps) != 3 || pb.Steps[0].Name != "first-reminder" || pb.Steps[2].Name != "last-chance" {
		t.Errorf("sequence: [] steps %+v, want the top level's three", pb.Steps)
	}
	if len(pb.Segments) != 0 {
		t.Errorf("segments: [] kept %+v", pb.Segments)
	}
	if top := c.Playbooks()[""]; len(top.Segments) != 1 || top.Segments[0].Name != "big" {
		t.Errorf(`"" segments %+v`, top.Segments)
	}
}

// TestValidateAgencyStores: an app's secret shared at the top level, each
// listed store with its own Admin API token and no catch-all: a unique
// code is checked against each store's API, not the top level's (which
// serves no store); a store without its own API is named.
func TestValidateAgencyStores(t *testing.T) {
	dir := sgTemplates(t, t.TempDir(), "first-reminder")
	base := `templates: {dir: "` + dir + `"}
platforms: {shopify: {secret: app-secret}}
sequence:
  - {name: first-reminder, delay: 1h, channels: [email], discount: {type: unique, percent: "10", expires_after: 48h}}
stores:
  a.myshopify.com: {name: A, platforms: {shopify: {admin_token: shpat_a}}}
  b.myshopify.com: {name: B, platforms: {shopify: {admin_token: shpat_b}}}
`
	c, err := sgLoad(t, base)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("the agency setup is refused: %v", err)
	}
	c, err = sgLoad(t, strings.Replace(base, `{name: B, platforms: {shopify: {admin_token: shpat_b}}}`, `{name: B, platforms: {shopify: {secret: b-secret}}}`, 1))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "stores.b.myshopify.com.sequence[0].discount: is unique, and Shopify webhooks come in") ||
		strings.Contains(err.Error(), "stores.a.myshopify.com") || strings.Contains(err.Error(), "\nsequence[0]") || strings.HasPrefix(err.Error(), "sequence[0]") {
		t.Errorf("a store without its own API: %v", err)
	}
}

// TestStoreIDWithPort: a WooCommerce shop on a port is the store
// host_port, as its webhooks name it; host:port in the file is taken for it.
func TestStoreIDWithPort(t *testing.T) {
	c, err := sgLoad(t, `stores:
  "shop.example:8443": {name: Port Shop}
`)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Stores["shop.example_8443"]; !ok || len(c.Stores) != 1 {
		t.Errorf("stores %v, want shop.example_8443", c.StoreIDs())
	}
}

// TestStoreSMSKeys: a store's SMS sender is a number or a Messaging
// Service; its HELP text needs that sender and fits two segments.
func TestStoreSMSKeys(t *testing.T) {
	for _, c := range []struct{ store, want string }{
		{`{sms_from: "+15005550007", sms_help_text: "Shop A: reply STOP to opt out"}`, ""},
		{`{sms_from: "MG0123456789abcdef0123456789abcdef"}`, ""},
		{`{sms_from: "0600"}`, "stores.a.sms_from"},
		{`{sms_help_text: "help"}`, "stores.a.sms_help_text: answers HELP sent to the store's own number"},
		{`{sms_from: "+15005550007", sms_help_text: "` + strings.Repeat("x", 321) + `"}`, "stores.a.sms_help_text: is 321 characters"},
	} {
		dir := sgTemplates(t, t.TempDir(), "first-reminder", "second-reminder", "last-chance")
		cfg, err := sgLoad(t, `templates: {dir: "`+dir+`"}`+"\nstores:\n  a: "+c.store+"\n")
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.store, err, c.want)
		}
	}
}
