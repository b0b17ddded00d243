package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/internal/smtptest"
	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/internal/twiliotest"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce/bigcommercetest"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/shopify"
)

func TestMain(m *testing.M) { testredis.Main(m) }

// syncBuffer collects the service's log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestEndToEnd builds the binary and runs it the way a user does: a config
// file, a real Redis, SMTP and Twilio servers, signed webhooks.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	smtp := smtptest.Start(t)
	twilio := twiliotest.Start(t)
	templates, _ := filepath.Abs("../../templates")
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`
http: {addr: %q, public_url: "http://%s"}
redis: {url: %q, prefix: "e2e:"}
store: {name: "E2E Shop", url: "https://shop.example", address: "1 Main St, Town", timezone: "Europe/Madrid", allowed_hosts: [checkout.local]}
platforms:
  shopify: {secret: "shpss_e2e"}
  generic: {secret: "generic_e2e"}
sequence:
  - {name: first-reminder, delay: 2s, channels: [email], template: first-reminder}
  - {name: second-reminder, delay: 4s, channels: [email, sms], template: second-reminder, discount: {code: "COMEBACK10", label: "10%% off"}}
rules: {quiet_hours: {start: "", end: ""}}  # off: the test sends SMS at any hour
email:
  transport: smtp
  from: "E2E Shop <shop@example.com>"
  smtp: {host: %q, port: %d, tls: none}
sms:
  transport: twilio
  twilio: {account_sid: %q, auth_token: %q, from: "+15005550006", base_url: %q}
templates: {dir: %q}
`, addr, addr, testredis.URL(t), smtp.Host(), smtp.Port(), twiliotest.AccountSID, twiliotest.AuthToken, twilio.URL(), templates)
	cfgPath := filepath.Join(dir, "cartrecovery.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	if out, err := exec.Command(bin, "check", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	// preview renders a step for the shipped example cart (its occurred_at
	// is a placeholder, which preview does not need)
	pv := exec.Command(bin, "preview", "--config", cfgPath, "--step", "second-reminder", "--channel", "sms", "--cart", "../../examples/cart.json")
	var pvErr bytes.Buffer
	pv.Stderr = &pvErr
	if out, err := pv.Output(); err != nil || !strings.Contains(string(out), "COMEBACK10") || !strings.Contains(string(out), "E2E Shop") ||
		!strings.Contains(pvErr.String(), "1 GSM-7 segment") {
		t.Errorf("preview: %v\n%s\n%s", err, out, pvErr.String())
	}
	bad := exec.Command(bin, "preview", "--config", cfgPath, "--step", "first-reminder", "--channel", "sms")
	if out, err := bad.CombinedOutput(); bad.ProcessState == nil || bad.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "--channel") {
		t.Errorf("preview of a channel the step does not use: %v\n%s", err, out)
	}
	var logs syncBuffer
	base := "http://" + addr
	start := func() (*exec.Cmd, chan error) { return startService(t, bin, cfgPath, base, &logs) }
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})

	// Nothing lost: a webhook answered 2xx survives a SIGKILL of the whole
	// process right after the answer; the restarted service sends it.
	first, firstExit := start()
	early := fmt.Sprintf(`{"id":"k1","type":"cart.updated","occurred_at":%q,"cart":{"id":"crash","currency":"EUR","total":"5.00","items":[{"title":"Pen","quantity":1,"price":"5.00"}]},"customer":{"email":"crash@example.com"}}`, time.Now().UTC().Format(time.RFC3339))
	postGeneric(t, base, early, http.StatusAccepted)
	_ = first.Process.Kill()
	<-firstExit
	cmd, exited := start()
	if got := smtp.WaitMessages(t, 1, 30*time.Second); got[0].To[0] != "crash@example.com" {
		t.Fatalf("after restart: %v", got[0].To)
	}

	// A Shopify checkout with consent for email and SMS.
	var co map[string]any
	raw, err := os.ReadFile("../../platform/shopify/testdata/checkouts_create.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &co); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	co["updated_at"], co["created_at"] = now, now
	co["email"], co["buyer_accepts_marketing"] = "john@example.com", true
	co["phone"], co["buyer_accepts_sms_marketing"] = "+16135550123", true
	body, _ := json.Marshal(co)
	postShopify(t, base, "checkouts/create", "e2e-1", body, http.StatusAccepted)
	postShopify(t, base, "checkouts/create", "e2e-1", body, http.StatusOK) // Shopify's retry

	// A generic cart whose order arrives before its first reminder is due.
	cart := fmt.Sprintf(`{"id":"g1","type":"cart.updated","occurred_at":%q,"cart":{"id":"c2","currency":"EUR","total":"10.00","items":[{"title":"Mug","quantity":1,"price":"10.00"}]},"customer":{"email":"paid@example.com","email_consent":true}}`, now)
	postGeneric(t, base, cart, http.StatusAccepted)
	order := fmt.Sprintf(`{"id":"g2","type":"order.created","occurred_at":%q,"customer":{"email":"paid@example.com"},"order":{"id":"o1","cart_id":"c2","total":"10.00","currency":"EUR"}}`, now)
	postGeneric(t, base, order, http.StatusAccepted)

	// crash@: both steps; john@: both steps; paid@: nothing.
	smtp.WaitMessages(t, 4, 30*time.Second)
	sms := twilio.WaitMessages(t, 1, 30*time.Second)
	time.Sleep(time.Second) // nothing else may arrive
	var msgs []smtptest.Received
	count := map[string]int{}
	for _, m := range smtp.Messages() {
		count[m.To[0]]++
		if m.To[0] == "john@example.com" {
			msgs = append(msgs, m)
		}
	}
	if count["john@example.com"] != 2 || count["crash@example.com"] != 2 || len(count) != 2 {
		t.Fatalf("emails per recipient %v; want 2 each for john@ and crash@, none for paid@", count)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, m := range msgs {
		if len(m.To) != 1 || m.To[0] != "john@example.com" {
			t.Fatalf("email %d to %v", i, m.To)
		}
		d := string(m.Data)
		hdr, text, html, err := m.Parsed()
		if err != nil {
			t.Fatalf("email %d: %v", i, err)
		}
		if hdr.Get("Subject") == "" || hdr.Get("Date") == "" || hdr.Get("Message-Id") == "" ||
			!strings.HasPrefix(hdr.Get("List-Unsubscribe"), "<http://"+addr+"/unsubscribe/") ||
			hdr.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("email %d headers: %v", i, hdr)
		}
		// Both parts carry the same click-through link, which redirects to
		// the checkout (through Shopify's discount URL on the step with a code).
		link := regexp.MustCompile(`http://` + regexp.QuoteMeta(addr) + `/r/[A-Za-z0-9_-]+`).FindString(text)
		if link == "" || !strings.Contains(html, `href="`+link+`"`) {
			t.Errorf("email %d: click-through link missing from a part\ntext:\n%s", i, text)
			continue
		}
		want := "https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token"
		if i == 1 {
			want = "https://checkout.local/discount/COMEBACK10?redirect=%2F548380009%2Fcheckouts%2F123123123%2Frecover%3Fkey%3Dexample-secret-token"
		}
		if resp, err := noRedirect.Get(link); err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("email %d: %s answered %v %v, want 302 to %s", i, link, resp, err, want)
		} else {
			resp.Body.Close()
		}
		if !strings.Contains(text, "IPod Nano - 8GB") || !strings.Contains(html, "$421.88") {
			t.Errorf("email %d: cart lines or total missing", i)
		}
		if strings.Index(d, "text/plain") > strings.Index(d, "text/html") {
			t.Errorf("email %d: html part is not last", i)
		}
	}
	if _, text, _, _ := msgs[1].Parsed(); !strings.Contains(text, "COMEBACK10") {
		t.Error("second reminder lacks the discount code")
	}
	if sms[0].To != "+16135550123" || sms[0].From != "+15005550006" || !strings.Contains(sms[0].Body, "COMEBACK10") {
		t.Errorf("sms: %+v", sms[0])
	}

	// John orders on this checkout: recovered, credited to the last reminder
	// (second-reminder), after a click. `report` reads the counters.
	var ord map[string]any
	raw, err = os.ReadFile("../../platform/shopify/testdata/orders_create.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ord); err != nil {
		t.Fatal(err)
	}
	ord["checkout_token"], ord["email"], ord["created_at"] = "123123123", "john@example.com", time.Now().UTC().Format(time.RFC3339)
	body, _ = json.Marshal(ord)
	postShopify(t, base, "orders/create", "e2e-order-1", body, http.StatusAccepted)
	out, err := exec.Command(bin, "report", "--config", cfgPath, "--since", "1d", "--format", "json").Output()
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	var rep struct {
		Totals struct {
			Carts, Abandoned, Reminded, Clicked, Recovered, Orders int64
			AfterClick                                             int64             `json:"recovered_after_click"`
			Before                                                 int64             `json:"converted_before_reminder"`
			Revenue                                                map[string]string `json:"recovered_revenue"`
		}
		Rows []struct {
			Key       string
			Sent      int64
			Recovered int64
		}
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report json: %v\n%s", err, out)
	}
	tt := rep.Totals
	if tt.Carts != 3 || tt.Abandoned != 2 || tt.Reminded != 2 || tt.Clicked != 1 || tt.Recovered != 1 || tt.AfterClick != 1 ||
		tt.Before != 1 || tt.Orders != 2 || tt.Revenue["USD"] != "388.00" || len(rep.Rows) != 2 ||
		rep.Rows[0].Sent != 2 || rep.Rows[1].Sent != 3 || rep.Rows[1].Recovered != 1 {
		t.Errorf("report:\n%s", out)
	}
	out, err = exec.Command(bin, "report", "--config", cfgPath, "--by", "channel").Output()
	if err != nil || !strings.Contains(string(out), "recovery rate") || !strings.Contains(string(out), "sms") {
		t.Errorf("report table: %v\n%s", err, out)
	}
	bad = exec.Command(bin, "report", "--config", cfgPath, "--by", "country")
	if out, err := bad.CombinedOutput(); bad.ProcessState == nil || bad.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "--by") {
		t.Errorf("report --by country: %v\n%s", err, out)
	}

	// The worker's metrics count what happened in this process.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	_, _ = metrics.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, line := range []string{
		`cartrecovery_messages_total{channel="email",outcome="sent"} 4`,
		`cartrecovery_messages_total{channel="sms",outcome="sent"} 1`,
		`cartrecovery_messages_total{channel="sms",outcome="skipped"} 1`,
		`cartrecovery_send_delay_seconds_count 4`,
		`cartrecovery_due_carts 0`,
		`cartrecovery_webhooks_total{platform="shopify",result="accepted"} 2`,
	} {
		if !strings.Contains(metrics.String(), line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}

	// Graceful shutdown.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("no exit 45s after SIGTERM")
	}
	logged := logs.String()
	for _, pii := range []string{"john@example.com", "paid@example.com", "+16135550123", twiliotest.AuthToken, "shpss_e2e", "generic_e2e"} {
		if strings.Contains(logged, pii) {
			t.Errorf("the log contains %q", pii)
		}
	}
	if !strings.Contains(logged, "stopped") {
		t.Error("no orderly stop in the log")
	}

	// A worker-only process serves its probes and metrics, and nothing else.
	waddr := freeAddr(t)
	w := exec.Command(bin, "serve", "--config", cfgPath, "--role", "worker")
	w.Env = append(os.Environ(), "CARTRECOVERY_HTTP_ADDR="+waddr)
	var wlog syncBuffer
	w.Stdout, w.Stderr = &wlog, &wlog
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	wexit := make(chan error, 1)
	go func() { wexit <- w.Wait() }()
	t.Cleanup(func() { _ = w.Process.Kill() })
	waitReady(t, "http://"+waddr+"/readyz", wexit)
	if resp, err := http.Get("http://" + waddr + "/metrics"); err != nil || resp.StatusCode != 200 {
		t.Errorf("worker /metrics: %v %v", resp, err)
	} else {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if !strings.Contains(b.String(), "cartrecovery_due_carts") {
			t.Errorf("worker metrics:\n%s", b.String())
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+waddr+"/webhooks/generic", strings.NewReader(early))
	req.Header.Set("X-Cartrecovery-Signature", generic.Sign([]byte(early), "generic_e2e"))
	do(t, req, http.StatusNotFound)
	_ = w.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-wexit:
		if err != nil {
			t.Errorf("worker exit: %v\n%s", err, wlog.String())
		}
	case <-time.After(45 * time.Second):
		t.Fatal("worker: no exit 45s after SIGTERM")
	}
}

// buildBinary builds the service into dir, with the flags of `make build`
// and `make run`: the packages compiled here are the ones those targets
// reuse from the build cache (and a second test only links).
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "cartrecovery")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=e2e", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// startService runs `cartrecovery serve` until the test ends, its output
// in logs (shown when the test fails), and waits until it is ready.
func startService(t *testing.T, bin, cfgPath, base string, logs *syncBuffer) (*exec.Cmd, chan error) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitReady(t, base+"/readyz", exited)
	return cmd, exited
}

func waitReady(t *testing.T, url string, exited chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("service exited: %v", err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("service not ready after 30s")
}

func postShopify(t *testing.T, base, topic, id string, body []byte, want int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/webhooks/shopify", bytes.NewReader(body))
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Webhook-Id", id)
	req.Header.Set("X-Shopify-Shop-Domain", "e2e.myshopify.com")
	req.Header.Set("X-Shopify-Hmac-Sha256", shopify.Sign(body, "shpss_e2e"))
	do(t, req, want)
}

// postBigCommerce posts a delivery of scope with data, as BigCommerce
// signs it (Standard Webhooks), dated now by clock; n numbers the
// delivery (its webhook-id and hash).
func postBigCommerce(t *testing.T, base, secret string, now time.Time, n int, scope, data string, want int) {
	t.Helper()
	body := fmt.Sprintf(`{"scope":%q,"store_id":"1000001","data":%s,"hash":"h%d","created_at":%d,"producer":"stores/%s"}`,
		scope, data, n, now.Unix(), bigcommercetest.Hash)
	id, ts := fmt.Sprintf("msg_%d", n), strconv.FormatInt(now.Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/bigcommerce", strings.NewReader(body))
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", bigcommerce.Sign(id, ts, []byte(body), secret))
	do(t, req, want)
}

func postGeneric(t *testing.T, base, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/generic", strings.NewReader(body))
	req.Header.Set("X-Cartrecovery-Signature", generic.Sign([]byte(body), "generic_e2e"))
	do(t, req, want)
}

func do(t *testing.T, req *http.Request, want int) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s: %d %s, want %d", req.URL.Path, resp.StatusCode, b.String(), want)
	}
}
