package config

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// pfBase is the built-in configuration with its templates in place: it
// validates with no error, so any error a case gets is the case's own. It
// loads an explicit (near empty) file, so the working directory does not
// matter.
func pfBase(t *testing.T) Config {
	t.Helper()
	c, _, err := Load(writeFile(t, "log: {level: info}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.Templates.Dir = templatesDir(t)
	if err := c.Validate(); err != nil {
		t.Fatalf("base config is not valid: %v", err)
	}
	return c
}

// pfCopy copies c deeply enough for a case to change its steps.
func pfCopy(c Config) Config {
	c.Sequence = slices.Clone(c.Sequence)
	for i := range c.Sequence {
		c.Sequence[i].Channels = slices.Clone(c.Sequence[i].Channels)
		c.Sequence[i].Variants = slices.Clone(c.Sequence[i].Variants)
	}
	c.Rules.QuietHours.Channels = slices.Clone(c.Rules.QuietHours.Channels)
	c.Store.AllowedHosts = slices.Clone(c.Store.AllowedHosts)
	return c
}

// pfKeys is the key each line of a Validate error names ("key: problem").
func pfKeys(err error) []string {
	if err == nil {
		return nil
	}
	var keys []string
	for _, l := range strings.Split(err.Error(), "\n") {
		k, _, _ := strings.Cut(l, ": ")
		keys = append(keys, k)
	}
	return keys
}

// pfCheck asserts that err has exactly one line per key in want (in any
// order), or is nil when want is empty, and that it mentions every string
// in msgs.
func pfCheck(t *testing.T, err error, want []string, msgs ...string) {
	t.Helper()
	got := pfKeys(err)
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Fatalf("error keys %q, want %q; error: %v", got, w, err)
	}
	for _, m := range msgs {
		if err == nil || !strings.Contains(err.Error(), m) {
			t.Errorf("error %v does not mention %q", err, m)
		}
	}
}

func pfUnique() Discount {
	return Discount{Type: "unique", Percent: "10", ExpiresAfter: 72 * time.Hour, Prefix: "BACK-", Label: "10% off"}
}

// TestDiscountValidation: each discount rule, at a step and in a variant;
// the error names exactly the offending key.
func TestDiscountValidation(t *testing.T) {
	base := pfBase(t)
	u := func(mod func(*Discount)) Discount {
		d := pfUnique()
		mod(&d)
		return d
	}
	tests := []struct {
		name string
		d    Discount
		key  string // after "<step or variant>.discount"; "" means valid
	}{
		{"unique percent 10", pfUnique(), ""},
		{"unique percent 100", u(func(d *Discount) { d.Percent = "100" }), ""},
		{"unique percent 0.5", u(func(d *Discount) { d.Percent = "0.5" }), ""},
		{"unique amount 5.00", u(func(d *Discount) { d.Percent, d.Amount = "", "5.00" }), ""},
		{"unique amount 5", u(func(d *Discount) { d.Percent, d.Amount = "", "5" }), ""},
		{"unique expires 1h", u(func(d *Discount) { d.ExpiresAfter = time.Hour }), ""},
		{"unique expires 8784h", u(func(d *Discount) { d.ExpiresAfter = 8784 * time.Hour }), ""},
		{"unique no prefix", u(func(d *Discount) { d.Prefix = "" }), ""},
		{"unique prefix 20 chars", u(func(d *Discount) { d.Prefix = strings.Repeat("A", 19) + "-" }), ""},
		{"unique no label", u(func(d *Discount) { d.Label = "" }), ""},
		{"static code", Discount{Type: "static", Code: "SAVE5", Label: "5 off"}, ""},
		{"untyped code", Discount{Code: "SAVE5", Label: "5 off"}, ""},
		{"none", Discount{}, ""},

		{"both percent and amount", u(func(d *Discount) { d.Amount = "5.00" }), ".percent"},
		{"neither percent nor amount", u(func(d *Discount) { d.Percent = "" }), ".percent"},
		{"percent 0", u(func(d *Discount) { d.Percent = "0" }), ".percent"},
		{"percent 0.00", u(func(d *Discount) { d.Percent = "0.00" }), ".percent"},
		{"percent 101", u(func(d *Discount) { d.Percent = "101" }), ".percent"},
		{"percent 100.01", u(func(d *Discount) { d.Percent = "100.01" }), ".percent"},
		{"percent 1e2", u(func(d *Discount) { d.Percent = "1e2" }), ".percent"},
		{"percent -5", u(func(d *Discount) { d.Percent = "-5" }), ".percent"},
		{"percent abc", u(func(d *Discount) { d.Percent = "abc" }), ".percent"},
		{"percent 10%", u(func(d *Discount) { d.Percent = "10%" }), ".percent"},
		{"amount 0", u(func(d *Discount) { d.Percent, d.Amount = "", "0" }), ".amount"},
		{"amount -5", u(func(d *Discount) { d.Percent, d.Amount = "", "-5" }), ".amount"},
		{"amount 5,00", u(func(d *Discount) { d.Percent, d.Amount = "", "5,00" }), ".amount"},
		{"amount 1/2", u(func(d *Discount) { d.Percent, d.Amount = "", "1/2" }), ".amount"},
		{"expires_after 0", u(func(d *Discount) { d.ExpiresAfter = 0 }), ".expires_after"},
		{"expires_after 30m", u(func(d *Discount) { d.ExpiresAfter = 30 * time.Minute }), ".expires_after"},
		{"expires_after 9000h", u(func(d *Discount) { d.ExpiresAfter = 9000 * time.Hour }), ".expires_after"},
		{"prefix lower case", u(func(d *Discount) { d.Prefix = "back-" }), ".prefix"},
		{"prefix 21 chars", u(func(d *Discount) { d.Prefix = strings.Repeat("A", 21) }), ".prefix"},
		{"prefix underscore", u(func(d *Discount) { d.Prefix = "BACK_" }), ".prefix"},
		{"unique with code", u(func(d *Discount) { d.Code = "SAVE10" }), ".code"},
		{"static with percent", Discount{Type: "static", Code: "SAVE10", Percent: "10"}, ".percent"},
		{"static with amount", Discount{Type: "static", Code: "SAVE10", Amount: "5"}, ".amount"},
		{"static with expires_after", Discount{Type: "static", Code: "SAVE10", ExpiresAfter: time.Hour}, ".expires_after"},
		{"untyped with prefix", Discount{Code: "SAVE10", Prefix: "BACK-"}, ".prefix"},
		{"static label without code", Discount{Type: "static", Label: "10% off"}, ".code"},
		{"unknown type", Discount{Type: "coupon", Code: "SAVE10"}, ".type"},
		{"type in capitals", u(func(d *Discount) { d.Type = "Unique" }), ".type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, at := range []struct {
				key string
				set func(*Config)
			}{
				{"sequence[1].discount", func(c *Config) { c.Sequence[1].Discount = tc.d }},
				{"sequence[0].variants[0].discount", func(c *Config) {
					c.Sequence[0].Variants = []Variant{{Name: "b", Template: "last-chance", Weight: 30, Discount: tc.d}}
				}},
				{"sequence[2].variants[1].discount", func(c *Config) {
					c.Sequence[2].Variants = []Variant{{Name: "b", Template: "first-reminder", Weight: 30},
						{Name: "c", Template: "second-reminder", Weight: 30, Discount: tc.d}}
				}},
			} {
				c := pfCopy(base)
				at.set(&c)
				var want []string
				if tc.key != "" {
					want = []string{at.key + tc.key}
				}
				t.Run(at.key, func(t *testing.T) { pfCheck(t, c.Validate(), want) })
			}
		})
	}
}

// TestUniqueDiscountNeedsPlatformCredentials: a unique discount with a
// platform's webhook secret set but not its API credentials is an error on
// the discount's key naming the credential keys; with the credentials, or
// without a unique discount, there is none.
func TestUniqueDiscountNeedsPlatformCredentials(t *testing.T) {
	base := pfBase(t)
	const (
		shopifyKeys = "platforms.shopify.shop and platforms.shopify.admin_token"
		wooKeys     = "platforms.woocommerce.url, consumer_key and consumer_secret"
		bcKeys      = "platforms.bigcommerce.store_hash, access_token and promotion_id"
		genericKeys = "platforms.generic.discount_url"
	)
	shopify := func(c *Config) { c.Platforms.Shopify.Secret = "shpss_webhook" }
	shopifyAPI := func(c *Config) {
		c.Platforms.Shopify.Shop, c.Platforms.Shopify.AdminToken = "shop-a.myshopify.com", "shpat_0123456789"
	}
	woo := func(c *Config) { c.Platforms.WooCommerce.Secret = "woo-webhook" }
	wooAPI := func(c *Config) {
		w := &c.Platforms.WooCommerce
		w.URL, w.ConsumerKey, w.ConsumerSecret = "https://shop.example", "ck_0123", "cs_0123"
	}
	bc := func(c *Config) { c.Platforms.BigCommerce.ClientSecret = "bc-client-secret" }
	bcAPI := func(c *Config) {
		c.Platforms.BigCommerce.StoreHash, c.Platforms.BigCommerce.AccessToken = "abc123", "bc-access-token"
	}
	bcPromo := func(c *Config) { c.Platforms.BigCommerce.PromotionID = "7" }
	generic := func(c *Config) { c.Platforms.Generic.Secret = "generic-secret" }
	genericAPI := func(c *Config) { c.Platforms.Generic.DiscountURL = "https://shop.example/cartrecovery/codes" }

	uniqueAtStep := func(c *Config) { c.Sequence[1].Discount = pfUnique() }
	uniqueInVariant := func(c *Config) {
		c.Sequence[2].Variants = []Variant{{Name: "b", Template: "first-reminder", Weight: 30, Discount: pfUnique()}}
	}
	const stepKey, variantKey = "sequence[1].discount", "sequence[2].variants[0].discount"

	tests := []struct {
		name string
		mods []func(*Config)
		want []string
		msgs []string
	}{
		{"shopify secret, no admin_token", []func(*Config){uniqueAtStep, shopify}, []string{stepKey},
			[]string{"platforms.shopify.secret is set", shopifyKeys}},
		{"shopify with credentials", []func(*Config){uniqueAtStep, shopify, shopifyAPI}, nil, nil},
		{"woocommerce secret, no REST key", []func(*Config){uniqueAtStep, woo}, []string{stepKey},
			[]string{"platforms.woocommerce.secret is set", wooKeys}},
		{"woocommerce with credentials", []func(*Config){uniqueAtStep, woo, wooAPI}, nil, nil},
		{"bigcommerce client_secret, no API account", []func(*Config){uniqueAtStep, bc}, []string{stepKey},
			[]string{"platforms.bigcommerce.client_secret is set", bcKeys}},
		{"bigcommerce without promotion_id", []func(*Config){uniqueAtStep, bc, bcAPI}, []string{stepKey}, []string{bcKeys}},
		{"bigcommerce with credentials", []func(*Config){uniqueAtStep, bc, bcAPI, bcPromo}, nil, nil},
		{"generic secret, no discount_url", []func(*Config){uniqueAtStep, generic}, []string{stepKey},
			[]string{"platforms.generic.secret is set", genericKeys}},
		{"generic with discount_url", []func(*Config){uniqueAtStep, generic, genericAPI}, nil, nil},
		{"in a variant", []func(*Config){uniqueInVariant, shopify}, []string{variantKey}, []string{shopifyKeys}},
		{"in a variant, with credentials", []func(*Config){uniqueInVariant, shopify, shopifyAPI}, nil, nil},
		{"two platforms without credentials", []func(*Config){uniqueAtStep, shopify, generic, woo, wooAPI},
			[]string{stepKey, stepKey}, []string{shopifyKeys, genericKeys}},
		{"all four with credentials", []func(*Config){uniqueAtStep, shopify, shopifyAPI, woo, wooAPI, bc, bcAPI, bcPromo, generic, genericAPI}, nil, nil},
		{"no unique discount, no credentials", []func(*Config){shopify, woo, bc, generic}, nil, nil},
		{"static discount, no credentials", []func(*Config){shopify, woo, bc, generic, func(c *Config) {
			c.Sequence[0].Discount = Discount{Type: "static", Code: "SAVE5", Label: "5 off"}
		}}, nil, nil},
		{"unique discount, no webhook secrets", []func(*Config){uniqueAtStep}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := pfCopy(base)
			for _, m := range tc.mods {
				m(&c)
			}
			pfCheck(t, c.Validate(), tc.want, tc.msgs...)
		})
	}
}

// TestPlatformCredentials: each platform's API settings, and the rules for
// the check before a send.
func TestPlatformCredentials(t *testing.T) {
	base := pfBase(t)
	shop := func(c *Config) *shopify.Config { return &c.Platforms.Shopify }
	woo := func(c *Config) *woocommerce.Config { return &c.Platforms.WooCommerce }
	bc := func(c *Config) *bigcommerce.Config { return &c.Platforms.BigCommerce }
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" means valid
	}{
		// Shopify
		{"shopify shop and admin_token", func(c *Config) { shop(c).Shop, shop(c).AdminToken = "shop-a.myshopify.com", "shpat_x" }, ""},
		{"shopify shop without admin_token", func(c *Config) { shop(c).Shop = "shop-a.myshopify.com" }, "platforms.shopify.admin_token"},
		{"shopify admin_token without shop", func(c *Config) { shop(c).AdminToken = "shpat_x" }, "platforms.shopify.admin_token"},
		{"shopify shop not a host", func(c *Config) { shop(c).Shop, shop(c).AdminToken = "not a host!", "shpat_x" }, "platforms.shopify.shop"},
		{"shopify shop as a URL", func(c *Config) { shop(c).Shop, shop(c).AdminToken = "https://shop-a.myshopify.com", "shpat_x" }, "platforms.shopify.shop"},
		{"shopify api_url http, not loopback", func(c *Config) {
			shop(c).Shop, shop(c).AdminToken, shop(c).APIURL = "shop-a.myshopify.com", "shpat_x", "http://example.com"
		}, "platforms.shopify.api_url"},
		{"shopify api_url http loopback", func(c *Config) {
			shop(c).Shop, shop(c).AdminToken, shop(c).APIURL = "shop-a.myshopify.com", "shpat_x", "http://127.0.0.1:9"
		}, ""},
		{"shopify api_url http localhost", func(c *Config) {
			shop(c).Shop, shop(c).AdminToken, shop(c).APIURL = "shop-a.myshopify.com", "shpat_x", "http://localhost:9"
		}, ""},
		{"shopify api_url http [::1]", func(c *Config) {
			shop(c).Shop, shop(c).AdminToken, shop(c).APIURL = "shop-a.myshopify.com", "shpat_x", "http://[::1]:9"
		}, ""},
		{"shopify api_url https", func(c *Config) {
			shop(c).Shop, shop(c).AdminToken, shop(c).APIURL = "shop-a.myshopify.com", "shpat_x", "https://proxy.example"
		}, ""},
		{"shopify api_url no scheme", func(c *Config) {
			shop(c).Shop, shop(c).AdminToken, shop(c).APIURL = "shop-a.myshopify.com", "shpat_x", "proxy.example"
		}, "platforms.shopify.api_url"},

		// WooCommerce
		{"woocommerce complete", func(c *Config) {
			woo(c).URL, woo(c).ConsumerKey, woo(c).ConsumerSecret = "https://shop.example", "ck_x", "cs_x"
		}, ""},
		{"woocommerce without consumer_secret", func(c *Config) {
			woo(c).URL, woo(c).ConsumerKey = "https://shop.example", "ck_x"
		}, "platforms.woocommerce.consumer_key"},
		{"woocommerce consumer_secret alone", func(c *Config) { woo(c).ConsumerSecret = "cs_x" }, "platforms.woocommerce.consumer_key"},
		{"woocommerce url http", func(c *Config) {
			woo(c).URL, woo(c).ConsumerKey, woo(c).ConsumerSecret = "http://shop.example", "ck_x", "cs_x"
		}, "platforms.woocommerce.url"},
		{"woocommerce url http localhost", func(c *Config) {
			woo(c).URL, woo(c).ConsumerKey, woo(c).ConsumerSecret = "http://localhost:8080", "ck_x", "cs_x"
		}, ""},
		{"woocommerce url ftp", func(c *Config) {
			woo(c).URL, woo(c).ConsumerKey, woo(c).ConsumerSecret = "ftp://shop.example", "ck_x", "cs_x"
		}, "platforms.woocommerce.url"},

		// BigCommerce
		{"bigcommerce promotion_id 7", func(c *Config) { bc(c).PromotionID = "7" }, ""},
		{"bigcommerce promotion_id abc", func(c *Config) { bc(c).PromotionID = "abc" }, "platforms.bigcommerce.promotion_id"},
		{"bigcommerce promotion_id -7", func(c *Config) { bc(c).PromotionID = "-7" }, "platforms.bigcommerce.promotion_id"},
		{"bigcommerce api_url http", func(c *Config) {
			bc(c).StoreHash, bc(c).AccessToken, bc(c).APIURL = "abc123", "tok", "http://api.bigcommerce.com"
		}, "platforms.bigcommerce.api_url"},
		{"bigcommerce api_url loopback", func(c *Config) {
			bc(c).StoreHash, bc(c).AccessToken, bc(c).APIURL = "abc123", "tok", "http://127.0.0.1:9"
		}, ""},

		// generic
		{"generic discount_url https", func(c *Config) { c.Platforms.Generic.DiscountURL = "https://shop.example/codes" }, ""},
		{"generic discount_url ftp", func(c *Config) { c.Platforms.Generic.DiscountURL = "ftp://x" }, "platforms.generic.discount_url"},
		{"generic discount_url http", func(c *Config) { c.Platforms.Generic.DiscountURL = "http://shop.example/codes" }, "platforms.generic.discount_url"},

		// rules
		{"platform_check on", func(c *Config) { c.Rules.PlatformCheck = "on" }, ""},
		{"platform_check strict", func(c *Config) { c.Rules.PlatformCheck = "strict" }, ""},
		{"platform_check off", func(c *Config) { c.Rules.PlatformCheck = "off" }, ""},
		{"platform_check maybe", func(c *Config) { c.Rules.PlatformCheck = "maybe" }, "rules.platform_check"},
		{"platform_check empty", func(c *Config) { c.Rules.PlatformCheck = "" }, "rules.platform_check"},
		{"platform_check_timeout 5s", func(c *Config) { c.Rules.PlatformCheckTimeout = 5 * time.Second }, ""},
		{"platform_check_timeout 100ms", func(c *Config) { c.Rules.PlatformCheckTimeout = 100 * time.Millisecond }, ""},
		{"platform_check_timeout 1m", func(c *Config) { c.Rules.PlatformCheckTimeout = time.Minute }, ""},
		{"platform_check_timeout 50ms", func(c *Config) { c.Rules.PlatformCheckTimeout = 50 * time.Millisecond }, "rules.platform_check_timeout"},
		{"platform_check_timeout 2m", func(c *Config) { c.Rules.PlatformCheckTimeout = 2 * time.Minute }, "rules.platform_check_timeout"},
		{"platform_check_timeout 0", func(c *Config) { c.Rules.PlatformCheckTimeout = 0 }, "rules.platform_check_timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := pfCopy(base)
			tc.mod(&c)
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			pfCheck(t, c.Validate(), want)
		})
	}
}

func TestDiscountDomain(t *testing.T) {
	u := pfUnique()
	want := recovery.Discount{Unique: true, Percent: "10", ExpiresAfter: 72 * time.Hour, Prefix: "BACK-", Label: "10% off"}
	if got := u.Domain(); got != want {
		t.Errorf("unique Domain() = %+v, want %+v", got, want)
	}
	amount := Discount{Type: "unique", Amount: "5.00", ExpiresAfter: time.Hour}
	if got := amount.Domain(); got != (recovery.Discount{Unique: true, Amount: "5.00", ExpiresAfter: time.Hour}) {
		t.Errorf("amount Domain() = %+v", got)
	}
	for _, typ := range []string{"", "static"} {
		d := Discount{Type: typ, Code: "SAVE5", Label: "5 off"}
		if got := d.Domain(); got != (recovery.Discount{Code: "SAVE5", Label: "5 off"}) || got.Unique || d.Unique() {
			t.Errorf("type %q: Domain() = %+v", typ, got)
		}
	}
	if !(Discount{}).Domain().IsZero() {
		t.Error("an empty discount is not zero")
	}

	c := pfCopy(pfBase(t))
	c.Sequence[0].Variants = []Variant{{Name: "b", Template: "last-chance", Weight: 30, Discount: u},
		{Name: "c", Template: "second-reminder", Weight: 20}}
	c.Sequence[2].Discount = Discount{Type: "unique", Amount: "5.00", ExpiresAfter: 48 * time.Hour, Prefix: "LAST-"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	steps := c.Steps()
	if len(steps) != 3 || len(steps[0].Variants) != 2 {
		t.Fatalf("steps %+v", steps)
	}
	if got := steps[0].Variants[0].Discount; got != want {
		t.Errorf("variant b discount %+v, want %+v", got, want)
	}
	if got := steps[0].Variants[1].Discount; !got.IsZero() {
		t.Errorf("variant c discount %+v, want none", got)
	}
	if got := steps[0].Discount; !got.IsZero() {
		t.Errorf("step 0 discount %+v, want none", got)
	}
	if got := steps[1].Discount; got != (recovery.Discount{Code: "COMEBACK10", Label: "10% off"}) {
		t.Errorf("step 1 discount %+v", got)
	}
	if got := steps[2].Discount; got != (recovery.Discount{Unique: true, Amount: "5.00", ExpiresAfter: 48 * time.Hour, Prefix: "LAST-"}) {
		t.Errorf("step 2 discount %+v", got)
	}
}

func TestLogValueMasksPlatformCredentials(t *testing.T) {
	c := pfCopy(pfBase(t))
	p := &c.Platforms
	p.Shopify = shopify.Config{Secret: "SHOPIFYWEBHOOKSECRET", Shop: "shop-a.myshopify.com", AdminToken: "SHOPIFYADMINTOKEN", APIURL: "http://127.0.0.1:9"}
	p.WooCommerce = woocommerce.Config{Secret: "WOOWEBHOOKSECRET", URL: "https://woo.example", ConsumerKey: "WOOCONSUMERKEY", ConsumerSecret: "WOOCONSUMERSECRET"}
	p.BigCommerce = bigcommerce.Config{ClientSecret: "BCCLIENTSECRET", StoreHash: "abc123", AccessToken: "BCACCESSTOKEN",
		APIURL: "https://api.bigcommerce.com", PromotionID: "4242"}
	p.Generic = generic.Config{Secret: "GENERICSECRET", DiscountURL: "https://hook:GENERICURLPASS@shop.example/codes"}
	c.Sequence[1].Discount = pfUnique()
	if err := c.Validate(); err != nil {
		t.Fatalf("the logged config should be valid: %v", err)
	}
	secrets := []string{"SHOPIFYWEBHOOKSECRET", "SHOPIFYADMINTOKEN", "WOOWEBHOOKSECRET", "WOOCONSUMERKEY", "WOOCONSUMERSECRET",
		"BCCLIENTSECRET", "BCACCESSTOKEN", "GENERICSECRET", "GENERICURLPASS"}
	shown := []string{
		`"shopify.secret":"***"`, `"shopify.admin_token":"***"`, `"shopify.shop":"shop-a.myshopify.com"`,
		`"shopify.api_url":"http://127.0.0.1:9"`,
		`"woocommerce.secret":"***"`, `"woocommerce.consumer_key":"***"`, `"woocommerce.consumer_secret":"***"`,
		`"woocommerce.url":"https://woo.example"`,
		`"bigcommerce.client_secret":"***"`, `"bigcommerce.access_token":"***"`, `"bigcommerce.store_hash":"abc123"`,
		`"bigcommerce.promotion_id":"4242"`, `"bigcommerce.api_url":"https://api.bigcommerce.com"`,
		`"generic.secret":"***"`, `"generic.discount_url":"https://hook:***@shop.example/codes"`,
		`"platform_check":"on"`, `"platform_check_timeout":"5s"`,
	}
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("start", "config", c)
	out := b.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("log shows %s in clear: %s", s, out)
		}
	}
	for _, s := range shown {
		if !strings.Contains(out, s) {
			t.Errorf("log lacks %s: %s", s, out)
		}
	}
	// the text handler too (the default log.format)
	b.Reset()
	slog.New(slog.NewTextHandler(&b, nil)).Info("start", "config", c)
	out = b.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("text log shows %s in clear: %s", s, out)
		}
	}
	for _, s := range []string{"config.platforms.shopify.admin_token=***", "config.platforms.woocommerce.consumer_key=***",
		"config.platforms.bigcommerce.store_hash=abc123", "config.platforms.shopify.shop=shop-a.myshopify.com"} {
		if !strings.Contains(out, s) {
			t.Errorf("text log lacks %s: %s", s, out)
		}
	}
	// unset secrets show as empty, not as ***
	b.Reset()
	slog.New(slog.NewJSONHandler(&b, nil)).Info("start", "config", pfBase(t))
	if out := b.String(); !strings.Contains(out, `"shopify.admin_token":""`) || !strings.Contains(out, `"bigcommerce.access_token":""`) {
		t.Errorf("unset credentials: %s", out)
	}
}

// TestPlatformEnvOverrides: the new keys take CARTRECOVERY_* overrides,
// over the file's values.
func TestPlatformEnvOverrides(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CARTRECOVERY_PLATFORMS_SHOPIFY_ADMIN_TOKEN", "shpat_from_env")
	t.Setenv("CARTRECOVERY_PLATFORMS_WOOCOMMERCE_CONSUMER_SECRET", "cs_from_env")
	t.Setenv("CARTRECOVERY_PLATFORMS_BIGCOMMERCE_PROMOTION_ID", "99")
	t.Setenv("CARTRECOVERY_RULES_PLATFORM_CHECK", "strict")
	t.Setenv("CARTRECOVERY_RULES_PLATFORM_CHECK_TIMEOUT", "2s")
	c, _, err := Load(writeFile(t, `platforms:
  shopify: {shop: shop-a.myshopify.com, admin_token: shpat_from_file}
  woocommerce: {url: "https://woo.example", consumer_key: ck_file, consumer_secret: cs_file}
  bigcommerce: {promotion_id: "1"}
rules: {platform_check: "off"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Platforms.Shopify; got.AdminToken != "shpat_from_env" || got.Shop != "shop-a.myshopify.com" {
		t.Errorf("shopify %+v", got)
	}
	if got := c.Platforms.WooCommerce; got.ConsumerSecret != "cs_from_env" || got.ConsumerKey != "ck_file" || got.URL != "https://woo.example" {
		t.Errorf("woocommerce %+v", got)
	}
	if c.Platforms.BigCommerce.PromotionID != "99" || c.Rules.PlatformCheck != "strict" || c.Rules.PlatformCheckTimeout != 2*time.Second {
		t.Errorf("bigcommerce %+v, rules %+v", c.Platforms.BigCommerce, c.Rules)
	}
	c.Templates.Dir = templatesDir(t)
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	// a timeout without a unit is refused, naming the variable
	t.Setenv("CARTRECOVERY_RULES_PLATFORM_CHECK_TIMEOUT", "5")
	if _, _, err := Load(""); err == nil || !strings.Contains(err.Error(),
		"rules.platform_check_timeout: 5 has no unit; write 5s, 5m or 5h (from CARTRECOVERY_RULES_PLATFORM_CHECK_TIMEOUT)") {
		t.Errorf("bare number: %v", err)
	}
}

// TestPlatformDefaults: the built-in values of the new keys.
func TestPlatformDefaults(t *testing.T) {
	c := pfBase(t)
	if c.Rules.PlatformCheck != "on" || c.Rules.PlatformCheckTimeout != 5*time.Second ||
		c.Platforms.BigCommerce.APIURL != "https://api.bigcommerce.com" || c.uniqueDiscountKey() != "" {
		t.Errorf("%+v %+v", c.Rules, c.Platforms)
	}
}

// A platform's API address never carries a password (it would be logged
// and sent to the wrong place); the generic shop's own endpoint may, and
// it is masked in the log.
func TestAPIURLWithoutPassword(t *testing.T) {
	for _, c := range []struct {
		set  func(*Config)
		want []string
	}{
		{func(c *Config) { c.Platforms.Shopify.APIURL = "https://u:pw@proxy.example" }, []string{"platforms.shopify.api_url"}},
		{func(c *Config) {
			c.Platforms.WooCommerce = woocommerce.Config{URL: "https://ck:cs@shop.example", ConsumerKey: "ck", ConsumerSecret: "cs"}
		}, []string{"platforms.woocommerce.url"}},
		{func(c *Config) { c.Platforms.Generic.DiscountURL = "https://u:pw@shop.example/codes" }, nil},
		{func(c *Config) { c.Platforms.Shopify.APIURL = "http://LOCALHOST:9" }, nil},
	} {
		cfg := pfCopy(pfBase(t))
		c.set(&cfg)
		pfCheck(t, cfg.Validate(), c.want)
	}
}
