package recovery

import (
	"crypto/rand"
	"strings"
	"time"
)

// Discount is what a step's messages offer: a static code shared by every
// cart ({code, label}), or a unique code made for each (cart, step) and
// registered with the cart's platform before the message goes out
// ({type: unique, percent | amount, expires_after, prefix, label}).
type Discount struct {
	Code  string // static code; empty for a unique discount
	Label string

	Unique       bool
	Percent      string        // decimal, 0 < p ≤ 100 (unique: percent or amount)
	Amount       string        // decimal, in the cart's currency
	ExpiresAfter time.Duration // from when the code is made
	Prefix       string        // of the made code, A-Z 0-9 -
}

// IsZero reports whether the step offers nothing.
func (d Discount) IsZero() bool { return d.Code == "" && !d.Unique }

// Code is a unique discount code made for one cart and step. It is made
// once, kept in the cart's record with its expiry, and registered with the
// platform before any message carries it.
type Code struct {
	Code      string
	ExpiresAt time.Time
	// Registered: the platform accepted it; only then may a message carry it.
	Registered bool
}

// Valid reports whether the code can still be offered at now: it is
// replaced by a new one once less than a quarter of its life (or an hour)
// is left, so that no message carries a code about to die.
func (c Code) Valid(now time.Time, life time.Duration) bool {
	if c.Code == "" {
		return false
	}
	margin := min(life/4, time.Hour)
	return now.Add(margin).Before(c.ExpiresAt)
}

// CodeRequest is what a platform is asked to register: one code, single
// use, for one customer, ending at ExpiresAt. Percent or Amount is set.
type CodeRequest struct {
	Store, Cart string
	Email       string // normalized; platforms that can restrict a code to it do
	Code        string
	Label       string
	Percent     string
	Amount      string
	Currency    string    // the cart's: Amount is in it
	StartsAt    time.Time // now, on the worker's clock
	ExpiresAt   time.Time
}

// codeAlphabet leaves out 0/O and 1/I/L, which customers mistype.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// CodeLength is the random part of a made code: 31^10 ≈ 8·10^14 codes.
const CodeLength = 10

// NewCode makes a random code: the prefix, then CodeLength characters of
// an alphabet without look-alikes.
func NewCode(prefix string) string {
	var s strings.Builder
	s.WriteString(prefix)
	var b [32]byte
	for n := 0; n < CodeLength; {
		_, _ = rand.Read(b[:])
		for _, x := range b {
			// 248 = 8·31: bytes above it would favour the first letters
			if x < 248 && n < CodeLength {
				s.WriteByte(codeAlphabet[int(x)%len(codeAlphabet)])
				n++
			}
		}
	}
	return s.String()
}

// ValidCodePrefix reports whether p can prefix made codes: at most 20 of
// A-Z 0-9 and -, the characters every platform accepts in a code.
func ValidCodePrefix(p string) bool {
	if len(p) > 20 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
