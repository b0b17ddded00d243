// Command cartrecovery-bench measures cartrecovery against baselines taken
// in the same run on the same private redis-server (make bench):
//
//   - ingest: signed Shopify-sized webhooks per second through the real HTTP
//     handler, and p50/p99 latency, beside bare asynq Enqueue+ProcessIn;
//   - the Shopify webhook beside a naive handler written with the same
//     libraries (HMAC, encoding/json, one asynq Enqueue per step), over
//     HTTP with the same client and bodies;
//   - memory: Redis bytes per pending two-item cart (INFO used_memory delta),
//     beside the alternative of one delayed asynq task per cart;
//   - counters: Store.Ingest with the report counters on vs off;
//   - report: latency of a 90-day report over 1,000,000 tracked carts;
//   - lateness: how long after its due time each reminder starts sending;
//   - cluster: ingest and lateness on a real 3-master Redis Cluster beside
//     the single server;
//   - SMTP pool: the gap from each claim to its MAIL FROM at a 200 ms relay,
//     and emails per second through the pool beside one connection.
//
// It prints ratios; it asserts nothing. -cpu adds the CPU each operation
// cost this process and Redis.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cartrecovery/cartrecovery/internal/testredis"
	"github.com/cartrecovery/cartrecovery/link"
	"github.com/cartrecovery/cartrecovery/notify"
	"github.com/cartrecovery/cartrecovery/platform/bigcommerce"
	"github.com/cartrecovery/cartrecovery/platform/generic"
	"github.com/cartrecovery/cartrecovery/platform/woocommerce"
	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/redis"
	"github.com/cartrecovery/cartrecovery/render"
	"github.com/cartrecovery/cartrecovery/server"
	"github.com/cartrecovery/cartrecovery/tenant"
	"github.com/cartrecovery/cartrecovery/worker"
)

var (
	nOps      = flag.Int("n", 20000, "operations per throughput measurement")
	conc      = flag.Int("c", 32, "concurrent clients")
	nMem      = flag.Int("carts", 20000, "pending carts for the memory measurement")
	nLate     = flag.Int("late", 500, "carts for the lateness measurement")
	lateDelay = flag.Duration("delay", 2*time.Second, "step delay in the lateness measurement")
	fixture   = flag.String("fixture", "platform/shopify/testdata/checkouts_create.json", "Shopify checkout payload used as the webhook body")
	wooOrder  = flag.String("woo-fixture", "platform/woocommerce/testdata/order.json", "WooCommerce order payload")
	tmplDir   = flag.String("templates", "templates", "templates directory")
	cpuProf   = flag.String("cpuprofile", "", "write a CPU profile of the ingest measurement to this file")
	smtpLat   = flag.Duration("smtp-latency", 200*time.Millisecond, "SMTP server time per message in the pool measurement")
	nPool     = flag.Int("pool-carts", 200, "carts sent through the SMTP pool (a fifth of them through one connection)")
)

const secret = "bench-secret"

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	srv, err := testredis.Start(16)
	if err != nil {
		return err
	}
	defer srv.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr, PoolSize: 4 * *conc})
	defer rdb.Close()
	defer meter.against(rdb)()
	ctx := context.Background()
	ver, _ := rdb.Info(ctx, "server").Result()
	fmt.Printf("cartrecovery bench — %s, GOMAXPROCS=%d, redis %s at %s, n=%d, c=%d\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), field(ver, "redis_version"), srv.Addr, *nOps, *conc)

	// 1. Memory per pending cart, first: on a fresh server, before the
	// throughput phases leave client buffers and allocator state behind.
	ours, alt, err := benchMemory(ctx, rdb)
	if err != nil {
		return err
	}
	fmt.Println("== Redis memory per pending two-item cart (INFO used_memory delta / carts) ==")
	fmt.Printf("cartrecovery (cart hash + content key + due entry + cart_token ref): %6.0f B\n", ours)
	fmt.Printf("alternative: same + one delayed asynq task per cart:                  %6.0f B (%.2fx)\n", alt, alt/ours)
	seg, err := benchMemorySegment(ctx, rdb)
	if err != nil {
		return err
	}
	fmt.Printf("the same cart in a segment (its name kept with the cart):             %6.0f B (%.2fx)\n", seg, seg/ours)
	fmt.Println("target: <= 1024 B")
	fmt.Println()

	// 2. Throughput and latency.
	first, second, err := shopifyBodies()
	if err != nil {
		return err
	}
	fmt.Printf("webhook body: %d bytes (Shopify checkouts/update sample)\n", len(first[0].body))
	base, err := benchAsynq(ctx, rdb)
	if err != nil {
		return err
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			return err
		}
		_ = pprof.StartCPUProfile(f)
	}
	creates, updates, err := benchIngest(rdb, first, second)
	if *cpuProf != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	small, err := benchGeneric(rdb)
	if err != nil {
		return err
	}
	woo, err := benchWooCommerce(rdb)
	if err != nil {
		return err
	}
	bc, err := benchBigCommerce(rdb)
	if err != nil {
		return err
	}
	stopProfile, err := profile(*storeProf)
	if err != nil {
		return err
	}
	store, err := benchStore(ctx, rdb)
	stopProfile()
	if err != nil {
		return err
	}
	printRates("ingest (HTTP, HMAC verify, JSON parse, one Lua script) vs bare asynq Enqueue+ProcessIn, same Redis",
		"ingest >= 1.0x the bare asynq rate", base, creates, updates, woo, bc, small, store)
	// For context: our one script records the cart and schedules its whole
	// three-step sequence; asynq alone needs one Enqueue per step for that.
	seq, err := measureEnqueueSteps(ctx, rdb, "bare asynq, 3 Enqueue+ProcessIn (one per step)", []string{"bench"}, 3)
	if err != nil {
		return err
	}
	printRates("Store.Ingest vs scheduling the same 3-step sequence with asynq alone (context, not the target)",
		"none (the target is against one Enqueue, above)", seq, store)

	// 2b. The Shopify webhook beside the handler a Go developer would
	// write with the same libraries.
	naive, nCreates, nUpdates, err := benchNaive(ctx, rdb, first, second)
	if err != nil {
		return err
	}
	first, second = nil, nil // 2 x n signed 8 KB bodies
	printRates(fmt.Sprintf("Shopify webhook over HTTP vs a naive handler (HMAC + encoding/json + one asynq Enqueue per step), median of %d alternating rounds", *rounds),
		"webhook >= 1.5x the naive handler", naive, nCreates, nUpdates)

	// 3. Report counters: their cost on the ingest path.
	on, off, err := benchCounters(ctx, rdb)
	if err != nil {
		return err
	}
	printRates(fmt.Sprintf("report counters on the ingest path (median of %d alternating rounds)", *rounds),
		"counters on >= 0.9x counters off", off, on)

	// 4. Report latency over many tracked carts.
	if *nReport > 0 {
		fx, timed, err := benchReport(ctx, rdb)
		if err != nil {
			return err
		}
		fmt.Printf("== report latency over %d tracked carts (%d days x 3 stores, %d keys in Redis) ==\n", fx.carts, *reportDays, fx.keys)
		fmt.Printf("populated through the Store in %s (%.0f carts/s): %d reminded, %d held for the holdout, %d orders\n",
			(time.Duration(float64(fx.carts) / fx.fill.rate * float64(time.Second))).Round(time.Second), fx.fill.rate, fx.reminded, fx.held, fx.orders)
		fmt.Printf("report says: %d tracked (+%d holdout), %d abandoned, %d recovered, %d orders, %d converted before a reminder\n",
			fx.totals.Carts, fx.holdout.Carts, fx.totals.Abandoned, fx.totals.Recovered, fx.totals.Orders, fx.totals.ConvertedBeforeReminder)
		fmt.Printf("%-34s %10s %10s %10s\n", "", "p50", "p99", "p99/50ms")
		for _, r := range timed {
			fmt.Printf("%-34s %10s %10s %9.2fx\n", r.name, r.p50, r.p99, float64(r.p99)/float64(50*time.Millisecond))
		}
		fmt.Println("target: <= 50ms (p99/50ms <= 1)")
		fmt.Println()
	}

	// 5. Lateness.
	late, err := benchLateness(ctx, rdb, []string{"shop.myshopify.com"}, []string{"bench:reminders"})
	if err != nil {
		return err
	}
	fmt.Println("== reminder start lateness after due time ==")
	fmt.Printf("carts=%d delay=%s: p50 %s  p99 %s  max %s\n", len(late), *lateDelay, pct(late, 50), pct(late, 99), slices.Max(late))
	fmt.Println("target: p99 <= 250ms (the relay wakes when the next cart is due)")
	fmt.Println()

	// 5b. The same on a real Redis Cluster, beside the single server.
	if err := benchCluster(ctx, rdb); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}

	// 6. The SMTP pool: claim-to-provider gap and throughput against a
	// slow relay, beside one connection.
	pooled, err := benchPool(ctx, rdb, 4, *nPool, 10, *smtpLat)
	if err != nil {
		return err
	}
	one, err := benchPool(ctx, rdb, 1, max(1, *nPool/5), 10, *smtpLat)
	if err != nil {
		return err
	}
	printPool(*smtpLat, 10, pooled, one)
	return nil
}

// printRates prints results as rates with their ratio to the first.
func printRates(title, target string, base result, rest ...result) {
	fmt.Printf("== %s ==\n", title)
	fmt.Printf("%-34s %10s %10s %10s %8s%s\n", "", "ops/s", "p50", "p99", "ratio", cpuHeader())
	for _, r := range append([]result{base}, rest...) {
		fmt.Printf("%-34s %10.0f %10s %10s %7.2fx%s\n", r.name, r.rate, r.p50, r.p99, r.rate/base.rate, cpuCols(r))
	}
	fmt.Println("target: " + target)
	fmt.Println()
}

type result struct {
	name     string
	rate     float64
	p50, p99 time.Duration
	// CPU per operation of this process and of Redis (-cpu).
	goCPU, redisCPU time.Duration
}

// measure runs op n times over c goroutines.
func measure(name string, n, c int, op func(i int) error) (result, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	self0, redis0 := meter.sample()
	start := time.Now()
	for g := 0; g < c; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t := time.Now()
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	self1, redis1 := meter.sample()
	if e, ok := firstErr.Load().(error); ok {
		return result{}, fmt.Errorf("%s: %w", name, e)
	}
	return result{name: name, rate: float64(n) / el.Seconds(), p50: pct(lat, 50), p99: pct(lat, 99),
		goCPU: (self1 - self0) / time.Duration(max(n, 1)), redisCPU: (redis1 - redis0) / time.Duration(max(n, 1))}, nil
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)].Round(10 * time.Microsecond)
}

func benchAsynq(ctx context.Context, rdb *goredis.Client) (result, error) {
	return measureEnqueue(ctx, rdb, "bare asynq Enqueue+ProcessIn", []string{"bench"})
}

func newStore(rdb goredis.UniversalClient, delays ...time.Duration) *redis.Store {
	return redis.NewStore(rdb, redis.Options{Prefix: "cartrecovery:", Policies: recovery.SequenceOf(delays...)})
}

// benchIngest posts the signed checkouts to the real HTTP handler on a
// fresh store: first as new carts, then second as their updates.
func benchIngest(rdb *goredis.Client, first, second []signed) (result, result, error) {
	ts, hc := benchServer(rdb)
	defer ts.Close()
	defer hc.CloseIdleConnections()
	url := ts.URL + "/webhooks/shopify"
	cr, err := measure("webhook, new carts", *nOps, *conc, func(i int) error {
		return postShopify(hc, url, first[i], "c"+strconv.Itoa(i), http.StatusAccepted)
	})
	if err != nil {
		return cr, cr, err
	}
	up, err := measure("webhook, updates of existing carts", *nOps, *conc, func(i int) error {
		return postShopify(hc, url, second[i], "u"+strconv.Itoa(i), http.StatusAccepted)
	})
	return cr, up, err
}

// benchServer starts the real HTTP handler on a fresh store and returns it
// with a client that keeps *conc connections.
func benchServer(rdb *goredis.Client) (*httptest.Server, *http.Client) {
	_ = rdb.FlushAll(context.Background()).Err()
	store := newStore(rdb, time.Hour, 24*time.Hour, 72*time.Hour)
	// Shopify's sample checkout links to checkout.local.
	s := &server.Server{Store: store, Tenants: tenant.One(&tenant.Tenant{
		Secrets:  map[string]string{"shopify": secret, "generic": secret, "woocommerce": secret, "bigcommerce": secret},
		Shop:     recovery.Shop{Name: "Bench", URL: "https://shop.example", AllowedHosts: []string{"checkout.local"}},
		Playbook: recovery.Playbook{Steps: []recovery.Step{{Delay: time.Hour}, {Delay: 24 * time.Hour}, {Delay: 72 * time.Hour}}}}, tenant.Rules{}),
		Links: link.New([]byte("bench-key-bench-key-bench-key-32")), Ready: func(context.Context) error { return nil },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return httptest.NewServer(s.Handler()), benchClient()
}

// benchClient is the HTTP client of every webhook measurement: it keeps
// *conc connections.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}}
}

func postWebhook(hc *http.Client, url string, body []byte, headers map[string]string) error {
	return postWebhookStatus(hc, url, body, headers, http.StatusAccepted)
}

// benchGeneric measures the same path with a small generic event (a
// two-item cart): how much of the Shopify figure is the 8 KB body.
func benchGeneric(rdb *goredis.Client) (result, error) {
	ts, hc := benchServer(rdb)
	defer ts.Close()
	now := time.Now().UTC().Format(time.RFC3339)
	bodies := make([][]byte, *nOps)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"id":"g%d","type":"cart.updated","occurred_at":%q,"store":"bench","cart":{"id":"c%07d-5f1e2d3c4b5a","currency":"USD","total":"421.88","recovery_url":"https://shop.example/cart/c%07d","items":[{"title":"IPod Nano - 8GB","quantity":1,"price":"199.00"},{"title":"IPod Nano - 8GB Blue","quantity":1,"price":"199.00"}]},"customer":{"email":"customer%d@example.com","phone":"+16135550123","first_name":"John","email_consent":true}}`, i, now, i, i, i)
	}
	name := fmt.Sprintf("webhook, generic cart (%d B)", len(bodies[0]))
	return measure(name, *nOps, *conc, func(i int) error {
		return postWebhook(hc, ts.URL+"/webhooks/generic", bodies[i], map[string]string{"X-Cartrecovery-Signature": generic.Sign(bodies[i], secret)})
	})
}

// benchWooCommerce posts WooCommerce's documented order as new open
// orders (pending), signed as WooCommerce signs them.
func benchWooCommerce(rdb *goredis.Client) (result, error) {
	raw, err := os.ReadFile(*wooOrder)
	if err != nil {
		return result{}, err
	}
	ts, hc := benchServer(rdb)
	defer ts.Close()
	now := time.Now().UTC().Format("2006-01-02T15:04:05")
	bodies := make([][]byte, *nOps)
	for i := range bodies {
		b := strings.Replace(string(raw), `"id": 727,`, `"id": `+strconv.Itoa(1000+i)+`,`, 1)
		b = strings.Replace(b, `"status": "processing"`, `"status": "pending"`, 1)
		b = strings.Replace(b, `"date_modified_gmt": "2017-03-22T19:28:08"`, `"date_modified_gmt": "`+now+`"`, 1)
		bodies[i] = []byte(b)
	}
	name := fmt.Sprintf("webhook, WooCommerce order (%d B)", len(bodies[0]))
	return measure(name, *nOps, *conc, func(i int) error {
		return postWebhook(hc, ts.URL+"/webhooks/woocommerce", bodies[i], map[string]string{"X-WC-Webhook-Topic": "order.created",
			"X-WC-Webhook-Source": "https://woo.example/", "X-WC-Webhook-Signature": woocommerce.Sign(bodies[i], secret)})
	})
}

// benchBigCommerce posts store/cart/created deliveries as BigCommerce
// sends them (ids only, Standard Webhooks signatures): the content is
// fetched by the worker at send time, not here.
func benchBigCommerce(rdb *goredis.Client) (result, error) {
	ts, hc := benchServer(rdb)
	defer ts.Close()
	now := time.Now().Unix()
	stamp := strconv.FormatInt(now, 10)
	bodies := make([][]byte, *nOps)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"scope":"store/cart/created","store_id":"1000001","data":{"type":"cart","id":"%08d-4b1c-4d2e-9f3a-5b6c7d8e9f0a"},"hash":"%040x","created_at":%d,"producer":"stores/benchstore"}`,
			i, i, now)
	}
	name := fmt.Sprintf("webhook, BigCommerce cart created (%d B)", len(bodies[0]))
	return measure(name, *nOps, *conc, func(i int) error {
		id := "msg_" + strconv.Itoa(i)
		return postWebhook(hc, ts.URL+"/webhooks/bigcommerce", bodies[i], map[string]string{"webhook-id": id,
			"webhook-timestamp": stamp, "webhook-signature": bigcommerce.Sign(id, stamp, bodies[i], secret)})
	})
}

// benchStore measures the Redis side of ingestion alone: already parsed
// events recorded by Store.Ingest (one Lua script each). The events are
// built before the clock starts, as the webhook bodies are.
func benchStore(ctx context.Context, rdb *goredis.Client) (result, error) {
	return measureIngest(ctx, rdb, "Store.Ingest only (no HTTP/JSON)", []string{"shop.myshopify.com"})
}

func usedMemory(ctx context.Context, rdb *goredis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(field(info, "used_memory"), 10, 64)
}

func field(info, name string) string {
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return v
		}
	}
	return ""
}

func twoItemCart(i int, at time.Time) recovery.Event {
	id := fmt.Sprintf("c%07d-5f1e2d3c4b5a", i)
	return recovery.Event{ID: "evt-" + id, Platform: "shopify", Kind: recovery.CartUpdated, Store: "shop.myshopify.com", OccurredAt: at,
		Refs: []string{"cart_token:ct" + id, "checkout_id:98182007925524" + fmt.Sprintf("%04d", i%10000)},
		Cart: recovery.Cart{ID: id, Currency: "USD", Total: "421.88", RecoveryURL: "https://shop.myshopify.com/548380009/checkouts/" + id + "/recover?key=6f2a0c1b9e",
			Items: []recovery.Item{{SKU: "IPOD2008PINK", Title: "IPod Nano - 8GB", Quantity: 1, Price: "199.00"},
				{SKU: "IPOD2008BLUE", Title: "IPod Nano - 8GB Blue", Quantity: 1, Price: "199.00"}}},
		Customer: recovery.Customer{ID: "603851970716743426", Email: fmt.Sprintf("customer%d@example.com", i), Phone: "+16135550123",
			FirstName: "John", Locale: "en", EmailConsent: true}}
}

func benchMemory(ctx context.Context, rdb *goredis.Client) (float64, float64, error) {
	_ = rdb.FlushAll(ctx).Err()
	store := newStore(rdb, time.Hour, 24*time.Hour, 72*time.Hour)
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return 0, 0, err
	}
	now := time.Now()
	for i := 0; i < *nMem; i++ {
		if _, err := store.Ingest(ctx, twoItemCart(i, now)); err != nil {
			return 0, 0, err
		}
	}
	mid, _ := usedMemory(ctx, rdb)
	cl := asynq.NewClientFromRedisClient(rdb)
	for i := 0; i < *nMem; i++ {
		p := worker.Payload{Store: "shop.myshopify.com", Cart: fmt.Sprintf("c%07d-5f1e2d3c4b5a", i), Gen: 1}
		if _, err := cl.EnqueueContext(ctx, worker.NewTask(p, "bench", 8), asynq.ProcessIn(time.Hour)); err != nil {
			return 0, 0, err
		}
	}
	after, _ := usedMemory(ctx, rdb)
	n := float64(*nMem)
	return float64(mid-before) / n, float64(after-before) / n, nil
}

// benchMemorySegment is benchMemory's first figure for carts put in a
// segment: the cart hash keeps the segment's name ("sg").
func benchMemorySegment(ctx context.Context, rdb *goredis.Client) (float64, error) {
	_ = rdb.FlushAll(ctx).Err()
	steps := []recovery.Step{{Name: "first", Delay: time.Hour}, {Name: "second", Delay: 24 * time.Hour}, {Name: "third", Delay: 72 * time.Hour}}
	pb := recovery.Playbook{Steps: steps, Segments: []recovery.Segment{{Name: "high-value", Steps: steps, Holdout: -1}}}
	store := redis.NewStore(rdb, redis.Options{Prefix: "cartrecovery:", Policies: recovery.PlaybooksOf(map[string]recovery.Playbook{"": pb})})
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	for i := 0; i < *nMem; i++ {
		ev := twoItemCart(i, now)
		ev.Segment = "high-value"
		if _, err := store.Ingest(ctx, ev); err != nil {
			return 0, err
		}
	}
	after, _ := usedMemory(ctx, rdb)
	_ = rdb.FlushAll(ctx).Err()
	return float64(after-before) / float64(*nMem), nil
}

// recorder is a test transport: it notes when each send starts.
type recorder struct {
	mu    sync.Mutex
	start map[string]time.Time
}

func (r *recorder) Send(_ context.Context, m notify.Message) error {
	r.mu.Lock()
	r.start[m.ID] = time.Now()
	r.mu.Unlock()
	return nil
}

// benchLateness relays *nLate carts, spread over stores, through the real
// relay and worker on queues, and returns how long after its due time each
// reminder started sending.
func benchLateness(ctx context.Context, rdb goredis.UniversalClient, stores, queues []string) ([]time.Duration, error) {
	if err := flushAll(ctx, rdb); err != nil {
		return nil, err
	}
	store := newStore(rdb, *lateDelay)
	rend, err := render.Load(*tmplDir)
	if err != nil {
		return nil, err
	}
	rec := &recorder{start: map[string]time.Time{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	steps := []recovery.Step{{Name: "first-reminder", Delay: *lateDelay, Channels: []recovery.Channel{"email"}, Template: "first-reminder"}}
	h := &worker.Handler{Store: store, Tenants: tenant.One(&tenant.Tenant{Playbook: recovery.Playbook{Steps: steps},
		Shop: recovery.Shop{Name: "Bench", URL: "https://shop.example"}, Renderer: rend}, tenant.Rules{MinCartValue: "0"}),
		PublicURL: "http://localhost:8080", Senders: map[string]notify.Sender{"email": rec}, Links: link.New([]byte("bench-key-bench-key-bench-key-32")),
		Now: time.Now, Log: log}
	asrv := asynq.NewServerFromRedisClient(rdb, worker.ServerConfig(queues, 20, log))
	mux := asynq.NewServeMux()
	mux.Handle(worker.TaskType, h)
	if err := asrv.Start(mux); err != nil {
		return nil, err
	}
	defer asrv.Shutdown()
	cl := asynq.NewClientFromRedisClient(rdb)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	relay := &worker.Relay{Store: store, Client: cl, Queues: queues, MaxRetry: 8, Log: log}
	go relay.Run(rctx)

	due := map[string]time.Time{}
	spread := *lateDelay
	for i := 0; i < *nLate; i++ {
		at := time.Now().UTC()
		ev := twoItemCart(i, at)
		ev.Store = stores[i%len(stores)]
		if _, err := store.Ingest(ctx, ev); err != nil {
			return nil, err
		}
		due[ev.Store+"/"+ev.Cart.ID+"/0/email"] = time.UnixMilli(at.UnixMilli()).Add(*lateDelay)
		time.Sleep(spread / time.Duration(*nLate))
	}
	deadline := time.Now().Add(*lateDelay + 30*time.Second)
	for time.Now().Before(deadline) {
		rec.mu.Lock()
		n := len(rec.start)
		rec.mu.Unlock()
		if n == len(due) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.start) != len(due) {
		return nil, fmt.Errorf("lateness: %d of %d reminders started", len(rec.start), len(due))
	}
	out := make([]time.Duration, 0, len(due))
	for id, d := range due {
		out = append(out, rec.start[id].Sub(d))
	}
	return out, nil
}
