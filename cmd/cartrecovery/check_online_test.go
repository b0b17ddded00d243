package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/shopify/shopifytest"
)

// check says how a Shopify store reaches its Admin API, and with --online
// fetches a token with the app's credentials and reports its scopes; wrong
// credentials fail it (exit 1), naming the store, never the secret.
func TestCheckOnlineShopifyApp(t *testing.T) {
	fake := shopifytest.Start(t)
	write := func(secret string) string {
		p := filepath.Join(t.TempDir(), "c.yaml")
		cfg := fmt.Sprintf(`platforms:
  shopify: {shop: %s, client_id: %s, client_secret: %s, api_url: %q}
templates: {dir: %q}
`, shopifytest.Shop, shopifytest.ClientID, secret, fake.URL, filepath.Join("..", "..", "templates"))
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var buf bytes.Buffer
	if err := run(context.Background(), []string{"check", "--config", write(shopifytest.ClientSecret), "--online"}, &buf, &buf); err != nil {
		t.Fatalf("check --online: %v\n%s", err, buf.String())
	}
	for _, want := range []string{
		"note: platforms.shopify: Admin API of " + shopifytest.Shop + " by client credentials (client_id " + shopifytest.ClientID,
		"online: platforms.shopify: a token of " + shopifytest.Shop + " was granted " + shopifytest.Scopes + ": every scope needed",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("check says:\n%s\nwant %q", buf.String(), want)
		}
	}
	if fake.TokenRequests() != 1 {
		t.Errorf("%d token requests, want 1", fake.TokenRequests())
	}
	// without --online nothing is asked
	buf.Reset()
	if err := run(context.Background(), []string{"check", "--config", write(shopifytest.ClientSecret)}, &buf, &buf); err != nil || fake.TokenRequests() != 1 {
		t.Fatalf("check without --online: %v, %d token requests\n%s", err, fake.TokenRequests(), buf.String())
	}
	buf.Reset()
	const wrong = "not-the-app-secret-42"
	err := run(context.Background(), []string{"check", "--config", write(wrong), "--online"}, &buf, &buf)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "online check failed for platforms.shopify") ||
		!strings.Contains(buf.String(), "client_id and client_secret (platforms.shopify) are refused") {
		t.Fatalf("wrong secret: %v\n%s", err, buf.String())
	}
	if strings.Contains(buf.String()+err.Error(), wrong) {
		t.Fatal("the client secret is in check's output")
	}
	if shopify.VersionStale(shopify.APIReleased) {
		t.Fatal("the pinned version is stale on its release day")
	}
}
