package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/platform/shopify"
)

// signed is a webhook body and its X-Shopify-Hmac-Sha256.
type signed struct {
	body []byte
	sig  string
}

// shopifyBodies builds and signs, before any clock starts, the bodies of
// the Shopify measurements: *nOps checkouts with distinct tokens, and the
// same checkouts a minute later (updates). The client's work is not what is
// measured.
func shopifyBodies() (first, second []signed, err error) {
	raw, err := os.ReadFile(*fixture)
	if err != nil {
		return nil, nil, err
	}
	mk := func(i int, updatedAt string) signed {
		b := strings.Replace(string(raw), `"token": "123123123"`, `"token": "tok`+strconv.Itoa(i)+`"`, 1)
		b = strings.Replace(b, `"updated_at": "2021-12-31T19:00:00-05:00"`, `"updated_at": "`+updatedAt+`"`, 1)
		return signed{[]byte(b), shopify.Sign([]byte(b), secret)}
	}
	now := time.Now().UTC()
	first, second = make([]signed, *nOps), make([]signed, *nOps)
	for i := range first {
		first[i] = mk(i, now.Add(-time.Minute).Format(time.RFC3339))
		second[i] = mk(i, now.Format(time.RFC3339))
	}
	return first, second, nil
}

// postShopify posts a signed checkout as Shopify does and wants status.
func postShopify(hc *http.Client, url string, s signed, id string, status int) error {
	return postWebhookStatus(hc, url, s.body, map[string]string{"X-Shopify-Topic": "checkouts/update",
		"X-Shopify-Hmac-Sha256": s.sig, "X-Shopify-Webhook-Id": id, "X-Shopify-Shop-Domain": "bench.myshopify.com"}, status)
}

// The naive handler is what a Go developer would write with the same
// libraries, without cartrecovery's storage: read the body (1 MiB limit),
// check the HMAC in constant time, json.Unmarshal the checkout into a
// struct, and schedule one delayed asynq task per step of the sequence
// (1h, 24h, 72h, as the bench's store), then answer 200. It checks less
// (no dedupe, no debounce: an update schedules three more tasks) and its
// task payload is small; what it costs is what it is measured against.

type naiveAddress struct {
	FirstName   string `json:"first_name"`
	Phone       string `json:"phone"`
	Country     string `json:"country"`
	CountryCode string `json:"country_code"`
}

type naiveCheckout struct {
	ID                    int64     `json:"id"`
	Token                 string    `json:"token"`
	CartToken             string    `json:"cart_token"`
	Email                 string    `json:"email"`
	Phone                 string    `json:"phone"`
	UpdatedAt             time.Time `json:"updated_at"`
	Currency              string    `json:"currency"`
	TotalPrice            string    `json:"total_price"`
	AbandonedCheckoutURL  string    `json:"abandoned_checkout_url"`
	BuyerAcceptsMarketing bool      `json:"buyer_accepts_marketing"`
	CustomerLocale        string    `json:"customer_locale"`
	LineItems             []struct {
		Title     string `json:"title"`
		Quantity  int    `json:"quantity"`
		Price     string `json:"price"`
		VariantID int64  `json:"variant_id"`
		SKU       string `json:"sku"`
		ImageURL  string `json:"image_url"`
	} `json:"line_items"`
	Customer *struct {
		ID        int64  `json:"id"`
		Email     string `json:"email"`
		FirstName string `json:"first_name"`
		Phone     string `json:"phone"`
	} `json:"customer"`
	ShippingAddress *naiveAddress `json:"shipping_address"`
	BillingAddress  *naiveAddress `json:"billing_address"`
}

type naiveTask struct {
	Shop  string `json:"shop"`
	Token string `json:"token"`
	Email string `json:"email"`
	Step  int    `json:"step"`
}

func naiveHandler(cl *asynq.Client, secret string, delays []time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		got, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Shopify-Hmac-Sha256"))
		if err != nil || !hmac.Equal(got, m.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var c naiveCheckout
		if err := json.Unmarshal(body, &c); err != nil || c.Token == "" {
			http.Error(w, "bad checkout", http.StatusBadRequest)
			return
		}
		shop := r.Header.Get("X-Shopify-Shop-Domain")
		for step, d := range delays {
			p, _ := json.Marshal(naiveTask{Shop: shop, Token: c.Token, Email: c.Email, Step: step})
			if _, err := cl.EnqueueContext(r.Context(), asynq.NewTask("checkout:remind", p), asynq.ProcessIn(d)); err != nil {
				http.Error(w, "enqueue failed", http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
}

// benchNaive measures the naive handler and ours (new carts, then updates
// of them) over HTTP with the same client, bodies and concurrency, in
// *rounds alternating rounds on a flushed Redis, and returns the median
// round of each.
func benchNaive(ctx context.Context, rdb *goredis.Client, first, second []signed) (naive, creates, updates result, err error) {
	var ns, cs, us []result
	for range *rounds {
		_ = rdb.FlushAll(ctx).Err()
		ts := httptest.NewServer(naiveHandler(asynq.NewClientFromRedisClient(rdb), secret, []time.Duration{time.Hour, 24 * time.Hour, 72 * time.Hour}))
		hc := benchClient()
		n, err := measure("naive handler (3 asynq Enqueue)", *nOps, *conc, func(i int) error {
			return postShopify(hc, ts.URL, first[i], "n"+strconv.Itoa(i), http.StatusOK)
		})
		ts.Close()
		hc.CloseIdleConnections()
		if err != nil {
			return naive, creates, updates, err
		}
		c, u, err := benchIngest(rdb, first, second)
		if err != nil {
			return naive, creates, updates, err
		}
		ns, cs, us = append(ns, n), append(cs, c), append(us, u)
	}
	return median(ns), median(cs), median(us), nil
}

// median returns the result with the median rate.
func median(rs []result) result {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b result) int {
		switch {
		case a.rate < b.rate:
			return -1
		case a.rate > b.rate:
			return 1
		}
		return 0
	})
	return rs[len(rs)/2]
}

// postWebhookStatus posts body with headers and wants status.
func postWebhookStatus(hc *http.Client, url string, body []byte, headers map[string]string, status int) error {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("status %d (want %d): %s", resp.StatusCode, status, b)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}
