package server

import (
	"strings"
	"testing"

	"github.com/cartrecovery/cartrecovery/recovery"
)

func TestURLPolicy(t *testing.T) {
	shop := recovery.Shop{URL: "https://shop.example", AllowedHosts: []string{"cdn.images.test", "*.wild.test", "https://pay.test/x", "[::1]", "127.0.0.1:8080"}}
	p := newURLPolicy(shop)
	shopify := p.allow("acme.myshopify.com")
	local := newURLPolicy(recovery.Shop{URL: "http://localhost:3000"})
	tests := []struct {
		name   string
		policy urlPolicy
		url    string
		errHas string // "" = allowed
	}{
		{"store host", p, "https://shop.example/cart/c1?key=s", ""},
		{"store host, root", p, "https://shop.example", ""},
		{"subdomain", p, "https://www.shop.example/cart", ""},
		{"deep subdomain", p, "https://a.b.shop.example/cart", ""},
		{"allowed host", p, "https://cdn.images.test/i.png", ""},
		{"allowed host subdomain", p, "https://eu.cdn.images.test/i.png", ""},
		{"allowed wildcard entry", p, "https://x.wild.test/", ""},
		{"allowed wildcard entry, bare", p, "https://wild.test/", ""},
		{"allowed host given as URL", p, "https://pay.test/checkout", ""},
		{"uppercase host and scheme", p, "HTTPS://SHOP.EXAMPLE/Cart", ""},
		{"trailing dot", p, "https://shop.example./cart", ""},
		{"port on store host", p, "https://shop.example:8443/cart", ""},
		{"explicit 443", p, "https://shop.example:443/cart", ""},
		{"fragment", p, "https://shop.example/cart#top", ""},

		{"foreign host", p, "https://evil.com/", "host \"evil.com\""},
		{"store host as subdomain of evil", p, "https://shop.example.evil.com/", "host \"shop.example.evil.com\""},
		{"suffix without dot", p, "https://evilshop.example/", "host \"evilshop.example\""},
		{"parent of store host", p, "https://example/", "host \"example\""},
		{"userinfo look-alike", p, "https://shop.example@evil.com/", "user info"},
		{"userinfo with password", p, "https://user:pw@shop.example/", "user info"},
		{"port then userinfo", p, "https://shop.example:443@evil.com/", "user info"},
		{"backslash", p, "https://evil.com\\@shop.example/", "backslash"},
		{"backslash path", p, "https://shop.example\\.evil.com/", "backslash"},
		{"javascript", p, "javascript:alert(1)", "scheme \"javascript\""},
		{"javascript uppercase", p, "JavaScript://shop.example/%0aalert(1)", "scheme \"javascript\""},
		{"data", p, "data:text/html,<script>", "scheme \"data\""},
		{"scheme-relative", p, "//evil.com/", "absolute"},
		{"path only", p, "/cart/c1", "absolute"},
		{"opaque https", p, "https:evil.com", "absolute"},
		{"one slash", p, "https:/evil.com", "absolute"},
		{"three slashes", p, "https:///evil.com", "no valid host"},
		{"empty host with port", p, "https://:443/", "no valid host"},
		{"two trailing dots", p, "https://shop.example../", "no valid host"},
		{"percent-encoded dot in host", p, "https://shop.example%2eevil.com/", "not a valid URL"},
		{"percent-encoded IDN host", p, "https://sh%C3%B6p.example/", "percent-encode"},
		{"IDN look-alike", p, "https://shöp.example/", "punycode"},
		{"fullwidth dot", p, "https://shop。example/", "punycode"},
		{"punycode look-alike", p, "https://xn--shp-sna.example/", "host \"xn--shp-sna.example\""},
		{"foreign host with port", p, "https://evil.com:443/", "host \"evil.com\""},
		{"port out of range", p, "https://shop.example:99999/", "invalid port"},
		{"port zero", p, "https://shop.example:0/", "invalid port"},
		{"non-numeric port", p, "https://shop.example:x/", "not a valid URL"},
		{"space", p, "https://shop.example/ cart", "spaces"},
		{"newline", p, "https://shop.example/\nLocation: x", "control"},
		{"ftp", p, "ftp://shop.example/", "scheme \"ftp\""},
		{"http on store host", p, "http://shop.example/cart", "https"},
		{"IP that is not allowed", p, "https://10.0.0.1/", "host \"10.0.0.1\""},
		{"decimal IP", p, "https://2130706433/", "host \"2130706433\""},

		{"http on allowed loopback IPv6", p, "http://[::1]:8080/cart", ""},
		{"http on allowed loopback IPv4", p, "http://127.0.0.1:9999/cart", ""},
		{"loopback has no subdomains", p, "http://1.127.0.0.1/", "host \"1.127.0.0.1\""},
		{"localhost store over http", local, "http://localhost:3000/cart", ""},
		{"localhost store over https", local, "https://localhost/cart", ""},
		{"localhost. store over http", local, "http://localhost./cart", ""},
		{"localhost store, other host", local, "http://evil.com/", "host \"evil.com\""},
		{"localhost subdomain over http", local, "http://a.localhost/", "https"},
		{"localhost not allowed elsewhere", p, "http://localhost/cart", "host \"localhost\""},

		{"shopify shop domain", shopify, "https://acme.myshopify.com/1/checkouts/t/recover?key=k", ""},
		{"shopify shop subdomain", shopify, "https://checkout.acme.myshopify.com/", ""},
		{"shopify other shop", shopify, "https://other.myshopify.com/", "host \"other.myshopify.com\""},
		{"shopify look-alike", shopify, "https://evilacme.myshopify.com/", "host \"evilacme.myshopify.com\""},
		{"myshopify alone is not every shop", shopify, "https://myshopify.com/", "host \"myshopify.com\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.check(tc.url)
			switch {
			case tc.errHas == "" && err != nil:
				t.Fatalf("%q refused: %v", tc.url, err)
			case tc.errHas != "" && err == nil:
				t.Fatalf("%q allowed, want refused (%s)", tc.url, tc.errHas)
			case tc.errHas != "" && !strings.Contains(err.Error(), tc.errHas):
				t.Fatalf("%q: error %q does not say %q", tc.url, err, tc.errHas)
			}
			if err != nil && strings.Contains(err.Error(), "key=") {
				t.Fatalf("error echoes the query: %v", err)
			}
		})
	}
}

func TestURLPolicyNoStoreURLRefusesAll(t *testing.T) {
	p := newURLPolicy(recovery.Shop{})
	if err := p.check("https://anything.example/"); err == nil {
		t.Fatal("a policy with no hosts allowed a URL")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@evil.com/cart/1?key=secret#frag": "https://evil.com/cart/1",
		"https://shop.example":                        "https://shop.example",
		"https://shop.example/%zz":                    "(unparsable URL)",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskAddrAndClientKey(t *testing.T) {
	tests := []struct{ remote, masked, key string }{
		{"203.0.113.77:5555", "203.0.113.0/24", "203.0.113.77"},
		{"[2001:db8:1:2:3::4]:443", "2001:db8:1::/48", "2001:db8:1:2::/64"},
		{"[::ffff:198.51.100.9]:1", "198.51.100.0/24", "198.51.100.9"},
		{"[fe80::1%eth0]:80", "fe80::/48", "fe80::/64"},
		{"garbage", "unknown", "garbage"},
	}
	for _, tc := range tests {
		if got := maskAddr(tc.remote); got != tc.masked {
			t.Errorf("maskAddr(%q) = %q, want %q", tc.remote, got, tc.masked)
		}
		if got := clientKey(tc.remote); got != tc.key {
			t.Errorf("clientKey(%q) = %q, want %q", tc.remote, got, tc.key)
		}
	}
}

func TestWithFrameAncestors(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "frame-ancestors 'none'",
		"default-src 'none'": "default-src 'none'; frame-ancestors 'none'",
		"default-src 'none'; frame-ancestors *; img-src data:": "default-src 'none'; img-src data:; frame-ancestors 'none'",
		"FRAME-ANCESTORS https://x;":                           "frame-ancestors 'none'",
	} {
		if got := withFrameAncestors(in); got != want {
			t.Errorf("withFrameAncestors(%q) = %q, want %q", in, got, want)
		}
	}
}
