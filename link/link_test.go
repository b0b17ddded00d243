package link

import (
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	s := New([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tok := s.Sign("unsub", time.Time{}, "default", "abc")
	f, err := s.Verify("unsub", tok, now.Add(1000*time.Hour))
	if err != nil || len(f) != 2 || f[0] != "default" || f[1] != "abc" {
		t.Fatalf("verify: %v %v", f, err)
	}
	exp := s.Sign("r", now.Add(time.Hour), "x")
	if _, err := s.Verify("r", exp, now.Add(59*time.Minute)); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	bad := map[string]string{
		"expired":      exp,
		"wrong kind":   s.Sign("other", time.Time{}, "x"),
		"tampered":     strings.Replace(tok, tok[:2], "zz", 1),
		"no signature": strings.Split(tok, ".")[0],
		"garbage":      "%%%.###",
		"other key":    New([]byte("another-key-another-key-another!!")).Sign("unsub", time.Time{}, "default", "abc"),
	}
	for name, tk := range bad {
		kind := "unsub"
		if name == "expired" {
			kind = "r"
		}
		if _, err := s.Verify(kind, tk, now.Add(2*time.Hour)); err != ErrInvalid {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestShortToken(t *testing.T) {
	s := New([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	id := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	tok := s.ShortToken(id, now.Add(time.Hour))
	if len(tok) != 27 {
		t.Fatalf("token %q is %d chars", tok, len(tok))
	}
	if got, err := s.VerifyShort(tok, now); err != nil || got != id {
		t.Fatalf("verify: %v %v", got, err)
	}
	if _, err := s.VerifyShort(tok, now.Add(2*time.Hour)); err != ErrInvalid {
		t.Fatal("expired token accepted")
	}
	b := []byte(tok)
	b[3] ^= 1
	if _, err := s.VerifyShort(string(b), now); err != ErrInvalid {
		t.Fatal("tampered token accepted")
	}
	if _, err := New([]byte("another-key-another-key-another!!")).VerifyShort(tok, now); err != ErrInvalid {
		t.Fatal("other key accepted")
	}
}
