# The project's task entry points. CI runs `.ci/run`, which runs `make test`.

CARGO ?= cargo

.PHONY: run install ui ui-test test fmt lint unit doc compat bench load import-bench soak soak-smoke openapi

## Run standin with the demo service (release build, with the web UI at http://127.0.0.1:9090/).
run: ui
	$(CARGO) run --release -p standin -- serve --demo

## Put the `standin` binary on PATH (~/.cargo/bin), for "Running it for real" in the README.
install: ui
	$(CARGO) install --path crates/standin --locked

## Build the web UI into ui/dist (installs its npm packages when missing); the next cargo
## build embeds it.
ui:
	ui/build.sh

## The web UI in headless Chromium (Debian's package, installed when missing), driven by
## Playwright, against the debug binary serving the freshly built ui/dist.
ui-test: ui
	$(CARGO) build -p standin
	ui/tests/ensure-chromium.sh
	cd ui && STANDIN_BIN=../target/debug/standin STANDIN_EXPECT_EMBEDDED=1 npm test

## Every check CI runs.
test: fmt lint unit doc soak-smoke compat ui-test

fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Unit, data-driven, API and end-to-end tests. nextest when installed, cargo test otherwise.
## The import corpus (real API descriptions from npm) is installed first.
unit:
	crates/import/corpus.sh --install
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast --lib --bins --tests; \
	fi

## Doc examples (nextest does not run them).
doc:
	$(CARGO) test --workspace --doc

## MockServer compatibility: the official mockserver-client npm package against standin,
## and standin against a real MockServer (the jar in the mockserver-node npm package, on
## Java 17) case by case. Installs the npm packages and Java when missing.
compat:
	$(CARGO) build -p standin
	compat/run.sh

## Criterion micro-benchmarks (route lookup at 1, 1k, 10k, 100k routes).
bench:
	$(CARGO) bench -p standin-matcher --bench lookup

## End-to-end load test against a bare hyper server (see bench/README.md).
load:
	bench/load.sh

## GitHub's REST description imported through the CLI, and mock traffic beside imports.
import-bench:
	bench/import.sh

## The soak-and-abuse test (crates/soak): release builds, 60 s of mixed and abusive traffic
## beside a measured client; fails on any failed request, RSS over the bound derived from
## the configuration, p99 over 10 ms, or a slow shutdown. Results: bench/README.md.
soak:
	$(CARGO) build --release -p standin -p standin-soak
	target/release/standin-soak --standin target/release/standin --report target/soak-report.json

## A 15 s smoke of the soak on debug builds (no latency assertion): part of make test.
soak-smoke:
	$(CARGO) build -p standin -p standin-soak
	target/debug/standin-soak --standin target/debug/standin --smoke

## Rewrite docs/openapi.json, the management API's OpenAPI document as the code generates
## it (a test fails when the checked-in copy is stale). Written to a temporary file first,
## so a failed build leaves the old document in place instead of an empty one.
openapi:
	$(CARGO) run -q -p standin -- openapi > docs/openapi.json.tmp || { rm -f docs/openapi.json.tmp; exit 1; }
	mv docs/openapi.json.tmp docs/openapi.json
