package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dashboard sessions. The cookie carries a random session id and its expiry,
// signed with a key derived from the admin token (rotating the token ends
// every session); the id is also stored in Redis under
// "<prefix>session:<id>" for the session's lifetime, and logout deletes it,
// so a logged-out cookie is dead even when replayed before its expiry.

// sessionCookie names the dashboard session cookie.
const sessionCookie = "cartrecovery_session"

// DefaultSessionTTL is how long a sign-in lasts when SessionTTL is zero.
const DefaultSessionTTL = 12 * time.Hour

func (s *Server) sessionTTL() time.Duration {
	if s.SessionTTL > 0 {
		return s.SessionTTL
	}
	return DefaultSessionTTL
}

// sessionMAC signs a cookie payload with a key derived from the admin token.
func (s *Server) sessionMAC(payload string) []byte {
	key := sha256.Sum256([]byte("cartrecovery-session-key\x00" + s.AdminToken))
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// newSession records a session in Redis and returns the cookie value and
// its expiry.
func (s *Server) newSession(ctx context.Context) (string, time.Time, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("session id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	ttl := s.sessionTTL()
	exp := s.Now().Add(ttl).Truncate(time.Second)
	if err := s.Store.SaveSession(ctx, id, exp, ttl); err != nil {
		return "", time.Time{}, err
	}
	payload := id + "." + strconv.FormatInt(exp.Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.sessionMAC(payload)), exp, nil
}

// parseSession checks a cookie value's signature and returns its session id
// and expiry; ok is false for anything not signed by this admin token.
func (s *Server) parseSession(v string) (id string, exp time.Time, ok bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 || len(parts[0]) != 32 {
		return "", time.Time{}, false
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, s.sessionMAC(parts[0]+"."+parts[1])) {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return parts[0], time.Unix(sec, 0), true
}

// validSession reports whether the request carries a live session: signed,
// not expired by the injected clock, and still present in Redis. An error
// means Redis could not be asked.
func (s *Server) validSession(r *http.Request) (bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return false, nil
	}
	id, exp, ok := s.parseSession(c.Value)
	if !ok || !s.Now().Before(exp) {
		return false, nil
	}
	return s.Store.SessionExists(r.Context(), id)
}

// endSession deletes the request's session from Redis, if it has one.
func (s *Server) endSession(r *http.Request) error {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	id, _, ok := s.parseSession(c.Value)
	if !ok {
		return nil
	}
	return s.Store.DeleteSession(r.Context(), id)
}

// Failed admin authentication (a wrong bearer token, a wrong token in the
// login form) is logged with the client's masked address and counted per
// client: after maxAuthFailures within authWindow, that client gets 429
// until the window ends, even with the right token.
const (
	maxAuthFailures = 5
	authWindow      = time.Minute
	maxTracked      = 10000 // clients remembered at once; expired windows are swept first
)

// errRateLimited is answered 429 with Retry-After (see writeError).
type errRateLimited struct{ retry time.Duration }

func (e *errRateLimited) Error() string {
	return fmt.Sprintf("too many failed admin authentication attempts from this address: try again in %d s", e.seconds())
}

func (e *errRateLimited) seconds() int { return max(1, int(math.Ceil(e.retry.Seconds()))) }

type failures struct {
	start time.Time
	n     int
}

// authLimiter counts failures per client in fixed windows, in memory (per
// process).
type authLimiter struct {
	mu sync.Mutex
	m  map[string]*failures
}

// blocked returns how long the client must wait, if it is blocked. Only a
// client's own failures block it: the shared overflow bucket (failures of
// clients past maxTracked) slows those failing clients in fail, but never
// locks out a client that did not fail, such as the admin with the token.
func (l *authLimiter) blocked(client string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[client]
	if f == nil || now.Sub(f.start) >= authWindow {
		return 0, false
	}
	if f.n >= maxAuthFailures {
		return f.start.Add(authWindow).Sub(now), true
	}
	return 0, false
}

// fail counts one failure and returns the client's failures in the window.
func (l *authLimiter) fail(client string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*failures{}
	}
	f := l.m[client]
	if f == nil && len(l.m) >= maxTracked {
		for k, v := range l.m {
			if now.Sub(v.start) >= authWindow {
				delete(l.m, k)
			}
		}
		if len(l.m) >= maxTracked {
			// A flood from more clients than are remembered: the
			// newcomers share one count, so they are limited together.
			client = overflowClient
			f = l.m[client]
		}
	}
	if f == nil || now.Sub(f.start) >= authWindow {
		f = &failures{start: now}
		l.m[client] = f
	}
	f.n++
	return f.n
}

const overflowClient = "(overflow)"

// checkLimit returns errRateLimited when the request's client is blocked.
func (s *Server) checkLimit(r *http.Request) error {
	if wait, ok := s.limiter.blocked(clientKey(s.client(r)), s.Now()); ok {
		return &errRateLimited{retry: wait}
	}
	return nil
}

// authFailed logs and counts one failed admin authentication. It never logs
// what was tried.
func (s *Server) authFailed(r *http.Request, via string) {
	n := s.limiter.fail(clientKey(s.client(r)), s.Now())
	s.Log.Warn("admin authentication failed", "via", via, "client", maskAddr(s.client(r)),
		"path", r.URL.Path, "failures_in_window", n)
	if n == maxAuthFailures {
		s.Log.Warn("admin authentication rate limited", "client", maskAddr(s.client(r)), "for", authWindow)
	}
}

// client is the address of r's client: the peer's, unless the peer is a
// trusted proxy (Server.TrustedProxies): then the rightmost address of
// X-Forwarded-For that is not a trusted proxy (the ones left of it are
// anyone's to write). An unreadable header leaves the peer's address.
func (s *Server) client(r *http.Request) string {
	peer, ok := clientAddr(r.RemoteAddr)
	if !ok || !s.trusted(peer) {
		return r.RemoteAddr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := r.RemoteAddr
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		a, ok := clientAddr(h)
		if !ok {
			return client // a hop that is no address: believe nothing left of it
		}
		client = a.String()
		if !s.trusted(a) {
			return client
		}
	}
	return client
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr parses a RemoteAddr ("ip:port").
func clientAddr(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap(), true
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// maskAddr is a client address fit for logs: the /24 of an IPv4 address,
// the /48 of an IPv6 one.
func maskAddr(remote string) string {
	a, ok := clientAddr(remote)
	if !ok {
		return "unknown"
	}
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.WithZone("").Prefix(bits)
	return p.String()
}

// clientKey is what failures are counted by: the IPv4 address, or the /64 of
// an IPv6 one (a host usually has the whole /64).
func clientKey(remote string) string {
	a, ok := clientAddr(remote)
	if !ok {
		return remote
	}
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// tokenEqual compares a presented token with the admin token in constant
// time, whatever their lengths.
func tokenEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return hmac.Equal(g[:], w[:])
}

// Frame protection for every response: HTML pages cannot be framed
// (clickjacking). Pages that set their own Content-Security-Policy go
// through htmlHeaders, which keeps frame-ancestors in it.
func frameHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// htmlHeaders sets the headers of an HTML page: its content security policy
// merged with frame-ancestors 'none', X-Frame-Options and no caching.
func htmlHeaders(h http.Header, csp string) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", withFrameAncestors(csp))
}

// withFrameAncestors returns csp with its frame-ancestors directive, if any,
// replaced by frame-ancestors 'none'.
func withFrameAncestors(csp string) string {
	var out []string
	for _, d := range strings.Split(csp, ";") {
		d = strings.TrimSpace(d)
		name, _, _ := strings.Cut(d, " ")
		if d == "" || strings.EqualFold(name, "frame-ancestors") {
			continue
		}
		out = append(out, d)
	}
	return strings.Join(append(out, "frame-ancestors 'none'"), "; ")
}
