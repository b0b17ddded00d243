package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// NewSMS returns the transport named by cfg.Transport: "twilio" or "log".
func NewSMS(cfg SMSOptions, log *slog.Logger, opts ...Option) (Sender, error) {
	var o transportOptions
	for _, f := range opts {
		f(&o)
	}
	switch cfg.Transport {
	case "twilio":
		return newTwilio(cfg.Twilio, o, log)
	case "log":
		return &logSMS{log: log}, nil
	}
	return nil, fmt.Errorf("sms.transport: unknown transport %q", cfg.Transport)
}

type twilioSMS struct {
	// create is the one Twilio call used, kept as a method value: holding
	// the whole *ApiService would keep all of its hundreds of methods in the
	// binary (text/template's reflection makes the linker keep every
	// exported method of a type reachable from an interface).
	create func(*openapi.CreateMessageParams) (*openapi.ApiV2010Message, error)
	from   string
	mgs    string
	log    *slog.Logger
}

// rewriteHost sends twilio-go's requests to base (sms.twilio.base_url):
// twilio-go has no base-URL option of its own.
type rewriteHost struct {
	base *url.URL
	next http.RoundTripper
}

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.base.Scheme, r.base.Host
	req.Host = r.base.Host
	return r.next.RoundTrip(req)
}

func newTwilio(cfg TwilioOptions, o transportOptions, log *slog.Logger) (*twilioSMS, error) {
	timeout := o.timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("sms.twilio.base_url: %q is not a URL", cfg.BaseURL)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 16
	// Keep connections to Twilio warm between sends: a send that must dial
	// (DNS, TCP, TLS) does so after its claim. SMS has no pool to acquire
	// first, so this is the one place a wait can follow the claim; a longer
	// idle timeout makes it rare.
	transport.IdleConnTimeout = 5 * time.Minute
	hc := &http.Client{
		Timeout:   timeout,
		Transport: rewriteHost{base: base, next: transport},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	c := &client.Client{Credentials: client.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: hc}
	c.SetAccountSid(cfg.AccountSID)
	api := openapi.NewApiServiceWithClient(c)
	return &twilioSMS{create: api.CreateMessage, from: cfg.From, mgs: cfg.MessagingServiceSID, log: log}, nil
}

// Send creates the message at Twilio.
func (t *twilioSMS) Send(ctx context.Context, m Message) error {
	p := &openapi.CreateMessageParams{}
	p.SetTo(m.To)
	p.SetBody(m.Text)
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}
	switch {
	case strings.HasPrefix(m.From, "MG"): // a store's own Messaging Service
		p.SetMessagingServiceSid(m.From)
	case m.From != "": // a store's own number
		p.SetFrom(m.From)
	case t.mgs != "":
		p.SetMessagingServiceSid(t.mgs)
	default:
		p.SetFrom(t.from)
	}
	res, err := t.create(p)
	if err != nil {
		return classifyTwilio(err)
	}
	sid := ""
	if res.Sid != nil {
		sid = *res.Sid
	}
	t.log.Debug("sms accepted by twilio", "to", MaskPhone(m.To), "sid", sid)
	return nil
}

// twilioOptedOut is Twilio's error for a recipient who replied STOP.
const twilioOptedOut = 21610

// Twilio error codes that will not succeed on retry.
var twilioPermanent = map[int]string{
	twilioOptedOut: "recipient opted out (STOP)",
	21211:          "invalid 'To' number",
	21614:          "'To' is not a mobile number",
	21408:          "region not enabled for this account",
	21612:          "'To' cannot be reached from this sender",
	21606:          "'From' cannot send SMS",
	21660:          "'From' does not belong to the account",
	30007:          "blocked as spam by the carrier",
}

// classifyTwilio maps twilio-go errors onto the retry rules.
func classifyTwilio(err error) error {
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		reason := twilioPermanent[te.Code]
		if reason == "" {
			reason = scrub(te.Message)
		}
		detail := fmt.Sprintf("twilio %d (code %d): %s", te.Status, te.Code, reason)
		switch {
		case te.Code == twilioOptedOut:
			return fmt.Errorf("%s: %w", detail, ErrOptedOut)
		case te.Status == http.StatusTooManyRequests || te.Status >= 500:
			return fmt.Errorf("%s: %w", detail, ErrTemporary)
		default:
			return fmt.Errorf("%s: %w", detail, ErrPermanent)
		}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("twilio: connect: %s: %w", scrub(op.Error()), ErrTemporary)
	}
	// A timeout or reset after the request went out: Twilio may have
	// created the message. Not retried.
	return fmt.Errorf("twilio: outcome unknown: %s", scrub(err.Error()))
}

type logSMS struct{ log *slog.Logger }

func (l *logSMS) Send(_ context.Context, m Message) error {
	// The body is not logged: its link opens the customer's checkout.
	l.log.Info("sms (log transport)", "to", MaskPhone(m.To), "chars", len([]rune(m.Text)), "id", m.ID)
	return nil
}
