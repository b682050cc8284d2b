# affrelay — `make run` brings the system up on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
TEMPORAL_CLI_VERSION := v1.5.1 (tools/temporal/go.mod)
BIN := $(CURDIR)/bin
FUZZTIME ?= 2m

.PHONY: run build test test-unit test-e2e fuzz-short fuzz bench bench-load bench-load-cluster bench-reconciliation bench-performance chaos chaos-cluster vet fmt clean

# The CLI's versions are pinned by tools/temporal/go.mod (see tools/temporal/tools.go for why a module of its own).
bin/temporal: tools/temporal/go.mod tools/temporal/go.sum
	@echo "==> building the Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (once; takes about 3 minutes)"
	@mkdir -p $(BIN)
	cd tools/temporal && GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal

build:
	@echo "==> building ./bin/affrelay"
	$(GO) build -o bin/affrelay ./cmd/affrelay

run: bin/temporal build
	@echo "==> starting affrelay dev (Temporal dev server + UI, SQLite under ./.data, API and worker)"
	./bin/affrelay dev

vet:
	@echo "==> gofmt and go vet"
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

test: bin/temporal vet
	@echo "==> unit, workflow and end-to-end tests (SQLite always; PostgreSQL too: $$([ -n "$$AFFRELAY_TEST_POSTGRES_DSN" ] && echo yes || echo 'no, AFFRELAY_TEST_POSTGRES_DSN is unset'))"
	AFFRELAY_TEST_TEMPORAL_PATH=$(BIN)/temporal $(GO) test -count=1 -timeout 20m ./...
	@$(MAKE) --no-print-directory fuzz-short

# A short, count-based run of every fuzz target (see scripts/fuzz for why counts, not durations).
fuzz-short:
	@echo "==> fuzzing each parser for a fixed number of inputs"
	GO=$(GO) scripts/fuzz short

# Longer fuzzing by duration: `make fuzz FUZZTIME=5m`.
fuzz:
	@echo "==> fuzzing each parser for $(FUZZTIME)"
	GO=$(GO) scripts/fuzz $(FUZZTIME)

bench: bin/temporal
	@echo "==> benchmarks (Go benchmarks, and the end-to-end throughput benchmark against a real dev server)"
	AFFRELAY_TEST_TEMPORAL_PATH=$(BIN)/temporal $(GO) test -run='^$$' -bench=. -benchmem -timeout 30m ./...

# The load benchmark: its own dev server, `affrelay all` and receiver on 127.0.0.1; open loop at 10/s and 50/s,
# closed loop, bare-SDK baselines, and memory with 10,000 deliveries waiting on a dead receiver. See docs/performance.md.
BENCH_FLAGS ?= --rates 10,50 --duration 20s --concurrency 20 --closed 600 --baseline 400 --dead 10000
bench-load: bin/temporal build
	$(GO) build -o bin/affrelay-bench ./cmd/affrelay-bench
	./bin/affrelay-bench --temporal-path $(BIN)/temporal --variant affrelay=$(BIN)/affrelay $(BENCH_FLAGS)

# A 1,000,000-row reconciliation file against the same real time: time, peak RSS, history size.
# BENCH_ROWS=… for another size, BENCH_DATABASE=postgres (with AFFRELAY_TEST_POSTGRES_DSN) for PostgreSQL.
BENCH_ROWS ?= 1000000
BENCH_DATABASE ?= sqlite
bench-reconciliation: bin/temporal
	@echo "==> reconciling $(BENCH_ROWS) rows on $(BENCH_DATABASE)"
	AFFRELAY_TEST_TEMPORAL_PATH=$(BIN)/temporal AFFRELAY_BENCH_RECONCILIATION_ROWS=$(BENCH_ROWS) AFFRELAY_BENCH_DATABASE=$(BENCH_DATABASE) \
		$(GO) test -count=1 -run '^TestReconciliationScale$$' -v -timeout 40m ./e2e/ | grep -E 'RESULT|seeded|^(--- |ok|FAIL)'

# The performance report on PostgreSQL (AFFRELAY_TEST_POSTGRES_DSN) holding 1,000,000 events and 100,000 clicks:
# a month of one affiliate, and a month across affiliates. Goal: 500 ms per report (docs/reports.md).
bench-performance:
	@test -n "$$AFFRELAY_TEST_POSTGRES_DSN" || { echo "set AFFRELAY_TEST_POSTGRES_DSN"; exit 1; }
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkPerformanceReport$$' -benchtime 20x -timeout 30m ./store/

# The chaos run (docs/chaos.md): its own dev server, two `affrelay serve` and two `affrelay worker` processes on a
# PostgreSQL database of its own (affrelay_chaos on 127.0.0.1:5432), 10,000 events from retrying, duplicating
# senders, receivers failing 30% of calls, kill -9 of workers, API replicas and Temporal, and one PostgreSQL
# restart (it affects everything else using that server). CHAOS_FLAGS='--db sqlite' for SQLite, '--events 1000' …
CHAOS_FLAGS ?=
chaos: bin/temporal build
	$(GO) build -o bin/affrelay-chaos ./cmd/affrelay-chaos
	./bin/affrelay-chaos --affrelay $(BIN)/affrelay --temporal-path $(BIN)/temporal --postgres-restart $(CHAOS_FLAGS)

# The same against the production shape of Temporal: the server built from its Go module (a few minutes, once),
# PostgreSQL persistence and visibility (databases temporal_chaos and temporal_chaos_visibility), 16 history
# shards, set up and configured by deploy/temporal (setup-schema.sh, config/production.yaml, the dynamic config,
# setup-namespace.sh). The server process is killed and restarted like the dev server.
TEMPORAL_SERVER_VERSION := v1.29.1
# The flags that run the server binary on PostgreSQL, its schema from the module cache (affrelay-chaos, affrelay-bench).
TEMPORAL_CLUSTER_FLAGS = --temporal cluster --temporal-server $(BIN)/temporal-server --temporal-sql-tool $(BIN)/temporal-sql-tool \
	--temporal-schema "$$($(GO) mod download -json go.temporal.io/server@$(TEMPORAL_SERVER_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')/schema/postgresql/v12"
bin/temporal-server bin/temporal-sql-tool &:
	@echo "==> building the Temporal server and its SQL tool $(TEMPORAL_SERVER_VERSION) into ./bin (once)"
	@mkdir -p $(BIN)/temporal-build
	GOBIN=$(BIN)/temporal-build $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/temporal-build/server $(BIN)/temporal-server
	mv $(BIN)/temporal-build/sql $(BIN)/temporal-sql-tool
	rmdir $(BIN)/temporal-build

chaos-cluster: bin/temporal bin/temporal-server bin/temporal-sql-tool build
	$(GO) build -o bin/affrelay-chaos ./cmd/affrelay-chaos
	./bin/affrelay-chaos --affrelay $(BIN)/affrelay --temporal-path $(BIN)/temporal $(TEMPORAL_CLUSTER_FLAGS) --postgres-restart $(CHAOS_FLAGS)

# The load benchmark (bench-load's phases, without the dead-receiver memory run) against the same production shape
# of Temporal: the server on PostgreSQL databases of its own (temporal_bench and temporal_bench_visibility on
# 127.0.0.1:5432, made afresh and dropped after the run). BENCH_DATABASE=postgres for affrelay on PostgreSQL
# (a fresh schema in AFFRELAY_TEST_POSTGRES_DSN's database). See docs/performance.md.
BENCH_CLUSTER_FLAGS ?= --rates 10,50 --duration 20s --concurrency 20 --closed 600 --baseline 400
bench-load-cluster: bin/temporal bin/temporal-server bin/temporal-sql-tool build
	$(GO) build -o bin/affrelay-bench ./cmd/affrelay-bench
	./bin/affrelay-bench --temporal-path $(BIN)/temporal $(TEMPORAL_CLUSTER_FLAGS) --variant affrelay=$(BIN)/affrelay \
		--db $(BENCH_DATABASE) $(BENCH_CLUSTER_FLAGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf .data bin/affrelay
