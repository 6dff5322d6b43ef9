# Beatbook — the two commands: `make run` and `make test`. Each installs what it needs first.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := run

TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
BEATBOOK_ADDR ?= 127.0.0.1:3000
export BEATBOOK_ADDR
E2E_PORT ?= 3107

.PHONY: run dev test deps-run deps-test lint unit postgres wasm-test e2e build-debug build-release bench-size fuzz fmt clean

## make run — build the release site and server, then serve on $(BEATBOOK_ADDR) (SQLite under ./data/).
run: deps-run build-release
	@echo "Beatbook on http://$(BEATBOOK_ADDR)  (Ctrl-C stops it)"
	LEPTOS_SITE_ADDR=$(BEATBOOK_ADDR) "$(TARGET_DIR)/release/server" serve

## make dev — cargo-leptos watch loop for development (rebuilds on save).
dev: deps-run
	LEPTOS_SITE_ADDR=$(BEATBOOK_ADDR) cargo leptos watch

## make test — everything CI checks: module layering (no import circles), format, lints (ssr and
## hydrate), wasm32 build of the core,
## unit and integration tests on SQLite and then PostgreSQL, wasm tests in headless Chromium,
## and the Playwright suite against a freshly built server.
test: deps-test lint unit postgres wasm-test e2e
	@echo "make test: all stages passed"

deps-run:
	scripts/install-deps.sh run

deps-test:
	scripts/install-deps.sh test

lint:
	python3 scripts/module-cycles.py
	cargo fmt --all -- --check
	cargo clippy --locked -p hotspot -p protocol -p bodega -p server -p app --features app/ssr --all-targets -- -D warnings
	cargo clippy --locked -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown --all-targets -- -D warnings
	cargo check --locked -p hotspot -p protocol --target wasm32-unknown-unknown

unit:
	cargo test --locked -p hotspot -p protocol -p bodega -p server -p app --features app/ssr

# The same packages and features as `unit`, so cargo reuses its build (a narrower set unifies
# dependency features differently and rebuilt the workspace: about 5 minutes); only bodega's
# and server's tests touch the database.
postgres:
	scripts/with-postgres.sh cargo test --locked -p hotspot -p protocol -p bodega -p server -p app --features app/ssr --tests

wasm-test:
	CHROMEDRIVER=/usr/bin/chromedriver cargo test --locked -p frontend --target wasm32-unknown-unknown --target-dir "$(TARGET_DIR)/front"

build-debug:
	cargo leptos build

build-release:
	cargo leptos build --release

e2e: build-debug
	cd end2end && BEATBOOK_SERVER_BIN="$(TARGET_DIR)/debug/server" E2E_PORT=$(E2E_PORT) npx playwright test

## make bench-size — gzip size of the release bundle (goal: ≤ 300 KB for pkg/*.wasm + pkg/*.js).
bench-size: deps-run build-release
	bench/bundle-size.sh target/site/pkg

## make fuzz — run each fuzz target (sync push decoder, ingest parsers) for FUZZ_SECONDS (default
## 600) with cargo-fuzz on the nightly toolchain. Not part of `make test`. Crashes land in
## fuzz/artifacts/<target>/; each one found becomes a regression test.
FUZZ_SECONDS ?= 600
fuzz:
	rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in sync_push ingest_csv; do \
	  cargo +nightly fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 2>&1 | tail -n 15; \
	done

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf target/site end2end/test-results
