package server

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// urlPolicy decides where a cart may send a customer: the recovery URL that
// GET /r/{token} redirects to and the item links and images in messages.
// A URL passes when it is https (plain http only on a loopback host) and its
// host is one of hosts or a subdomain of one. Anything that could make a
// browser see another host than the one checked is refused outright: user
// info, backslashes, percent-encoded or non-ASCII hosts (IDNs must be
// written in punycode), scheme-relative and opaque forms.
type urlPolicy struct {
	hosts []string // lower-case ASCII, no trailing dot, no port
}

// newURLPolicy allows store.url's host and store.allowed_hosts.
func newURLPolicy(shop recovery.Shop) urlPolicy {
	var p urlPolicy
	if u, err := url.Parse(shop.URL); err == nil {
		p = p.allow(u.Hostname())
	}
	return p.allow(shop.AllowedHosts...)
}

// allow returns a copy of p that also accepts hosts (and their subdomains).
// An entry may be a bare host, a host:port, "*.host" or a URL.
func (p urlPolicy) allow(hosts ...string) urlPolicy {
	out := urlPolicy{hosts: append([]string(nil), p.hosts...)}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if strings.Contains(h, "://") {
			if u, err := url.Parse(h); err == nil {
				h = u.Hostname()
			}
		} else if hp, err := netip.ParseAddrPort(h); err == nil {
			h = hp.Addr().String()
		} else if host, port, ok := strings.Cut(h, ":"); ok && !strings.Contains(port, ":") {
			h = host
		}
		h = normalHost(strings.TrimPrefix(h, "*."))
		if h != "" {
			out.hosts = append(out.hosts, h)
		}
	}
	return out
}

// authorityRE is what may stand between "scheme://" and the path: an ASCII
// host name or a bracketed IPv6 address, and an optional port.
var authorityRE = regexp.MustCompile(`^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)

// check returns nil when raw may be followed, else why not (without echoing
// the URL's path or query, which may carry a cart's secret key).
func (p urlPolicy) check(raw string) error {
	if strings.ContainsRune(raw, '\\') {
		return errors.New("must not contain backslashes")
	}
	if strings.IndexFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return errors.New("must not contain spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	scheme := u.Scheme // url.Parse lower-cases it
	if scheme != "https" && scheme != "http" {
		if scheme == "" {
			return errors.New("must be an absolute https:// URL")
		}
		return fmt.Errorf("scheme %q is not allowed: use https", recovery.Clip(scheme, 20))
	}
	rest := raw[len(scheme)+1:]
	if !strings.HasPrefix(rest, "//") || u.Opaque != "" {
		return errors.New("must be an absolute https:// URL")
	}
	authority := rest[2:]
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	switch {
	case strings.Contains(authority, "@"):
		return errors.New("must not contain user info (user@host)")
	case strings.Contains(authority, "%"):
		return errors.New("must not percent-encode the host")
	case strings.IndexFunc(authority, func(r rune) bool { return r >= 0x80 }) >= 0:
		return errors.New("host must be ASCII: write internationalized domain names in punycode (xn--…)")
	case authority == "" || !authorityRE.MatchString(authority):
		return errors.New("has no valid host")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("has an invalid port")
		}
	}
	host := normalHost(u.Hostname())
	if host == "" || strings.HasSuffix(host, ".") {
		return errors.New("has no valid host")
	}
	if !p.allowed(host) {
		return fmt.Errorf("host %q is not the store's (store.url), one of store.allowed_hosts, or a subdomain of those", recovery.Clip(host, 100))
	}
	if scheme == "http" && !loopback(host) {
		return errors.New("must use https (plain http only for localhost)")
	}
	return nil
}

func (p urlPolicy) allowed(host string) bool {
	_, ipErr := netip.ParseAddr(host)
	for _, h := range p.hosts {
		if host == h {
			return true
		}
		if _, err := netip.ParseAddr(h); err == nil || ipErr == nil {
			continue // IP addresses have no subdomains
		}
		if strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}

// normalHost lower-cases a host, drops the brackets of an IPv6 address and
// one trailing dot (the same name in DNS).
func normalHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().String()
	}
	return strings.TrimSuffix(h, ".")
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// policyFor is the URL policy for one store's carts of the platform
// name: the store's own hosts, and those of the platform its carts may
// link to (a Shopify shop's own *.myshopify.com domain, a WooCommerce
// shop's host, BigCommerce's mybigcommerce.com).
func (s *Server) policyFor(st *settings, name, store string) urlPolicy {
	t, _ := st.tenant(store)
	if a, ok := s.platforms().Lookup(name); ok {
		return t.urls.allow(a.Hosts(store)...)
	}
	return t.urls
}

// checkCartURLs applies the URL policy to a cart update's recovery URL and
// item links; empty URLs pass. Deletes and orders are never refused over a
// URL (their cart content is not stored), so an order always stops its cart.
func (s *Server) checkCartURLs(st *settings, a platform.Adapter, ev recovery.Event) error {
	if ev.Kind != recovery.CartUpdated {
		return nil
	}
	p := s.policyFor(st, a.Name(), ev.Store)
	field := a.RecoveryURLField()
	if u := ev.Cart.RecoveryURL; u != "" {
		if err := p.check(u); err != nil {
			return recovery.Invalid(field, err.Error())
		}
	}
	for i, it := range ev.Cart.Items {
		for _, f := range []struct{ name, url string }{{"url", it.URL}, {"image_url", it.ImageURL}} {
			if f.url == "" {
				continue
			}
			if err := p.check(f.url); err != nil {
				return recovery.Invalid(fmt.Sprintf("cart.items[%d].%s", i, f.name), err.Error())
			}
		}
	}
	return nil
}

// redactURL is a URL fit for logs: scheme, host and path, without user
// info, query or fragment (a recovery URL's query often carries a key).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
