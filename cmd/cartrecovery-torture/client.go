package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// event is the documented generic webhook body.
type event struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	OccurredAt string    `json:"occurred_at"`
	Store      string    `json:"store"`
	Cart       *cart     `json:"cart,omitempty"`
	Customer   *customer `json:"customer,omitempty"`
	Order      *order    `json:"order,omitempty"`
}

type cart struct {
	ID          string `json:"id"`
	Currency    string `json:"currency"`
	Total       string `json:"total"`
	RecoveryURL string `json:"recovery_url"`
	Items       []item `json:"items"`
}

type item struct {
	SKU      string `json:"sku"`
	Title    string `json:"title"`
	Quantity int    `json:"quantity"`
	Price    string `json:"price"`
	URL      string `json:"url"`
}

type customer struct {
	ID           string `json:"id,omitempty"`
	Email        string `json:"email"`
	Phone        string `json:"phone,omitempty"`
	FirstName    string `json:"first_name,omitempty"`
	EmailConsent bool   `json:"email_consent"`
}

type order struct {
	ID       string `json:"id"`
	CartID   string `json:"cart_id"`
	Total    string `json:"total"`
	Currency string `json:"currency"`
}

// stamp formats t as RFC 3339 with milliseconds.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// cartEvent is a cart.updated for cart id of store, dated at.
func cartEvent(evID, store, id, email, firstName string, at time.Time) event {
	return event{ID: evID, Type: "cart.updated", OccurredAt: stamp(at), Store: store,
		Cart: &cart{ID: id, Currency: "EUR", Total: "19.90", RecoveryURL: "https://shop.example/cart/" + id,
			Items: []item{{SKU: "TEE-1", Title: "T-shirt", Quantity: 1, Price: "19.90", URL: "https://shop.example/p/tee"}}},
		Customer: &customer{Email: email, FirstName: firstName, EmailConsent: true}}
}

// orderEvent is an order.created by email for cart id.
func orderEvent(evID, store, id, email string, at time.Time) event {
	return event{ID: evID, Type: "order.created", OccurredAt: stamp(at), Store: store,
		Customer: &customer{Email: email, EmailConsent: true},
		Order:    &order{ID: "o-" + id, CartID: id, Total: "19.90", Currency: "EUR"}}
}

// deleteEvent is a cart.deleted for cart id.
func deleteEvent(evID, store, id string, at time.Time) event {
	return event{ID: evID, Type: "cart.deleted", OccurredAt: stamp(at), Store: store, Cart: &cart{ID: id, Currency: "EUR", Total: "0.00"}}
}

// reply is the outcome of one delivery as the platform sees it.
type reply struct {
	Status int
	Body   string
	Sent   time.Time // when the (last) request started
	Ack    time.Time // when its status arrived
}

// webhookClient posts signed generic webhooks and, like a platform, retries
// a delivery that got no answer or a 5xx.
type webhookClient struct {
	base string
	http *http.Client
}

func newWebhookClient(base string) *webhookClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &webhookClient{base: base, http: &http.Client{Timeout: 10 * time.Second, Transport: tr}}
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post delivers ev (retrying for up to 30 s on errors and 5xx) and returns
// the final reply.
func (w *webhookClient) post(ev event) (reply, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return reply{}, err
	}
	return w.postRaw(body)
}

func (w *webhookClient) postRaw(body []byte) (reply, error) {
	var r reply
	err := waitFor(30*time.Second, 100*time.Millisecond, func() error {
		req, err := http.NewRequest(http.MethodPost, w.base+"/webhooks/generic", bytes.NewReader(body))
		if err != nil {
			return errStop{err}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Cartrecovery-Signature", sign(body))
		r.Sent = time.Now()
		resp, err := w.http.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.Ack, r.Status, r.Body = time.Now(), resp.StatusCode, string(b)
		if resp.StatusCode >= 500 {
			return fmt.Errorf("%d %s", resp.StatusCode, b)
		}
		return nil
	})
	return r, err
}

// ok is a 2xx.
func (r reply) ok() bool { return r.Status >= 200 && r.Status < 300 }
