package server

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// Keywords of an inbound SMS, compared without case or surrounding space:
// the carriers' (CTIA) opt-out, opt-in and help words.
var (
	smsStop  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true}
	smsStart = map[string]bool{"START": true, "UNSTOP": true, "YES": true}
	smsHelp  = map[string]bool{"HELP": true, "INFO": true}
)

// maxTwilioForm bounds a Twilio callback's form body (they are about 1 KB).
const maxTwilioForm = 64 << 10

// twilioForm reads a callback's form and checks X-Twilio-Signature with
// twilio-go's own validator, against the URL Twilio was given: the public
// URL with this request's path and query. An unsigned or wrongly signed
// request is ErrUnauthorized; nothing else is read from it.
func (s *Server) twilioForm(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	if s.TwilioToken == "" {
		return nil, fmt.Errorf("sms.twilio.auth_token is not configured: %w", recovery.ErrUnauthorized)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTwilioForm)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("form over %d bytes: %w", maxTwilioForm, recovery.ErrTooLarge)
		}
		return nil, fmt.Errorf("form: %v: %w", err, recovery.ErrInvalid)
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		return nil, fmt.Errorf("missing X-Twilio-Signature: %w", recovery.ErrUnauthorized)
	}
	params := make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	u := strings.TrimSuffix(s.PublicURL, "/") + r.URL.RequestURI()
	v := client.NewRequestValidator(s.TwilioToken)
	if !v.Validate(u, params, sig) {
		return nil, fmt.Errorf("X-Twilio-Signature does not match %s and the form: %w", u, recovery.ErrUnauthorized)
	}
	return params, nil
}

type twiml struct {
	XMLName xml.Name `xml:"Response"`
	Message string   `xml:"Message,omitempty"`
}

func writeTwiML(w http.ResponseWriter, message string) {
	b, _ := xml.Marshal(twiml{Message: message})
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

// twilioInbound handles an SMS sent to the shop's number: STOP and its
// synonyms suppress the number in every store (checked again at each
// claim), START lifts that, HELP is answered with sms.help_text (a
// store's own when the text was sent to that store's sms_from). Other
// texts are acknowledged with an empty answer. Twilio's own Advanced
// Opt-Out may answer STOP too; this service only records it.
func (s *Server) twilioInbound(w http.ResponseWriter, r *http.Request) {
	form, err := s.twilioForm(w, r)
	if err != nil {
		writeError(w, s.Log, err)
		return
	}
	from := strings.TrimSpace(form["From"])
	// the whole text is the keyword, as carriers match it, punctuation
	// around it aside ("Stop.", "STOP!")
	word := strings.ToUpper(strings.Trim(strings.TrimSpace(form["Body"]), ".!?¡¿ "))
	switch form["OptOutType"] { // Twilio's Advanced Opt-Out classified it (its own keyword lists)
	case "STOP", "START", "HELP":
		word = form["OptOutType"]
	}
	hash := recovery.ContactHash(from)
	switch {
	case from == "":
		writeError(w, s.Log, recovery.Invalid("From", "is required"))
		return
	case smsStop[word]:
		if err := s.Store.SuppressEverywhere(r.Context(), "sms", hash, "replied "+word); err != nil {
			// Twilio does not retry an inbound message: the log keeps what
			// is needed to apply it by hand
			s.Log.Error("sms opt-out not recorded", "from", notify.MaskPhone(from), "contact_hash", hash, "err", err)
			writeError(w, s.Log, err)
			return
		}
		s.Log.Info("sms opt-out", "from", notify.MaskPhone(from), "keyword", word)
	case smsStart[word]:
		if err := s.Store.Unsuppress(r.Context(), "sms", hash); err != nil {
			writeError(w, s.Log, err)
			return
		}
		s.Log.Info("sms opt-in", "from", notify.MaskPhone(from), "keyword", word)
	case smsHelp[word]:
		s.Log.Info("sms help", "from", notify.MaskPhone(from))
		writeTwiML(w, s.settings().smsHelpFor(strings.TrimSpace(form["To"]), form["MessagingServiceSid"]))
		return
	}
	writeTwiML(w, "")
}

// twilioStatus records an SMS's delivery receipt. The message is named by
// the status callback URL it was sent with (?m=<message key>), which
// Twilio signs with the rest; non-final statuses (queued, sent…) are
// acknowledged and ignored.
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	form, err := s.twilioForm(w, r)
	if err != nil {
		writeError(w, s.Log, err)
		return
	}
	status := form["MessageStatus"]
	switch status {
	case recovery.ReceiptDelivered, recovery.ReceiptUndelivered, recovery.ReceiptFailed:
	default:
		w.WriteHeader(http.StatusNoContent)
		return
	}
	m, err := recovery.ParseMessageKey(r.URL.Query().Get("m"))
	if err != nil || !recovery.ValidStore(m.Store) || m.Channel != "sms" {
		writeError(w, s.Log, recovery.Invalid("m", "must name the message (the status callback URL it was sent with)"))
		return
	}
	ok, err := s.Store.Receipt(r.Context(), m, status, form["ErrorCode"])
	if err != nil {
		writeError(w, s.Log, err)
		return
	}
	if ok && s.Receipts != nil {
		s.Receipts("sms", status)
	}
	s.Log.Info("sms receipt", "store", m.Store, "cart", m.Cart, "step", m.Step, "status", status, "recorded", ok)
	w.WriteHeader(http.StatusNoContent)
}
