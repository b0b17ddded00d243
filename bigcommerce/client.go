package bigcommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// ErrNoCart: the store no longer has the cart (converted into an order,
// deleted, or expired). It wraps recovery.ErrNotFound.
var ErrNoCart = fmt.Errorf("the store no longer has this cart: %w", recovery.ErrNotFound)

// Client calls BigCommerce's Management API for one store.
type Client struct {
	BaseURL   string // platforms.bigcommerce.api_url, "https://api.bigcommerce.com"
	StoreHash string // platforms.bigcommerce.store_hash
	Token     string // platforms.bigcommerce.access_token (X-Auth-Token); secret
	HTTP      *http.Client
}

// NewClient returns a client with a 10 s timeout per call.
func NewClient(baseURL, storeHash, token string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), StoreHash: storeHash, Token: token,
		HTTP: &http.Client{Timeout: 10 * time.Second}}
}

var decimalRE = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,6})?$`)

type cartResponse struct {
	Data struct {
		ID         string      `json:"id"`
		Email      string      `json:"email"`
		CustomerID json.Number `json:"customer_id"`
		Currency   struct {
			Code string `json:"code"`
		} `json:"currency"`
		CartAmount json.Number `json:"cart_amount"`
		LineItems  struct {
			Physical []lineItem `json:"physical_items"`
			Digital  []lineItem `json:"digital_items"`
			Custom   []lineItem `json:"custom_items"`
		} `json:"line_items"`
	} `json:"data"`
}

type lineItem struct {
	Name      string      `json:"name"`
	SKU       string      `json:"sku"`
	Quantity  int         `json:"quantity"`
	SalePrice json.Number `json:"sale_price"`
	ListPrice json.Number `json:"list_price"`
	ImageURL  string      `json:"image_url"`
	URL       string      `json:"url"`
}

// Cart fetches a cart's content and its shopper (GET /v3/carts/{id}).
// Amounts are kept as the decimal text BigCommerce sends. ErrNoCart when
// the store answers 404.
func (c *Client) Cart(ctx context.Context, id string) (recovery.Cart, recovery.Customer, error) {
	var r cartResponse
	if err := c.call(ctx, http.MethodGet, "/v3/carts/"+url.PathEscape(id), nil, &r); err != nil {
		return recovery.Cart{}, recovery.Customer{}, err
	}
	d := r.Data
	cart := recovery.Cart{ID: id, Currency: d.Currency.Code, Total: decimal(d.CartAmount)}
	for _, group := range [][]lineItem{d.LineItems.Physical, d.LineItems.Digital, d.LineItems.Custom} {
		for _, li := range group {
			price := decimal(li.SalePrice)
			if price == "" {
				price = decimal(li.ListPrice)
			}
			cart.Items = append(cart.Items, recovery.Item{SKU: li.SKU, Title: li.Name, Quantity: li.Quantity, Price: price,
				ImageURL: li.ImageURL, URL: li.URL})
		}
	}
	cu := recovery.Customer{Email: strings.TrimSpace(d.Email)}
	if n := d.CustomerID.String(); n != "" && n != "0" {
		cu.ID = n
	}
	return cart, cu, nil
}

// decimal keeps an amount's text when it is a plain decimal, else drops it.
func decimal(n json.Number) string {
	if decimalRE.MatchString(n.String()) {
		return n.String()
	}
	return ""
}

// RecoveryURL creates a link that restores the cart in the shopper's
// browser and takes them to checkout (POST /v3/carts/{id}/redirect_urls:
// single use, valid 30 days).
func (c *Client) RecoveryURL(ctx context.Context, id string) (string, error) {
	var r struct {
		Data struct {
			CartURL     string `json:"cart_url"`
			CheckoutURL string `json:"checkout_url"`
		} `json:"data"`
	}
	if err := c.call(ctx, http.MethodPost, "/v3/carts/"+url.PathEscape(id)+"/redirect_urls", []byte("{}"), &r); err != nil {
		return "", err
	}
	u := r.Data.CheckoutURL
	if u == "" {
		u = r.Data.CartURL
	}
	if p, err := url.Parse(u); err != nil || p.Scheme != "https" && p.Scheme != "http" || p.Host == "" {
		return "", fmt.Errorf("bigcommerce: redirect_urls of cart %s: no usable URL", id)
	}
	return u, nil
}

func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+"/stores/"+url.PathEscape(c.StoreHash)+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-Auth-Token", c.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("bigcommerce: %s %s: %w", method, path, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	switch {
	case err != nil:
		return fmt.Errorf("bigcommerce: %s %s: read: %w", method, path, err)
	case resp.StatusCode == http.StatusNotFound:
		return ErrNoCart
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("bigcommerce: %s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("bigcommerce: %s %s: %w", method, path, err)
	}
	return nil
}

// Store is the store hash the client answers for (a cart of another store
// is sent as its webhooks described it).
func (c *Client) Store() string { return c.StoreHash }
