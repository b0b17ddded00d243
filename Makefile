# cartrecovery — `make` lists the targets.
SHELL      := bash
GO         ?= go
BIN        ?= bin/cartrecovery
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT     ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS    := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# One build configuration for run, build and the binaries the tests build
# (e2e, torture): a second target reuses the first one's compiled packages.
# (`make test` adds -race, which needs its own compile of everything.)
BUILD      := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
READY_WAIT ?= 900
CONFIG     ?= config/demo.yaml
FUZZTIME   ?= 30s
# staticcheck, fetched and built by `go run` from the Go module proxy (then cached)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.7.0

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## build, then run the service with the short-delay demo config on the embedded Redis
	@# a cold build cache (most packages stale for this build's flags) is
	@# said before the compiler's list of packages starts
	@CGO_ENABLED=0 $(GO) list -trimpath -deps -f '{{.Stale}}' ./cmd/cartrecovery 2>/dev/null | awk ' \
	  {n++} /true/ {s++} \
	  END {if (n && s > n/2) print "compiling cartrecovery (first run: a minute or two)…"; \
	       else if (s) print "compiling cartrecovery (" s " changed packages)…"}'
	@$(BUILD) -v -o $(BIN) ./cmd/cartrecovery
	@echo "built $(BIN); starting it: make demo-cart in another terminal posts a new sample cart, make demo-order its order"
	@exec $(BIN) serve --config $(CONFIG)

.PHONY: run-cluster
run-cluster: redis-server ## start a local 3-master Redis Cluster and the service on it
	@GO='$(GO)' BIN='$(BIN)' CONFIG='$(CONFIG)' LDFLAGS='$(LDFLAGS)' ./scripts/run-cluster.sh

.PHONY: test
test: redis-server chromium ## run every test (private redis-server instances, headless chromium)
	CARTRECOVERY_REQUIRE_CHROMIUM=1 $(GO) test -race -count=1 ./...

.PHONY: bench
bench: redis-server ## measure ingest, memory and lateness against bare asynq on a private Redis
	$(GO) run ./cmd/cartrecovery-bench

.PHONY: torture
torture: redis-server ## fault injection: kill -9s, Redis restart, order races, redeliveries, skewed clocks (≤ 10 min; TORTURE_FLAGS)
	$(GO) run ./cmd/cartrecovery-torture $(TORTURE_FLAGS)

.PHONY: fuzz
fuzz: ## fuzz the webhook parsers, amounts, the report range and log masking for FUZZTIME each
	$(GO) test -run='^$$' -fuzz=FuzzParseShopify -fuzztime=$(FUZZTIME) ./platform/shopify/
	$(GO) test -run='^$$' -fuzz=FuzzScanShopify -fuzztime=$(FUZZTIME) ./platform/shopify/
	$(GO) test -run='^$$' -fuzz=FuzzParseGeneric -fuzztime=$(FUZZTIME) ./platform/generic/
	$(GO) test -run='^$$' -fuzz=FuzzParseWooCommerce -fuzztime=$(FUZZTIME) ./platform/woocommerce/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./platform/bigcommerce/
	$(GO) test -run='^$$' -fuzz=FuzzParseRange -fuzztime=$(FUZZTIME) ./report/
	$(GO) test -run='^$$' -fuzz=FuzzScrub -fuzztime=$(FUZZTIME) ./notify/
	$(GO) test -run='^$$' -fuzz=FuzzParseDecimal -fuzztime=$(FUZZTIME) ./money/

.PHONY: lint
lint: ## go vet, staticcheck (staticcheck.conf) and gofmt
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: build
build: ## build bin/cartrecovery with version and commit (static, stripped)
	$(BUILD) -o $(BIN) ./cmd/cartrecovery
	@ls -l $(BIN) | awk '{printf "%s: %.1f MB\n", $$NF, $$5/1e6}'

.PHONY: coldstart
coldstart: ## time a first `make run` from an empty build cache to /readyz, and the binary size
	./scripts/coldstart.sh

.PHONY: check
check: ## validate the demo config and templates
	$(GO) run ./cmd/cartrecovery check --config $(CONFIG)

# redis-server is needed by the tests and the benchmark; install it if missing.
.PHONY: redis-server
redis-server:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { \
	  echo "redis-server or redis-cli not found: installing them with apt-get"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server redis-tools >/dev/null; }

# chromium drives the dashboard test; install Debian's package if missing.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { \
	  echo "chromium not found: installing it with apt-get"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

.PHONY: demo-cart
demo-cart: ## post the signed sample cart to `make run` as a new cart each time (waits while it still compiles)
	@READY_WAIT=$(READY_WAIT) ./examples/post-demo-cart.sh

.PHONY: demo-order
demo-order: ## post the order of the last demo cart, which stops its reminders (CART=id: another cart)
	@READY_WAIT=$(READY_WAIT) CART='$(CART)' ./examples/post-demo-cart.sh --order
