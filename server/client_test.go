package server

import (
	"net/http"
	"net/netip"
	"testing"
)

// The client of a request: the peer, unless the peer is a trusted proxy;
// then the rightmost X-Forwarded-For hop that is not one (those left of
// it are anyone's to write).
func TestClientBehindTrustedProxies(t *testing.T) {
	trusting := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}}
	for _, c := range []struct {
		name string
		s    *Server
		peer string
		xff  []string
		want string
	}{
		{"no proxy trusted: the header is ignored", &Server{}, "203.0.113.5:1234", []string{"198.51.100.7"}, "203.0.113.5:1234"},
		{"a trusted proxy", trusting, "10.0.0.2:5000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"a spoofed hop left of the real one", trusting, "10.0.0.2:5000", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"a chain of trusted proxies", trusting, "10.0.0.2:5000", []string{"198.51.100.7, 10.0.0.3", "10.1.1.1"}, "198.51.100.7"},
		{"an untrusted peer's header", trusting, "203.0.113.5:1234", []string{"198.51.100.7"}, "203.0.113.5:1234"},
		{"a hop that is no address", trusting, "10.0.0.2:5000", []string{"198.51.100.7, bogus"}, "10.0.0.2:5000"},
		{"only trusted hops", trusting, "10.0.0.2:5000", []string{"10.0.0.4"}, "10.0.0.4"},
		{"no header", trusting, "10.0.0.2:5000", nil, "10.0.0.2:5000"},
		{"IPv6", trusting, "[2001:db8::1]:443", []string{"2001:db9::5"}, "2001:db9::5"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.s.client(r); got != c.want {
			t.Errorf("%s: client %q, want %q", c.name, got, c.want)
		}
	}
}
