// Package twiliotest is a local fake of Twilio's Messages API for tests: the
// real twilio-go client talks to it through sms.twilio.base_url. It checks
// what Twilio requires (Basic auth, To, Body, From or MessagingServiceSid)
// and answers like Twilio, including its error JSON.
package twiliotest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials the fake accepts.
const (
	AccountSID = "AC0123456789abcdef0123456789abcdef"
	AuthToken  = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
)

// Sent is one message Twilio accepted.
type Sent struct {
	SID, To, From, MessagingServiceSID, Body string
	StatusCallback                           string // where Twilio would post its receipts
}

// Sign returns the X-Twilio-Signature Twilio sends with a request to url
// carrying form params: base64(HMAC-SHA1(auth token, url followed by each
// parameter's name and value, sorted by name)), as Twilio documents it
// (https://www.twilio.com/docs/usage/security#validating-requests). The
// service checks it with twilio-go's own validator.
func Sign(authToken, url string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(url)
	for _, k := range keys {
		b.WriteString(k + params[k])
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Server is a running fake.
type Server struct {
	ts       *httptest.Server
	mu       sync.Mutex
	sent     []Sent
	requests int
	optedOut map[string]bool
	failures []int // HTTP statuses for the next requests (429, 500, 503)
}

// Start runs the fake until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{optedOut: map[string]bool{}}
	s.ts = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.ts.Close)
	return s
}

// URL is the base URL to configure as sms.twilio.base_url.
func (s *Server) URL() string { return s.ts.URL }

// OptOut makes messages to number fail with Twilio error 21610.
func (s *Server) OptOut(number string) { s.mu.Lock(); s.optedOut[number] = true; s.mu.Unlock() }

// FailNext answers the next len(statuses) requests with these HTTP statuses.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	s.failures = append(s.failures, statuses...)
	s.mu.Unlock()
}

// Requests counts every request received.
func (s *Server) Requests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.requests }

// Messages returns the accepted messages.
func (s *Server) Messages() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// WaitMessages waits for at least n accepted messages.
func (s *Server) WaitMessages(t testing.TB, n int, timeout time.Duration) []Sent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := s.Messages()
		if len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("twiliotest: %d of %d messages after %s", len(m), n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg,
		"more_info": "https://www.twilio.com/docs/errors/" + itoa(code), "status": status})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	var fail int
	if len(s.failures) > 0 {
		fail, s.failures = s.failures[0], s.failures[1:]
	}
	s.mu.Unlock()
	if fail != 0 {
		code := 20500
		if fail == http.StatusTooManyRequests {
			code = 20429
		}
		twilioError(w, fail, code, http.StatusText(fail))
		return
	}
	want := "/2010-04-01/Accounts/" + AccountSID + "/Messages.json"
	if r.Method != http.MethodPost || r.URL.Path != want {
		twilioError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != AccountSID || p != AuthToken {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if err := r.ParseForm(); err != nil {
		twilioError(w, http.StatusBadRequest, 21601, "malformed form")
		return
	}
	to, body := r.PostForm.Get("To"), r.PostForm.Get("Body")
	from, mgs := r.PostForm.Get("From"), r.PostForm.Get("MessagingServiceSid")
	switch {
	case to == "":
		twilioError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case body == "":
		twilioError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case from == "" && mgs == "":
		twilioError(w, http.StatusBadRequest, 21603, "A 'From' phone number or 'MessagingServiceSid' is required.")
		return
	case !strings.HasPrefix(to, "+"):
		twilioError(w, http.StatusBadRequest, 21211, "The 'To' number "+to+" is not a valid phone number.")
		return
	}
	s.mu.Lock()
	opted := s.optedOut[to]
	s.mu.Unlock()
	if opted {
		twilioError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	sid := "SM" + hex.EncodeToString(b)
	s.mu.Lock()
	s.sent = append(s.sent, Sent{SID: sid, To: to, From: from, MessagingServiceSID: mgs, Body: body,
		StatusCallback: r.PostForm.Get("StatusCallback")})
	s.mu.Unlock()
	now := time.Now().UTC().Format(time.RFC1123Z)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"account_sid": AccountSID, "api_version": "2010-04-01", "body": body, "date_created": now, "date_sent": nil,
		"date_updated": now, "direction": "outbound-api", "error_code": nil, "error_message": nil, "from": from,
		"messaging_service_sid": nilIfEmpty(mgs), "num_media": "0", "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": sid, "status": "queued", "to": to, "uri": "/2010-04-01/Accounts/" + AccountSID + "/Messages/" + sid + ".json",
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
