package shopify_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/platform/shopify"
	"github.com/cartrecovery/cartrecovery/platform/shopify/shopifytest"
	"github.com/cartrecovery/cartrecovery/recovery"
)

// appClient is a client of the fake shop with its Dev Dashboard app's
// credentials, on a clock the test moves.
func appClient(t *testing.T, secret string) (*shopifytest.Server, *shopify.Client, *shopify.ClientCredentials, *time.Time) {
	t.Helper()
	s := shopifytest.Start(t)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	cc := shopify.NewClientCredentials(s.URL, shopifytest.Shop, shopifytest.ClientID, secret)
	cc.Now = func() time.Time { return now }
	return s, shopify.NewClientWith(s.URL, shopifytest.Shop, cc), cc, &now
}

func lookup(c *shopify.Client) error {
	_, _, err := c.OrderSince(context.Background(), recovery.CartState{Store: shopifytest.Shop, ID: "c1",
		Customer: recovery.Customer{Email: "ana@example.com"}}, time.Now().Add(-time.Hour))
	return err
}

// One token serves every goroutine: 20 concurrent calls make one token
// request, and the token is granted the scopes the fake gives.
func TestClientCredentialsOneTokenForAll(t *testing.T) {
	t.Parallel()
	s, c, cc, _ := appClient(t, shopifytest.ClientSecret)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- lookup(c) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for 20 calls, want 1", n)
	}
	if got := strings.Join(cc.Scopes(), ","); got != shopifytest.Scopes {
		t.Fatalf("scopes %q", got)
	}
}

// A token is renewed before it expires: with a 2h life, at 1h49m the kept
// one serves, at 1h51m (10 minutes before expiry) a new one is asked for.
func TestClientCredentialsRenewBeforeExpiry(t *testing.T) {
	t.Parallel()
	s, c, _, now := appClient(t, shopifytest.ClientSecret)
	s.TokenLife = 2 * time.Hour
	start := *now
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{0, 1}, {time.Hour, 1}, {109 * time.Minute, 1}, {111 * time.Minute, 2}, {112 * time.Minute, 2}} {
		*now = start.Add(tc.at)
		if err := lookup(c); err != nil {
			t.Fatal(err)
		}
		if n := s.TokenRequests(); n != tc.want {
			t.Fatalf("at +%v: %d token requests, want %d", tc.at, n, tc.want)
		}
	}
}

// A token Shopify refuses (expired early, revoked) is renewed once and the
// call goes through; a static admin token is not renewed.
func TestClientCredentialsRenewOn401(t *testing.T) {
	t.Parallel()
	s, c, _, _ := appClient(t, shopifytest.ClientSecret)
	if err := lookup(c); err != nil {
		t.Fatal(err)
	}
	s.RevokeTokens()
	calls := s.Calls()
	if err := lookup(c); err != nil {
		t.Fatalf("after a revoked token: %v", err)
	}
	if n, calls := s.TokenRequests(), s.Calls()-calls; n != 2 || calls != 3 { // 401, token, the call again
		t.Fatalf("%d token requests, %d requests for the call; want 2 and 3", n, calls)
	}
	// revoked again and again: one renewal per call, then the refusal
	s.RevokeTokens()
	stuck := shopify.NewClientWith(s.URL, shopifytest.Shop, revoking{s, shopify.NewClientCredentials(s.URL, shopifytest.Shop, shopifytest.ClientID, shopifytest.ClientSecret)})
	if err := lookup(stuck); err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("a token refused twice: %v", err)
	}
}

// revoking revokes every token as soon as it is given.
type revoking struct {
	s *shopifytest.Server
	*shopify.ClientCredentials
}

func (r revoking) Token(ctx context.Context) (string, error) {
	t, err := r.ClientCredentials.Token(ctx)
	r.s.RevokeTokens()
	return t, err
}

// A token request that fails, or credentials Shopify refuses, fail the
// call before any GraphQL request (the worker retries the step, nothing
// claimed), and the secret is never in the error.
func TestClientCredentialsFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, secret string
		fail         int
		want         string
	}{
		{"token endpoint down", shopifytest.ClientSecret, 1, "HTTP 500"},
		{"wrong secret", "not-the-secret-123", 0, "client_id and client_secret (platforms.shopify) are refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, c, _, _ := appClient(t, tc.secret)
			s.FailTokens(tc.fail)
			err := lookup(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "access token") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("the secret is in the error: %v", err)
			}
			if s.Calls() != s.TokenRequests() {
				t.Fatalf("%d requests, %d of them for a token: a GraphQL call went out without one", s.Calls(), s.TokenRequests())
			}
		})
	}
}

// A throttled call waits until the bucket holds its cost again (10 points
// at 100 a second: 100ms) and goes through; one throttled past the
// retries fails, to be retried by the worker.
func TestThrottleBacksOff(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	var waits []time.Duration
	c.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	s.ThrottleNext(2)
	if err := lookup(c); err != nil {
		t.Fatalf("throttled twice: %v", err)
	}
	if len(waits) != 2 || waits[0] != 100*time.Millisecond {
		t.Fatalf("waits %v, want two of 100ms", waits)
	}
	s.ThrottleNext(10)
	if err := lookup(c); err == nil || !strings.Contains(err.Error(), "THROTTLED") {
		t.Fatalf("throttled past the retries: %v", err)
	}
}

func TestConfigModes(t *testing.T) {
	t.Parallel()
	app := shopify.Config{Shop: shopifytest.Shop, ClientID: "id", ClientSecret: "cs"}
	if app.Mode() != "client credentials" || app.WebhookSecret() != "cs" {
		t.Fatalf("app: %q %q", app.Mode(), app.WebhookSecret())
	}
	if _, ok := app.Client().(*shopify.Client).Tokens.(*shopify.ClientCredentials); !ok {
		t.Fatal("an app's client does not use the client credentials grant")
	}
	token := shopify.Config{Shop: shopifytest.Shop, AdminToken: "shpat_x", Secret: "s"}
	if token.Mode() != "admin token" || token.WebhookSecret() != "s" {
		t.Fatalf("token: %q %q", token.Mode(), token.WebhookSecret())
	}
	for _, tc := range []struct {
		c    shopify.Config
		want string
	}{
		{shopify.Config{Shop: "a.myshopify.com", ClientID: "id"}, "platforms.shopify.client_id: client_id and client_secret go together"},
		{shopify.Config{ClientID: "id", ClientSecret: "cs"}, "platforms.shopify.shop: is required with client_id"},
		{shopify.Config{Shop: "a.myshopify.com", ClientID: "id", ClientSecret: "cs", AdminToken: "t"}, "platforms.shopify.admin_token: set admin_token or client_id"},
	} {
		var got []string
		tc.c.Validate("", func(key, format string, a ...any) { got = append(got, key+": "+format) })
		if len(got) == 0 || !strings.HasPrefix(got[0], tc.want) {
			t.Errorf("%+v: %v, want %q", tc.c, got, tc.want)
		}
	}
	// a listed store inherits the webhook secret, not the app's credentials
	st := app.ForStore(shopify.Config{}, "b.myshopify.com").(shopify.Config)
	if st.WebhookSecret() != "cs" || st.Mode() != "" {
		t.Fatalf("a listed store: %+v", st)
	}
}

// check and the start-up log say how each shop's API is reached, and warn
// once the pinned API version is more than 12 months old.
func TestConfigNotes(t *testing.T) {
	t.Parallel()
	app := shopify.Config{Shop: shopifytest.Shop, ClientID: "id-1", ClientSecret: "cs"}
	notes, warnings := app.Notes(shopify.APIReleased.AddDate(0, 6, 0))
	if len(notes) != 1 || !strings.Contains(notes[0], "client credentials (client_id id-1") || len(warnings) != 0 {
		t.Fatalf("notes %q, warnings %q", notes, warnings)
	}
	if strings.Contains(strings.Join(notes, " "), "cs") {
		t.Fatal("the client secret is in a note")
	}
	_, warnings = app.Notes(shopify.APIReleased.AddDate(1, 0, 1))
	if len(warnings) != 1 || !strings.Contains(warnings[0], "Admin API version "+shopify.APIVersion) {
		t.Fatalf("warnings past 12 months %q", warnings)
	}
	if n, w := (shopify.Config{Secret: "s"}).Notes(shopify.APIReleased.AddDate(2, 0, 0)); len(n)+len(w) != 0 {
		t.Fatalf("no API, yet notes %q %q", n, w)
	}
}

// A reload builds the clients again from the configuration: they share
// the token source (and its token) of the same app in the same shop; a
// changed secret gets a source of its own.
func TestClientsOfOneAppShareTheirToken(t *testing.T) {
	t.Parallel()
	s := shopifytest.Start(t)
	cfg := shopify.Config{Shop: shopifytest.Shop, ClientID: shopifytest.ClientID, ClientSecret: shopifytest.ClientSecret, APIURL: s.URL}
	for range 3 { // the start and two reloads
		if err := lookup(cfg.Client().(*shopify.Client)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests over three builds of the client, want 1", n)
	}
	other := cfg
	other.ClientSecret = "rotated-secret"
	if other.Client().(*shopify.Client).Tokens == cfg.Client().(*shopify.Client).Tokens {
		t.Fatal("a rotated secret shares the old secret's token source")
	}
}
