# Thin wrapper over CMake presets; see README.md. Every target installs what it needs first.
.PHONY: run build release test test-unit test-e2e bench check-config clean deps-run deps-test

CONFIG ?= examples/quickstart.yaml
TEST_PRESET ?= asan
JOBS ?= $(shell nproc)

run: deps-run release
	./build/release/bin/switchyard serve --config $(CONFIG)

release: deps-run
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

build: deps-test
	cmake --preset $(TEST_PRESET) >/dev/null
	cmake --build --preset $(TEST_PRESET) -j $(JOBS)

# Unit, integration and SDK end-to-end tests, all through ctest. The ledger's PostgreSQL store
# tests get a throwaway server (tools/pg-test-server.sh, one per invocation) unless
# SY_TEST_PG_URL is already set; it is removed afterwards, also when a test fails or on Ctrl-C.
test: deps-test build tests/e2e/node_modules/.package-lock.json
	@if [ -z "$${SY_TEST_PG_URL:-}" ]; then \
	  export SY_PG_TEST_STATE=/tmp/switchyard-pg-test-make-$$$$.state; \
	  trap 'tools/pg-test-server.sh stop' EXIT; \
	  if url=$$(tools/pg-test-server.sh start); then export SY_TEST_PG_URL="$$url"; \
	  else echo "warning: no PostgreSQL test server: its tests skip (fail when CI is set)" >&2; fi; \
	fi; \
	ctest --preset $(TEST_PRESET) -j 2

test-unit: build
	ctest --preset $(TEST_PRESET) -L unit -j 2

test-e2e: build tests/e2e/node_modules/.package-lock.json
	ctest --preset $(TEST_PRESET) -L e2e

tests/e2e/node_modules/.package-lock.json: tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error

bench: release
	tools/install-deps.sh bench
	bench/run.sh

check-config: release
	./build/release/bin/switchyard check-config $(CONFIG)

deps-run:
	@tools/install-deps.sh run

deps-test:
	@tools/install-deps.sh test

clean:
	rm -rf build
