package notify

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var sevenDigits = regexp.MustCompile(`[0-9]{7}`)

func TestMaskEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ana.garcia@example.com", "a***@example.com"},
		{"x@y.z", "x***@y.z"},
		{"ñandú.garcía@ejemplo.es", "ñ***@ejemplo.es"},
		{"Élodie@exemple.fr", "É***@exemple.fr"},
		{"ñandú@ñandú.es", "ñ***@ñandú.es"},
		{"иван.петров@пример.рф", "и***@пример.рф"},
		{"مستخدم@مثال.مصر", "م***@مثال.مصر"},
		{"משתמש@דוגמה.ישראל", "מ***@דוגמה.ישראל"},
		{"用户@例子.广告", "用***@例子.广告"},
		{"ゆうこ@例え.jp", "ゆ***@例え.jp"},
		{"राम@उदाहरण.भारत", "र***@उदाहरण.भारत"},
		{"😀party@emoji.example", "😀***@emoji.example"},
		{"👩‍💻dev@example.com", "👩***@example.com"}, // one rune of a ZWJ sequence, never a broken byte
		{"34600123456@sms.example", "3***@sms.example"},
		{`"ana garcía"@example.com`, `"***@example.com`},
		{"\u202eevil@example.com", "****@example.com"}, // a bidi override is not kept
		{"\xffab@example.com", "****@example.com"},
		{"", "***"}, {"@example.com", "***"}, {"no-at-sign", "***"},
	} {
		got := MaskEmail(tc.in)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("MaskEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskPhoneAndAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+34600123456", "+34******456"},
		{"34600123456", "346*****456"},
		{"+34 600 123 456", "+34*********456"},
		{"+٩٦٦٥٠١٢٣٤٥٦٧", "+٩٦*******٥٦٧"},
		{"日本語の電話番号", "日本語**話番号"},
		{"nonsense", "non**nse"},
		{"123", "***"}, {"", "***"}, {"\xff\xfe\xfd", "***"}, {"      ", "***"},
		{"ñandú.garcía@ejemplo.es", "ñ***@ejemplo.es"}, {"@", "***"}, {"@@", "***"},
	} {
		got := MaskAddress(tc.in)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("MaskAddress(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := MaskPhone("ñandú.garcía"); !utf8.ValidString(got) || got != "ñan******cía" {
		t.Errorf("MaskPhone cuts runes: %q", got)
	}
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"550 5.1.1 <ñandú.garcía@ejemplo.es>: Recipient address rejected",
			"550 5.1.1 <ñ***@ejemplo.es>: Recipient address rejected"},
		{"recipient ‹ñandú.garcía@ejemplo.es› refused", "recipient ‹ñ***@ejemplo.es› refused"},
		{"Адрес иван.петров@пример.рф не найден", "Адрес и***@пример.рф не найден"},
		{"تعذر التسليم إلى مستخدم@مثال.مصر.", "تعذر التسليم إلى م***@مثال.مصر."},
		{"收件人「用户@例子.广告」不存在", "收件人「用***@例子.广告」不存在"},
		{"to: 😀party@emoji.example, cc: ana@example.com;", "to: 😀***@emoji.example, cc: a***@example.com;"},
		{`mailbox "ana garcía"@example.com unknown`, `mailbox "***@example.com unknown`},
		{"mailto:ana@xn--fsqu00a.xn--3lr804guic", "mailto:a***@xn--fsqu00a.xn--3lr804guic"},
		{"The 'To' number +34600123456 is not a valid phone number.", "The 'To' number +********456 is not a valid phone number."},
		{"Invalid number 34600123456", "Invalid number ********456"},
		{"call 600 123 456 now", "call *** *** 456 now"},
		{"+34 (600) 123-456", "+** (***) ***-456"},
		{"600.123.456", "***.***.456"},
		{"+1-613-555-0123", "+*-***-***-*123"},
		{"رقم ٠٥٠١٢٣٤٥٦٧ غير صالح", "رقم *******٥٦٧ غير صالح"},
		{"tel:34600123456x", "tel:********456x"},
		{"twilio 400 (code 21211): error 5.1.1, 123456 and 12 34 56", "twilio 400 (code 21211): error 5.1.1, 123456 and 12 34 56"},
		{"34600123456@sms.example", "3***@sms.example"},
		{"no such user o'neil@example.ie", "no such user o***@example.ie"},
		{"'ana@example.com'", "'***@example.com'"},
		{"ana@example.comluis@example.org", "a***@***@example.org"},
		{"a@b@c@d.com", "a***@***@***@d.com"},
		{`"a@b"@example.com`, `"***@example.com`},
		{"ana@example.com.", "a***@example.com."},
		{"x@@y", "x***@***@y"},
		{"", ""},
	} {
		got := scrub(tc.in)
		if got != tc.want {
			t.Errorf("scrub(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestScrubHostile: whatever surrounds an address or a number in a
// provider's text, the output never holds the local part or seven
// consecutive digits of the number.
func TestScrubHostile(t *testing.T) {
	locals := []string{"ana.garcia", "ñandú.garcía", "иван.петров", "مستخدم", "用户名", "😀party", "o'neil", "ana+tag",
		"a.b-c_d", "34600123456", "ゆうこ", "राम", "x\u200fy", "Ωmega"}
	domains := []string{"example.com", "ejemplo.es", "пример.рф", "مثال.مصر", "例子.广告", "emoji.example", "localhost"}
	wraps := []string{"%s", "<%s>", "‹%s›", "«%s»", "(%s)", "[%s]", "「%s」", `"%s"`, "%s.", "%s,", "to:%s;", "mailto:%s",
		"Recipient %s rejected", "%s\n", "\t%s\t", "x%s", "%s：", "<<%s>>", "%s%s"}
	numbers := []string{"+34600123456", "34600123456", "600123456", "+34 600 123 456", "600-123-456", "600.123.456",
		"(600) 123 456", "+1 (613) 555-0123", "+44 20 7946 0958", "٠٥٠١٢٣٤٥٦٧"}
	for _, w := range wraps {
		for _, l := range locals {
			for _, d := range domains {
				addr := l + "@" + d
				in := strings.ReplaceAll(w, "%s", addr)
				out := scrub(in)
				if strings.Contains(out, l) || !utf8.ValidString(out) {
					t.Errorf("scrub(%q) = %q: local part %q left visible", in, out, l)
				}
			}
		}
		for _, n := range numbers {
			in := strings.ReplaceAll(w, "%s", n)
			out := scrub(in)
			digits := onlyDigits(n)
			shown := string(onlyDigits(out))
			for i := 0; i+7 <= len(digits); i++ {
				if strings.Contains(shown, string(digits[i:i+7])) {
					t.Errorf("scrub(%q) = %q: 7 digits of the number left visible", in, out)
					break
				}
			}
			if sevenDigits.MatchString(out) {
				t.Errorf("scrub(%q) = %q: a run of 7 digits", in, out)
			}
		}
	}
}

func onlyDigits(s string) []rune {
	var d []rune
	for _, r := range s {
		if r >= '0' && r <= '9' || r >= '٠' && r <= '٩' {
			d = append(d, r)
		}
	}
	return d
}

func FuzzScrub(f *testing.F) {
	for _, s := range []string{
		"550 5.1.1 <ñandú.garcía@ejemplo.es>: Recipient address rejected",
		"The 'To' number 34600123456 is not a valid phone number.",
		"+34 (600) 123-456", "a@b", "1234567", "١٢٣٤٥٦٧٨", `"q q"@x.y`, "x@1234567890.example", "2026-11-22T10:00:00Z",
		"😀@😀.😀 +1 613 555 0123", "", "@", "1-2-3-4-5-6-7", "12  34  56  78",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		out := scrub(s)
		if !utf8.ValidString(out) {
			t.Fatalf("scrub(%q) = %q: invalid UTF-8", s, out)
		}
		if sevenDigits.MatchString(out) {
			t.Fatalf("scrub(%q) = %q: a run of 7 digits left", s, out)
		}
	})
}

// TestProviderErrorsAreMasked sends to providers whose errors echo the
// recipient, with non-ASCII addresses and bare-digit numbers: neither the
// returned error nor the log holds the address or the number.
func TestProviderErrorsAreMasked(t *testing.T) {
	const (
		addr  = "ñandú.garcía@ejemplo.es"
		local = "ñandú.garcía"
		num   = "34600123456"
	)
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// Twilio answers with an error code it does not document, echoing both.
	tw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"code": 21999, "message": "cannot deliver to %s (+%s), contact %s", "more_info": "", "status": 400}`, num, num, addr)
	}))
	defer tw.Close()
	sms, err := NewSMS(SMSOptions{Transport: "twilio", Twilio: TwilioOptions{AccountSID: "AC0123456789abcdef0123456789abcdef",
		AuthToken: "token", From: "+15005550006", BaseURL: tw.URL}}, log)
	if err != nil {
		t.Fatal(err)
	}
	smsErr := sms.Send(context.Background(), Message{Channel: "sms", To: "+" + num, Text: "hi", ID: "s1"})

	// An SMTP relay refuses the recipient, echoing it and a number.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go fakeRelay(l, fmt.Sprintf("550 5.1.1 <%s>: unknown user; call %s", addr, "600 123 456"))
	host, port, _ := net.SplitHostPort(l.Addr().String())
	var p int
	fmt.Sscan(port, &p)
	email, err := NewEmail(EmailOptions{Transport: "smtp", From: "Shop <shop@example.com>",
		SMTP: SMTPOptions{Host: host, Port: p, TLS: "none", Pool: 1}}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer email.Close()
	mailErr := email.Send(context.Background(), Message{Channel: "email", To: addr, ToName: "Ñandú", Subject: "s", Text: "t", ID: "e1"})

	for name, err := range map[string]error{"sms": smsErr, "email": mailErr} {
		if err == nil {
			t.Fatalf("%s: the provider refused, but no error", name)
		}
		out := err.Error() + "\n" + logs.String()
		if strings.Contains(out, local) || strings.Contains(out, num) || strings.Contains(out, "600 123 456") || sevenDigits.MatchString(out) {
			t.Errorf("%s: address or number visible: %s", name, out)
		}
		if !strings.Contains(err.Error(), "456") {
			t.Errorf("%s: the provider's text is lost: %v", name, err)
		}
	}
}

// fakeRelay answers SMTP sessions, refusing every RCPT with reject.
func fakeRelay(l net.Listener, reject string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			_, _ = io.WriteString(c, "220 relay.test ESMTP\r\n")
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				cmd := strings.ToUpper(strings.TrimSpace(line))
				switch {
				case strings.HasPrefix(cmd, "EHLO"):
					_, _ = io.WriteString(c, "250-relay.test\r\n250 8BITMIME\r\n")
				case strings.HasPrefix(cmd, "RCPT"):
					_, _ = io.WriteString(c, reject+"\r\n")
				case strings.HasPrefix(cmd, "QUIT"):
					_, _ = io.WriteString(c, "221 bye\r\n")
					return
				default:
					_, _ = io.WriteString(c, "250 ok\r\n")
				}
			}
		}()
	}
}
