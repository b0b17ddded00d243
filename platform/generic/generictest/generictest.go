// Package generictest is a local fake of a shop's discount endpoint
// (platforms.generic.discount_url) as the generic package's doc asks a
// shop to build it: it checks the X-Cartrecovery-Signature with its
// secret (401 otherwise), takes a JSON POST of event discount.create with
// exactly one of percent and amount (currency only with amount) and an
// RFC 3339 expires_at, and answers 201 for a new code and 409 for a code it
// already has.
package generictest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/generic"
)

// Secret is the fake shop's platforms.generic.secret.
const Secret = "fake-generic-secret"

// Code is a code the fake registered, as received.
type Code struct {
	Code, Percent, Amount, Currency, CartID, Store, Email, Label string
	ExpiresAt                                                    time.Time
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	mu    sync.Mutex
	codes []Code
	calls int
}

// Start runs a fake until the test ends.
func Start(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Codes are the codes registered, in order.
func (s *Server) Codes() []Code {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Code(nil), s.codes...)
}

// Calls is how many requests the fake answered.
func (s *Server) Calls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := generic.Verify(body, r.Header.Get("X-Cartrecovery-Signature"), Secret); err != nil {
		http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("X-Cartrecovery-Event") != generic.Event {
		http.Error(w, `{"error":"want a JSON POST of discount.create"}`, http.StatusBadRequest)
		return
	}
	var in struct {
		Code      string `json:"code"`
		Percent   string `json:"percent"`
		Amount    string `json:"amount"`
		Currency  string `json:"currency"`
		ExpiresAt string `json:"expires_at"`
		CartID    string `json:"cart_id"`
		Store     string `json:"store"`
		Email     string `json:"email"`
		Label     string `json:"label"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		http.Error(w, `{"error":"not the documented body"}`, http.StatusBadRequest)
		return
	}
	exp, err := time.Parse(time.RFC3339, in.ExpiresAt)
	switch {
	case in.Code == "", err != nil, (in.Percent == "") == (in.Amount == ""), in.Percent != "" && in.Currency != "",
		in.Amount != "" && in.Currency == "":
		http.Error(w, `{"error":"a code, its expiry, and exactly one of percent or amount (with its currency)"}`, http.StatusUnprocessableEntity)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.codes {
		if c.Code == in.Code {
			w.WriteHeader(http.StatusConflict)
			return
		}
	}
	s.codes = append(s.codes, Code{Code: in.Code, Percent: in.Percent, Amount: in.Amount, Currency: in.Currency,
		CartID: in.CartID, Store: in.Store, Email: in.Email, Label: in.Label, ExpiresAt: exp.UTC()})
	w.WriteHeader(http.StatusCreated)
}
